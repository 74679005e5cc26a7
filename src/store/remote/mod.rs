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
//! Losing a race is not an error: the winner's sidecar is read back and compared (same
//! fingerprint and sha256: [`UploadOutcome::AlreadyPresent`]; different:
//! [`RemoteError::Conflict`]). An engine found without a sidecar (an upload interrupted between
//! engine and sidecar, perhaps our own) is hashed; when its bytes are ours the sidecar is
//! committed beside it, otherwise it is a conflict the user resolves.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, CopyMode, CopyOptions, GetOptions, GetRange, GetResultPayload,
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload,
    RetryConfig,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};

use crate::identity::{self, EngineKey, SIDECAR_SUFFIX, Sidecar};

mod lease;
mod retry;
pub use lease::{DEFAULT_LEASE_TTL, HeldLease, LEASE_SUFFIX, LeaseClaim, LeaseRecord};
pub use retry::{Transient, retrying};

pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;
pub const DEFAULT_CONCURRENCY: usize = 6;
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(120);

/// S3's smallest part (all but the last), its most parts per upload, its largest single copy.
const S3_MIN_PART: u64 = 5 * 1024 * 1024;
const S3_MAX_PARTS: u64 = 10_000;
const S3_MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;
/// Staging area for multipart uploads, beside the families; `.` is never a family's first char.
const STAGING_DIR: &str = ".uploads";
/// Sidecars are small JSON; anything bigger is not one of ours and is not read into memory.
const MAX_SIDECAR_BYTES: u64 = 1024 * 1024;
/// How long a builder that lost the race on the engine waits for the winner's sidecar.
const SIDECAR_WAIT: [u64; 6] = [0, 100, 250, 500, 1000, 2000];
/// An engine without a sidecar younger than this may be a commit in progress.
const FRESH_SECS: i64 = 300;
const READ_CHUNK: usize = 1024 * 1024;
/// Ranged downloads fetch this much per request: small enough that many are in flight in
/// little memory, large enough that request overhead does not show (measured in
/// docs/benchmarks.md).
const RANGE_SIZE: u64 = 4 * 1024 * 1024;
/// Tries per range of a ranged download; then the whole transfer is retried from the start.
const RANGE_ATTEMPTS: u32 = 3;

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
    /// How long a build lease lasts unless renewed.
    pub lease_ttl: Duration,
    /// A request that gets no bytes for this long is abandoned and tried again.
    pub read_timeout: Duration,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        RemoteSettings {
            url: String::new(),
            endpoint: None,
            region: None,
            part_size: DEFAULT_PART_SIZE,
            concurrency: DEFAULT_CONCURRENCY,
            lease_ttl: DEFAULT_LEASE_TTL,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }
}

/// Environment inputs, read once at the edge ([`RemoteEnv::from_process_env`]) and passed in,
/// so the library never reads the environment behind the caller's back.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RemoteEnv {
    /// `ARTIFACTS_ENDPOINT`, else `AWS_ENDPOINT_URL`.
    pub endpoint: Option<String>,
    /// `ARTIFACTS_ACCESS_KEY`, else `AWS_ACCESS_KEY_ID`.
    pub access_key: Option<String>,
    /// `ARTIFACTS_SECRET_KEY`, else `AWS_SECRET_ACCESS_KEY`.
    pub secret_key: Option<String>,
    /// `AWS_SESSION_TOKEN` (only with keys that came from `AWS_*`).
    pub session_token: Option<String>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
}

impl RemoteEnv {
    pub fn from_process_env() -> RemoteEnv {
        RemoteEnv::from_lookup(|name| std::env::var(name).ok())
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
            endpoint: var("ARTIFACTS_ENDPOINT").or_else(|| var("AWS_ENDPOINT_URL")),
            access_key,
            secret_key,
            session_token,
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
        }
    }

    /// Whether any credential is present (never which one).
    pub fn has_credentials(&self) -> bool {
        self.access_key.is_some() && self.secret_key.is_some()
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
            .finish()
    }
}

/// What one LIST under `{prefix}/{family}/` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteListing {
    /// Engine objects and their sizes.
    pub engines: BTreeMap<EngineKey, u64>,
    pub sidecars: BTreeSet<EngineKey>,
    /// Engines with a build lease on them (a builder is at work, or crashed).
    pub leases: BTreeSet<EngineKey>,
    /// Names under the family (relative to the prefix) that are neither an engine nor a sidecar:
    /// foreign or hostile. Shown to people, never used as paths.
    pub rejected: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// This call published the engine; `bytes` is what it sent.
    Uploaded { bytes: u64 },
    /// Another builder published the same engine (same fingerprint and sha256) first.
    AlreadyPresent,
}

