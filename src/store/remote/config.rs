//! What a remote is made of before it is opened: the `[remote]` settings, the environment
//! inputs, and the URL, endpoint and region they resolve to.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::credentials::{AwsEnv, looks_like_ec2};
use super::error::RemoteError;
use super::lease::DEFAULT_LEASE_TTL;
use super::scrub::strip_userinfo;

pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;
pub const DEFAULT_CONCURRENCY: usize = 6;
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(120);

const URL_HINT: &str = "expected `s3://bucket/prefix` or `file:///absolute/dir`";

/// `[remote]` in the manifest (or `--remote`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSettings {
    /// `s3://bucket/prefix` or `file:///absolute/dir`.
    pub url: String,
    /// S3 endpoint (MinIO, …); wins over `ARTIFACTS_ENDPOINT`.
    pub endpoint: Option<String>,
    /// Wins over `AWS_REGION`; default `us-east-1`.
    pub region: Option<String>,
    /// Engines above this go multipart, in parts of this size (at least 5 MiB on S3).
    pub part_size: u64,
    /// Parts in flight per multipart upload, and ranges in flight per ranged fetch.
    pub concurrency: usize,
    /// Requests in flight to the remote at once, all callers together (listings, sidecar reads,
    /// leases, transfer parts): never thousands of sockets.
    pub max_in_flight: usize,
    /// How long a build lease lasts unless renewed.
    pub lease_ttl: Duration,
    /// A request that gets no bytes for this long is abandoned and tried again.
    pub read_timeout: Duration,
    /// An `s3://` remote that nothing points at is kept in a local stand-in directory; `false`
    /// makes that an error instead (CI, where a misconfigured builder must fail loudly).
    pub embedded: bool,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        RemoteSettings {
            url: String::new(),
            endpoint: None,
            region: None,
            part_size: DEFAULT_PART_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            lease_ttl: DEFAULT_LEASE_TTL,
            read_timeout: DEFAULT_READ_TIMEOUT,
            embedded: true,
        }
    }
}

/// Environment inputs, read once at the edge ([`RemoteEnv::from_process_env`]) and passed in,
/// so the library never reads the environment behind the caller's back.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RemoteEnv {
    /// `ARTIFACTS_ENDPOINT`, else `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`.
    pub endpoint: Option<String>,
    /// `ARTIFACTS_ACCESS_KEY`, else `AWS_ACCESS_KEY_ID`.
    pub access_key: Option<String>,
    /// `ARTIFACTS_SECRET_KEY`, else `AWS_SECRET_ACCESS_KEY`.
    pub secret_key: Option<String>,
    /// `AWS_SESSION_TOKEN` (only with keys that came from `AWS_*`).
    pub session_token: Option<String>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// The keys came from `ARTIFACTS_*` (named when saying where credentials come from).
    pub keys_from_artifacts: bool,
    /// `TRTCTL_REMOTE_EMBEDDED`: wins over `[remote] embedded`.
    pub embedded: Option<String>,
    /// The rest of the AWS chain: profiles, web identity, container, instance role.
    pub aws: AwsEnv,
    /// `HTTP_PROXY`, `HTTPS_PROXY` or `ALL_PROXY` (either case) is set: the HTTP client takes
    /// its proxy from them, and a proxy may speak TLS even to a plain-HTTP endpoint.
    pub proxied: bool,
}

/// Where the HTTP client (reqwest) takes a proxy from.
const PROXY_VARIABLES: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

impl RemoteEnv {
    /// Also reads the host's DMI data (files, no packet) unless the metadata service is off.
    pub fn from_process_env() -> RemoteEnv {
        let mut env = RemoteEnv::from_lookup(|name| std::env::var(name).ok());
        env.aws.on_ec2 = !env.aws.metadata_disabled && looks_like_ec2(Path::new("/sys"));
        env
    }

    /// Builds from any variable lookup; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> RemoteEnv {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let artifacts_keys =
            var("ARTIFACTS_ACCESS_KEY").is_some() || var("ARTIFACTS_SECRET_KEY").is_some();
        let (access_key, secret_key, session_token) = if artifacts_keys {
            (
                var("ARTIFACTS_ACCESS_KEY"),
                var("ARTIFACTS_SECRET_KEY"),
                None,
            )
        } else {
            (
                var("AWS_ACCESS_KEY_ID"),
                var("AWS_SECRET_ACCESS_KEY"),
                var("AWS_SESSION_TOKEN"),
            )
        };
        RemoteEnv {
            endpoint: var("ARTIFACTS_ENDPOINT")
                .or_else(|| var("AWS_ENDPOINT_URL_S3"))
                .or_else(|| var("AWS_ENDPOINT_URL")),
            access_key,
            secret_key,
            session_token,
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            keys_from_artifacts: artifacts_keys,
            embedded: var("TRTCTL_REMOTE_EMBEDDED"),
            proxied: PROXY_VARIABLES.iter().any(|name| var(name).is_some()),
            aws: AwsEnv::from_lookup(var),
        }
    }

    /// Whether anything in the environment points at S3: a key, an endpoint, a region, or any
    /// source of the AWS chain. Sends nothing.
    pub fn points_at_s3(&self) -> bool {
        self.endpoint.is_some()
            || self.access_key.is_some()
            || self.secret_key.is_some()
            || self.region.is_some()
            || self.aws.points_at_aws()
    }

    /// Whether the embedded stand-in may be used: `TRTCTL_REMOTE_EMBEDDED`, else the manifest.
    pub fn embedded_allowed(&self, manifest: bool) -> Result<bool, RemoteError> {
        match self.embedded.as_deref().map(str::trim) {
            None => Ok(manifest),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(other) => Err(RemoteError::BadVariable {
                name: "TRTCTL_REMOTE_EMBEDDED",
                value: other.to_string(),
                expected: "true or false",
            }),
        }
    }
}

