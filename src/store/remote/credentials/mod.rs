//! Where S3 credentials, region and endpoint come from: trtctl's `ARTIFACTS_*` variables first,
//! then the AWS CLI's chain in the AWS CLI's order — environment keys, the profile in the
//! shared files (static keys, `credential_process`, `role_arn` + `source_profile`), web
//! identity, container credentials, the EC2 instance role — and anonymous read-only access
//! when none applies.
//!
//! A source that is configured but fails is an error that names it; it never falls through to
//! the next source or to anonymous access. The instance role is only tried on a host that looks
//! like EC2 from its DMI data (or when `AWS_EC2_METADATA_SERVICE_ENDPOINT` names a service):
//! elsewhere nothing waits on a metadata address that cannot answer.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use object_store::StaticCredentialProvider;
use object_store::aws::{AwsCredential, AwsCredentialProvider};

mod env;
mod host;
mod profile;
mod providers;

use super::scrub::Secrets;
pub use env::AwsEnv;
pub use host::looks_like_ec2;
use profile::{Profile, SharedFiles};
use providers::{Fetch, Refreshing};

const CONTAINER_HOST: &str = "http://169.254.170.2";
/// A profile's `source_profile` may name one that assumes a role itself; this deep at most.
const MAX_PROFILE_HOPS: usize = 4;

/// Which source the credentials come from, for people: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `ARTIFACTS_ACCESS_KEY` or `AWS_ACCESS_KEY_ID`.
    Environment {
        variable: &'static str,
    },
    Profile {
        name: String,
        file: String,
    },
    Process {
        profile: String,
        file: String,
    },
    AssumeRole {
        profile: String,
        role_arn: String,
    },
    WebIdentity {
        role_arn: String,
    },
    Container,
    InstanceRole,
    Anonymous,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Environment { variable } => write!(f, "environment ({variable})"),
            CredentialSource::Profile { name, file } => write!(f, "profile `{name}` ({file})"),
            CredentialSource::Process { profile, file } => {
                write!(f, "profile `{profile}` credential_process ({file})")
            }
            CredentialSource::AssumeRole { profile, role_arn } => {
                write!(f, "profile `{profile}` assumes role {role_arn} (STS)")
            }
            CredentialSource::WebIdentity { role_arn } => {
                write!(f, "web identity role {role_arn}")
            }
            CredentialSource::Container => f.write_str("container credentials (ECS/EKS)"),
            CredentialSource::InstanceRole => f.write_str("instance role (IMDS)"),
            CredentialSource::Anonymous => f.write_str("none: read-only"),
        }
    }
}

/// A configured source that failed. One line that names the source and the fix; never holds a
/// secret (server answers are reduced to their status or error code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error(
        "AWS profile `{profile}` is not in {files}; set AWS_PROFILE to a profile that exists, or add it"
    )]
    ProfileNotFound { profile: String, files: String },
    #[error("AWS profile `{profile}` in {file}: {why}")]
    BadProfile {
        profile: String,
        file: String,
        why: String,
    },
    #[error(
        "{path}: cannot read this AWS shared file ({why}); fix its permissions or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE"
    )]
    SharedFile { path: String, why: String },
    #[error(
        "credential_process of AWS profile `{profile}` {why}; run the command by hand to see why, or fix `credential_process`"
    )]
    Process { profile: String, why: String },
    #[error(
        "STS at {endpoint} refused role {role_arn} ({why}); check the role's trust policy and the credentials that assume it"
    )]
    StsRefused {
        endpoint: String,
        role_arn: String,
        why: String,
    },
    #[error("web identity: {why}; check AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN")]
    WebIdentity { why: String },
    #[error("{source_name} at {endpoint} did not answer ({why}); check {fix}")]
    ServiceDown {
        source_name: &'static str,
        endpoint: String,
        why: String,
        fix: &'static str,
    },
    #[error("{source_name} at {endpoint} refused ({why}); check {fix}")]
    ServiceRefused {
        source_name: &'static str,
        endpoint: String,
        why: String,
        fix: &'static str,
    },
}

impl CredentialError {
    /// A service that did not answer may answer the next time; a refusal will not change.
    pub fn is_transient(&self) -> bool {
        matches!(self, CredentialError::ServiceDown { .. })
    }
}

