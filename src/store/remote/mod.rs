//! The remote engine cache on `object_store`: `s3://bucket/prefix` (AWS S3, MinIO, any
//! S3-compatible endpoint) and `file:///abs/dir` (a shared directory, or the embedded default).
//!
//! Layout under the prefix is the local cache's: `{family}/{file}` plus `{family}/{file}.json`.
//! The sidecar is the commit marker: it is written last, and an engine without one does not
//! exist.
//!
//! # Writes never clobber
//!
//! Every object that ends up under a family is written create-only, so two builders racing on
//! the same engine never overwrite each other:
//!
//! * engines up to `part_size` and sidecars: one `PUT` with `If-None-Match: *`
//!   ([`PutMode::Create`]; S3's default `S3ConditionalPut::ETagMatch` sends the header), a hard
//!   link on `file://`;
//! * larger engines: object_store's multipart upload cannot complete conditionally (its
//!   `complete` always overwrites), so the engine is uploaded multipart, concurrently, to a
//!   private staging key `{prefix}/.uploads/{family}/{file}.{nonce}` (never under a family, so
//!   never listed), hashed on the way, and then moved to its real name create-only: on S3 a
//!   one-part `UploadPartCopy` whose `CompleteMultipartUpload` carries `If-None-Match: *`
//!   (`S3CopyIfNotExists::Multipart`), on `file://` a hard link. The server-side copy costs time
//!   on the server, not bandwidth.
//!
//! Under the engine's build lease (see [`lease`]), no other trtctl writes the name, so the
//! staging step and its server-side copy are skipped: the multipart upload completes straight
//! at the engine's name, after the same HEAD check.
//!
//! Residual race: S3 cannot copy more than 5 GiB in one part, so engines above 5 GiB are
//! uploaded multipart straight to their name after a HEAD check even without a lease; two
//! builders starting within that window could both write the engine (last writer wins). So
//! could a lease holder that stalled past its lease time while a taker finished a whole build.
//! The sidecar stays create-only, so at worst the sidecar describes the other builder's bytes
//! (that builder gets a [`RemoteError::Conflict`]), and every fetch verifies the bytes against
//! the sidecar before using them: nothing wrong is ever loaded.
//!
//! What the server must do: honour `If-None-Match: *` on PutObject and CompleteMultipartUpload
//! and support UploadPartCopy (AWS S3 since 2024-08, MinIO, R2; the test server enforces it).
//! A server that silently ignores the header degrades create-only to last-writer-wins.
//! A process killed mid-upload leaves an incomplete multipart upload or a staging object under
//! `.uploads/`: invisible to trtctl, worth a bucket lifecycle rule
//! (`AbortIncompleteMultipartUpload`, expiry on `{prefix}/.uploads/`).
//!
//! A builder with a signing key signs its engine once the engine's bytes have landed and before
//! its sidecar is committed (see [`signatures`]): an engine is never published unsigned by a
//! builder that meant to sign it, and a builder that lost the race signs nothing.
//!
//! Losing a race is not an error: the winner's sidecar is read back and compared (same
//! fingerprint and sha256: [`UploadOutcome::AlreadyPresent`]; different:
//! [`RemoteError::Conflict`]). An engine found without a sidecar (an upload interrupted between
//! engine and sidecar, perhaps our own) is hashed; when its bytes are ours the sidecar is
//! committed beside it, otherwise it is a conflict the user resolves.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use object_store::limit::LimitStore;
use object_store::path::Path;

use crate::identity::EngineKey;

mod backend;
mod config;
mod credentials;
mod download;
mod error;
mod hashing;
mod in_flight;
mod lease;
mod list_objects;
mod listing;
mod origin;
mod ranged;
mod retry;
mod scrub;
mod signatures;
mod timing;
mod unsent;
mod upload;
mod wanted_listing;

