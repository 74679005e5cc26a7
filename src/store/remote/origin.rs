//! Which remote an object_store or LIST failure came from, and what it means there: the one
//! line of [`RemoteError`] that says what to check.

use object_store::client::{HttpError, HttpErrorKind};

use super::backend::Backend;
use super::credentials::CredentialError;
use super::error::RemoteError;
use super::list_objects::ListFailure;
use super::scrub::{Secrets, one_line, s3_error_code};

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
