//! The build action: one GPU, the engine's lock, trtexec, then commit (engine first, sidecar
//! last) — unless the ONNX changed under the build.

use super::error::ExecError;
use super::events::{ActionKind, DoneElsewhere, Outcome};
use super::gpu_pool::GpuLease;
use super::run::Run;
use super::timing::timing_cache_file;
use crate::builder::BuildJob;
use crate::identity::{
    LocalTrust, PlanHeader, Provenance, SIDECAR_SCHEMA_VERSION, Sidecar, TrtVersion,
};
use crate::plan::DesiredEngine;
use crate::store::{self, Cache, FileStamp};
use crate::sys::{hostname, now_secs};

impl Run<'_> {
    pub(super) async fn build(
        &self,
        engine: &DesiredEngine,
        forced: bool,
        gpu: Option<GpuLease<'_>>,
    ) -> Result<Outcome, ExecError> {
        let builder = self.exec.builder.ok_or(ExecError::NoBuilder)?;
        let arch = engine.id.gpu_arch;
        let gpu = match gpu {
            Some(gpu) => Some(gpu),
            None => self.gpu_pool.acquire(&engine.id.target()).await,
        }
        .ok_or(ExecError::NoGpu { arch })?;
        let _lock = self.lock(&engine.key).await?;
        if let Some(stopped) = self.stopped() {
            return Ok(stopped);
        }
        if !forced && self.already_current(engine) {
            return Ok(Outcome::AlreadyDone(DoneElsewhere::BuiltByAnotherProcess));
        }
        let onnx_before = check_onnx(engine).await?;
        self.started(ActionKind::Build, &engine.key.file, None);
        let cache = self.exec.cache;
        let temp = cache.temp_engine(&engine.key)?;
        let timing_name = (self.exec.timing_cache)
            .then(|| (self.gpu_pool).timing_cache_name(&engine.id.target(), engine.id.trt_version))
            .flatten();
        let job = BuildJob {
            onnx: engine.onnx.clone(),
            inputs: engine.build.clone(),
            output: temp.path().to_path_buf(),
            log: cache.log_path(&engine.key),
            timing_cache: timing_name
                .as_deref()
                .map(|name| timing_cache_file(cache.root(), name)),
            device: gpu.gpu.index,
        };
        if let (Some(timing), Some(name)) = (&job.timing_cache, &timing_name) {
            if let Some(dir) = timing.parent() {
                std::fs::create_dir_all(dir).map_err(ExecError::io(dir))?;
            }
            self.prepare_timing_cache(timing, name).await;
        }
        let built = self
            .build_with_timing_fallback(builder, &job, &engine.key.file)
            .await?;
        let (gpu_name, gpu_model) = (gpu.gpu.name.clone(), gpu.gpu.model.clone());
        drop(gpu);
        // The engine is labelled with the ONNX digest from before the build: a file rewritten
        // meanwhile would publish an engine under a digest it was not built from.
        recheck_onnx(engine, onnx_before).await?;
        // Another trtexec than the one checked (a PATH change mid-run, a wrapper) would commit
        // an engine that no host of the named TensorRT can load.
        let trt_build = checked_plan(temp.path(), engine, None)?;
        let provenance = Provenance {
            gpu_name: Some(gpu_name),
            gpu_model,
            trt_build,
            simulated: self.exec.gpus.builds_simulated(),
            builder: Some(built.builder),
            trtctl_version: env!("CARGO_PKG_VERSION").to_string(),
            host: hostname(),
            build_duration_ms: Some(built.duration.as_millis() as u64),
            created_at: now_secs(),
            legacy: false,
        };
        let bytes = match &engine.weights {
            Some(_) => self.refit_built(engine, temp, provenance).await?,
            None => commit_built(cache.clone(), engine.clone(), temp, provenance).await?,
        };
        Ok(Outcome::Done { bytes })
    }
}

/// The exact build the plan at `path` says made it, checked against the engine's name and the
/// build `recorded` in its sidecar; a plan that disagrees is never committed.
pub(super) fn checked_plan(
    path: &std::path::Path,
    engine: &DesiredEngine,
    recorded: Option<TrtVersion>,
) -> Result<Option<TrtVersion>, ExecError> {
    PlanHeader::check_file(path, engine.id.trt_version, recorded)
        .map_err(ExecError::io(path))?
        .map_err(|source| ExecError::Plan {
            key: engine.key.clone(),
            source,
        })
}

/// The hash node: the ONNX must still be the bytes the plan was made from. Returns the stamp
/// the bytes were checked under.
pub(super) async fn check_onnx(engine: &DesiredEngine) -> Result<FileStamp, ExecError> {
    let path = engine.onnx.clone();
    let expected = engine.build.onnx_sha256.clone();
    tokio::task::spawn_blocking(move || {
        let before = FileStamp::of(&path)?;
        let (sha, _) = store::hash_file(&path)?;
        if sha != expected || FileStamp::of(&path)? != before {
            return Err(ExecError::OnnxChanged { path });
        }
        Ok(before)
    })
    .await?
}

/// After the build: an unmoved stamp means unchanged bytes; a moved one is hashed again.
async fn recheck_onnx(engine: &DesiredEngine, before: FileStamp) -> Result<(), ExecError> {
    if FileStamp::of(&engine.onnx)? == before {
        return Ok(());
    }
    check_onnx(engine).await.map(|_| ())
}

/// Hashes the fresh engine, then commits it: engine first, sidecar last.
async fn commit_built(
    cache: Cache,
    engine: DesiredEngine,
    temp: tempfile::NamedTempFile,
    provenance: Provenance,
) -> Result<u64, ExecError> {
    tokio::task::spawn_blocking(move || {
        let sidecar = engine_sidecar(&engine, &temp, provenance, Some(LocalTrust::Built))?;
        cache.commit(&engine.key, temp, &sidecar)?;
        Ok(sidecar.engine_size)
    })
    .await?
}

/// The sidecar of the engine made in `temp` for `engine`: its digest, and the wanted inputs.
pub(super) fn engine_sidecar(
    engine: &DesiredEngine,
    temp: &tempfile::NamedTempFile,
    provenance: Provenance,
    local_trust: Option<LocalTrust>,
) -> Result<Sidecar, ExecError> {
    let (engine_sha256, engine_size) = store::hash_file(temp.path())?;
    Ok(Sidecar {
        schema_version: SIDECAR_SCHEMA_VERSION,
        family: engine.key.family.clone(),
        id: engine.id.clone(),
        fingerprint: Some(engine.fingerprint.clone()),
        engine_sha256,
        engine_size,
        build: Some(engine.build.clone()),
        provenance,
        local_trust,
        weights: None,
    })
}