fn presence(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| "<redacted>")
}

impl fmt::Debug for RemoteEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteEnv")
            .field("endpoint", &self.endpoint.as_deref().map(strip_userinfo))
            .field("access_key", &presence(&self.access_key))
            .field("secret_key", &presence(&self.secret_key))
            .field("session_token", &presence(&self.session_token))
            .field("region", &self.region)
            .field("aws", &self.aws)
            .finish_non_exhaustive()
    }
}

/// A remote URL, checked.
pub(super) enum RemoteUrl {
    S3 { bucket: String, prefix: String },
    File { root: PathBuf },
}

pub(super) fn bad_url(url: &str, why: impl Into<String>) -> RemoteError {
    RemoteError::BadUrl {
        url: strip_userinfo(url),
        why: why.into(),
    }
}

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && !segment.starts_with('.')
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl RemoteUrl {
    pub(super) fn parse(url: &str) -> Result<RemoteUrl, RemoteError> {
        if let Some(rest) = url.strip_prefix("s3://") {
            RemoteUrl::parse_s3(url, rest)
        } else if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(bad_url(
                    url,
                    format!("the directory must be absolute; {URL_HINT}"),
                ));
            }
            Ok(RemoteUrl::File {
                root: PathBuf::from(path),
            })
        } else if url.is_empty() {
            Err(bad_url(url, format!("the URL is empty; {URL_HINT}")))
        } else {
            Err(bad_url(url, format!("unsupported scheme; {URL_HINT}")))
        }
    }

    fn parse_s3(url: &str, rest: &str) -> Result<RemoteUrl, RemoteError> {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad_url(url, format!("no bucket; {URL_HINT}")));
        }
        if !bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(bad_url(
                url,
                "a bucket name has only letters, digits, `.`, `-` and `_` (credentials never go in the URL)",
            ));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() && !prefix.split('/').all(valid_segment) {
            return Err(bad_url(
                url,
                "each prefix segment needs letters, digits, `.`, `-` or `_`, must not start with `.`, and `//` is not allowed",
            ));
        }
        Ok(RemoteUrl::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

/// The S3 endpoint: `[remote] endpoint`, else the environment's, else the AWS profile's;
/// `None` means AWS.
pub(super) fn resolve_endpoint<'a>(
    url: &str,
    settings: &'a RemoteSettings,
    env: &'a RemoteEnv,
    profile_endpoint: Option<&'a str>,
) -> Result<Option<&'a str>, RemoteError> {
    let endpoint = settings
        .endpoint
        .as_deref()
        .or(env.endpoint.as_deref())
        .or(profile_endpoint)
        .map(|e| e.trim().trim_end_matches('/'))
        .filter(|e| !e.is_empty());
    let Some(e) = endpoint else {
        return Ok(None);
    };
    // Schemes are case-insensitive (`HTTP://minio:9000`).
    let after_scheme = ["http://", "https://"].iter().find_map(|scheme| {
        e.get(..scheme.len())
            .filter(|head| head.eq_ignore_ascii_case(scheme))
            .map(|_| &e[scheme.len()..])
    });
    let Some(authority_and_path) = after_scheme else {
        return Err(bad_url(
            url,
            format!(
                "endpoint `{}` (from `[remote] endpoint` or ARTIFACTS_ENDPOINT) must start with http:// or https://",
                strip_userinfo(e)
            ),
        ));
    };
    // Requests are path-style: a bucket in the endpoint would be asked for as a key prefix.
    if let Some((_, path)) = authority_and_path.split_once('/') {
        return Err(bad_url(
            url,
            format!(
                "endpoint `{}` has a path (`/{path}`): the endpoint is the server alone, and the bucket goes in the remote URL (`s3://BUCKET/prefix`)",
                strip_userinfo(e)
            ),
        ));
    }
    Ok(Some(e))
}

