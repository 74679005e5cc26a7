//! The deploy side: the lock of a workspace's current state, and a manifest opened the way a
//! deploy host opens it (no ONNX files, no TensorRT, no GPU needed).

use std::path::{Path, PathBuf};

use super::assemble::resolve_storage;
use super::{Environment, PlanBasis, Workspace, WorkspaceError};
use crate::exec::ApplyReport;
use crate::identity::{Fingerprint, SidecarSummary};
use crate::lock::{self, Lock, LockError, RemoteConflict};
use crate::manifest::Manifest;
use crate::observe::{self, LocalIndex};
use crate::plan::{
    DesiredEngine, LocalEngines, RemoteEngine, RemoteSidecar, RemoteState, refits_into,
};
use crate::store::remote::Remote;
use crate::store::{Cache, LocalEngine};

impl Workspace {
    /// The lock of what exists now for the desired set. An engine on the remote is pinned by
    /// the remote's bytes (what deploy hosts will fetch); one only in the local cache (no
    /// remote, or not uploaded yet) by the local bytes. On a GPU host, nothing built under
    /// simulation is locked.
    ///
    /// An engine only the local cache holds while the remote holds another build under its
    /// name is refused ([`LockError::RemoteHoldsAnother`]): no host could fetch it.
    pub async fn current_lock(&self) -> Result<Lock, WorkspaceError> {
        let (desired, index, reads) = self.desired_and_index(&[])?;
        let observed = self.observe(&desired, index, reads).await?;
        self.lock_of(&desired, &observed.local, observed.remote.as_ref())
    }

    /// The lock once `apply` ran the plan made from `basis`, with `report`: the remote holds
    /// what it held then plus what the run published, so it is not listed again; the local
    /// cache is looked at again (its index makes that a stat per engine). When the report
    /// cannot tell what the remote holds now (a failure, or an upload that found another
    /// builder's copy), everything is observed again, as [`Workspace::current_lock`] does.
    pub async fn lock_after_apply(
        &self,
        basis: PlanBasis,
        report: &ApplyReport,
    ) -> Result<Lock, WorkspaceError> {
        if !report.failures.is_empty() || report.published_elsewhere {
            return self.current_lock().await;
        }
        let PlanBasis { desired, remote } = basis;
        let mut index = LocalIndex::load(self.cache.root());
        let local = observe::observe_local(&self.cache, &desired, &mut index);
        let _ = index.save();
        let Some(mut remote) = remote else {
            return self.lock_of(&desired, &local, None);
        };
        for (position, wanted) in desired.iter().enumerate() {
            if !report.published.contains(&wanted.key.file) {
                continue;
            }
            // The remote holds the stripped plan, which the local index does not describe.
            if wanted.weights.is_some() {
                return self.current_lock().await;
            }
            // Published from the local cache, or fetched from the builder that published it:
            // the local copy is the remote's.
            let Some(LocalEngine {
                size,
                sidecar: Ok(sidecar),
            }) = local
                .get(position)
                .filter(|l| in_cache(Some(l), wanted).is_some())
            else {
                return self.current_lock().await;
            };
            let published = RemoteEngine {
                size: Some(*size),
                sidecar: RemoteSidecar::Valid(sidecar.clone()),
                trust: None,
            };
            remote.engines.set(position, Some(published));
        }
        self.lock_of(&desired, &local, Some(&remote))
    }

    /// The digest and size of the stripped plan of a cached engine whose weights are stripped:
    /// what the remote holds of it once published (the index keeps no plan record).
    fn cached_plan(&self, wanted: &DesiredEngine) -> Option<(String, u64)> {
        let weights = self.cache.read_sidecar(&wanted.key)?.ok()?.weights?;
        Some((weights.plan_sha256, weights.plan_size))
    }