/// Every message is one line that says what to check, and never holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("bad remote URL `{url}`: {why}")]
    BadUrl { url: String, why: String },
    #[error(
        "{detail}; check ARTIFACTS_ACCESS_KEY / ARTIFACTS_SECRET_KEY (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
    )]
    Credentials { detail: String },
    #[error(
        "bucket `{bucket}` does not exist at {endpoint}; check the bucket in the remote URL and ARTIFACTS_ENDPOINT, or create the bucket"
    )]
    NoBucket { bucket: String, endpoint: String },
    #[error("cannot reach {endpoint} ({detail}); check ARTIFACTS_ENDPOINT and the network")]
    Unreachable { endpoint: String, detail: String },
    #[error(
        "{key}: the remote already holds a different engine under this name ({theirs}; ours: {ours}); uploads never overwrite, so delete the remote engine and its .json to publish this build"
    )]
    Conflict {
        key: String,
        ours: String,
        theirs: String,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{detail}")]
    Other { detail: String },
}

impl RemoteError {
    /// Whether trying the same transfer again may succeed: a network or server failure, not a
    /// refusal, a conflict or a local problem.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RemoteError::Unreachable { .. } | RemoteError::Other { .. }
        )
    }
}

enum ObjectKind {
    Engine,
    Sidecar,
    Lease,
}

#[derive(Clone)]
enum Backend {
    S3 { bucket: String, endpoint: String },
    File,
}

/// An opened remote. Cheap to clone.
#[derive(Clone)]
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    backend: Backend,
    /// Raw path segments under the bucket / directory, without surrounding `/`; may be empty.
    prefix: String,
    display: String,
    writable: bool,
    part_size: u64,
    concurrency: usize,
    lease_ttl: Duration,
    /// Values scrubbed from every error text, should a server echo one.
    secrets: Arc<[String]>,
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

/// Drops `user:password@` from a URL-ish string.
fn strip_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), url),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

fn bad_url(url: &str, why: impl Into<String>) -> RemoteError {
    RemoteError::BadUrl {
        url: strip_userinfo(url),
        why: why.into(),
    }
}

const URL_HINT: &str = "expected `s3://bucket/prefix` or `file:///absolute/dir`";

fn retry_config() -> RetryConfig {
    // Transient trouble (5xx, SlowDown, dropped connections, timeouts) is retried with
    // exponential backoff and jitter, at most ~9 s of sleeping in all; 4xx (bad credentials,
    // missing bucket) is never retried and fails at once.
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 3.0,
        },
        max_retries: 5,
        retry_timeout: Duration::from_secs(60),
    }
}

