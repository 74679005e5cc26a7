//! The executor: carries a plan out. A build holds one GPU of its arch, transfers share `-j`
//! slots, an upload follows its build while the GPU takes the next one, and a failure stops
//! only what depends on it (or, without `--keep-going`, what has not started yet).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::error::ExecError;
use super::events::{
    ActionKind, ApplyReport, Event, Failure, Outcome, Reporter, SkipReason, TimingTally,
};
use super::gpu_pool::{GpuLease, GpuPool};
use super::signal::StopSignal;
use super::timing_state::TimingCaches;
use crate::builder::Builder;
use crate::gpu::GpuInventory;
use crate::identity::EngineKey;
use crate::plan::{
    Decision, DesiredEngine, EngineStep, Plan, RefitSource, Staleness, local_is_usable,
};
use crate::store::remote::Remote;
use crate::store::{self, Cache};
use crate::trust::{SecretKey, TrustPolicy};

#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// Concurrent transfers.
    pub jobs: usize,
    pub keep_going: bool,
}

/// Everything the executor works with.
pub struct Executor<'a> {
    pub cache: &'a Cache,
    pub remote: Option<&'a Remote>,
    pub gpus: &'a GpuInventory,
    /// `None` when nothing in the plan needs building (no trtexec needed).
    pub builder: Option<&'a dyn Builder>,
    /// Which remote engines may be fetched.
    pub trust: &'a TrustPolicy,
    /// Signs what this run publishes.
    pub signer: Option<&'a SecretKey>,
    pub timing_cache: bool,
    /// Share the timing caches through the remote (`timing_cache` must be on too).
    pub shared_timing_cache: bool,
    pub reporter: &'a dyn Reporter,
    pub options: ApplyOptions,
    pub stop: &'a StopSignal,
}

/// One apply in progress: the shared resources and counters of its actions.
pub(super) struct Run<'a> {
    pub(super) exec: &'a Executor<'a>,
    pub(super) gpu_pool: GpuPool,
    pub(super) transfers: Semaphore,
    next_ordinal: AtomicUsize,
    pub(super) bytes_fetched: AtomicU64,
    pub(super) bytes_uploaded: AtomicU64,
    /// Stripped plans refitted, and the bytes their remote copies left out.
    pub(super) refits: AtomicUsize,
    pub(super) bytes_saved: AtomicU64,
    pub(super) timing: TimingCaches,
    pub(super) timing_tally: std::sync::Mutex<TimingTally>,
}

pub(super) type StepResult = Vec<(ActionKind, String, Outcome)>;

impl Executor<'_> {
    pub async fn apply(&self, plan: &Plan) -> ApplyReport {
        let started = Instant::now();
        let summary = plan.summary();
        // An untrusted engine is a fetch refused: it gets a progress line too.
        let total =
            summary.build + summary.fetch + summary.upload + summary.untrusted + summary.refit;
        self.reporter.event(&Event::Begin { total });
        let gpu_pool = GpuPool::new(self.gpus);
        let run = Run {
            exec: self,
            timing: TimingCaches::for_plan(plan, &gpu_pool),
            gpu_pool,
            transfers: Semaphore::new(self.options.jobs.max(1)),
            next_ordinal: AtomicUsize::new(0),
            bytes_fetched: AtomicU64::new(0),
            bytes_uploaded: AtomicU64::new(0),
            refits: AtomicUsize::new(0),
            bytes_saved: AtomicU64::new(0),
            timing_tally: Default::default(),
        };
        let results = futures::future::join_all(plan.steps.iter().map(|step| run.step(step))).await;
        let mut report = ApplyReport::default();
        for (step, outcomes) in plan.steps.iter().zip(results) {
            match &step.decision {
                Decision::UpToDate { .. } => report.local_cache += 1,
                Decision::CannotBuild { .. } => {
                    report.cannot_build.push(step.engine.key.file.clone())
                }
                _ => {}
            }
            for (action, file, outcome) in outcomes {
                tally(&mut report, action, file, outcome);
            }
        }
        report.bytes_fetched = run.bytes_fetched.load(Ordering::Relaxed);
        report.bytes_uploaded = run.bytes_uploaded.load(Ordering::Relaxed);
        report.refits = run.refits.load(Ordering::Relaxed);
        report.bytes_saved = run.bytes_saved.load(Ordering::Relaxed);
        report.timing = run.timing_tally();
        report.wall_ms = started.elapsed().as_millis() as u64;
        report.interrupted = self.stop.is_cancelled();
        self.reporter.event(&Event::Summary(&report));
        report
    }
}

