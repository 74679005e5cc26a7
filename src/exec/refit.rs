//! Engines whose weights are stripped: the stripped plan (built here, fetched, or cached from
//! before) is refitted on a GPU of its arch with the weights of this host's ONNX, and the
//! refitted engine is committed beside the plan's record. A refit holds one GPU, as a build
//! does, for a fraction of a build's time, and takes no build lease: nothing is published.

use std::path::Path;
use std::sync::atomic::Ordering;

use super::build::{check_onnx, checked_plan, engine_sidecar};
use super::error::ExecError;
use super::events::{ActionKind, DoneElsewhere, Outcome};
use super::run::Run;
use crate::builder::RefitJob;
use crate::identity::{LocalTrust, Provenance, Sidecar, SidecarSummary, WeightsRecord};
use crate::plan::{DesiredEngine, refits_into};
use crate::store::{self, Cache};

/// What the refitted engine's sidecar keeps of where its plan came from.
pub(super) struct PlanOrigin {
    pub(super) record: WeightsRecord,
    pub(super) provenance: Provenance,
    pub(super) local_trust: Option<LocalTrust>,
}

/// Whether the remote sidecar `sidecar` is one `engine` may be refitted from, though its
/// fingerprint (of other weights) is not the engine's.
pub(super) fn refittable_from(sidecar: &Sidecar, engine: &DesiredEngine) -> bool {
    refits_into(&SidecarSummary::from(sidecar.clone()), engine)
}

