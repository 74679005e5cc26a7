//! Build leases in the executor: whoever holds an engine's lease builds and publishes it, the
//! others wait for it to land and fetch it.

use std::time::Duration;

use super::events::{ActionKind, DoneElsewhere, Event, Outcome, SkipReason};
use super::gpu_pool::GpuLease;
use super::run::{Run, StepResult};
use crate::identity::Sidecar;
use crate::plan::DesiredEngine;
use crate::store::remote::{HeldLease, LeaseClaim, Remote, retrying};

/// Where this process stands with an engine another builder may be building.
enum Turn<'a> {
    Build {
        gpu: Option<GpuLease<'a>>,
        lease: Option<HeldLease>,
    },
    Fetch,
    Stopped(SkipReason),
}

/// Polls for another builder's engine: soon at first (it may be nearly done), then every few
/// seconds.
const LEASE_POLL_FIRST: Duration = Duration::from_millis(250);
const LEASE_POLL_MAX: Duration = Duration::from_secs(5);

impl Run<'_> {
    /// Builds under the engine's remote lease, or waits for the builder that holds it and
    /// fetches what it publishes.
    pub(super) async fn build_leased(&self, engine: &DesiredEngine, remote: &Remote) -> StepResult {
        let file = engine.key.file.clone();
        match self.take_turn(engine, remote, true).await {
            Turn::Stopped(why) => vec![(
                ActionKind::Build,
                file.clone(),
                self.skip(ActionKind::Build, &file, why),
            )],
            Turn::Fetch => {
                let fetched = self
                    .action(ActionKind::Fetch, &file, self.fetch(engine, false, true))
                    .await;
                // The planned upload is done too, by the builder that held the lease: counted,
                // so progress ends at its total.
                let uploaded = Outcome::AlreadyDone(DoneElsewhere::UploadedByLeaseHolder);
                self.finish(ActionKind::Upload, &file, &uploaded, Duration::ZERO);
                vec![
                    (ActionKind::Fetch, file.clone(), fetched),
                    (ActionKind::Upload, file, uploaded),
                ]
            }
            Turn::Build { gpu, lease } => {
                let leased = lease.is_some();
                let work = self.build_then_upload(engine, false, true, gpu, leased);
                under_lease(remote, lease, work).await
            }
        }
    }

    /// Uploads under the engine's remote lease, or waits for the builder that holds it; its
    /// engine, once published, makes this upload a comparison.
    pub(super) async fn upload_leased(&self, engine: &DesiredEngine, remote: &Remote) -> Outcome {
        let file = &engine.key.file;
        match self.take_turn(engine, remote, false).await {
            Turn::Stopped(why) => self.skip(ActionKind::Upload, file, why),
            Turn::Fetch => {
                self.action(ActionKind::Upload, file, self.upload(engine, false))
                    .await
            }
            Turn::Build { lease, .. } => {
                let leased = lease.is_some();
                let work = self.action(ActionKind::Upload, file, self.upload(engine, leased));
                under_lease(remote, lease, work).await
            }
        }
    }

    /// Waits until this process may build or upload the engine (it holds the lease, and a GPU
    /// when `needs_gpu`) or the engine was published by the builder that held the lease.
    ///
    /// Only the waits race an interrupt: a lease claim, once sent, runs to its answer, so a
    /// lease this process took is always either handed to the caller or released here.
    async fn take_turn(
        &self,
        engine: &DesiredEngine,
        remote: &Remote,
        needs_gpu: bool,
    ) -> Turn<'_> {
        let key = &engine.key;
        let stop = self.exec.stop;
        let mut waited_for: Option<String> = None;
        let mut delay = LEASE_POLL_FIRST;
        let target = engine.id.target();
        loop {
            if stop.is_stopped() {
                return Turn::Stopped(self.stop_reason());
            }
            let gpu = match needs_gpu {
                true => tokio::select! {
                    gpu = self.gpu_pool.acquire(&target) => gpu,
                    () = stop.cancelled() => return Turn::Stopped(SkipReason::Interrupted),
                },
                false => None,
            };
            match remote.claim_lease(key).await {
                Ok(LeaseClaim::Acquired(lease)) => {
                    // Interrupted while the claim was in flight, or the engine landed since the
                    // plan (a holder before us published and released): give the lease back.
                    if stop.is_stopped() {
                        release(remote, lease).await;
                        return Turn::Stopped(self.stop_reason());
                    }
                    if self.published(engine, remote).await {
                        release(remote, lease).await;
                        return Turn::Fetch;
                    }
                    return Turn::Build {
                        gpu,
                        lease: Some(lease),
                    };
                }
                Ok(LeaseClaim::HeldBy(holder)) => {
                    drop(gpu);
                    if waited_for.as_ref() != Some(&holder.holder) {
                        self.exec.reporter.event(&Event::Waiting {
                            file: &key.file,
                            host: &holder.host,
                            pid: holder.pid,
                        });
                        waited_for = Some(holder.holder);
                    }
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = stop.cancelled() => return Turn::Stopped(SkipReason::Interrupted),
                    }
                    delay = (delay * 2).min(LEASE_POLL_MAX);
                    if self.published(engine, remote).await {
                        return Turn::Fetch;
                    }
                }
                // Leases only save duplicate work: without one, build (the upload is still
                // create-only and says what went wrong with the remote).
                Err(_) => return Turn::Build { gpu, lease: None },
            }
        }
    }

    fn stop_reason(&self) -> SkipReason {
        if self.exec.stop.is_cancelled() {
            SkipReason::Interrupted
        } else {
            SkipReason::Stopped
        }
    }

    /// Whether the remote holds this very engine (sidecar with our fingerprint).
    async fn published(&self, engine: &DesiredEngine, remote: &Remote) -> bool {
        match remote.read_sidecar(&engine.key).await {
            Ok(Some(bytes)) => Sidecar::parse_for(&bytes, &engine.key)
                .is_ok_and(|s| s.fingerprint.as_ref() == Some(&engine.fingerprint)),
            _ => false,
        }
    }
}

/// Gives a lease back, trying again through a failure on the way: a lease left behind makes
/// every other builder wait for it to expire.
async fn release(remote: &Remote, lease: HeldLease) {
    // Best effort still: a lease that cannot be released expires on its own.
    let _ = retrying(|| remote.release_lease(lease.clone())).await;
}

/// Runs `work` while renewing `lease`, then releases it.
async fn under_lease<T>(
    remote: &Remote,
    lease: Option<HeldLease>,
    work: impl std::future::Future<Output = T>,
) -> T {
    let Some(mut lease) = lease else {
        return work.await;
    };
    let out = tokio::select! {
        out = work => out,
        never = keep_renewing(remote, &mut lease) => match never {},
    };
    release(remote, lease).await;
    out
}

/// Renews the lease every third of its time while the build and upload run; never returns.
async fn keep_renewing(remote: &Remote, lease: &mut HeldLease) -> std::convert::Infallible {
    let every = remote.lease_ttl() / 3;
    loop {
        tokio::time::sleep(every).await;
        // A failed renewal is tried again at the next tick; a lost lease means another builder
        // took over after we stalled, and both builds publish the same engine create-only.
        let _ = remote.renew_lease(lease).await;
    }
}