use backend::Backend;
pub use config::{
    DEFAULT_CONCURRENCY, DEFAULT_MAX_IN_FLIGHT, DEFAULT_PART_SIZE, DEFAULT_READ_TIMEOUT,
    DEFAULT_REGION, RemoteEnv, RemoteSettings,
};
use config::{RemoteUrl, bad_url, explicit_region, resolve_endpoint};
use credentials::EnvKeys;
pub use credentials::{AwsEnv, CredentialError, CredentialSource, looks_like_ec2};
pub use error::RemoteError;
pub use lease::{DEFAULT_LEASE_TTL, HeldLease, LEASE_SUFFIX, LeaseClaim, LeaseRecord};
use list_objects::S3Lister;
pub use listing::{ObjectVersion, RemoteListing};
pub use retry::{Transient, retrying};
use scrub::{Secrets, one_line, strip_userinfo};
pub use signatures::Signatures;
pub use timing::{
    RemoteTimingCache, TIMING_PREFIX, TimingCacheMeta, TimingCacheStat, TimingVersion, TimingWrite,
    timing_cache_name,
};
pub use upload::UploadOutcome;
use upload::nonce;
pub use wanted_listing::{ListedEngine, SpanSize, WantedListing};

/// An opened remote. Cheap to clone.
#[derive(Clone)]
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    /// S3's LIST, sent by trtctl itself; `None` lists through `store`.
    lister: Option<S3Lister>,
    backend: Backend,
    /// Raw path segments under the bucket / directory, without surrounding `/`; may be empty.
    prefix: String,
    display: String,
    writable: bool,
    part_size: u64,
    concurrency: usize,
    max_in_flight: usize,
    lease_ttl: Duration,
    /// Values scrubbed from every error text, should a server echo one.
    secrets: Secrets,
    access: Access,
}

/// How trtctl reaches a remote, for people: where its credentials come from, the region and
/// the endpoint. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Directory,
    /// A local directory standing in for an `s3://` remote that nothing points at.
    StandIn {
        s3_url: String,
    },
    S3 {
        credentials: CredentialSource,
        region: String,
        endpoint: String,
    },
}

