//! Joining the tasks the layers spawn on the async runtime.

use tokio::task::JoinError;

/// A task's result; its panic goes on in the caller. Tasks here are aborted only together with
/// the future that awaits them, so a join never sees one cancelled.
pub fn joined<T>(result: Result<T, JoinError>) -> T {
    result.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}
