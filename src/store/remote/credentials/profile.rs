//! The AWS shared files (`~/.aws/config`, `~/.aws/credentials`): the profile's keys, its
//! `credential_process`, `role_arn` + `source_profile`, `region` and `endpoint_url`, read the
//! way the AWS CLI reads them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::CredentialError;

/// One profile's settings, merged from both files (the credentials file wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub settings: BTreeMap<String, String>,
    /// The file that holds the profile's keys or, failing that, its settings; named in
    /// descriptions and errors.
    pub file: String,
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// The two shared files, parsed.
#[derive(Debug, Default)]
pub struct SharedFiles {
    /// `(shown path, profile name → settings)`.
    config: Option<(String, Sections)>,
    credentials: Option<(String, Sections)>,
}

impl SharedFiles {
    /// Reads whichever of the two exist; a file that exists but cannot be read is an error.
    pub fn load(paths: &SharedPaths, home: Option<&Path>) -> Result<SharedFiles, CredentialError> {
        let load = |path: &Option<PathBuf>, is_config| match path {
            Some(path) => read(path, home, is_config),
            None => Ok(None),
        };
        Ok(SharedFiles {
            config: load(&paths.config, true)?,
            credentials: load(&paths.credentials, false)?,
        })
    }

    /// The named profile, or `None` when neither file has it.
    pub fn profile(&self, name: &str) -> Option<Profile> {
        let mut profile = Profile {
            name: name.to_string(),
            ..Profile::default()
        };
        let mut found = false;
        for (shown, sections) in [&self.config, &self.credentials].into_iter().flatten() {
            if let Some(settings) = sections.get(name) {
                found = true;
                if profile.file.is_empty() || settings.contains_key("aws_access_key_id") {
                    profile.file = shown.clone();
                }
                profile.settings.extend(settings.clone());
            }
        }
        found.then_some(profile)
    }
}

/// `~/x` for paths under the home directory, so descriptions read like the AWS docs.
fn shown(path: &Path, home: Option<&Path>) -> String {
    match home.and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    }
}

type Sections = BTreeMap<String, BTreeMap<String, String>>;

fn read(
    path: &Path,
    home: Option<&Path>,
    is_config: bool,
) -> Result<Option<(String, Sections)>, CredentialError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(CredentialError::SharedFile {
                path: shown(path, home),
                why: e.to_string(),
            });
        }
    };
    Ok(Some((shown(path, home), parse(&text, is_config))))
}

/// INI as the AWS CLI reads it: `[name]` sections (`[profile name]` in the config file, where
/// `[default]` stays bare), `key = value` lines, `#` and `;` comments; indented lines continue
/// a nested block and are skipped, as no setting read here uses one.
pub fn parse(text: &str, is_config: bool) -> Sections {
    let mut sections = Sections::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let header = header.trim();
            current = if !is_config {
                Some(header.to_string())
            } else if header == "default" {
                Some("default".to_string())
            } else {
                header
                    .strip_prefix("profile ")
                    .map(|name| name.trim().to_string())
            };
            if let Some(name) = &current {
                sections.entry(name.clone()).or_default();
            }
            continue;
        }
        if let (Some(section), Some((key, value))) = (&current, line.split_once('=')) {
            sections
                .entry(section.clone())
                .or_default()
                .insert(key.trim().to_lowercase(), value.trim().to_string());
        }
    }
    sections
}

/// Where the two shared files are: `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`, else
/// under `~/.aws/`; `None` without either (no HOME).
pub struct SharedPaths {
    pub config: Option<PathBuf>,
    pub credentials: Option<PathBuf>,
}

impl SharedPaths {
    pub fn new(
        config: Option<&str>,
        credentials: Option<&str>,
        home: Option<&Path>,
    ) -> SharedPaths {
        let under_home = |name: &str| home.map(|h| h.join(".aws").join(name));
        SharedPaths {
            config: config.map(PathBuf::from).or_else(|| under_home("config")),
            credentials: credentials
                .map(PathBuf::from)
                .or_else(|| under_home("credentials")),
        }
    }

    pub fn any_exists(&self) -> bool {
        [&self.config, &self.credentials]
            .into_iter()
            .flatten()
            .any(|p| p.exists())
    }

    /// Both files, for an error that says where a profile was looked for.
    pub fn describe(&self, home: Option<&Path>) -> String {
        let named: Vec<String> = [&self.credentials, &self.config]
            .into_iter()
            .flatten()
            .map(|p| shown(p, home))
            .collect();
        if named.is_empty() {
            "no AWS shared file (HOME is not set)".to_string()
        } else {
            named.join(" or ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_profiles_need_the_prefix_and_credentials_win() {
        let config = parse(
            "[default]\nregion = eu-west-1\n[profile ci]\nregion=us-west-2\ns3 =\n  max_concurrent_requests = 4\n[ci]\nignored = yes\n",
            true,
        );
        assert_eq!(config["default"]["region"], "eu-west-1");
        assert_eq!(config["ci"]["region"], "us-west-2");
        assert!(!config["ci"].contains_key("max_concurrent_requests"));
        assert!(!config["ci"].contains_key("ignored"));
        let credentials = parse("# keys\n[ci]\naws_access_key_id = AKID\n", false);
        let files = SharedFiles {
            config: Some(("~/.aws/config".into(), config)),
            credentials: Some(("~/.aws/credentials".into(), credentials)),
        };
        let ci = files.profile("ci").unwrap();
        assert_eq!(ci.get("aws_access_key_id"), Some("AKID"));
        assert_eq!(ci.get("region"), Some("us-west-2"));
        assert_eq!(ci.file, "~/.aws/credentials");
        assert!(files.profile("nope").is_none());
    }
}
