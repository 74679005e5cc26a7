//! The object store behind a remote, S3 or a directory, and what each can do. Call sites ask
//! the backend for a capability instead of matching on which one it is.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, S3CopyIfNotExists};
use object_store::client::{HttpClient, HttpConnector, ReqwestConnector};
use object_store::local::LocalFileSystem;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use tokio::sync::Semaphore;

use super::config::bad_url;
use super::error::RemoteError;
use super::in_flight::Bounded;
use super::scrub::one_line;
use super::unsent::ResendUnsent;

/// S3's smallest part (all but the last), its most parts per upload, its largest single copy.
pub(super) const S3_MIN_PART: u64 = 5 * 1024 * 1024;
pub(super) const S3_MAX_PARTS: u64 = 10_000;
const S3_MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Clone)]
pub(super) enum Backend {
    /// `endpoint` is for people: the configured one without userinfo, or AWS's.
    S3 { bucket: String, endpoint: String },
    /// `root`: the directory, where the store is one on this machine (`None` for the tests'
    /// in-memory store).
    File { root: Option<std::path::PathBuf> },
}

impl Backend {
    /// Whether the store can overwrite an object only if it is still the version last read.
    pub(super) fn has_conditional_update(&self) -> bool {
        matches!(self, Backend::S3 { .. })
    }

    /// The directory a store's objects are files under, when they are.
    pub(super) fn dir(&self) -> Option<&Path> {
        match self {
            Backend::File { root } => root.as_deref(),
            Backend::S3 { .. } => None,
        }
    }

    /// Whether a large object is better fetched as concurrent ranged GETs (over a network)
    /// than read as one stream (a local file).
    pub(super) fn prefers_ranged_reads(&self) -> bool {
        matches!(self, Backend::S3 { .. })
    }

    /// Whether a listing returns names in key order (S3 does; a directory walk does not), so
    /// that a listing can start after a name and stop past another.
    pub(super) fn lists_in_order(&self) -> bool {
        matches!(self, Backend::S3 { .. })
    }

    /// Whether a server-side create-only copy can move an object of `size` bytes in one go.
    pub(super) fn can_copy_whole(&self, size: u64) -> bool {
        match self {
            Backend::S3 { .. } => size <= S3_MAX_COPY,
            Backend::File { .. } => true,
        }
    }

    /// The part size for a multipart upload of `size` bytes, within the backend's limits.
    pub(super) fn part_len(&self, part_size: u64, size: u64) -> u64 {
        match self {
            Backend::S3 { .. } => part_size.max(S3_MIN_PART).max(size.div_ceil(S3_MAX_PARTS)),
            Backend::File { .. } => part_size,
        }
    }
}

pub(super) fn retry_config() -> RetryConfig {
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

pub(super) fn client_options(read_timeout: Duration, tls: bool) -> ClientOptions {
    // No overall request timeout: a multi-GB engine streams for longer than any fixed bound.
    // A stalled connection is caught by the read timeout instead (time to the response
    // headers, then between body reads), and interrupted downloads resume where they stopped.
    ClientOptions::new()
        .with_allow_http(true)
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout_disabled()
        .with_read_timeout(read_timeout)
        .with_no_system_certificates(!tls)
}

/// Whether requests to `endpoint` (`None`: AWS) may use TLS, and so need the system's root
/// certificates: reading them is a third of the client's start-up before a plan's first
/// request. Only a plain-HTTP endpoint reached without a proxy (`proxied`) never does.
pub(super) fn may_use_tls(endpoint: Option<&str>, proxied: bool) -> bool {
    let plain_http = endpoint.is_some_and(|e| {
        e.get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    });
    proxied || !plain_http
}

/// The HTTP client of an S3 remote: the object store's own, sending at most `max_in_flight`
/// requests at once, and resending requests that never left. Made once per remote: the object
/// store and trtctl's own listing share its connections and its bound.
pub(super) fn http_client(
    options: &ClientOptions,
    max_in_flight: usize,
) -> object_store::Result<HttpClient> {
    let client = ReqwestConnector::default().connect(options)?;
    Ok(HttpClient::new(Bounded {
        inner: HttpClient::new(ResendUnsent(client)),
        permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
    }))
}

/// Hands the object store a client made beforehand.
#[derive(Debug)]
struct Prebuilt(HttpClient);

impl HttpConnector for Prebuilt {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        Ok(self.0.clone())
    }
}

/// Where the object store sends a bucket's requests (path-style), for requests of trtctl's own.
pub(super) fn bucket_url(bucket: &str, region: &str, endpoint: Option<&str>) -> String {
    match endpoint {
        Some(e) => format!("{}/{bucket}", e.trim_end_matches('/')),
        None => format!("https://s3.{region}.amazonaws.com/{bucket}"),
    }
}

/// An S3 client for `bucket` sending through `client` (made with `options`); the caller adds
/// credentials (or anonymous access) to it.
pub(super) fn s3_builder(
    bucket: &str,
    region: &str,
    endpoint: Option<&str>,
    options: &ClientOptions,
    client: &HttpClient,
) -> AmazonS3Builder {
    let builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region)
        .with_virtual_hosted_style_request(false)
        .with_client_options(options.clone())
        .with_http_connector(Prebuilt(client.clone()))
        .with_retry(retry_config())
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
    match endpoint {
        Some(e) => builder.with_endpoint(e),
        None => builder,
    }
}

pub(super) fn build_s3(
    url: &str,
    builder: AmazonS3Builder,
    secrets: &[String],
) -> Result<Arc<dyn ObjectStore>, RemoteError> {
    let store = builder
        .build()
        .map_err(|e| bad_url(url, one_line(&e.to_string(), secrets)))?;
    Ok(Arc::new(store))
}

/// A directory as a store, created if missing; every write is fsynced.
pub(super) fn open_dir(url: &str, root: &Path) -> Result<Arc<dyn ObjectStore>, RemoteError> {
    std::fs::create_dir_all(root).map_err(|source| RemoteError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let store = LocalFileSystem::new_with_prefix(root)
        .map_err(|e| bad_url(url, one_line(&e.to_string(), &[])))?
        .with_fsync(true);
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_parts_respect_the_limits() {
        let s3 = Backend::S3 {
            bucket: "b".into(),
            endpoint: "e".into(),
        };
        assert_eq!(s3.part_len(1024, 10 << 20), S3_MIN_PART);
        let huge = 100 * 1024 * 1024 * 1024u64;
        assert!(huge.div_ceil(s3.part_len(1024, huge)) <= S3_MAX_PARTS);
        assert!(!s3.can_copy_whole(huge));
        let dir = Backend::File { root: None };
        assert!(dir.can_copy_whole(huge));
        assert_eq!(dir.part_len(1024, huge), 1024);
    }

    #[test]
    fn only_plain_http_reached_directly_goes_without_root_certificates() {
        for endpoint in ["http://127.0.0.1:9000", "HTTP://minio:9000/"] {
            assert!(!may_use_tls(Some(endpoint), false), "{endpoint}");
            assert!(
                may_use_tls(Some(endpoint), true),
                "{endpoint} through a proxy"
            );
        }
        assert!(may_use_tls(Some("https://minio:9000"), false));
        assert!(may_use_tls(None, false), "AWS itself");
        let skipped = |tls| {
            client_options(Duration::from_secs(1), tls)
                .get_config_value(&object_store::ClientConfigKey::NoSystemCertificates)
        };
        assert_eq!(skipped(false).as_deref(), Some("true"));
        assert_eq!(skipped(true).as_deref(), Some("false"));
    }
}
