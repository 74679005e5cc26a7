//! The executor: carries a plan out. A build holds one GPU of its arch, transfers share `-j`
//! slots, an upload follows its build while the GPU takes the next one, and a failure stops
//! only what depends on it (or, without `--keep-going`, what has not started yet).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Notify, Semaphore};

use crate::builder::{BuildJob, Builder};
use crate::gpu::GpuInventory;
use crate::identity::{EngineKey, GpuArch, Provenance, SIDECAR_SCHEMA_VERSION, Sidecar};
use crate::plan::{Decision, DesiredEngine, EngineStep, Plan, Staleness};
use crate::report::{Event, Reporter};
use crate::store::remote::{HeldLease, LeaseClaim, Remote, RemoteError, UploadOutcome, retrying};
use crate::store::{self, Cache};
use crate::sys::{hostname, now_secs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Fetch,
    Build,
    Upload,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Fetch => "fetch",
            ActionKind::Build => "build",
            ActionKind::Upload => "upload",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Outcome {
    Done {
        bytes: u64,
    },
    /// Another process or machine did it first; the result is the same engine.
    AlreadyDone(String),
    Failed(String),
    /// Not started: something it needs failed, or the run was stopped.
    Skipped(String),
}

#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// Concurrent transfers.
    pub jobs: usize,
    pub keep_going: bool,
}

/// What an apply did; printed as the final summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    /// Engines already in the local cache.
    pub local_cache: usize,
    pub fetched: usize,
    pub built: usize,
    pub uploaded: usize,
    pub already_uploaded: usize,
    pub cannot_build: Vec<String>,
    pub failures: Vec<Failure>,
    pub skipped: usize,
    pub bytes_fetched: u64,
    pub bytes_uploaded: u64,
    pub wall_ms: u64,
    pub interrupted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub action: ActionKind,
    pub file: String,
    pub reason: String,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty() && !self.interrupted
    }
}

/// GPUs by arch, handed out one build at a time.
struct GpuPool {
    slots: BTreeMap<GpuArch, (Semaphore, Mutex<Vec<u32>>)>,
}

struct GpuLease<'a> {
    index: u32,
    free: &'a Mutex<Vec<u32>>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Drop for GpuLease<'_> {
    fn drop(&mut self) {
        self.free.lock().expect("gpu pool").push(self.index);
    }
}

impl GpuPool {
    fn new(gpus: &GpuInventory) -> GpuPool {
        let mut slots: BTreeMap<GpuArch, Vec<u32>> = BTreeMap::new();
        for gpu in &gpus.gpus {
            slots.entry(gpu.arch).or_default().push(gpu.index);
        }
        GpuPool {
            slots: slots
                .into_iter()
                .map(|(arch, mut indices)| {
                    // Popped from the back: the lowest index is used first.
                    indices.reverse();
                    (arch, (Semaphore::new(indices.len()), Mutex::new(indices)))
                })
                .collect(),
        }
    }

    async fn acquire(&self, arch: GpuArch) -> Option<GpuLease<'_>> {
        let (semaphore, free) = self.slots.get(&arch)?;
        let permit = semaphore.acquire().await.ok()?;
        let index = free.lock().expect("gpu pool").pop()?;
        Some(GpuLease {
            index,
            free,
            _permit: permit,
        })
    }
}

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

    fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Everything the executor works with.
pub struct Executor<'a> {
    pub cache: &'a Cache,
    pub remote: Option<&'a Remote>,
    pub gpus: &'a GpuInventory,
    /// `None` when nothing in the plan needs building (no trtexec needed).
    pub builder: Option<&'a dyn Builder>,
    pub timing_cache: bool,
    pub reporter: &'a dyn Reporter,
    pub options: ApplyOptions,
    pub stop: &'a StopSignal,
}

struct Run<'a> {
    exec: &'a Executor<'a>,
    gpu_pool: GpuPool,
    transfers: Semaphore,
    next_ordinal: AtomicUsize,
    bytes_fetched: AtomicU64,
    bytes_uploaded: AtomicU64,
}

type StepResult = Vec<(ActionKind, String, Outcome)>;