impl Access {
    /// One line for the plan header and `doctor`; `None` for a directory, which needs none.
    pub fn describe(&self) -> Option<String> {
        match self {
            Access::Directory => None,
            other => Some(other.to_string()),
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Directory => f.write_str("a directory"),
            Access::StandIn { s3_url } => write!(
                f,
                "embedded stand-in for {s3_url}: nothing points at S3; set AWS_PROFILE, AWS_ACCESS_KEY_ID or ARTIFACTS_ENDPOINT to use the bucket"
            ),
            Access::S3 {
                credentials,
                region,
                endpoint,
            } => write!(
                f,
                "credentials: {credentials}, region {region}, endpoint {endpoint}"
            ),
        }
    }
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.display)
            .field("writable", &self.writable)
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl Remote {
    /// The remote of `settings`. Every clone and every caller shares one bound on requests in
    /// flight: S3's HTTP client holds it per request until the response body is read (see
    /// `in_flight`), a directory's store per call.
    pub fn open(settings: &RemoteSettings, env: &RemoteEnv) -> Result<Remote, RemoteError> {
        let url = settings.url.trim();
        match RemoteUrl::parse(url)? {
            RemoteUrl::S3 { bucket, prefix } => Remote::open_s3(url, bucket, prefix, settings, env),
            RemoteUrl::File { root } => Ok(Remote {
                lister: None,
                store: Arc::new(LimitStore::new(
                    backend::open_dir(url, &root)?,
                    settings.max_in_flight.max(1),
                )),
                backend: Backend::File {
                    root: Some(root.clone()),
                },
                prefix: String::new(),
                display: format!("file://{}", root.display()),
                writable: true,
                part_size: settings.part_size.max(1),
                concurrency: settings.concurrency.max(1),
                max_in_flight: settings.max_in_flight.max(1),
                lease_ttl: settings.lease_ttl,
                secrets: Secrets::default(),
                access: Access::Directory,
            }),
        }
    }

    fn open_s3(
        url: &str,
        bucket: String,
        prefix: String,
        settings: &RemoteSettings,
        env: &RemoteEnv,
    ) -> Result<Remote, RemoteError> {
        let env_keys = match (&env.access_key, &env.secret_key) {
            (Some(access_key), Some(secret_key)) => Some(EnvKeys {
                variable: if env.keys_from_artifacts {
                    "ARTIFACTS_ACCESS_KEY"
                } else {
                    "AWS_ACCESS_KEY_ID"
                },
                access_key,
                secret_key,
                session_token: env.session_token.as_deref(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                return Err(RemoteError::Credentials {
                    detail: "an access key is set but no secret key; set both, or neither for anonymous read-only access"
                        .into(),
                });
            }
            (None, Some(_)) => {
                return Err(RemoteError::Credentials {
                    detail: "a secret key is set but no access key; set both, or neither for anonymous read-only access"
                        .into(),
                });
            }
        };
        let secrets = Secrets::default();
        let chain =
            credentials::resolve(env_keys, &env.aws, explicit_region(settings, env), &secrets)?;
        let endpoint = resolve_endpoint(url, settings, env, chain.profile_endpoint.as_deref())?;
        let tls = backend::may_use_tls(endpoint, env.proxied);
        let options = backend::client_options(settings.read_timeout, tls);
        let client = backend::http_client(&options, settings.max_in_flight)
            .map_err(|e| bad_url(url, one_line(&e.to_string(), &secrets.snapshot())))?;
        let mut builder = backend::s3_builder(&bucket, &chain.region, endpoint, &options, &client);
        let lister = S3Lister {
            client,
            bucket_url: backend::bucket_url(&bucket, &chain.region, endpoint),
            region: chain.region.clone(),
            credentials: chain.provider.clone(),
            retry: backend::retry_config(),
        };
        let writable = match chain.provider {
            Some(provider) => {
                builder = builder.with_credentials(provider);
                true
            }
            None => {
                // Anonymous: read-only access to a public bucket; nothing is ever uploaded.
                builder = builder.with_skip_signature(true);
                false
            }
        };
        let store = backend::build_s3(url, builder, &secrets.snapshot())?;
        let display = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        let endpoint = match endpoint {
            Some(e) => strip_userinfo(e),
            None => format!("https://s3.{}.amazonaws.com", chain.region),
        };
        Ok(Remote {
            store,
            lister: Some(lister),
            backend: Backend::S3 {
                bucket,
                endpoint: endpoint.clone(),
            },
            prefix,
            display,
            writable,
            part_size: settings.part_size.max(1),
            concurrency: settings.concurrency.max(1),
            max_in_flight: settings.max_in_flight.max(1),
            lease_ttl: settings.lease_ttl,
            secrets,
            access: Access::S3 {
                credentials: chain.source,
                region: chain.region,
                endpoint,
            },
        })
    }

    /// This remote (a directory) standing in for `s3_url`, which nothing points at.
    pub fn as_stand_in_for(self, s3_url: &str) -> Remote {
        Remote {
            access: Access::StandIn {
                s3_url: s3_url.to_string(),
            },
            ..self
        }
    }

    /// How this remote is reached: credentials source, region, endpoint.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Display form, e.g. `s3://screenalytics-artifacts/engines`; never holds a secret.
    pub fn url(&self) -> &str {
        &self.display
    }

    /// The most requests this remote has in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    pub fn lease_ttl(&self) -> Duration {
        self.lease_ttl
    }

    /// `false` for S3 without credentials: fetches work (public bucket), uploads are refused.
    pub fn writable(&self) -> bool {
        self.writable
    }

    fn location(&self, relative: &str) -> Result<Path, RemoteError> {
        let full = if self.prefix.is_empty() {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.prefix)
        };
        Path::parse(&full).map_err(|e| RemoteError::InvalidName {
            name: full.clone(),
            kind: "object name",
            why: e.to_string(),
        })
    }

    /// Refuses keys that do not round-trip through the name rules: nothing outside the prefix.
    fn checked(&self, key: &EngineKey) -> Result<(), RemoteError> {
        let invalid = |why: String| RemoteError::InvalidName {
            name: key.to_string(),
            kind: "engine key",
            why,
        };
        match EngineKey::parse(&key.path()) {
            Ok((parsed, _)) if &parsed == key => Ok(()),
            Ok(_) => Err(invalid(
                "it does not round-trip through the naming rules".into(),
            )),
            Err(e) => Err(invalid(e.to_string())),
        }
    }

    /// Maps an object_store error to one line that says what to check.
    fn classify(&self, what: &str, err: object_store::Error) -> RemoteError {
        self.origin().classify(what, err)
    }

    fn origin(&self) -> origin::Origin<'_> {
        origin::Origin {
            backend: &self.backend,
            display: &self.display,
            writable: self.writable,
            secrets: &self.secrets,
        }
    }
}

#[cfg(test)]
mod test_store;