/// What the chain found.
pub(super) struct Chain {
    /// `None`: anonymous, read-only.
    pub provider: Option<AwsCredentialProvider>,
    pub source: CredentialSource,
    /// `[remote] region`, else the environment's, else the profile's, else the default.
    pub region: String,
    /// The profile's `endpoint_url`, for when neither `[remote]` nor the environment sets one.
    pub profile_endpoint: Option<String>,
}

/// Static keys from the environment (`ARTIFACTS_*` already merged in by the caller).
pub(super) struct EnvKeys<'a> {
    pub variable: &'static str,
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<&'a str>,
}

fn static_provider(
    key_id: &str,
    secret: &str,
    token: Option<&str>,
    secrets: &Secrets,
) -> AwsCredentialProvider {
    for value in [Some(key_id), Some(secret), token].into_iter().flatten() {
        secrets.add(value);
    }
    Arc::new(StaticCredentialProvider::new(AwsCredential {
        key_id: key_id.to_string(),
        secret_key: secret.to_string(),
        token: token.map(str::to_string),
    }))
}

/// Walks the chain. Sends nothing: sources that fetch temporary credentials do so on the first
/// request, and refresh them before they expire.
pub(super) fn resolve(
    env_keys: Option<EnvKeys<'_>>,
    aws: &AwsEnv,
    explicit_region: Option<&str>,
    secrets: &Secrets,
) -> Result<Chain, CredentialError> {
    let paths = aws.shared_paths();
    let files = SharedFiles::load(&paths, aws.home.as_deref())?;
    let profile_name = aws.profile.as_deref().unwrap_or("default");
    let profile = files.profile(profile_name);
    if profile.is_none() && aws.profile.is_some() {
        return Err(CredentialError::ProfileNotFound {
            profile: profile_name.to_string(),
            files: paths.describe(aws.home.as_deref()),
        });
    }
    let mut chain = Chain {
        provider: None,
        source: CredentialSource::Anonymous,
        region: explicit_region
            .or_else(|| profile.as_ref().and_then(|p| p.get("region")))
            .unwrap_or(super::DEFAULT_REGION)
            .to_string(),
        profile_endpoint: profile
            .as_ref()
            .and_then(|p| p.get("endpoint_url").map(str::to_string)),
    };
    let region = chain.region.clone();
    let sts_endpoint = |profile: Option<&Profile>| {
        aws.sts_endpoint
            .clone()
            .or_else(|| profile.and_then(|p| p.get("endpoint_url").map(str::to_string)))
            .unwrap_or_else(|| format!("https://sts.{region}.amazonaws.com"))
    };
    if let Some(keys) = env_keys {
        chain.provider = Some(static_provider(
            keys.access_key,
            keys.secret_key,
            keys.session_token,
            secrets,
        ));
        chain.source = CredentialSource::Environment {
            variable: keys.variable,
        };
        return Ok(chain);
    }
    if let Some(profile) = &profile
        && let Some((provider, source)) = profile_provider(
            &files,
            profile,
            &sts_endpoint(Some(profile)),
            &region,
            secrets,
            0,
        )?
    {
        chain.provider = Some(provider);
        chain.source = source;
        return Ok(chain);
    }
    if let Some((provider, source)) =
        ambient_provider(aws, &sts_endpoint(profile.as_ref()), secrets)?
    {
        chain.provider = Some(provider);
        chain.source = source;
    }
    Ok(chain)
}

type Found = (AwsCredentialProvider, CredentialSource);