impl Executor<'_> {
    pub async fn apply(&self, plan: &Plan) -> ApplyReport {
        let started = Instant::now();
        let summary = plan.summary();
        let total = summary.build + summary.fetch + summary.upload;
        self.reporter.event(&Event::Begin { total });
        let run = Run {
            exec: self,
            gpu_pool: GpuPool::new(self.gpus),
            transfers: Semaphore::new(self.options.jobs.max(1)),
            next_ordinal: AtomicUsize::new(0),
            bytes_fetched: AtomicU64::new(0),
            bytes_uploaded: AtomicU64::new(0),
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
                report.tally(action, file, outcome);
            }
        }
        report.bytes_fetched = run.bytes_fetched.load(Ordering::Relaxed);
        report.bytes_uploaded = run.bytes_uploaded.load(Ordering::Relaxed);
        report.wall_ms = started.elapsed().as_millis() as u64;
        report.interrupted = self.stop.is_cancelled();
        self.reporter.event(&Event::Summary(&report));
        report
    }
}

impl ApplyReport {
    fn tally(&mut self, action: ActionKind, file: String, outcome: Outcome) {
        match (action, outcome) {
            (ActionKind::Fetch, Outcome::Done { .. }) => self.fetched += 1,
            (ActionKind::Build, Outcome::Done { .. }) => self.built += 1,
            (ActionKind::Upload, Outcome::Done { .. }) => self.uploaded += 1,
            (ActionKind::Upload, Outcome::AlreadyDone(_)) => self.already_uploaded += 1,
            (_, Outcome::AlreadyDone(_)) => self.local_cache += 1,
            (_, Outcome::Skipped(_)) => self.skipped += 1,
            (action, Outcome::Failed(reason)) => self.failures.push(Failure {
                action,
                file,
                reason,
            }),
        }
    }
}