#[cfg(test)]
mod tests {
    use super::backend::{S3_MAX_PARTS, S3_MIN_PART};
    use super::*;
    use crate::identity::{self, Sidecar};

    fn settings(url: &str) -> RemoteSettings {
        RemoteSettings {
            url: url.into(),
            ..RemoteSettings::default()
        }
    }

    fn keys() -> RemoteEnv {
        RemoteEnv {
            access_key: Some("AKIDEXAMPLE123".into()),
            secret_key: Some("very-secret-value-42".into()),
            ..RemoteEnv::default()
        }
    }

    #[test]
    fn s3_urls_parse_and_display_without_secrets() {
        let env = RemoteEnv {
            endpoint: Some("http://minio:9000/".into()),
            ..keys()
        };
        let remote =
            Remote::open(&settings("s3://screenalytics-artifacts/engines/"), &env).unwrap();
        assert_eq!(remote.url(), "s3://screenalytics-artifacts/engines");
        assert!(remote.writable());
        let debug = format!("{remote:?} {env:?}");
        assert!(!debug.contains("very-secret-value-42"), "{debug}");
        assert!(!debug.contains("AKIDEXAMPLE123"), "{debug}");

        let anonymous = Remote::open(&settings("s3://bucket"), &RemoteEnv::default()).unwrap();
        assert_eq!(anonymous.url(), "s3://bucket");
        assert!(!anonymous.writable());
    }

    #[test]
    fn bad_urls_are_refused_with_a_hint() {
        for url in [
            "",
            "http://bucket/x",
            "s3://",
            "s3:///prefix",
            "s3://user:pw@bucket/x",
            "s3://bucket/a//b",
            "s3://bucket/../x",
            "file://relative/dir",
        ] {
            let err = Remote::open(&settings(url), &RemoteEnv::default()).unwrap_err();
            assert!(matches!(err, RemoteError::BadUrl { .. }), "{url}: {err}");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
        let env = RemoteEnv {
            endpoint: Some("minio:9000".into()),
            ..RemoteEnv::default()
        };
        let err = Remote::open(&settings("s3://b/x"), &env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("http://"), "{err}");
    }

    #[test]
    fn half_a_key_pair_is_an_error_that_names_no_value() {
        let env = RemoteEnv {
            access_key: Some("AKIDEXAMPLE123".into()),
            ..RemoteEnv::default()
        };
        let err = Remote::open(&settings("s3://b/x"), &env).unwrap_err();
        assert!(matches!(err, RemoteError::Credentials { .. }));
        assert!(!err.to_string().contains("AKIDEXAMPLE123"));
    }

    #[test]
    fn operations_can_run_on_spawned_tasks() {
        fn send<T: Send>(_: &T) {}
        let remote = Remote::open(&settings("s3://bucket/x"), &keys()).unwrap();
        let (key, id) = EngineKey::parse("fam/m_v1_fp16_sm_86_10.3.0.trt").unwrap();
        let sidecar = Sidecar {
            schema_version: identity::SIDECAR_SCHEMA_VERSION,
            family: key.family.clone(),
            id,
            fingerprint: None,
            engine_sha256: String::new(),
            engine_size: 0,
            build: None,
            provenance: identity::Provenance::default(),
            local_trust: None,
            weights: None,
        };
        let temp = tempfile::tempfile().unwrap();
        let mut file = tokio::fs::File::from_std(temp);
        let on_bytes = |_: u64| {};
        send(&remote.list_family("fam"));
        send(&remote.read_sidecar(&key));
        send(&remote.fetch_engine(&key, &mut file, &on_bytes));
        send(&remote.upload(
            &key,
            std::path::Path::new("/nonexistent"),
            &sidecar,
            false,
            None,
            &on_bytes,
        ));
        send(&remote.signatures(&key, &|_| true));
    }

    #[test]
    fn s3_parts_respect_the_limits() {
        let remote = Remote::open(
            &RemoteSettings {
                part_size: 1024,
                ..settings("s3://b")
            },
            &RemoteEnv::default(),
        )
        .unwrap();
        assert_eq!(remote.part_len(10 << 20), S3_MIN_PART);
        let huge = 100 * 1024 * 1024 * 1024u64;
        assert!(huge.div_ceil(remote.part_len(huge)) <= S3_MAX_PARTS);
    }
}
