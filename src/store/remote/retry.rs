//! Trying a remote operation again when it failed on the way.

use std::time::{Duration, Instant};

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

/// When to try again, and how long to wait first.
pub(super) struct Backoff {
    /// Tries after the first.
    pub(super) retries: usize,
    pub(super) first_wait: Duration,
    /// Each wait is the one before times this, up to `longest_wait`.
    pub(super) factor: f64,
    pub(super) longest_wait: Duration,
    /// No try is started after this long, if set.
    pub(super) give_up_after: Option<Duration>,
    /// Each wait taken at random between half and all of it, so that clients that failed
    /// together do not come back together.
    pub(super) jitter: bool,
}

/// The transfers' schedule: [`ATTEMPTS`] tries, 0.2 s, 0.6 s and 1.8 s apart.
const TRANSFERS: Backoff = Backoff {
    retries: ATTEMPTS as usize - 1,
    first_wait: Duration::from_millis(200),
    factor: 3.0,
    longest_wait: Duration::MAX,
    give_up_after: None,
    jitter: false,
};

/// Runs `attempt` until it succeeds, fails for good, or has been tried [`ATTEMPTS`] times.
pub async fn retrying<T, E, F, Fut>(attempt: F) -> Result<T, E>
where
    E: Transient,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    retrying_by(&TRANSFERS, attempt).await
}

/// Runs `attempt` until it succeeds, fails for good, or `backoff` says to stop.
pub(super) async fn retrying_by<T, E, F, Fut>(backoff: &Backoff, mut attempt: F) -> Result<T, E>
where
    E: Transient,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let started = Instant::now();
    let mut wait = backoff.first_wait;
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(e)
                if e.is_transient()
                    && retries < backoff.retries
                    && backoff
                        .give_up_after
                        .is_none_or(|limit| started.elapsed() + wait < limit) =>
            {
                let wait_now = match backoff.jitter {
                    true => jittered(wait),
                    false => wait,
                };
                tokio::time::sleep(wait_now).await;
                wait = wait.mul_f64(backoff.factor).min(backoff.longest_wait);
                retries += 1;
            }
            done => return done,
        }
    }
}

/// Between half and all of `wait`.
fn jittered(wait: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let share = match getrandom::getrandom(&mut byte) {
        Ok(()) => 0.5 + f64::from(byte[0]) / 510.0,
        Err(_) => 1.0,
    };
    wait.mul_f64(share)
}