impl Run<'_> {
    async fn step(&self, step: &EngineStep) -> StepResult {
        let engine = &step.engine;
        let file = engine.key.file.clone();
        match &step.decision {
            Decision::Fetch { legacy, .. } => {
                let outcome = self
                    .action(ActionKind::Fetch, &file, self.fetch(engine, *legacy))
                    .await;
                vec![(ActionKind::Fetch, file, outcome)]
            }
            Decision::Build { upload, stale, .. } => {
                let forced = *stale == Some(Staleness::Forced);
                // Leases guard what would be published; a forced rebuild is wanted regardless.
                match self.exec.remote {
                    Some(remote) if *upload && !forced => self.build_leased(engine, remote).await,
                    _ => {
                        self.build_then_upload(engine, forced, *upload, None, false)
                            .await
                    }
                }
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
            Decision::UpToDate { .. } | Decision::CannotBuild { .. } => Vec::new(),
        }
    }

    async fn build_then_upload(
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
                _ => self.skip(ActionKind::Upload, &file, "its build did not complete"),
            };
            results.push((ActionKind::Upload, file, upload));
        }
        results
    }

    /// Builds under the engine's remote lease, or waits for the builder that holds it and
    /// fetches what it publishes.
    async fn build_leased(&self, engine: &DesiredEngine, remote: &Remote) -> StepResult {
        let file = engine.key.file.clone();
        match self.turn(engine, remote, true).await {
            Turn::Stopped(why) => vec![(
                ActionKind::Build,
                file.clone(),
                self.skip(ActionKind::Build, &file, why),
            )],
            Turn::Fetch => {
                let fetched = self
                    .action(ActionKind::Fetch, &file, self.fetch(engine, false))
                    .await;
                // The planned upload is done too, by the builder that held the lease: counted,
                // so progress ends at its total.
                let uploaded =
                    Outcome::AlreadyDone("uploaded by the builder that held the lease".into());
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
    async fn upload_leased(&self, engine: &DesiredEngine, remote: &Remote) -> Outcome {
        let file = &engine.key.file;
        match self.turn(engine, remote, false).await {
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

    async fn turn(&self, engine: &DesiredEngine, remote: &Remote, needs_gpu: bool) -> Turn<'_> {
        tokio::select! {
            turn = self.take_turn(engine, remote, needs_gpu) => turn,
            () = self.exec.stop.cancelled() => Turn::Stopped("interrupted"),
        }
    }

    /// Waits until this process may build or upload the engine (it holds the lease, and a GPU
    /// when `needs_gpu`) or the engine was published by the builder that held the lease.
    async fn take_turn(
        &self,
        engine: &DesiredEngine,
        remote: &Remote,
        needs_gpu: bool,
    ) -> Turn<'_> {
        let key = &engine.key;
        let mut waited_for: Option<String> = None;
        let mut delay = LEASE_POLL_FIRST;
        loop {
            if self.exec.stop.is_stopped() {
                return Turn::Stopped("stopped");
            }
            let gpu = match needs_gpu {
                true => self.gpu_pool.acquire(engine.id.gpu_arch).await,
                false => None,
            };
            match remote.claim_lease(key).await {
                Ok(LeaseClaim::Acquired(lease)) => {
                    // The engine may have landed since the plan (a holder before us published
                    // and released): then there is nothing to build.
                    if self.published(engine, remote).await {
                        let _ = remote.release_lease(lease).await;
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
                    tokio::time::sleep(delay).await;
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

    /// Whether the remote holds this very engine (sidecar with our fingerprint).
    async fn published(&self, engine: &DesiredEngine, remote: &Remote) -> bool {
        match remote.read_sidecar(&engine.key).await {
            Ok(Some(bytes)) => Sidecar::parse_for(&bytes, &engine.key)
                .is_ok_and(|s| s.fingerprint.as_ref() == Some(&engine.fingerprint)),
            _ => false,
        }
    }

    fn skip(&self, action: ActionKind, file: &str, why: &str) -> Outcome {
        let outcome = Outcome::Skipped(why.to_string());
        self.finish(action, file, &outcome, Duration::ZERO);
        outcome
    }

    fn finish(&self, action: ActionKind, file: &str, outcome: &Outcome, elapsed: Duration) {
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
    async fn action(
        &self,
        action: ActionKind,
        file: &str,
        work: impl std::future::Future<Output = Result<Outcome, String>>,
    ) -> Outcome {
        let stop = self.exec.stop;
        if stop.is_stopped() {
            return self.skip(action, file, "stopped");
        }
        let started = Instant::now();
        let outcome = tokio::select! {
            result = work => result.unwrap_or_else(Outcome::Failed),
            () = stop.cancelled() => Outcome::Skipped("interrupted".into()),
        };
        if matches!(outcome, Outcome::Failed(_)) && !self.exec.options.keep_going {
            stop.stop();
        }
        self.finish(action, file, &outcome, started.elapsed());
        outcome
    }

    fn started(&self, action: ActionKind, file: &str, bytes_total: Option<u64>) {
        self.exec.reporter.event(&Event::Started {
            action,
            file,
            bytes_total,
        });
    }

    fn progress(&self, file: &str, done: u64) {
        self.exec.reporter.event(&Event::Bytes { file, done });
    }

    /// Waits for the engine's lock off the async threads; the lock is per engine, across processes.
    async fn lock(&self, key: &EngineKey) -> Result<store::EngineLock, String> {
        let cache = self.exec.cache.clone();
        let key = key.clone();
        tokio::task::spawn_blocking(move || cache.lock(&key))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    /// Another process may have committed the engine while this one waited for the lock.
    fn already_current(&self, engine: &DesiredEngine) -> bool {
        matches!(
            self.exec.cache.read_sidecar(&engine.key),
            Some(Ok(s)) if s.fingerprint.as_ref() == Some(&engine.fingerprint)
        ) && self.exec.cache.engine_path(&engine.key).is_file()
    }

    /// Resources are waited for after the run may have been stopped: check again before working.
    fn stopped(&self) -> Option<Outcome> {
        self.exec
            .stop
            .is_stopped()
            .then(|| Outcome::Skipped("stopped".into()))
    }

    async fn build(
        &self,
        engine: &DesiredEngine,
        forced: bool,
        gpu: Option<GpuLease<'_>>,
    ) -> Result<Outcome, String> {
        let builder = self.exec.builder.ok_or("no builder available")?;
        let gpu_name = self
            .exec
            .gpus
            .gpus_of(engine.id.gpu_arch)
            .first()
            .map(|g| g.name.clone());
        let gpu = match gpu {
            Some(gpu) => Some(gpu),
            None => self.gpu_pool.acquire(engine.id.gpu_arch).await,
        }
        .ok_or_else(|| format!("no local GPU of {}", engine.id.gpu_arch))?;
        let _lock = self.lock(&engine.key).await?;
        if let Some(stopped) = self.stopped() {
            return Ok(stopped);
        }
        if !forced && self.already_current(engine) {
            return Ok(Outcome::AlreadyDone("built by another process".into()));
        }
        self.check_onnx(engine).await?;
        self.started(ActionKind::Build, &engine.key.file, None);
        let cache = self.exec.cache;
        let temp = cache.temp_engine(&engine.key).map_err(|e| e.to_string())?;
        let job = BuildJob {
            onnx: engine.onnx.clone(),
            inputs: engine.build.clone(),
            output: temp.path().to_path_buf(),
            log: cache.log_path(&engine.key),
            timing_cache: self.exec.timing_cache.then(|| {
                timing_cache_dir(cache.root()).join(format!(
                    "{}_{}.cache",
                    engine.id.gpu_arch, engine.id.trt_version
                ))
            }),
            device: gpu.index,
        };
        if let Some(dir) = job.timing_cache.as_ref().and_then(|t| t.parent()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let built = builder.build(&job).await.map_err(|e| e.to_string())?;
        drop(gpu);
        let provenance = Provenance {
            gpu_name,
            builder: Some(built.builder),
            trtctl_version: env!("CARGO_PKG_VERSION").to_string(),
            host: hostname(),
            build_duration_ms: Some(built.duration.as_millis() as u64),
            created_at: now_secs(),
            legacy: false,
        };
        let bytes = commit_built(cache.clone(), engine.clone(), temp, provenance).await?;
        Ok(Outcome::Done { bytes })
    }

    /// The hash node: the ONNX must still be the bytes the plan was made from.
    async fn check_onnx(&self, engine: &DesiredEngine) -> Result<(), String> {
        let path = engine.onnx.clone();
        let (sha, _) = tokio::task::spawn_blocking(move || store::hash_file(&path))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if sha != engine.build.onnx_sha256 {
            return Err(format!(
                "{} changed since the plan was made; run `trtctl plan` again",
                engine.onnx.display()
            ));
        }
        Ok(())
    }

    fn remote(&self) -> Result<&Remote, String> {
        self.exec
            .remote
            .ok_or_else(|| "no remote configured".to_string())
    }

    async fn fetch(&self, engine: &DesiredEngine, legacy: bool) -> Result<Outcome, String> {
        let remote = self.remote()?;
        let _permit = self.transfers.acquire().await.map_err(|e| e.to_string())?;
        let _lock = self.lock(&engine.key).await?;
        if let Some(stopped) = self.stopped() {
            return Ok(stopped);
        }
        if self.already_current(engine) {
            return Ok(Outcome::AlreadyDone("fetched by another process".into()));
        }
        let key = &engine.key;
        let expected = if legacy {
            None
        } else {
            let bytes = remote
                .read_sidecar(key)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!("{key}: the remote sidecar disappeared since the plan was made")
                })?;
            let sidecar = Sidecar::parse_for(&bytes, key)
                .and_then(|s| s.check_consistent().map(|()| s))
                .map_err(|e| format!("{key}: remote {e}"))?;
            if sidecar.fingerprint.as_ref() != Some(&engine.fingerprint) {
                return Err(format!(
                    "{key}: the remote engine changed since the plan was made"
                ));
            }
            Some(sidecar)
        };
        self.started(
            ActionKind::Fetch,
            &key.file,
            expected.as_ref().map(|s| s.engine_size),
        );
        let on_bytes = |done: u64| self.progress(&key.file, done);
        // Each attempt starts a fresh temp file: a body cut off half-way is never resumed blindly.
        let (temp, file, sha256, size) = retrying(|| async {
            let temp = self.exec.cache.temp_engine(key).map_err(local_error)?;
            let reopened = temp.reopen().map_err(|source| RemoteError::Io {
                path: temp.path().to_path_buf(),
                source,
            })?;
            let mut file = tokio::fs::File::from_std(reopened);
            let (sha256, size) = remote.fetch_engine(key, &mut file, &on_bytes).await?;
            Ok((temp, file, sha256, size))
        })
        .await
        .map_err(|e| e.to_string())?;
        let sidecar = match expected {
            Some(sidecar) if sidecar.engine_sha256 != sha256 || sidecar.engine_size != size => {
                return Err(format!(
                    "{}: downloaded bytes do not match the sidecar (sha256 {sha256}, {size} bytes; sidecar says {}, {} bytes); nothing was cached",
                    key, sidecar.engine_sha256, sidecar.engine_size
                ));
            }
            Some(sidecar) => sidecar,
            None => legacy_sidecar(engine, sha256, size),
        };
        file.sync_all().await.map_err(|e| e.to_string())?;
        drop(file);
        let cache = self.exec.cache.clone();
        let key_owned = key.clone();
        tokio::task::spawn_blocking(move || cache.commit(&key_owned, temp, &sidecar))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        self.bytes_fetched.fetch_add(size, Ordering::Relaxed);
        Ok(Outcome::Done { bytes: size })
    }

    async fn upload(&self, engine: &DesiredEngine, under_lease: bool) -> Result<Outcome, String> {
        let remote = self.remote()?;
        let _permit = self.transfers.acquire().await.map_err(|e| e.to_string())?;
        if let Some(stopped) = self.stopped() {
            return Ok(stopped);
        }
        let key = &engine.key;
        let sidecar = match self.exec.cache.read_sidecar(key) {
            Some(Ok(s)) => s,
            Some(Err(e)) => return Err(format!("{key}: local {e}")),
            None => return Err(format!("{key}: not in the local cache")),
        };
        self.started(ActionKind::Upload, &key.file, Some(sidecar.engine_size));
        let on_bytes = |done: u64| self.progress(&key.file, done);
        let path = self.exec.cache.engine_path(key);
        // Uploads are create-only and resume from what landed, so trying again is always safe.
        match retrying(|| remote.upload(key, &path, &sidecar, under_lease, &on_bytes))
            .await
            .map_err(|e| e.to_string())?
        {
            UploadOutcome::Uploaded { bytes } => {
                self.bytes_uploaded.fetch_add(bytes, Ordering::Relaxed);
                Ok(Outcome::Done { bytes })
            }
            UploadOutcome::AlreadyPresent => Ok(Outcome::AlreadyDone(
                "already uploaded by another builder".into(),
            )),
        }
    }
}

/// Where this process stands with an engine another builder may be building.
enum Turn<'a> {
    Build {
        gpu: Option<GpuLease<'a>>,
        lease: Option<HeldLease>,
    },
    Fetch,
    Stopped(&'static str),
}

/// Polls for another builder's engine: soon at first (it may be nearly done), then every few
/// seconds.
const LEASE_POLL_FIRST: Duration = Duration::from_millis(250);
const LEASE_POLL_MAX: Duration = Duration::from_secs(5);

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
    // Best effort: a lease left behind expires on its own.
    let _ = remote.release_lease(lease).await;
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

fn local_error(error: store::StoreError) -> RemoteError {
    match error {
        store::StoreError::Io { path, source } => RemoteError::Io { path, source },
        other => RemoteError::Other {
            detail: other.to_string(),
        },
    }
}

/// Hashes the fresh engine, then commits it: engine first, sidecar last.
async fn commit_built(
    cache: Cache,
    engine: DesiredEngine,
    temp: tempfile::NamedTempFile,
    provenance: Provenance,
) -> Result<u64, String> {
    tokio::task::spawn_blocking(move || {
        let (engine_sha256, engine_size) =
            store::hash_file(temp.path()).map_err(|e| e.to_string())?;
        let sidecar = Sidecar {
            schema_version: SIDECAR_SCHEMA_VERSION,
            family: engine.key.family.clone(),
            id: engine.id.clone(),
            fingerprint: Some(engine.fingerprint.clone()),
            engine_sha256,
            engine_size,
            build: Some(engine.build.clone()),
            provenance,
        };
        cache
            .commit(&engine.key, temp, &sidecar)
            .map_err(|e| e.to_string())?;
        Ok(engine_size)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The sidecar recorded for an engine adopted from a bucket that kept none.
fn legacy_sidecar(engine: &DesiredEngine, engine_sha256: String, engine_size: u64) -> Sidecar {
    Sidecar {
        schema_version: SIDECAR_SCHEMA_VERSION,
        family: engine.key.family.clone(),
        id: engine.id.clone(),
        fingerprint: None,
        engine_sha256,
        engine_size,
        build: None,
        provenance: Provenance {
            trtctl_version: env!("CARGO_PKG_VERSION").to_string(),
            host: hostname(),
            created_at: now_secs(),
            legacy: true,
            ..Provenance::default()
        },
    }
}

/// Where per-arch timing caches live, for `cache clean` to know them.
pub fn timing_cache_dir(cache_root: &Path) -> PathBuf {
    cache_root.join(store::TIMING_DIR)
}

/// Wraps an executor run so Ctrl-C and SIGTERM cancel it cleanly.
pub async fn with_signals<F: std::future::Future>(stop: &StopSignal, work: F) -> F::Output {
    let signals = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        stop.cancel();
        std::future::pending::<()>().await;
    };
    tokio::select! {
        out = work => out,
        () = signals => unreachable!("the signal arm never completes"),
    }
}
