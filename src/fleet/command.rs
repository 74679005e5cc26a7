//! What a unit's job runs, whichever engine runs it: `trtctl apply` on the unit's engines.

use super::units::Unit;

/// The command line of a unit's job. Never holds a credential: jobs take those from their
/// engine (a Secret, a runtime_env), never from their arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCommand {
    /// The trtctl executable on the machine that runs the job.
    pub program: String,
    /// The manifest's path there.
    pub manifest: String,
}

impl JobCommand {
    /// `apply -f MANIFEST --target SEL ...`: the arguments after the program.
    pub fn args(&self, unit: &Unit) -> Vec<String> {
        let mut args = vec!["apply".to_string(), "-f".to_string(), self.manifest.clone()];
        for selector in &unit.selectors {
            args.push("--target".to_string());
            args.push(selector.clone());
        }
        args
    }

    /// The whole command as one shell line, each word quoted where it needs it.
    pub fn shell_line(&self, unit: &Unit) -> String {
        std::iter::once(self.program.clone())
            .chain(self.args(unit))
            .map(|word| shell_quote(&word))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// What every job's environment sets: a job that finds no credentials fails, instead of
/// building into the embedded stand-in remote on its own disk and succeeding.
pub const JOB_ENV: [(&str, &str); 1] = [("TRTCTL_REMOTE_EMBEDDED", "false")];

/// The variables a job needs to reach the remote and check signatures: handed to engines
/// that carry them apart from the command line (Ray's runtime_env).
const CREDENTIAL_VARS: [&str; 10] = [
    "TRTCTL_REMOTE",
    "TRTCTL_TRUSTED_KEYS",
    "ARTIFACTS_ENDPOINT",
    "ARTIFACTS_ACCESS_KEY",
    "ARTIFACTS_SECRET_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
];

/// Those of the credential variables that are set in `env`.
pub fn forwarded_credentials(
    env: impl Fn(&str) -> Option<String>,
) -> std::collections::BTreeMap<String, String> {
    CREDENTIAL_VARS
        .iter()
        .filter_map(|name| env(name).map(|value| (name.to_string(), value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_that_a_shell_would_split_are_quoted() {
        assert_eq!(
            shell_quote("arcface_r100:fp16:sm_86"),
            "arcface_r100:fp16:sm_86"
        );
        assert_eq!(shell_quote("/a b/engines.toml"), "'/a b/engines.toml'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