fn tally(report: &mut ApplyReport, action: ActionKind, file: String, outcome: Outcome) {
    match (action, outcome) {
        (ActionKind::Fetch, Outcome::Done { .. }) => report.fetched += 1,
        (ActionKind::Build, Outcome::Done { .. }) => report.built += 1,
        (ActionKind::Refit, Outcome::Done { .. }) => report.refitted += 1,
        (ActionKind::Upload, Outcome::Done { .. }) => {
            report.uploaded += 1;
            report.published.insert(file);
        }
        (ActionKind::Upload, Outcome::AlreadyDone(by)) => {
            report.already_uploaded += 1;
            match by {
                super::events::DoneElsewhere::UploadedByLeaseHolder => {
                    report.published.insert(file);
                }
                _ => report.published_elsewhere = true,
            }
        }
        (_, Outcome::AlreadyDone(_)) => report.local_cache += 1,
        (_, Outcome::Skipped(_)) => report.skipped += 1,
        (action, Outcome::Failed(reason)) => report.failures.push(Failure {
            action,
            file,
            reason,
        }),
    }
}

impl Run<'_> {
    async fn step(&self, step: &EngineStep) -> StepResult {
        let engine = &step.engine;
        let file = engine.key.file.clone();
        match &step.decision {
            Decision::Fetch { legacy, .. } => {
                let outcome = self
                    .action(ActionKind::Fetch, &file, self.fetch(engine, *legacy, false))
                    .await;
                vec![(ActionKind::Fetch, file, outcome)]
            }
            Decision::Build { upload, .. }
                if self.gpu_pool.build_slot(&engine.id.target()).is_none() =>
            {
                self.refuse_build(engine, *upload)
            }
            Decision::Build { upload, stale, .. } => {
                let forced = *stale == Some(Staleness::Forced);
                // Leases guard what would be published; a forced rebuild is wanted regardless.
                let results = match self.exec.remote {
                    Some(remote) if *upload && !forced => self.build_leased(engine, remote).await,
                    _ => {
                        self.build_then_upload(engine, forced, *upload, None, false)
                            .await
                    }
                };
                self.after_timing_build(engine).await;
                results
            }
            Decision::Upload => {
                let outcome = match self.exec.remote {
                    Some(remote) => self.upload_leased(engine, remote).await,
                    None => {
                        self.action(ActionKind::Upload, &file, self.upload(engine, false))
                            .await
                    }
                };
                vec![(ActionKind::Upload, file, outcome)]
            }
            Decision::Untrusted { why, .. } => {
                let refused = ExecError::Untrusted {
                    key: engine.key.clone(),
                    why: why.clone(),
                };
                let outcome = self
                    .action(ActionKind::Fetch, &file, async { Err(refused) })
                    .await;
                vec![(ActionKind::Fetch, file, outcome)]
            }
            Decision::Refit { from, .. } => {
                let work = async {
                    match from {
                        RefitSource::Cache => self.refit_cached(engine).await,
                        RefitSource::Remote => self.fetch(engine, false, false).await,
                    }
                };
                let outcome = self.action(ActionKind::Refit, &file, work).await;
                vec![(ActionKind::Refit, file, outcome)]
            }
            Decision::UpToDate { .. } | Decision::CannotBuild { .. } => Vec::new(),
        }
    }

    /// A build no GPU here can do (a plan made as if another arch were here) fails before
    /// anything runs, and stops nothing else: fetches and uploads of real engines go on.
    fn refuse_build(&self, engine: &DesiredEngine, upload: bool) -> StepResult {
        let file = engine.key.file.clone();
        let arch = engine.id.gpu_arch;
        let gpus = self.exec.gpus;
        let refusal = if gpus.on_gpu_host() {
            ExecError::NotThisHostsArch {
                key: engine.key.clone(),
                arch,
                host_gpus: gpus.describe_build_gpus(),
            }
        } else {
            ExecError::NoGpu { arch }
        };
        let refused = Outcome::Failed(Arc::new(refusal));
        self.finish(ActionKind::Build, &file, &refused, Duration::ZERO);
        let mut results = vec![(ActionKind::Build, file.clone(), refused)];
        if upload {
            let skipped = self.skip(ActionKind::Upload, &file, SkipReason::BuildIncomplete);
            results.push((ActionKind::Upload, file, skipped));
        }
        results
    }

    pub(super) async fn build_then_upload(
        &self,
        engine: &DesiredEngine,
        forced: bool,
        upload: bool,
        gpu: Option<GpuLease<'_>>,
        under_lease: bool,
    ) -> StepResult {
        let file = engine.key.file.clone();
        let built = self
            .action(ActionKind::Build, &file, self.build(engine, forced, gpu))
            .await;
        let mut results = vec![(ActionKind::Build, file.clone(), built.clone())];
        if upload {
            let upload = match built {
                Outcome::Done { .. } | Outcome::AlreadyDone(_) => {
                    self.action(ActionKind::Upload, &file, self.upload(engine, under_lease))
                        .await
                }
                _ => self.skip(ActionKind::Upload, &file, SkipReason::BuildIncomplete),
            };
            results.push((ActionKind::Upload, file, upload));
        }
        results
    }

    pub(super) fn skip(&self, action: ActionKind, file: &str, why: SkipReason) -> Outcome {
        let outcome = Outcome::Skipped(why);
        self.finish(action, file, &outcome, Duration::ZERO);
        outcome
    }

    pub(super) fn finish(
        &self,
        action: ActionKind,
        file: &str,
        outcome: &Outcome,
        elapsed: Duration,
    ) {
        let ordinal = self.next_ordinal.fetch_add(1, Ordering::SeqCst) + 1;
        self.exec.reporter.event(&Event::Finished {
            ordinal,
            action,
            file,
            outcome,
            elapsed,
        });
    }

    /// Runs one action unless the run was stopped; interrupting it drops (and so kills) it.
    pub(super) async fn action(
        &self,
        action: ActionKind,
        file: &str,
        work: impl std::future::Future<Output = Result<Outcome, ExecError>>,
    ) -> Outcome {
        let stop = self.exec.stop;
        if stop.is_stopped() {
            return self.skip(action, file, SkipReason::Stopped);
        }
        let started = Instant::now();
        let outcome = tokio::select! {
            result = work => result.unwrap_or_else(|e| Outcome::Failed(Arc::new(e))),
            () = stop.cancelled() => Outcome::Skipped(SkipReason::Interrupted),
        };
        if matches!(outcome, Outcome::Failed(_)) && !self.exec.options.keep_going {
            stop.stop();
        }
        self.finish(action, file, &outcome, started.elapsed());
        outcome
    }

    pub(super) fn started(&self, action: ActionKind, file: &str, bytes_total: Option<u64>) {
        self.exec.reporter.event(&Event::Started {
            action,
            file,
            bytes_total,
        });
    }

    pub(super) fn progress(&self, file: &str, done: u64) {
        self.exec.reporter.event(&Event::Bytes { file, done });
    }

    /// Waits for the engine's lock off the async threads; the lock is per engine, across processes.
    pub(super) async fn lock(&self, key: &EngineKey) -> Result<store::EngineLock, ExecError> {
        let cache = self.exec.cache.clone();
        let key = key.clone();
        Ok(tokio::task::spawn_blocking(move || cache.lock(&key)).await??)
    }

    /// Another process may have committed the engine while this one waited for the lock: the
    /// planner's own test of a cached copy (fingerprint, size, local trust), so an engine the
    /// plan found unusable is never taken for one committed meanwhile.
    pub(super) fn already_current(&self, engine: &DesiredEngine) -> bool {
        let local = self.exec.cache.local_engine(&engine.key);
        local_is_usable(
            local.as_ref(),
            engine,
            self.exec.trust,
            self.exec.gpus.on_gpu_host(),
        )
    }

    /// Resources are waited for after the run may have been stopped: check again before working.
    pub(super) fn stopped(&self) -> Option<Outcome> {
        self.exec
            .stop
            .is_stopped()
            .then_some(Outcome::Skipped(SkipReason::Stopped))
    }
}
