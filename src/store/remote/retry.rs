//! Trying a remote operation again when it failed on the way.

use std::time::Duration;

use super::RemoteError;

/// Attempts at a request or transfer that failed on the way (a reset connection, a truncated body), on top
/// of the per-request retries of the object store client, which does not retry those for
/// requests it cannot prove idempotent.
const ATTEMPTS: u32 = 4;

pub async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, RemoteError>>,
{
    let mut delay = Duration::from_millis(200);
    for _ in 1..ATTEMPTS {
        match attempt().await {
            Err(e) if e.is_transient() => {
                tokio::time::sleep(delay).await;
                delay *= 3;
            }
            done => return done,
        }
    }
    attempt().await
}
