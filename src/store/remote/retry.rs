//! Trying a remote operation again when it failed on the way.

use std::time::Duration;

use super::RemoteError;

/// Attempts at a request or transfer that failed on the way (a reset connection, a truncated body), on top
/// of the per-request retries of the object store client, which does not retry those for
/// requests it cannot prove idempotent.
const ATTEMPTS: u32 = 4;

/// An error that may go away when the same request is sent again.
pub trait Transient {
    fn is_transient(&self) -> bool;
}

impl Transient for RemoteError {
    fn is_transient(&self) -> bool {
        RemoteError::is_transient(self)
    }
}

/// Runs `attempt` until it succeeds, fails for good, or has been tried [`ATTEMPTS`] times.
pub async fn retrying<T, E, F, Fut>(mut attempt: F) -> Result<T, E>
where
    E: Transient,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
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