/// `[remote] region`, else the environment's; the AWS profile's and [`DEFAULT_REGION`] come
/// after.
pub(super) fn explicit_region<'a>(
    settings: &'a RemoteSettings,
    env: &'a RemoteEnv,
) -> Option<&'a str> {
    settings
        .region
        .as_deref()
        .or(env.region.as_deref())
        .map(str::trim)
        .filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> RemoteEnv {
        RemoteEnv::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn any_proxy_variable_marks_the_client_proxied() {
        assert!(!env_of(&[]).proxied);
        for name in PROXY_VARIABLES {
            assert!(env_of(&[(name, "http://proxy:3128")]).proxied, "{name}");
        }
        assert!(!env_of(&[("HTTPS_PROXY", " ")]).proxied, "empty is unset");
    }

    #[test]
    fn endpoints_take_any_case_of_scheme_and_refuse_a_path() {
        let settings = |endpoint: &str| RemoteSettings {
            url: "s3://b/engines".into(),
            endpoint: Some(endpoint.into()),
            ..RemoteSettings::default()
        };
        let env = RemoteEnv::default();
        for good in ["HTTP://127.0.0.1:9000", "Https://minio.example:9000/"] {
            let s = settings(good);
            assert!(
                resolve_endpoint("s3://b/engines", &s, &env, None).is_ok(),
                "{good}"
            );
        }
        let s = settings("http://minio:9000/screenalytics-artifacts");
        let err = resolve_endpoint("s3://b/engines", &s, &env, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("has a path (`/screenalytics-artifacts`)"),
            "{err}"
        );
        assert!(err.contains("s3://BUCKET/prefix"), "{err}");
        let s = settings("ftp://minio:9000");
        assert!(resolve_endpoint("s3://b/engines", &s, &env, None).is_err());
    }

    #[test]
    fn every_source_of_the_chain_points_at_s3_and_unrelated_variables_do_not() {
        for vars in [
            &[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")][..],
            &[("ARTIFACTS_SECRET_KEY", "b")],
            &[("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")],
            &[("AWS_DEFAULT_REGION", "eu-west-1")],
            &[("AWS_PROFILE", "ci")],
            &[("AWS_CONFIG_FILE", "/etc/passwd")],
            &[
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
                ("AWS_ROLE_ARN", "arn"),
            ],
            &[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials")],
            &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/c")],
            &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")],
        ] {
            assert!(env_of(vars).points_at_s3(), "{vars:?}");
        }
        let home = tempfile::tempdir().unwrap();
        let home_path = home.path().to_str().unwrap();
        assert!(!env_of(&[("HOME", home_path), ("AWS_CA_BUNDLE", "/x.pem")]).points_at_s3());
        std::fs::create_dir_all(home.path().join(".aws")).unwrap();
        std::fs::write(home.path().join(".aws/credentials"), "").unwrap();
        assert!(
            env_of(&[("HOME", home_path)]).points_at_s3(),
            "a shared file"
        );

        let mut ec2 = env_of(&[]);
        ec2.aws.on_ec2 = true;
        assert!(ec2.points_at_s3());
        ec2.aws.metadata_disabled = true;
        assert!(
            !ec2.points_at_s3(),
            "AWS_EC2_METADATA_DISABLED=true is honoured"
        );
    }

    #[test]
    fn the_embedded_switch_reads_the_variable_first() {
        assert!(env_of(&[]).embedded_allowed(true).unwrap());
        assert!(!env_of(&[]).embedded_allowed(false).unwrap());
        let off = env_of(&[("TRTCTL_REMOTE_EMBEDDED", "false")]);
        assert!(!off.embedded_allowed(true).unwrap());
        let on = env_of(&[("TRTCTL_REMOTE_EMBEDDED", "1")]);
        assert!(on.embedded_allowed(false).unwrap());
        let bad = env_of(&[("TRTCTL_REMOTE_EMBEDDED", "maybe")]);
        let err = bad.embedded_allowed(true).unwrap_err().to_string();
        assert!(
            err.contains("TRTCTL_REMOTE_EMBEDDED=\"maybe\" is not understood; use true or false"),
            "{err}"
        );
    }

    #[test]
    fn env_precedence_and_redacted_debug() {
        let vars = [
            ("ARTIFACTS_ACCESS_KEY", "artifact-access"),
            ("ARTIFACTS_SECRET_KEY", "artifact-secret"),
            ("AWS_ACCESS_KEY_ID", "aws-access"),
            ("AWS_SECRET_ACCESS_KEY", "aws-secret"),
            ("AWS_SESSION_TOKEN", "aws-token"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("ARTIFACTS_ENDPOINT", ""),
        ];
        let lookup = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let env = RemoteEnv::from_lookup(lookup);
        assert_eq!(env.access_key.as_deref(), Some("artifact-access"));
        assert_eq!(env.secret_key.as_deref(), Some("artifact-secret"));
        assert_eq!(
            env.session_token, None,
            "an AWS token never pairs with ARTIFACTS_* keys"
        );
        assert_eq!(env.region.as_deref(), Some("eu-west-1"));
        assert_eq!(env.endpoint, None);
        let debug = format!("{env:?}");
        for secret in ["artifact-access", "artifact-secret"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        let aws_only =
            RemoteEnv::from_lookup(|name| lookup(name).filter(|_| name.starts_with("AWS_")));
        assert_eq!(aws_only.access_key.as_deref(), Some("aws-access"));
        assert_eq!(aws_only.session_token.as_deref(), Some("aws-token"));
    }
}