fn client_options(read_timeout: Duration) -> ClientOptions {
    // No overall request timeout: a multi-GB engine streams for longer than any fixed bound.
    // A stalled connection is caught by the read timeout instead (time to the response
    // headers, then between body reads), and interrupted downloads resume where they stopped.
    ClientOptions::new()
        .with_allow_http(true)
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout_disabled()
        .with_read_timeout(read_timeout)
}

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && !segment.starts_with('.')
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl Remote {
    pub fn open(settings: &RemoteSettings, env: &RemoteEnv) -> Result<Remote, RemoteError> {
        let url = settings.url.trim();
        if let Some(rest) = url.strip_prefix("s3://") {
            Remote::open_s3(url, rest, settings, env)
        } else if let Some(path) = url.strip_prefix("file://") {
            Remote::open_file(url, path, settings)
        } else if url.is_empty() {
            Err(bad_url(url, format!("the URL is empty; {URL_HINT}")))
        } else {
            Err(bad_url(url, format!("unsupported scheme; {URL_HINT}")))
        }
    }

    fn open_s3(
        url: &str,
        rest: &str,
        settings: &RemoteSettings,
        env: &RemoteEnv,
    ) -> Result<Remote, RemoteError> {
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

        let endpoint = settings
            .endpoint
            .as_deref()
            .or(env.endpoint.as_deref())
            .map(|e| e.trim().trim_end_matches('/'))
            .filter(|e| !e.is_empty());
        if let Some(e) = endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return Err(bad_url(
                url,
                format!(
                    "endpoint `{}` (from `[remote] endpoint` or ARTIFACTS_ENDPOINT) must start with http:// or https://",
                    strip_userinfo(e)
                ),
            ));
        }
        let region = settings
            .region
            .as_deref()
            .or(env.region.as_deref())
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or(DEFAULT_REGION);
        let endpoint_display = match endpoint {
            Some(e) => strip_userinfo(e),
            None => format!("https://s3.{region}.amazonaws.com"),
        };

        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(region)
            .with_virtual_hosted_style_request(false)
            .with_client_options(client_options(settings.read_timeout))
            .with_retry(retry_config())
            .with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
        if let Some(e) = endpoint {
            builder = builder.with_endpoint(e);
        }
        let mut secrets = Vec::new();
        let writable = match (&env.access_key, &env.secret_key) {
            (Some(access), Some(secret)) => {
                builder = builder
                    .with_access_key_id(access)
                    .with_secret_access_key(secret);
                secrets.push(access.clone());
                secrets.push(secret.clone());
                if let Some(token) = &env.session_token {
                    builder = builder.with_token(token);
                    secrets.push(token.clone());
                }
                true
            }
            (None, None) => {
                // Anonymous: read-only access to a public bucket; nothing is ever uploaded.
                builder = builder.with_skip_signature(true);
                false
            }
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
        let store = builder
            .build()
            .map_err(|e| bad_url(url, one_line(&e.to_string(), &secrets)))?;
        let display = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        Ok(Remote {
            store: Arc::new(store),
            backend: Backend::S3 {
                bucket: bucket.to_string(),
                endpoint: endpoint_display,
            },
            prefix: prefix.to_string(),
            display,
            writable,
            part_size: settings.part_size.max(1),
            concurrency: settings.concurrency.max(1),
            lease_ttl: settings.lease_ttl,
            secrets: secrets.into(),
        })
    }

    fn open_file(url: &str, path: &str, settings: &RemoteSettings) -> Result<Remote, RemoteError> {
        if !path.starts_with('/') {
            return Err(bad_url(
                url,
                format!("the directory must be absolute; {URL_HINT}"),
            ));
        }
        let root = PathBuf::from(path);
        std::fs::create_dir_all(&root).map_err(|source| RemoteError::Io {
            path: root.clone(),
            source,
        })?;
        let store = LocalFileSystem::new_with_prefix(&root)
            .map_err(|e| bad_url(url, one_line(&e.to_string(), &[])))?
            .with_fsync(true);
        Ok(Remote {
            store: Arc::new(store),
            backend: Backend::File,
            prefix: String::new(),
            display: format!("file://{}", root.display()),
            writable: true,
            part_size: settings.part_size.max(1),
            concurrency: settings.concurrency.max(1),
            lease_ttl: settings.lease_ttl,
            secrets: Arc::new([]),
        })
    }

    /// Display form, e.g. `s3://screenalytics-artifacts/engines`; never holds a secret.
    pub fn url(&self) -> &str {
        &self.display
    }

    pub fn lease_ttl(&self) -> Duration {
        self.lease_ttl
    }

    /// Whether the store can overwrite an object only if it is still the version last read.
    fn has_conditional_update(&self) -> bool {
        matches!(self.backend, Backend::S3 { .. })
    }

    /// `false` for S3 without credentials: fetches work (public bucket), uploads are refused.
    pub fn writable(&self) -> bool {
        self.writable
    }

    fn other(&self, detail: impl Into<String>) -> RemoteError {
        RemoteError::Other {
            detail: one_line(&detail.into(), &self.secrets),
        }
    }

    fn location(&self, relative: &str) -> Result<Path, RemoteError> {
        let full = if self.prefix.is_empty() {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.prefix)
        };
        Path::parse(&full)
            .map_err(|e| self.other(format!("`{full}` is not a valid object name: {e}")))
    }

    /// Refuses keys that do not round-trip through the name rules: nothing outside the prefix.
    fn checked(&self, key: &EngineKey) -> Result<(), RemoteError> {
        match EngineKey::parse(&key.path()) {
            Ok((parsed, _)) if &parsed == key => Ok(()),
            Ok(_) => Err(self.other(format!("`{key}` is not a valid engine key"))),
            Err(e) => Err(self.other(format!("`{key}` is not a valid engine key: {e}"))),
        }
    }

    /// Maps an object_store error to one line that says what to check.
    fn classify(&self, what: &str, err: object_store::Error) -> RemoteError {
        let text = one_line(&error_chain(&err), &self.secrets);
        let (code, message) = s3_error_code(&text);
        if let object_store::Error::InvalidPath { .. } = err {
            return self.other(format!(
                "{what}: the remote holds an object whose name is not a safe path (`.`, `..`, `//` or control characters); remove it ({text})"
            ));
        }
        if let Backend::S3 { bucket, endpoint } = &self.backend {
            if let Some(kind) = http_error_kind(&err)
                && matches!(
                    kind,
                    HttpErrorKind::Connect | HttpErrorKind::Timeout | HttpErrorKind::Request
                )
            {
                return RemoteError::Unreachable {
                    endpoint: endpoint.clone(),
                    detail: one_line(&root_cause(&err), &self.secrets),
                };
            }
            if code.as_deref() == Some("NoSuchBucket") {
                return RemoteError::NoBucket {
                    bucket: bucket.clone(),
                    endpoint: endpoint.clone(),
                };
            }
            let auth_code = matches!(
                code.as_deref(),
                Some(
                    "SignatureDoesNotMatch"
                        | "InvalidAccessKeyId"
                        | "AccessDenied"
                        | "InvalidToken"
                        | "ExpiredToken"
                        | "TokenRefreshRequired"
                        | "AuthorizationHeaderMalformed"
                        | "InvalidSecurity"
                        | "NotSignedUp"
                        | "AllAccessDisabled"
                        | "AccountProblem"
                )
            );
            if auth_code
                || matches!(
                    err,
                    object_store::Error::PermissionDenied { .. }
                        | object_store::Error::Unauthenticated { .. }
                )
            {
                let reason = match (&code, &message) {
                    (Some(c), Some(m)) => format!("{c}: {m}"),
                    (Some(c), None) => c.clone(),
                    _ => "access denied".to_string(),
                };
                let detail = if self.writable {
                    format!("the remote refused the credentials ({reason})")
                } else {
                    format!(
                        "the remote refused anonymous access ({reason}); no credentials are set"
                    )
                };
                return RemoteError::Credentials {
                    detail: one_line(&detail, &self.secrets),
                };
            }
            let detail = match (&code, &message) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                _ => text,
            };
            return self.other(format!("{what} on {}: {detail}", self.display));
        }
        self.other(format!("{what} in {}: {text}", self.display))
    }

    /// ONE list call (paginated by the server as needed) under `{prefix}/{family}/`.
    pub async fn list_family(&self, family: &str) -> Result<RemoteListing, RemoteError> {
        identity::validate_family(family)
            .map_err(|e| self.other(format!("cannot list family: {e}")))?;
        let dir = self.location(family)?;
        let base = format!("{}/", dir.as_ref());
        let mut listing = RemoteListing::default();
        let mut stream = self.store.list(Some(&dir));
        let what = format!("listing {family}/");
        while let Some(meta) = stream
            .try_next()
            .await
            .map_err(|e| self.classify(&what, e))?
        {
            let location = meta.location.as_ref();
            let Some(name) = location.strip_prefix(&base) else {
                listing.rejected.push(location.to_string());
                continue;
            };
            let relative = format!("{family}/{name}");
            let (engine_name, kind) = if let Some(e) = relative.strip_suffix(SIDECAR_SUFFIX) {
                (e, ObjectKind::Sidecar)
            } else if let Some(e) = relative.strip_suffix(LEASE_SUFFIX) {
                (e, ObjectKind::Lease)
            } else {
                (relative.as_str(), ObjectKind::Engine)
            };
            match EngineKey::parse(engine_name) {
                Ok((key, _)) if key.family == family => match kind {
                    ObjectKind::Sidecar => {
                        listing.sidecars.insert(key);
                    }
                    ObjectKind::Lease => {
                        listing.leases.insert(key);
                    }
                    ObjectKind::Engine => {
                        listing.engines.insert(key, meta.size);
                    }
                },
                _ => listing.rejected.push(relative),
            }
        }
        Ok(listing)
    }

    /// The sidecar's bytes, or `None` when there is none.
    pub async fn read_sidecar(&self, key: &EngineKey) -> Result<Option<Vec<u8>>, RemoteError> {
        self.checked(key)?;
        let location = self.location(&key.sidecar_path())?;
        let what = format!("reading {}", key.sidecar_path());
        let result = match self.store.get(&location).await {
            Ok(result) => result,
            Err(e @ object_store::Error::NotFound { .. }) => {
                return match self.classify(&what, e) {
                    no_bucket @ RemoteError::NoBucket { .. } => Err(no_bucket),
                    _ => Ok(None),
                };
            }
            Err(e) => return Err(self.classify(&what, e)),
        };
        if result.meta.size > MAX_SIDECAR_BYTES {
            return Err(self.other(format!(
                "{}: the remote sidecar is {} bytes, not a trtctl sidecar; remove it from the remote",
                key.sidecar_path(),
                result.meta.size
            )));
        }
        let bytes = result.bytes().await.map_err(|e| self.classify(&what, e))?;
        Ok(Some(bytes.to_vec()))
    }

    /// Streams the engine into `dest` (an already created temp file), hashing on the way;
    /// `on_bytes(total_so_far)` as bytes arrive. Returns (sha256 hex, size). Memory stays
    /// bounded: the object is never held whole.
    pub async fn fetch_engine(
        &self,
        key: &EngineKey,
        dest: &mut tokio::fs::File,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(String, u64), RemoteError> {
        self.checked(key)?;
        let temp_err = |source| RemoteError::Io {
            path: PathBuf::from(format!("temp file for {key}")),
            source,
        };
        dest.seek(SeekFrom::Start(0)).await.map_err(temp_err)?;
        dest.set_len(0).await.map_err(temp_err)?;
        let location = self.location(&key.path())?;
        let digest = self.download(key, &location, dest, on_bytes).await?;
        dest.flush().await.map_err(temp_err)?;
        Ok(digest)
    }

    /// Streams an object into `out`, hashing it; the size must match the object's.
    async fn download<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        key: &EngineKey,
        location: &Path,
        out: &mut W,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(String, u64), RemoteError> {
        let what = format!("fetching {key}");
        if matches!(self.backend, Backend::S3 { .. }) {
            let meta = self
                .store
                .head(location)
                .await
                .map_err(|e| self.missing_engine(key, &what, e))?;
            if meta.size > RANGE_SIZE {
                return self.download_ranges(&what, &meta, out, on_bytes).await;
            }
        }
        let result = match self.store.get(location).await {
            Ok(result) => result,
            Err(e) => return Err(self.missing_engine(key, &what, e)),
        };
        let expected = result.meta.size;
        let mut sink = HashingSink::new(out, format!("download of {key}"), on_bytes);
        match result.payload {
            GetResultPayload::File(file, path) => {
                // file://: read the opened file in large chunks rather than object_store's 8 KiB.
                let mut file = tokio::fs::File::from_std(file).take(expected);
                let mut buf = vec![0u8; READ_CHUNK];
                loop {
                    let n = file
                        .read(&mut buf)
                        .await
                        .map_err(|source| RemoteError::Io {
                            path: path.clone(),
                            source,
                        })?;
                    if n == 0 {
                        break;
                    }
                    sink.put(&buf[..n]).await?;
                }
            }
            GetResultPayload::Stream(mut stream) => {
                while let Some(chunk) = stream
                    .try_next()
                    .await
                    .map_err(|e| self.classify(&what, e))?
                {
                    sink.put(&chunk).await?;
                }
            }
        }
        let (sha256, total) = sink.finish();
        if total != expected {
            return Err(self.other(format!(
                "{what}: got {total} of {expected} bytes; the remote object changed or the transfer was cut, try again"
            )));
        }
        Ok((sha256, total))
    }

    fn missing_engine(&self, key: &EngineKey, what: &str, err: object_store::Error) -> RemoteError {
        let not_found = matches!(err, object_store::Error::NotFound { .. });
        match self.classify(what, err) {
            no_bucket @ RemoteError::NoBucket { .. } => no_bucket,
            _ if not_found => self.other(format!(
                "{key} is not on {} (any more); plan again",
                self.display
            )),
            other => other,
        }
    }

    /// A large object as concurrent ranged GETs of [`RANGE_SIZE`] (`concurrency` in flight, so
    /// memory stays at `concurrency × RANGE_SIZE`), hashed and written in order. Every range is
    /// pinned to the object's ETag: an object replaced half-way fails rather than mixing.
    async fn download_ranges<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        what: &str,
        meta: &ObjectMeta,
        out: &mut W,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(String, u64), RemoteError> {
        let size = meta.size;
        let ranges = (0..size)
            .step_by(RANGE_SIZE as usize)
            .map(|start| start..(start + RANGE_SIZE).min(size));
        let mut parts = futures::stream::iter(ranges)
            .map(|range| self.get_range(&meta.location, range, meta.e_tag.clone()))
            .buffered(self.concurrency);
        let mut sink = HashingSink::new(out, format!("download of {}", meta.location), on_bytes);
        while let Some(part) = parts.next().await {
            sink.put(&part.map_err(|e| self.classify(what, e))?).await?;
        }
        Ok(sink.finish())
    }

    /// One range, whole. A body cut off half-way is asked for again (a GET is idempotent), a
    /// few times, before the error goes up.
    async fn get_range(
        &self,
        location: &Path,
        range: std::ops::Range<u64>,
        e_tag: Option<String>,
    ) -> object_store::Result<bytes::Bytes> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(range.clone())),
            if_match: e_tag,
            ..GetOptions::default()
        };
        let mut attempt = 1;
        loop {
            let result = async {
                let bytes = self.store.get_opts(location, options.clone()).await?.bytes().await?;
                if bytes.len() as u64 == range.end - range.start {
                    Ok(bytes)
                } else {
                    Err(object_store::Error::Generic {
                        store: "S3",
                        source: format!(
                            "got {} bytes for the range {range:?}; the object changed or the transfer was cut",
                            bytes.len()
                        )
                        .into(),
                    })
                }
            }
            .await;
            match result {
                Err(object_store::Error::Generic { .. }) if attempt < RANGE_ATTEMPTS => {
                    attempt += 1;
                }
                done => return done,
            }
        }
    }

    /// Publishes `engine` and its sidecar: engine first, sidecar last, both create-only (see the
    /// module docs). Losing the race to an identical engine is [`UploadOutcome::AlreadyPresent`].
    /// `under_lease`: the caller holds the engine's build lease, so no other trtctl writes this
    /// name and a large engine goes multipart straight to it instead of through staging and a
    /// server-side copy.
    pub async fn upload(
        &self,
        key: &EngineKey,
        engine: &std::path::Path,
        sidecar: &Sidecar,
        under_lease: bool,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<UploadOutcome, RemoteError> {
        self.checked(key)?;
        if &sidecar.key() != key {
            return Err(self.other(format!(
                "{key}: refusing to upload a sidecar that describes `{}`",
                sidecar.key()
            )));
        }
        if !self.writable {
            return Err(RemoteError::Credentials {
                detail: format!(
                    "no credentials are set, so {} is read-only and cannot take the upload of {key}",
                    self.display
                ),
            });
        }
        // Already published (the common case when another builder was faster): no bytes sent.
        if let Some(theirs) = self.read_sidecar(key).await? {
            return compare(key, sidecar, &theirs);
        }
        let engine_location = self.location(&key.path())?;
        match self.store.head(&engine_location).await {
            Ok(meta) => return self.settle(key, sidecar, meta).await,
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.classify(&format!("checking {key}"), e)),
        }
        let sent = match self
            .put_engine(
                key,
                &engine_location,
                engine,
                sidecar,
                under_lease,
                on_bytes,
            )
            .await?
        {
            Some(sent) => sent,
            None => {
                let meta = self
                    .store
                    .head(&engine_location)
                    .await
                    .map_err(|e| self.classify(&format!("checking {key}"), e))?;
                return self.settle(key, sidecar, meta).await;
            }
        };
        match self.commit_sidecar(key, sidecar).await? {
            None => Ok(UploadOutcome::Uploaded { bytes: sent }),
            Some(theirs) => compare(key, sidecar, &theirs),
        }
    }

    /// Writes the sidecar create-only. `Some(theirs)` when one was there already.
    async fn commit_sidecar(
        &self,
        key: &EngineKey,
        sidecar: &Sidecar,
    ) -> Result<Option<Vec<u8>>, RemoteError> {
        let location = self.location(&key.sidecar_path())?;
        let what = format!("uploading {}", key.sidecar_path());
        match self
            .store
            .put_opts(
                &location,
                PutPayload::from(sidecar.to_json()),
                PutOptions::from(PutMode::Create),
            )
            .await
        {
            Ok(_) => Ok(None),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => match self.read_sidecar(key).await? {
                Some(theirs) => Ok(Some(theirs)),
                None => Err(self.other(format!(
                    "{what}: the remote reported it present, then absent; try again"
                ))),
            },
            Err(e) => Err(self.classify(&what, e)),
        }
    }

    /// The engine object exists already. Waits briefly for its writer's sidecar; when none comes,
    /// hashes it: our bytes get our sidecar (an interrupted upload finished), others' are a conflict.
    async fn settle(
        &self,
        key: &EngineKey,
        ours: &Sidecar,
        meta: ObjectMeta,
    ) -> Result<UploadOutcome, RemoteError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let fresh = (now - meta.last_modified.timestamp()).abs() < FRESH_SECS;
        let waits: &[u64] = if fresh {
            &SIDECAR_WAIT
        } else {
            &SIDECAR_WAIT[..1]
        };
        for &ms in waits {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            if let Some(theirs) = self.read_sidecar(key).await? {
                return compare(key, ours, &theirs);
            }
        }
        let theirs = if meta.size == ours.engine_size {
            let (sha, size) = self
                .download(key, &meta.location, &mut tokio::io::sink(), &|_| {})
                .await?;
            if sha == ours.engine_sha256 {
                return match self.commit_sidecar(key, ours).await? {
                    None => Ok(UploadOutcome::Uploaded {
                        bytes: ours.to_json().len() as u64,
                    }),
                    Some(theirs) => compare(key, ours, &theirs),
                };
            }
            format!("an engine without a sidecar: sha256 {sha}, {size} bytes")
        } else {
            format!("an engine without a sidecar: {} bytes", meta.size)
        };
        Err(RemoteError::Conflict {
            key: key.to_string(),
            ours: describe(ours),
            theirs: format!("{theirs} (an interrupted upload or a legacy copy)"),
        })
    }

    /// Uploads the engine bytes create-only. `Some(bytes sent)`, or `None` when the name was
    /// taken by the time the engine landed.
    async fn put_engine(
        &self,
        key: &EngineKey,
        location: &Path,
        engine: &std::path::Path,
        sidecar: &Sidecar,
        under_lease: bool,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<Option<u64>, RemoteError> {
        let io_err = |source| RemoteError::Io {
            path: engine.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::open(engine).await.map_err(io_err)?;
        let size = file.metadata().await.map_err(io_err)?.len();
        let mismatch = |sha: &str, size: u64| {
            self.other(format!(
                "{}: the local engine (sha256 {sha}, {size} bytes) does not match its sidecar (sha256 {}, {} bytes); run `trtctl cache verify`; nothing was published",
                engine.display(),
                sidecar.engine_sha256,
                sidecar.engine_size
            ))
        };
        if size != sidecar.engine_size {
            return Err(mismatch("unknown", size));
        }
        let what = format!("uploading {key}");

        if size <= self.part_size {
            let mut bytes = Vec::with_capacity(size as usize);
            (&mut file)
                .take(size)
                .read_to_end(&mut bytes)
                .await
                .map_err(io_err)?;
            let sha = identity::sha256_hex(&bytes);
            if sha != sidecar.engine_sha256 || bytes.len() as u64 != size {
                return Err(mismatch(&sha, bytes.len() as u64));
            }
            return match self
                .store
                .put_opts(
                    location,
                    PutPayload::from(bytes),
                    PutOptions::from(PutMode::Create),
                )
                .await
            {
                Ok(_) => {
                    on_bytes(size);
                    Ok(Some(size))
                }
                Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                ) => Ok(None),
                Err(e) => Err(self.classify(&what, e)),
            };
        }

        // Multipart. Under the lease nobody else writes this name: straight to it. Without one,
        // through staging, except that S3 copies at most 5 GiB in one part: bigger engines go
        // straight to their name after the HEAD check in `upload` (the residual race in the
        // module docs).
        let direct =
            under_lease || (matches!(self.backend, Backend::S3 { .. }) && size > S3_MAX_COPY);
        let target = if direct {
            location.clone()
        } else {
            self.location(&format!("{STAGING_DIR}/{}.{}", key.path(), nonce()))?
        };
        let sha = self
            .put_multipart(
                &what,
                &target,
                &mut file,
                engine,
                size,
                &sidecar.engine_sha256,
                on_bytes,
            )
            .await?;
        if sha != sidecar.engine_sha256 {
            return Err(mismatch(&sha, size));
        }
        if direct {
            return Ok(Some(size));
        }
        // Create-only copy to the real name, then the staging object goes whatever happened:
        // a failed delete leaves garbage under `.uploads/`, never a wrong engine.
        let copied = self
            .store
            .copy_opts(
                &target,
                location,
                CopyOptions::new().with_mode(CopyMode::Create),
            )
            .await;
        let _ = self.store.delete(&target).await;
        match copied {
            Ok(()) => Ok(Some(size)),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(None),
            Err(e) => Err(self.classify(&what, e)),
        }
    }

    fn part_len(&self, size: u64) -> u64 {
        match self.backend {
            Backend::S3 { .. } => self
                .part_size
                .max(S3_MIN_PART)
                .max(size.div_ceil(S3_MAX_PARTS)),
            Backend::File => self.part_size,
        }
    }

    /// Streams the file into a multipart upload with at most `concurrency` parts in flight
    /// (memory: `concurrency × part size`), hashing on the way; completes it only when the bytes
    /// hash to `expected_sha`, aborts it otherwise or on any error.
    #[allow(clippy::too_many_arguments)]
    async fn put_multipart<R: AsyncRead + Unpin>(
        &self,
        what: &str,
        target: &Path,
        file: &mut R,
        source_path: &std::path::Path,
        size: u64,
        expected_sha: &str,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<String, RemoteError> {
        let part_len = self.part_len(size);
        let mut upload = self
            .store
            .put_multipart_opts(target, PutMultipartOptions::default())
            .await
            .map_err(|e| self.classify(what, e))?;
        let parts = async {
            let mut hasher = Sha256::new();
            let mut in_flight: FuturesUnordered<BoxFuture<'static, object_store::Result<u64>>> =
                FuturesUnordered::new();
            let (mut read, mut done) = (0u64, 0u64);
            while read < size {
                while in_flight.len() >= self.concurrency {
                    if let Some(finished) = in_flight.next().await {
                        done += finished.map_err(|e| self.classify(what, e))?;
                        on_bytes(done);
                    }
                }
                let want = part_len.min(size - read);
                let mut buf = Vec::with_capacity(want as usize);
                (&mut *file)
                    .take(want)
                    .read_to_end(&mut buf)
                    .await
                    .map_err(|source| RemoteError::Io {
                        path: source_path.to_path_buf(),
                        source,
                    })?;
                if buf.len() as u64 != want {
                    return Err(self.other(format!(
                        "{}: the file shrank while being uploaded; nothing was published",
                        source_path.display()
                    )));
                }
                hasher.update(&buf);
                read += want;
                let part = upload.put_part(PutPayload::from(buf));
                in_flight.push(Box::pin(async move { part.await.map(|()| want) }));
            }
            while let Some(finished) = in_flight.next().await {
                done += finished.map_err(|e| self.classify(what, e))?;
                on_bytes(done);
            }
            Ok::<String, RemoteError>(identity::hex(&hasher.finalize()))
        }
        .await;
        match parts {
            Ok(sha) if sha == expected_sha => match upload.complete().await {
                Ok(_) => Ok(sha),
                Err(e) => {
                    let _ = upload.abort().await;
                    Err(self.classify(what, e))
                }
            },
            Ok(sha) => {
                let _ = upload.abort().await;
                Ok(sha)
            }
            Err(e) => {
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }
}

/// Where downloaded bytes go: written out in order, hashed on the way, progress reported.
struct HashingSink<'a, W: ?Sized> {
    out: &'a mut W,
    /// Names the destination in a write error.
    label: String,
    hasher: Sha256,
    total: u64,
    on_bytes: &'a (dyn Fn(u64) + Send + Sync),
}

impl<'a, W: AsyncWrite + Unpin + ?Sized> HashingSink<'a, W> {
    fn new(out: &'a mut W, label: String, on_bytes: &'a (dyn Fn(u64) + Send + Sync)) -> Self {
        HashingSink {
            out,
            label,
            hasher: Sha256::new(),
            total: 0,
            on_bytes,
        }
    }

    async fn put(&mut self, bytes: &[u8]) -> Result<(), RemoteError> {
        self.hasher.update(bytes);
        self.out
            .write_all(bytes)
            .await
            .map_err(|source| RemoteError::Io {
                path: PathBuf::from(&self.label),
                source,
            })?;
        self.total += bytes.len() as u64;
        (self.on_bytes)(self.total);
        Ok(())
    }

    /// (sha256 hex, bytes written).
    fn finish(self) -> (String, u64) {
        (identity::hex(&self.hasher.finalize()), self.total)
    }
}

/// Same build inputs: the engine is there. TensorRT builds are not bit-reproducible, so two
/// builders racing on one engine upload different bytes of equal worth; the first one stands.
/// Other inputs under the same name (or a legacy copy): a conflict to resolve.
fn compare(key: &EngineKey, ours: &Sidecar, theirs: &[u8]) -> Result<UploadOutcome, RemoteError> {
    match Sidecar::parse_for(theirs, key) {
        Ok(theirs) if theirs.fingerprint.is_some() && theirs.fingerprint == ours.fingerprint => {
            Ok(UploadOutcome::AlreadyPresent)
        }
        Ok(theirs) => Err(RemoteError::Conflict {
            key: key.to_string(),
            ours: describe(ours),
            theirs: describe(&theirs),
        }),
        Err(e) => Err(RemoteError::Conflict {
            key: key.to_string(),
            ours: describe(ours),
            theirs: format!("an unreadable sidecar: {e}"),
        }),
    }
}

fn describe(sidecar: &Sidecar) -> String {
    let fingerprint = sidecar
        .fingerprint
        .as_ref()
        .map_or_else(|| "none".to_string(), |f| f.short().to_string());
    format!(
        "sha256 {}, fingerprint {fingerprint}",
        sidecar.engine_sha256
    )
}

/// Unique per process and call: staging names never collide between racing builders.
fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let local = &count as *const u64 as usize;
    let digest = Sha256::digest(format!("{}:{nanos}:{count}:{local}", std::process::id()));
    identity::hex(&digest[..12])
}

/// Every error in the chain, outermost first.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = err;
    while let Some(e) = last.source() {
        last = e;
    }
    last.to_string()
}

