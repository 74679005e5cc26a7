//! Runs library futures with the GIL released, on one runtime per process, while the calling
//! thread keeps answering Ctrl-C: a pending `KeyboardInterrupt` stops the work cleanly (nothing
//! half-written is committed) and is raised once the work has wound down.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use trtctl::exec::StopSignal;

/// How often the caller's signal handlers get a chance to run while the work goes on.
const SIGNAL_POLL: Duration = Duration::from_millis(50);

fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("trtctl")
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the async runtime: {e}")))?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// `work`'s output, or the exception a signal handler raised while it ran (after `stop` was
/// cancelled and `work` finished what it had started).
pub fn run_interruptible<T, F>(py: Python<'_>, stop: &StopSignal, work: F) -> PyResult<T>
where
    F: Future<Output = T> + Send,
    T: Send,
{
    let runtime = runtime()?;
    let mut raised: Option<PyErr> = None;
    let output = py.detach(|| {
        runtime.block_on(async {
            tokio::pin!(work);
            let mut poll = tokio::time::interval(SIGNAL_POLL);
            loop {
                tokio::select! {
                    output = &mut work => break output,
                    _ = poll.tick(), if raised.is_none() => {
                        // Only the main thread runs signal handlers; elsewhere this is a no-op.
                        if let Err(err) = Python::attach(|py| py.check_signals()) {
                            raised = Some(err);
                            stop.cancel();
                        }
                    }
                }
            }
        })
    });
    match raised {
        Some(err) => Err(err),
        None => Ok(output),
    }
}
