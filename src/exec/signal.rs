//! Stopping a run: a failure stops new work, Ctrl-C and SIGTERM also interrupt what runs.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Stops new work; `cancel` also interrupts what runs.
#[derive(Default)]
pub struct StopSignal {
    stopped: AtomicBool,
    cancelled: AtomicBool,
    notify: Notify,
}

impl StopSignal {
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.stopped.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub(super) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    pub(super) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// `work`'s output, or `None` once this signal is cancelled (dropping `work`, which stops
    /// it). For work outside the executor's actions, such as observing the remote.
    pub async fn unless_cancelled<F: std::future::Future>(&self, work: F) -> Option<F::Output> {
        tokio::select! {
            out = work => Some(out),
            () = self.cancelled() => None,
        }
    }

    pub(super) async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Wraps an executor run so Ctrl-C and SIGTERM cancel it cleanly. The handlers are in place
/// before `work` is first polled: that poll may spawn tasks that claim leases on other worker
/// threads, and a signal that came before its handler would kill the process holding them.
pub async fn with_signals<F: std::future::Future>(stop: &StopSignal, work: F) -> F::Output {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    let mut terminate = signal(SignalKind::terminate()).ok();
    let signals = async {
        tokio::select! {
            () = received(&mut interrupt) => {}
            () = received(&mut terminate) => {}
        }
        stop.cancel();
        std::future::pending::<()>().await;
    };
    tokio::select! {
        out = work => out,
        () = signals => unreachable!("the signal arm never completes"),
    }
}

/// Waits for `signal`; forever where its handler could not be installed.
async fn received(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}
