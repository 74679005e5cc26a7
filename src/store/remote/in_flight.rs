//! At most so many HTTP requests to the remote at once, whoever sends them: the object store's
//! calls and trtctl's own listing alike. A request counts from the moment it is sent until its
//! response body is read to the end or dropped, so the bound holds for sockets, not just calls.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use object_store::client::{
    HttpClient, HttpError, HttpRequest, HttpResponse, HttpResponseBody, HttpService,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Sends through `inner` while holding one of `permits`.
#[derive(Debug)]
pub(super) struct Bounded {
    pub(super) inner: HttpClient,
    pub(super) permits: Arc<Semaphore>,
}

#[async_trait::async_trait]
impl HttpService for Bounded {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore of a remote is never closed");
        let (parts, body) = self.inner.execute(request).await?.into_parts();
        let body = HttpResponseBody::new(Permitted {
            body,
            _permit: permit,
        });
        Ok(HttpResponse::from_parts(parts, body))
    }
}

/// A response body that keeps its request's permit until it is read or dropped.
struct Permitted {
    body: HttpResponseBody,
    _permit: OwnedSemaphorePermit,
}

impl Body for Permitted {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use object_store::client::HttpRequestBody;

    use super::*;

    /// Answers at once with a body that ends when `release` is notified; counts the most
    /// requests it had unanswered (body not yet ended) at once.
    #[derive(Debug, Default)]
    struct Slow {
        open: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }

    #[async_trait::async_trait]
    impl HttpService for Slow {
        async fn call(&self, _request: HttpRequest) -> Result<HttpResponse, HttpError> {
            let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            let open = self.open.clone();
            let body = futures::stream::once(async move {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                open.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, HttpError>(Frame::data(Bytes::from_static(b"x")))
            });
            let body = http_body_util::StreamBody::new(body);
            Ok(HttpResponse::new(HttpResponseBody::new(body)))
        }
    }

    #[tokio::test]
    async fn bodies_hold_their_permit_until_read() {
        let slow = Slow::default();
        let most = slow.most.clone();
        let bounded = Arc::new(Bounded {
            inner: HttpClient::new(slow),
            permits: Arc::new(Semaphore::new(3)),
        });
        let requests = (0..12).map(|_| {
            let bounded = bounded.clone();
            async move {
                let response = bounded
                    .call(HttpRequest::new(HttpRequestBody::empty()))
                    .await?;
                response.into_body().bytes().await
            }
        });
        let bodies = futures::future::try_join_all(requests).await.unwrap();
        assert_eq!(bodies.len(), 12);
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }
}
