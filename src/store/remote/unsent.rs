//! Sends a request again when its connection closed before the request left.
//!
//! A server or load balancer that drops a connection as it opens leaves the HTTP client with
//! a request it never wrote ("connection was not ready"). The object store's retries do not
//! cover it (it is neither a connect nor a timeout error), and the HTTP client resends it only
//! when the dead connection came from its pool, not when it was a fresh one. Since not a byte
//! of the request was sent, sending it again on another connection is safe for every method.

use object_store::client::{HttpClient, HttpError, HttpRequest, HttpResponse, HttpService};

/// Sends of one request whose connection closed each time before it left; then the error is
/// the object store's to retry or report.
const SENDS: usize = 4;

/// Sends through the client it wraps, again while the request never left.
#[derive(Debug)]
pub(super) struct ResendUnsent(pub(super) HttpClient);

#[async_trait::async_trait]
impl HttpService for ResendUnsent {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        for _ in 1..SENDS {
            match self.0.execute(copy(&request)).await {
                Err(e) if never_sent(&e) => continue,
                done => return done,
            }
        }
        self.0.execute(request).await
    }
}

/// The same request; bodies are shared bytes, so this copies no payload.
fn copy(request: &HttpRequest) -> HttpRequest {
    let mut copied = http::Request::new(request.body().clone());
    *copied.method_mut() = request.method().clone();
    *copied.uri_mut() = request.uri().clone();
    *copied.version_mut() = request.version();
    *copied.headers_mut() = request.headers().clone();
    *copied.extensions_mut() = request.extensions().clone();
    copied
}

/// Whether the HTTP stack gave the request back unstarted: hyper reports exactly that case
/// as canceled.
fn never_sent(error: &HttpError) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_canceled)
        {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use object_store::client::HttpErrorKind;

    use super::*;

    /// Answers each send with the next of `outcomes`, recording the requests it got.
    #[derive(Debug)]
    struct Scripted {
        outcomes: Mutex<Vec<Outcome>>,
        seen: Arc<Mutex<Vec<String>>>,
    }

    #[derive(Debug)]
    enum Outcome {
        Unsent,
        Reset,
        Answer,
    }

    #[async_trait::async_trait]
    impl HttpService for Scripted {
        async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
            let header = request.headers()["x-amz-date"].to_str().unwrap();
            self.seen.lock().unwrap().push(format!(
                "{} {} {header}",
                request.method(),
                request.uri()
            ));
            let outcome = self.outcomes.lock().unwrap().remove(0);
            match outcome {
                Outcome::Unsent => Err(HttpError::new(HttpErrorKind::Unknown, canceled().await)),
                Outcome::Reset => Err(HttpError::new(
                    HttpErrorKind::Interrupted,
                    std::io::Error::from(std::io::ErrorKind::ConnectionReset),
                )),
                Outcome::Answer => Ok(http::Response::new(Vec::<u8>::new().into())),
            }
        }
    }

    /// hyper's own error for a request given back unsent: its connection is gone before the
    /// request is handed to it.
    async fn canceled() -> hyper::Error {
        let (io, _peer) = tokio::io::duplex(64);
        let (mut send, connection) = hyper::client::conn::http1::handshake::<
            _,
            http_body_util::Empty<bytes::Bytes>,
        >(hyper_util::rt::TokioIo::new(io))
        .await
        .unwrap();
        drop(connection);
        let request = http::Request::new(http_body_util::Empty::new());
        let error = send.send_request(request).await.unwrap_err();
        assert!(error.is_canceled(), "{error:?}");
        error
    }

    async fn run(outcomes: Vec<Outcome>) -> (Result<HttpResponse, HttpError>, Vec<String>) {
        let seen = Arc::<Mutex<Vec<String>>>::default();
        let service = ResendUnsent(HttpClient::new(Scripted {
            outcomes: Mutex::new(outcomes),
            seen: seen.clone(),
        }));
        let mut request = http::Request::new(bytes::Bytes::from_static(b"part").into());
        *request.method_mut() = http::Method::PUT;
        *request.uri_mut() = "http://127.0.0.1:9/bucket/key".parse().unwrap();
        request
            .headers_mut()
            .insert("x-amz-date", "20261204T000000Z".parse().unwrap());
        let result = service.call(request).await;
        let seen = seen.lock().unwrap().clone();
        (result, seen)
    }

    #[tokio::test]
    async fn a_request_that_never_left_is_sent_again_unchanged() {
        let (result, seen) = run(vec![Outcome::Unsent, Outcome::Unsent, Outcome::Answer]).await;
        assert!(result.is_ok());
        assert_eq!(seen.len(), 3);
        assert!(
            seen.iter()
                .all(|s| s == "PUT http://127.0.0.1:9/bucket/key 20261204T000000Z")
        );
    }

    #[tokio::test]
    async fn a_request_that_may_have_left_is_not_sent_again_here() {
        let (result, seen) = run(vec![Outcome::Reset, Outcome::Answer]).await;
        assert_eq!(result.unwrap_err().kind(), HttpErrorKind::Interrupted);
        assert_eq!(seen.len(), 1);
    }

    #[tokio::test]
    async fn resends_are_bounded() {
        let (result, seen) = run((0..SENDS + 1).map(|_| Outcome::Unsent).collect()).await;
        assert!(never_sent(&result.unwrap_err()));
        assert_eq!(seen.len(), SENDS);
    }
}