/// What a profile yields: static keys, a role assumed with another profile's credentials, or
/// a `credential_process`; `None` for a profile that only sets region or endpoint.
fn profile_provider(
    files: &SharedFiles,
    profile: &Profile,
    sts_endpoint: &str,
    region: &str,
    secrets: &Secrets,
    hops: usize,
) -> Result<Option<Found>, CredentialError> {
    let bad = |why: &str| CredentialError::BadProfile {
        profile: profile.name.clone(),
        file: profile.file.clone(),
        why: why.to_string(),
    };
    if let Some(role_arn) = profile.get("role_arn") {
        let Some(source_name) = profile.get("source_profile") else {
            return Err(bad(
                "`role_arn` needs `source_profile` (credential_source is not supported); add `source_profile = <profile with keys>`",
            ));
        };
        let source = if source_name == profile.name {
            static_keys(profile, secrets).transpose().ok_or_else(|| {
                bad("`source_profile` names the profile itself, which has no keys")
            })??
        } else {
            let source_profile = files.profile(source_name).ok_or_else(|| {
                bad(&format!(
                    "its `source_profile` `{source_name}` does not exist; add it"
                ))
            })?;
            if hops >= MAX_PROFILE_HOPS {
                return Err(bad(
                    "`source_profile` chains too deep (a loop?); shorten the chain",
                ));
            }
            profile_provider(files, &source_profile, sts_endpoint, region, secrets, hops + 1)?
                .ok_or_else(|| {
                    bad(&format!(
                        "its `source_profile` `{source_name}` has no keys, credential_process or role; add keys to it"
                    ))
                })?
        };
        let fetch = Fetch::AssumeRole {
            role_arn: role_arn.to_string(),
            session_name: profile
                .get("role_session_name")
                .map_or_else(session_name, str::to_string),
            endpoint: sts_endpoint.to_string(),
            region: region.to_string(),
            source: source.0,
        };
        let described = CredentialSource::AssumeRole {
            profile: profile.name.clone(),
            role_arn: role_arn.to_string(),
        };
        return Ok(Some((Refreshing::provider(fetch, secrets), described)));
    }
    if let Some(found) = static_keys(profile, secrets)? {
        return Ok(Some(found));
    }
    if let Some(command) = profile.get("credential_process") {
        let fetch = Fetch::Process {
            profile: profile.name.clone(),
            command: command.to_string(),
        };
        let described = CredentialSource::Process {
            profile: profile.name.clone(),
            file: profile.file.clone(),
        };
        return Ok(Some((Refreshing::provider(fetch, secrets), described)));
    }
    Ok(None)
}

fn static_keys(profile: &Profile, secrets: &Secrets) -> Result<Option<Found>, CredentialError> {
    match (
        profile.get("aws_access_key_id"),
        profile.get("aws_secret_access_key"),
    ) {
        (Some(key_id), Some(secret)) => {
            let token = profile.get("aws_session_token");
            let described = CredentialSource::Profile {
                name: profile.name.clone(),
                file: profile.file.clone(),
            };
            Ok(Some((
                static_provider(key_id, secret, token, secrets),
                described,
            )))
        }
        (None, None) => Ok(None),
        _ => Err(CredentialError::BadProfile {
            profile: profile.name.clone(),
            file: profile.file.clone(),
            why: "has only one of aws_access_key_id and aws_secret_access_key; set both".into(),
        }),
    }
}

/// Web identity, container credentials, the instance role: what the machine provides.
fn ambient_provider(
    aws: &AwsEnv,
    sts_endpoint: &str,
    secrets: &Secrets,
) -> Result<Option<(AwsCredentialProvider, CredentialSource)>, CredentialError> {
    match (&aws.web_identity_token_file, &aws.role_arn) {
        (Some(token_file), Some(role_arn)) => {
            if let Err(e) = std::fs::metadata(token_file) {
                return Err(CredentialError::WebIdentity {
                    why: format!("the token file {token_file} cannot be read ({e})"),
                });
            }
            let fetch = Fetch::WebIdentity {
                role_arn: role_arn.clone(),
                session_name: aws.role_session_name.clone().unwrap_or_else(session_name),
                token_file: PathBuf::from(token_file),
                endpoint: sts_endpoint.to_string(),
            };
            let described = CredentialSource::WebIdentity {
                role_arn: role_arn.clone(),
            };
            return Ok(Some((Refreshing::provider(fetch, secrets), described)));
        }
        (Some(_), None) => {
            return Err(CredentialError::WebIdentity {
                why: "AWS_WEB_IDENTITY_TOKEN_FILE is set without AWS_ROLE_ARN".into(),
            });
        }
        (None, Some(_)) => {
            return Err(CredentialError::WebIdentity {
                why: "AWS_ROLE_ARN is set without AWS_WEB_IDENTITY_TOKEN_FILE".into(),
            });
        }
        (None, None) => {}
    }
    let container_url = match (&aws.container_full_uri, &aws.container_relative_uri) {
        (_, Some(relative)) => Some(format!("{CONTAINER_HOST}{relative}")),
        (Some(full), None) => Some(full.clone()),
        (None, None) => None,
    };
    if let Some(url) = container_url {
        let fetch = Fetch::Container {
            url,
            token: aws.container_token.clone(),
            token_file: aws.container_token_file.as_deref().map(PathBuf::from),
        };
        return Ok(Some((
            Refreshing::provider(fetch, secrets),
            CredentialSource::Container,
        )));
    }
    Ok(aws.imds_endpoint().map(|endpoint| {
        (
            Refreshing::provider(Fetch::Imds { endpoint }, secrets),
            CredentialSource::InstanceRole,
        )
    }))
}

