//! Pinned engines whose weights are stripped: the lock pins the remote's stripped plan, and
//! says that a host refits it with the model's ONNX (which must have the pinned digest).

use std::path::PathBuf;

use crate::identity::{Fingerprint, WeightsMode};
use crate::manifest::Manifest;
use crate::plan::DesiredEngine;

/// What a host needs to refit a pinned stripped plan into the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedRefit {
    pub mode: WeightsMode,
    /// The ONNX whose weights go in.
    pub onnx_sha256: String,
    /// The identity of the pinned plan: the remote's sidecar must describe it.
    pub plan_fingerprint: Fingerprint,
    /// Where this host's manifest has the model's ONNX; set once the lock is read beside it.
    pub onnx: Option<PathBuf>,
}

impl LockedRefit {
    /// For a desired engine whose weights are stripped.
    pub fn of(wanted: &DesiredEngine) -> Option<LockedRefit> {
        let weights = wanted.weights.as_ref()?;
        Some(LockedRefit {
            mode: weights.mode,
            onnx_sha256: wanted.build.onnx_sha256.clone(),
            plan_fingerprint: weights.plan_fingerprint.clone(),
            onnx: None,
        })
    }

    /// The entry's lines in the lock, after its fingerprint.
    pub(super) fn render(&self) -> String {
        format!(
            "weights = \"{}\"\nonnx_sha256 = \"{}\"\nplan_fingerprint = \"{}\"\n",
            self.mode, self.onnx_sha256, self.plan_fingerprint
        )
    }
}

impl super::Lock {
    /// Records where this host's manifest has the ONNX of each engine that is refitted here.
    pub fn attach_onnx(&mut self, manifest: &Manifest) {
        for engine in &mut self.engines {
            let Some(refit) = &mut engine.refit else {
                continue;
            };
            refit.onnx = (manifest.models.iter())
                .find(|m| m.name == engine.id.model_name && m.family == engine.key.family)
                .map(|m| m.onnx.clone());
        }
    }
}

/// Why a pinned stripped plan could not be refitted here.
#[derive(Debug, thiserror::Error)]
pub enum RefitError {
    #[error(
        "its weights are stripped: the lock pins a stripped plan, which this host refits with the model's ONNX (sha256 {onnx_sha256}), and {}",
        missing_onnx(onnx.as_deref())
    )]
    NeedsOnnx {
        onnx: Option<PathBuf>,
        onnx_sha256: String,
    },
    #[error(
        "its weights are stripped, and the ONNX at {} is not the one the lock pins (sha256 {found}, lock: {onnx_sha256}); put the pinned ONNX there, or run `trtctl lock` on CI with this one",
        onnx.display()
    )]
    OtherOnnx {
        onnx: PathBuf,
        found: String,
        onnx_sha256: String,
    },
    #[error("refitting its stripped plan: {0}")]
    Build(#[from] crate::builder::BuildError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

fn missing_onnx(onnx: Option<&std::path::Path>) -> String {
    match onnx {
        Some(path) => format!(
            "{} is not there; copy the model's ONNX there (the manifest's `onnx` path) and fetch again, or have CI publish full engines (`weights = \"embedded\"`)",
            path.display()
        ),
        None => "the manifest has no model of its name; fetch with the manifest the lock was written for".into(),
    }
}

impl LockedRefit {
    /// The ONNX to refit with, checked before any byte of the plan is fetched.
    pub(super) fn checked_onnx(&self) -> Result<PathBuf, RefitError> {
        let missing = || RefitError::NeedsOnnx {
            onnx: self.onnx.clone(),
            onnx_sha256: self.onnx_sha256.clone(),
        };
        let onnx = self.onnx.clone().ok_or_else(missing)?;
        if crate::sys::not_a_file(&onnx).is_some() {
            return Err(missing());
        }
        let (found, _) = crate::store::hash_file(&onnx)?;
        if found != self.onnx_sha256 {
            return Err(RefitError::OtherOnnx {
                onnx,
                found,
                onnx_sha256: self.onnx_sha256.clone(),
            });
        }
        Ok(onnx)
    }
}

/// Refits the stripped plan fetched into `temp` with `onnx`, one refit at a time on this host
/// (`gpu`), and commits the plan, the engine and its sidecar.
pub(super) async fn refit_fetched(
    cache: &crate::store::Cache,
    engine: &super::LockedEngine,
    onnx: PathBuf,
    temp: tempfile::NamedTempFile,
    mut sidecar: crate::identity::Sidecar,
    gpu: &tokio::sync::Mutex<()>,
) -> Result<(), RefitError> {
    use crate::builder::{Builder, RefitJob, Trtexec};
    use crate::gpu::{TrtFact, TrtSource};
    let key = &engine.key;
    let wanted = TrtFact {
        version: engine.id.trt_version,
        source: TrtSource::Pinned,
    };
    let trtexec = Trtexec::locate(None, &wanted)?;
    let plan = cache.commit_stripped(key, temp)?;
    let output = cache.temp_engine(key)?;
    let job = RefitJob {
        engine: key.file.clone(),
        plan,
        onnx,
        output: output.path().to_path_buf(),
        log: cache.log_path(key),
        device: 0,
    };
    {
        let _gpu = gpu.lock().await;
        trtexec.refit(&job).await?;
    }
    let (engine_sha256, engine_size) = crate::store::hash_file(output.path())?;
    let refit = engine.refit.as_ref().expect("the caller checked");
    if let (Some(weights), Some(build)) = (&mut sidecar.weights, &mut sidecar.build) {
        weights.plan_sha256 = std::mem::replace(&mut sidecar.engine_sha256, engine_sha256);
        weights.plan_size = std::mem::replace(&mut sidecar.engine_size, engine_size);
        weights.refits = 1;
        build.onnx_sha256 = refit.onnx_sha256.clone();
        sidecar.fingerprint = Some(build.fingerprint());
    }
    sidecar.local_trust = Some(crate::identity::LocalTrust::Fetched {
        signer: None,
        signature: None,
    });
    let cache = cache.clone();
    let key = key.clone();
    crate::task::joined(
        tokio::task::spawn_blocking(move || cache.commit(&key, output, &sidecar)).await,
    )?;
    Ok(())
}

/// Whether the cache holds the engine refitted from exactly the pinned plan, with the pinned
/// weights (the engine's bytes hashed, not taken from the sidecar's word).
pub(super) fn refitted_exactly(cache: &crate::store::Cache, engine: &super::LockedEngine) -> bool {
    let Some(Ok(sidecar)) = cache.read_sidecar(&engine.key) else {
        return false;
    };
    let plan_agrees = sidecar
        .weights
        .as_ref()
        .is_some_and(|w| w.plan_sha256 == engine.sha256 && w.plan_size == engine.size);
    plan_agrees
        && sidecar.fingerprint.as_ref() == Some(&engine.fingerprint)
        && crate::store::hash_file(&cache.engine_path(&engine.key)).is_ok_and(|(sha256, size)| {
            sha256 == sidecar.engine_sha256 && size == sidecar.engine_size
        })
}
