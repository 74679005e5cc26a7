//! Freeing what a command observed off the thread that has to answer.

use std::sync::OnceLock;
use std::sync::mpsc::{Sender, channel};

type Garbage = Box<dyn Send>;

/// Frees `value` on a thread kept for it, which yields to every other. What a plan of 10,000
/// engines observed (the local and remote sidecar indexes, the listing, the plan) is some
/// 100,000 small allocations: freeing them took a tenth of a no-op plan on the thread that has
/// to answer, and, on rayon's pool or at the same priority, held up the plan's own parallel
/// work on a machine of few cores.
pub fn free_in_background<T: Send + 'static>(value: T) {
    static FREER: OnceLock<Option<Sender<Garbage>>> = OnceLock::new();
    let freer = FREER.get_or_init(|| {
        let (sender, garbage) = channel::<Garbage>();
        std::thread::Builder::new()
            .name("free".into())
            .spawn(move || {
                yield_to_others();
                garbage.into_iter().for_each(drop)
            })
            .ok()
            .map(|_| sender)
    });
    // Without the thread, the value is freed here, as it would have been.
    if let Some(freer) = freer {
        let _ = freer.send(Box::new(value));
    }
}

/// Puts the calling thread in the idle scheduling class: it runs when no other thread wants its
/// core (and then it is not starved: the kernel still gives it a small share). Left as it is
/// where the kernel refuses.
#[cfg(target_os = "linux")]
fn yield_to_others() {
    let idle = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `idle` outlives the call, which only reads it.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) };
}

#[cfg(not(target_os = "linux"))]
fn yield_to_others() {}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::sync_channel;

    use super::*;

    /// Tells when it is dropped: on which thread, and that thread's scheduling policy.
    struct Witness(std::sync::mpsc::SyncSender<(std::thread::ThreadId, i32)>);

    impl Drop for Witness {
        fn drop(&mut self) {
            // SAFETY: pid 0 is the calling thread; the call reads nothing of ours.
            let policy = unsafe { libc::sched_getscheduler(0) };
            let _ = self.0.send((std::thread::current().id(), policy));
        }
    }

    #[test]
    fn values_are_freed_on_another_thread_that_yields_to_others() {
        let (dropped, on) = sync_channel(2);
        free_in_background(Witness(dropped.clone()));
        free_in_background(vec![Witness(dropped)]);
        for _ in 0..2 {
            let (thread, policy) = on.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
            assert_ne!(thread, std::thread::current().id());
            #[cfg(target_os = "linux")]
            assert_eq!(policy, libc::SCHED_IDLE);
            let _ = policy;
        }
    }
}
