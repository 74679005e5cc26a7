//! What can go wrong with a remote, as types: [`RemoteError::is_transient`] decides from the
//! variant, never from text. Every message is one line that says what to check, and never
//! holds a secret: texts that come from the server or the HTTP stack pass [`one_line`], which
//! scrubs the secrets in use.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use object_store::client::{HttpError, HttpErrorKind};

use super::backend::Backend;
use super::credentials::CredentialError;
use super::list_objects::ListFailure;

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

/// The remote an error came from, as its messages name it.
pub(super) struct Origin<'a> {
    pub(super) backend: &'a Backend,
    pub(super) display: &'a str,
    pub(super) writable: bool,
    pub(super) secrets: &'a Secrets,
}

impl Origin<'_> {
    /// Maps an object_store error to one line that says what to check.
    pub(super) fn classify(&self, what: &str, err: object_store::Error) -> RemoteError {
        let secrets = &self.secrets.snapshot();
        let text = one_line(&error_chain(&err), secrets);
        if let object_store::Error::InvalidPath { .. } = err {
            return RemoteError::Foreign {
                what: what.to_string(),
                detail: format!(
                    "the remote holds an object whose name is not a safe path (`.`, `..`, `//` or control characters) ({text})"
                ),
            };
        }
        let no_answer = matches!(
            http_error_kind(&err),
            Some(HttpErrorKind::Connect | HttpErrorKind::Timeout | HttpErrorKind::Request)
        );
        if let Some(unreachable) = self.unreachable(&err).filter(|_| no_answer) {
            return unreachable;
        }
        if let Some(failed) = credential_failure(&err) {
            return RemoteError::CredentialSource(failed.clone());
        }
        let refused = matches!(
            err,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        );
        self.answered(what, text, refused)
    }

    /// Maps a failure of trtctl's own LIST request to one line that says what to check.
    pub(super) fn classify_listing(&self, what: &str, failure: ListFailure) -> RemoteError {
        let secrets = &self.secrets.snapshot();
        match failure {
            ListFailure::Credentials(err) => self.classify(what, err),
            // No answer, or not all of it: whatever the HTTP stack calls it, the endpoint is
            // what to check.
            ListFailure::Transport(err) => self
                .unreachable(&err)
                .unwrap_or_else(|| self.server(what, one_line(&error_chain(&err), secrets))),
            ListFailure::Status { status, body } => {
                let text = one_line(&format!("HTTP {status}: {body}"), secrets);
                self.answered(what, text, matches!(status, 401 | 403))
            }
            ListFailure::Malformed(why) => self.server(what, one_line(&why.to_string(), secrets)),
            ListFailure::Unsendable(err) => RemoteError::BadUrl {
                url: self.display.to_string(),
                why: one_line(&format!("{what}: {err}"), secrets),
            },
        }
    }

    /// A request that got no answer, or not all of it, from an S3 endpoint.
    fn unreachable(&self, err: &(dyn std::error::Error + 'static)) -> Option<RemoteError> {
        let Backend::S3 { endpoint, .. } = self.backend else {
            return None;
        };
        Some(RemoteError::Unreachable {
            endpoint: endpoint.clone(),
            detail: one_line(&root_cause(err), &self.secrets.snapshot()),
        })
    }

    /// What an answer `text` (scrubbed, one line) with an S3 error code in it means; `refused`
    /// when the status alone says the credentials were refused.
    fn answered(&self, what: &str, text: String, refused: bool) -> RemoteError {
        let Backend::S3 { bucket, endpoint } = self.backend else {
            return self.server(what, text);
        };
        let (code, message) = s3_error_code(&text);
        if code.as_deref() == Some("NoSuchBucket") {
            return RemoteError::NoBucket {
                bucket: bucket.clone(),
                endpoint: endpoint.clone(),
            };
        }
        if is_auth_code(code.as_deref()) || refused {
            let reason = match (&code, &message) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.clone(),
                _ => "access denied".to_string(),
            };
            let detail = if self.writable {
                format!("the remote refused the credentials ({reason})")
            } else {
                format!("the remote refused anonymous access ({reason}); no credentials are set")
            };
            return RemoteError::Credentials {
                detail: one_line(&detail, &self.secrets.snapshot()),
            };
        }
        let detail = match (&code, &message) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            _ => text,
        };
        self.server(what, detail)
    }

    fn server(&self, what: &str, detail: String) -> RemoteError {
        RemoteError::Server {
            what: what.to_string(),
            remote: self.display.to_string(),
            detail,
        }
    }
}

fn is_auth_code(code: Option<&str>) -> bool {
    matches!(
        code,
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
    )
}

/// A credential source's own error, when that is why a request failed.
fn credential_failure<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a CredentialError> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<CredentialError>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// Values scrubbed from every error text, should a server echo one. Sources of temporary
/// credentials add each set they are issued.
#[derive(Clone, Default)]
pub(super) struct Secrets(Arc<Mutex<Vec<String>>>);

impl Secrets {
    pub(super) fn add(&self, secret: &str) {
        let mut known = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !known.iter().any(|k| k == secret) {
            known.push(secret.to_string());
        }
    }

    pub(super) fn snapshot(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
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
pub(super) fn s3_error_code(text: &str) -> (Option<String>, Option<String>) {
    (xml_tag(text, "Code"), xml_tag(text, "Message"))
}

/// The trimmed text of the first `<name>…</name>` in `text`, when not empty.
pub(super) fn xml_tag(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&close)? + start;
    Some(text[start..end].trim().to_string()).filter(|v| !v.is_empty())
}

/// One line, no secrets, bounded length.
pub(super) fn one_line(text: &str, secrets: &[String]) -> String {
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

/// Drops `user:password@` from a URL-ish string.
pub(super) fn strip_userinfo(url: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
