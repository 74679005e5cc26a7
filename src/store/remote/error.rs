//! What can go wrong with a remote, as types: [`RemoteError::is_transient`] decides from the
//! variant, never from text. Every message is one line that says what to check, and never
//! holds a secret: texts that come from the server or the HTTP stack pass
//! [`one_line`](super::scrub::one_line), which scrubs the secrets in use.

use std::path::PathBuf;

use super::credentials::CredentialError;

/// Every message is one line that says what to check, and never holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("bad remote URL `{url}`: {why}")]
    BadUrl { url: String, why: String },
    #[error(
        "{detail}; check ARTIFACTS_ACCESS_KEY / ARTIFACTS_SECRET_KEY (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
    )]
    Credentials { detail: String },
    /// A credential source that is configured but failed; never a fall-back to anonymous.
    #[error(transparent)]
    CredentialSource(#[from] CredentialError),
    #[error(
        "nothing points at S3 for {url} (no keys, endpoint, region, AWS profile or shared file, web identity, container or EC2 instance role) and the embedded stand-in is off (`[remote] embedded = false` or TRTCTL_REMOTE_EMBEDDED=false); set AWS_PROFILE, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, or ARTIFACTS_ENDPOINT + ARTIFACTS_ACCESS_KEY + ARTIFACTS_SECRET_KEY"
    )]
    NothingConfigured { url: String },
    #[error(
        "bucket `{bucket}` does not exist at {endpoint}; check the bucket in the remote URL and ARTIFACTS_ENDPOINT, or create the bucket"
    )]
    NoBucket { bucket: String, endpoint: String },
    #[error("cannot reach {endpoint} ({detail}); check ARTIFACTS_ENDPOINT and the network")]
    Unreachable { endpoint: String, detail: String },
    /// The server answered with an error that is neither a refusal nor a missing bucket
    /// (`InternalError`, `SlowDown`, a dropped body, …): worth another try.
    #[error("{what} on {remote}: {detail}")]
    Server {
        what: String,
        remote: String,
        detail: String,
    },
    /// The bytes that arrived are not the object's (cut short, or the object changed).
    #[error(
        "{what}: got {got} of {expected} bytes; the remote object changed or the transfer was cut, try again"
    )]
    Truncated {
        what: String,
        got: u64,
        expected: u64,
    },
    /// The remote answered two requests inconsistently (present, then absent): a race with
    /// another writer, settled by asking again.
    #[error("{what}: {detail}; try again")]
    Inconsistent { what: String, detail: String },
    #[error("{key} is not on {remote} (any more); plan again")]
    EngineGone { key: String, remote: String },
    /// An object on the remote that trtctl did not write and will not use.
    #[error("{what}: {detail}; remove it from the remote")]
    Foreign { what: String, detail: String },
    /// A family, key or object name that does not pass the naming rules: refused before any
    /// request, so nothing outside the prefix is ever touched.
    #[error("`{name}` is not a valid {kind}: {why}")]
    InvalidName {
        name: String,
        kind: &'static str,
        why: String,
    },
    /// The local engine is not what its sidecar says: nothing is published.
    #[error("{}: {detail}; nothing was published", path.display())]
    LocalMismatch { path: PathBuf, detail: String },
    #[error(
        "{key}: the remote already holds a different engine under this name ({theirs}; ours: {ours}); uploads never overwrite, so delete the remote engine and its .json to publish this build"
    )]
    Conflict {
        key: String,
        ours: String,
        theirs: String,
    },
    #[error("{name}={value:?} is not understood; use {expected}")]
    BadVariable {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{key}: its sidecar has no fingerprint (a legacy engine), so there is nothing a signature could vouch for; rebuild it"
    )]
    Unsignable { key: String },
}

impl RemoteError {
    /// Whether trying the same transfer again may succeed: a network or server failure, not a
    /// refusal, a conflict or a local problem.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            RemoteError::Unreachable { .. }
                | RemoteError::Server { .. }
                | RemoteError::Truncated { .. }
                | RemoteError::Inconsistent { .. }
        ) || matches!(self, RemoteError::CredentialSource(e) if e.is_transient())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transience_follows_the_variant() {
        let server = RemoteError::Server {
            what: "listing fam/".into(),
            remote: "s3://b".into(),
            detail: "InternalError: try later".into(),
        };
        assert!(server.is_transient());
        let gone = RemoteError::EngineGone {
            key: "fam/x.trt".into(),
            remote: "s3://b".into(),
        };
        assert!(!gone.is_transient());
        let mismatch = RemoteError::LocalMismatch {
            path: PathBuf::from("/x"),
            detail: "differs".into(),
        };
        assert!(!mismatch.is_transient());
    }
}