    /// The lock of `desired`, given what the local cache and the remote hold of each.
    fn lock_of(
        &self,
        desired: &[DesiredEngine],
        local: &LocalEngines,
        remote: Option<&RemoteState>,
    ) -> Result<Lock, WorkspaceError> {
        let conflicts: Vec<RemoteConflict> = desired
            .iter()
            .enumerate()
            .filter_map(|(position, wanted)| {
                let state = remote?;
                let remote = other_build(state.engines.get(position)?, wanted)?;
                in_cache(local.get(position), wanted)?;
                Some(RemoteConflict {
                    key: wanted.key.clone(),
                    local: wanted.fingerprint.clone(),
                    remote,
                })
            })
            .collect();
        if !conflicts.is_empty() {
            return Err(LockError::RemoteHoldsAnother { conflicts }.into());
        }
        let gpu_host = self.gpus.on_gpu_host();
        let usable = |(sidecar, _): &(&SidecarSummary, u64)| !(sidecar.simulated && gpu_host);
        let pin = |(sidecar, size): (&SidecarSummary, u64)| (sidecar.engine_sha256.clone(), size);
        Ok(Lock::resolve(desired, |position, wanted| {
            remote
                .and_then(|state| on_remote(state, position, wanted))
                .filter(usable)
                .map(pin)
                .or_else(|| {
                    let cached = in_cache(local.get(position), wanted).filter(usable)?;
                    match wanted.weights {
                        Some(_) => self.cached_plan(wanted),
                        None => Some(pin(cached)),
                    }
                })
        }))
    }
}

/// The remote's copy of `wanted`, the desired engine at `position`, when it may be locked.
fn on_remote<'a>(
    state: &'a RemoteState,
    position: usize,
    wanted: &DesiredEngine,
) -> Option<(&'a SidecarSummary, u64)> {
    let engine = state.engines.get(position)?;
    // Where signatures are required, an engine no trusted key signed is not locked.
    if matches!(engine.trust, Some(Err(_))) {
        return None;
    }
    match &engine.sidecar {
        RemoteSidecar::Valid(sidecar)
            if (sidecar.fingerprint.as_ref() == Some(&wanted.fingerprint)
                || refits_into(sidecar, wanted))
                && engine.size == Some(sidecar.engine_size) =>
        {
            Some((sidecar, sidecar.engine_size))
        }
        _ => None,
    }
}

/// The fingerprint of another build that the remote holds under `wanted`'s name.
fn other_build(engine: &RemoteEngine, wanted: &DesiredEngine) -> Option<Fingerprint> {
    match &engine.sidecar {
        // A refittable plan of the engine's graph is no other build: the engine is refitted from it.
        RemoteSidecar::Valid(sidecar) if refits_into(sidecar, wanted) => None,
        RemoteSidecar::Valid(sidecar) => sidecar
            .fingerprint
            .clone()
            .filter(|fingerprint| *fingerprint != wanted.fingerprint),
        _ => None,
    }
}

fn in_cache<'a>(
    local: Option<&'a LocalEngine>,
    wanted: &DesiredEngine,
) -> Option<(&'a SidecarSummary, u64)> {
    match &local?.sidecar {
        Ok(sidecar)
            if sidecar.fingerprint.as_ref() == Some(&wanted.fingerprint)
                && local?.size == sidecar.engine_size =>
        {
            Some((sidecar, sidecar.engine_size))
        }
        _ => None,
    }
}

/// A manifest opened on a deploy host: its cache and remote, nothing that needs the ONNX
/// files, trtexec, TensorRT or a GPU.
pub struct Deployment {
    pub manifest: Manifest,
    pub cache: Cache,
    pub remote: Option<Remote>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Lock(#[from] LockError),
}

impl Deployment {
    pub fn open(manifest_path: &Path, env: &Environment) -> Result<Deployment, DeployError> {
        let manifest =
            Manifest::load_without_onnx(manifest_path).map_err(WorkspaceError::Manifest)?;
        Ok(Deployment::with_manifest(manifest, env)?)
    }

    /// The cache and the remote around a manifest already loaded (see
    /// [`Manifest::load_without_onnx`]).
    pub fn with_manifest(
        manifest: Manifest,
        env: &Environment,
    ) -> Result<Deployment, WorkspaceError> {
        let (cache, remote) = resolve_storage(&manifest, env)?;
        Ok(Deployment {
            manifest,
            cache,
            remote,
        })
    }

    /// The lock at `path` (default: beside the manifest), checked to be one this manifest
    /// could have written; with the path it was read from.
    pub fn read_lock(&self, path: Option<&Path>) -> Result<(Lock, PathBuf), LockError> {
        let path = path.map_or_else(|| lock::lock_path(&self.manifest.path), Path::to_path_buf);
        let mut lock = Lock::read(&path)?;
        lock.check_manifest(&path, &self.manifest)?;
        lock.attach_onnx(&self.manifest);
        Ok((lock, path))
    }
}