/// `trtctl-<unix seconds>`, as the SDKs name sessions when the profile does not.
fn session_name() -> String {
    format!("trtctl-{}", crate::sys::now_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws_with(config: &str, credentials: &str) -> (tempfile::TempDir, AwsEnv) {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".aws")).unwrap();
        std::fs::write(home.path().join(".aws/config"), config).unwrap();
        std::fs::write(home.path().join(".aws/credentials"), credentials).unwrap();
        let aws = AwsEnv {
            home: Some(home.path().to_path_buf()),
            profile: Some("ci".into()),
            ..AwsEnv::default()
        };
        (home, aws)
    }

    fn resolve_error(config: &str, credentials: &str) -> String {
        let (_home, aws) = aws_with(config, credentials);
        match resolve(None, &aws, None, &Secrets::default()) {
            Ok(chain) => panic!("resolved to {}", chain.source),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn broken_profiles_are_errors_that_name_the_profile_and_the_fix() {
        let err = resolve_error("[profile ci]\nrole_arn = arn:aws:iam::1:role/r\n", "");
        assert!(err.contains("`role_arn` needs `source_profile`"), "{err}");
        let err = resolve_error(
            "[profile ci]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = nowhere\n",
            "",
        );
        assert!(
            err.contains("`source_profile` `nowhere` does not exist"),
            "{err}"
        );
        let err = resolve_error("", "[ci]\naws_access_key_id = AKIDHALF\n");
        assert!(
            err.contains("AWS profile `ci` in ~/.aws/credentials"),
            "{err}"
        );
        assert!(!err.contains("AKIDHALF"), "{err}");
        let err = resolve_error(
            "[profile ci]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = ci\n",
            "",
        );
        assert!(
            err.contains("names the profile itself, which has no keys"),
            "{err}"
        );
    }

    #[test]
    fn a_profile_with_only_a_region_passes_on_to_the_next_source() {
        let (_home, mut aws) = aws_with("[profile ci]\nregion = ap-south-1\n", "");
        let chain = resolve(None, &aws, None, &Secrets::default()).unwrap();
        assert_eq!(chain.source, CredentialSource::Anonymous);
        assert_eq!(chain.region, "ap-south-1");
        let explicit = resolve(None, &aws, Some("eu-west-1"), &Secrets::default()).unwrap();
        assert_eq!(
            explicit.region, "eu-west-1",
            "the environment wins over the profile"
        );

        aws.metadata_endpoint = Some("http://127.0.0.1:9".into());
        let chain = resolve(None, &aws, None, &Secrets::default()).unwrap();
        assert_eq!(chain.source, CredentialSource::InstanceRole);
        aws.metadata_disabled = true;
        let chain = resolve(None, &aws, None, &Secrets::default()).unwrap();
        assert_eq!(chain.source, CredentialSource::Anonymous);
    }

    #[test]
    fn static_secrets_are_known_to_the_scrubber() {
        let (_home, aws) = aws_with(
            "",
            "[ci]\naws_access_key_id = AKIDSTATIC\naws_secret_access_key = static-secret-1\n",
        );
        let secrets = Secrets::default();
        let chain = resolve(None, &aws, None, &secrets).unwrap();
        assert_eq!(
            chain.source.to_string(),
            "profile `ci` (~/.aws/credentials)"
        );
        assert!(secrets.snapshot().contains(&"static-secret-1".to_string()));
    }
}