fn http_error_kind(err: &(dyn std::error::Error + 'static)) -> Option<HttpErrorKind> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(http) = e.downcast_ref::<HttpError>() {
            return Some(http.kind());
        }
        current = e.source();
    }
    None
}

/// `<Code>` and `<Message>` of an S3 error body quoted in an error text.
fn s3_error_code(text: &str) -> (Option<String>, Option<String>) {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&close)? + start;
        Some(text[start..end].trim().to_string()).filter(|v| !v.is_empty())
    };
    (tag("Code"), tag("Message"))
}

/// One line, no secrets, bounded length.
fn one_line(text: &str, secrets: &[String]) -> String {
    let mut line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        line = line.replace(secret.as_str(), "<redacted>");
    }
    const MAX: usize = 400;
    if line.len() > MAX {
        let mut cut = MAX;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn messages_are_one_line_and_scrubbed() {
        let secrets = vec!["s3cr3t-value".to_string()];
        let line = one_line("a\nb\r\n  c s3cr3t-value d", &secrets);
        assert_eq!(line, "a b c <redacted> d");
        assert_eq!(
            strip_userinfo("http://u:p@host:9000/x"),
            "http://host:9000/x"
        );
        let (code, message) = s3_error_code(
            "403: <Error><Code>SignatureDoesNotMatch</Code><Message>bad sig</Message></Error>",
        );
        assert_eq!(code.as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(message.as_deref(), Some("bad sig"));
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
            &on_bytes,
        ));
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