impl Run<'_> {
    /// After the build of an engine whose weights are stripped: its plan goes beside the
    /// engines, and is refitted with the ONNX it was built from into the engine itself.
    pub(super) async fn refit_built(
        &self,
        engine: &DesiredEngine,
        temp: tempfile::NamedTempFile,
        provenance: Provenance,
    ) -> Result<u64, ExecError> {
        let weights = engine.weights.as_ref().expect("the caller checked");
        let (plan_sha256, plan_size) = store::hash_file(temp.path())?;
        let plan = self.exec.cache.commit_stripped(&engine.key, temp)?;
        let origin = PlanOrigin {
            record: WeightsRecord {
                mode: weights.mode,
                graph_sha256: weights.graph_sha256.clone(),
                plan_fingerprint: weights.plan_fingerprint.clone(),
                plan_sha256,
                plan_size,
                refits: 1,
            },
            provenance,
            local_trust: Some(LocalTrust::Built),
        };
        self.refit_into_cache(engine, &plan, origin).await
    }

    /// After the download of a stripped plan, verified against the remote sidecar: the plan is
    /// kept, and refitted with this host's ONNX.
    pub(super) async fn refit_fetched(
        &self,
        engine: &DesiredEngine,
        temp: tempfile::NamedTempFile,
        remote: Sidecar,
    ) -> Result<u64, ExecError> {
        let mut record = remote.weights.expect("the caller checked");
        record.plan_sha256 = remote.engine_sha256;
        record.plan_size = remote.engine_size;
        record.refits = 1;
        let plan_size = record.plan_size;
        let plan = self.exec.cache.commit_stripped(&engine.key, temp)?;
        let origin = PlanOrigin {
            record,
            provenance: remote.provenance,
            local_trust: remote.local_trust,
        };
        let size = self.refit_into_cache(engine, &plan, origin).await?;
        self.bytes_saved
            .fetch_add(bytes_saved(size, plan_size), Ordering::Relaxed);
        Ok(size)
    }

    /// `~ refit` of the cached plan: the ONNX changed in its weights alone.
    pub(super) async fn refit_cached(&self, engine: &DesiredEngine) -> Result<Outcome, ExecError> {
        let key = &engine.key;
        let _lock = self.lock(key).await?;
        if let Some(stopped) = self.stopped() {
            return Ok(stopped);
        }
        if self.already_current(engine) {
            return Ok(Outcome::AlreadyDone(DoneElsewhere::BuiltByAnotherProcess));
        }
        let cache = self.exec.cache;
        let sidecar = match cache.read_sidecar(key) {
            Some(Ok(sidecar)) => sidecar,
            Some(Err(source)) => {
                return Err(ExecError::LocalSidecar {
                    key: key.clone(),
                    source,
                });
            }
            None => return Err(ExecError::NotCached { key: key.clone() }),
        };
        let Some(mut record) = sidecar
            .weights
            .clone()
            .filter(|_| refittable_from(&sidecar, engine))
        else {
            return Err(ExecError::RemoteChanged { key: key.clone() });
        };
        let plan = cache.stripped_path(key);
        if store::hash_file(&plan).ok() != Some((record.plan_sha256.clone(), record.plan_size)) {
            return Err(ExecError::StrippedPlanMissing {
                key: key.clone(),
                path: plan,
            });
        }
        self.started(ActionKind::Refit, &key.file, None);
        record.refits += 1;
        let origin = PlanOrigin {
            record,
            provenance: sidecar.provenance,
            local_trust: sidecar.local_trust,
        };
        let bytes = self.refit_into_cache(engine, &plan, origin).await?;
        Ok(Outcome::Done { bytes })
    }

    /// Refits the stripped `plan` with the engine's ONNX on a GPU of its arch, then commits the
    /// engine and its sidecar. Returns the engine's size.
    pub(super) async fn refit_into_cache(
        &self,
        engine: &DesiredEngine,
        plan: &Path,
        origin: PlanOrigin,
    ) -> Result<u64, ExecError> {
        let key = &engine.key;
        if crate::sys::not_a_file(&engine.onnx).is_some() {
            return Err(ExecError::RefitNeedsOnnx {
                key: key.clone(),
                onnx: engine.onnx.clone(),
            });
        }
        let builder = self.exec.builder.ok_or(ExecError::NoBuilder)?;
        let onnx_before = check_onnx(engine).await?;
        let arch = engine.id.gpu_arch;
        let gpu = self
            .gpu_pool
            .acquire(&engine.id.target())
            .await
            .ok_or(ExecError::NoGpu { arch })?;
        let cache = self.exec.cache;
        let temp = cache.temp_engine(key)?;
        let job = RefitJob {
            engine: key.file.clone(),
            plan: plan.to_path_buf(),
            onnx: engine.onnx.clone(),
            output: temp.path().to_path_buf(),
            log: cache.log_path(key),
            device: gpu.gpu.index,
        };
        builder.refit(&job).await?;
        drop(gpu);
        self.refits.fetch_add(1, Ordering::Relaxed);
        if store::FileStamp::of(&engine.onnx)? != onnx_before {
            check_onnx(engine).await?;
        }
        let trt_build = checked_plan(temp.path(), engine, origin.provenance.trt_build)?;
        let provenance = Provenance {
            trt_build,
            ..origin.provenance
        };
        let (cache, engine) = (cache.clone(), engine.clone());
        let record = origin.record;
        let local_trust = origin.local_trust;
        tokio::task::spawn_blocking(move || {
            commit_refitted(&cache, &engine, temp, record, provenance, local_trust)
        })
        .await?
    }
}

fn commit_refitted(
    cache: &Cache,
    engine: &DesiredEngine,
    temp: tempfile::NamedTempFile,
    record: WeightsRecord,
    provenance: Provenance,
    local_trust: Option<LocalTrust>,
) -> Result<u64, ExecError> {
    let sidecar = Sidecar {
        weights: Some(record),
        ..engine_sidecar(engine, &temp, provenance, local_trust)?
    };
    cache.commit(&engine.key, temp, &sidecar)?;
    Ok(sidecar.engine_size)
}

/// The bytes a stripped plan leaves out of the engine refitted from it.
pub(super) fn bytes_saved(engine_size: u64, plan_size: u64) -> u64 {
    engine_size.saturating_sub(plan_size)
}
