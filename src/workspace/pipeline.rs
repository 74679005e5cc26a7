//! The observe → plan → apply pipeline every command runs on a workspace.

use std::collections::HashMap;
use std::path::PathBuf;

use super::Workspace;
use super::WorkspaceError;
use crate::builder::{BuildError, Builder, Trtexec};
use crate::exec::Reporter;
use crate::exec::{ApplyOptions, ApplyReport, Executor, StopSignal};
use crate::identity::{EngineKey, GpuArch, TrtVersion};
use crate::observe::{self, HashCache, LocalIndex, RemoteIndex, TrustCheck};
use crate::plan::{
    self, Decision, DesiredEngine, Force, Plan, PlanInputs, RemoteState, Selector,
    SharedTimingCache,
};
use crate::store::LocalEngine;

/// Frees `value` on another thread. What a plan of 10,000 engines observed (the local and
/// remote sidecar indexes, the local observation, the plan) is some 100,000 small allocations:
/// freeing them took a tenth of a no-op plan, on the thread that has to answer.
pub fn free_in_background<T: Send + 'static>(value: T) {
    rayon::spawn(move || drop(value));
}

impl Workspace {
    pub fn trt_version(&self) -> TrtVersion {
        self.trt.version
    }

    /// The engines the manifest wants, once its ONNX files are hashed (or found in the hash cache).
    pub fn desired(&self) -> Result<Vec<DesiredEngine>, WorkspaceError> {
        let files: Vec<PathBuf> = self
            .manifest
            .models
            .iter()
            .map(|m| m.onnx.clone())
            .collect();
        let mut hashes = HashCache::load(self.cache.root());
        let digests = hashes.digest(&files)?;
        // A lost hash cache only costs a re-hash next time; a read-only cache dir must not fail a plan.
        let _ = hashes.save();
        Ok(plan::desired_engines(
            &self.manifest,
            &digests.sha256,
            self.trt_version(),
        ))
    }

    /// Observes the ONNX files, the cache and the remote, then plans.
    pub async fn plan(&self, targets: &[Selector], force: &Force) -> Result<Plan, WorkspaceError> {
        let (desired, local) = self.desired_and_local()?;
        plan::check_selectors(
            &self.manifest.path,
            &desired,
            targets.iter().chain(force.selected()),
        )?;
        let archs = self.gpus.archs();
        // Independent of each other: one round trip for both, not two.
        let (remote, timing_caches) = tokio::try_join!(
            self.observe_remote(&desired, &local),
            self.observe_timing_caches(&archs)
        )?;
        let mut plan = plan::plan(PlanInputs {
            manifest: &self.manifest,
            trt_version: self.trt_version(),
            desired,
            gpu_archs: &archs,
            local: &local,
            remote: remote.as_ref(),
            trust: &self.trust,
            targets,
            force,
        });
        plan.timing_caches = timing_caches;
        free_in_background(local);
        Ok(plan)
    }

    /// The remote's shared timing caches of `archs`, where builds share them.
    async fn observe_timing_caches(
        &self,
        archs: &[GpuArch],
    ) -> Result<Vec<SharedTimingCache>, WorkspaceError> {
        match &self.remote {
            Some(remote) if self.shares_timing_caches() => {
                observe::observe_timing_caches(remote, archs, self.trt_version())
                    .await
                    .map_err(|source| WorkspaceError::Remote {
                        url: remote.url().to_string(),
                        source,
                    })
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Whether builds share their timing caches through the remote.
    fn shares_timing_caches(&self) -> bool {
        let builder = &self.manifest.builder;
        builder.timing_cache && builder.shared_timing_cache
    }

    /// The desired engines and what the local cache holds of them, through the sidecar index
    /// kept beside them. The index is read and parsed while the fingerprints are hashed: it
    /// does not depend on them.
    pub(super) fn desired_and_local(
        &self,
    ) -> Result<(Vec<DesiredEngine>, HashMap<EngineKey, LocalEngine>), WorkspaceError> {
        let (desired, mut index) =
            rayon::join(|| self.desired(), || LocalIndex::load(self.cache.root()));
        let desired = desired?;
        let local = observe::observe_local(&self.cache, &desired, &mut index);
        // A lost index only costs reads next time; a read-only cache dir must not fail a plan.
        let _ = index.save();
        free_in_background(index);
        Ok((desired, local))
    }

    /// What the remote (if any) holds of the desired engines.
    pub(super) async fn observe_remote(
        &self,
        desired: &[DesiredEngine],
        local: &HashMap<EngineKey, LocalEngine>,
    ) -> Result<Option<RemoteState>, WorkspaceError> {
        let Some(remote) = &self.remote else {
            return Ok(None);
        };
        let trust = TrustCheck {
            policy: &self.trust,
            local,
        };
        let mut index = RemoteIndex::load(self.cache.root(), remote.url());
        let observed = observe::observe_remote(remote, desired, &trust, &mut index)
            .await
            .map_err(|source| WorkspaceError::Remote {
                url: remote.url().to_string(),
                source,
            })?;
        // Like the hash cache: a lost index costs GETs next time, never a wrong plan.
        let _ = index.save();
        free_in_background(index);
        Ok(Some(observed))
    }

    /// The builder, when the plan builds anything: trtexec found and checked against the pin.
    pub fn builder_for(&self, plan: &Plan) -> Result<Option<Trtexec>, BuildError> {
        let builds = plan
            .steps
            .iter()
            .any(|s| matches!(s.decision, Decision::Build { .. }));
        if !builds {
            return Ok(None);
        }
        Trtexec::locate(self.manifest.builder.trtexec.as_deref(), self.trt_version()).map(Some)
    }

    /// Carries out `plan`: fetch, build, upload, reporting as it goes.
    pub async fn apply(
        &self,
        plan: &Plan,
        builder: Option<&dyn Builder>,
        reporter: &dyn Reporter,
        options: ApplyOptions,
        stop: &StopSignal,
    ) -> ApplyReport {
        let executor = Executor {
            cache: &self.cache,
            remote: self.remote.as_ref(),
            gpus: &self.gpus,
            builder,
            trust: &self.trust,
            signer: self.signer.as_ref(),
            timing_cache: self.manifest.builder.timing_cache,
            shared_timing_cache: self.shares_timing_caches(),
            reporter,
            options,
            stop,
        };
        executor.apply(plan).await
    }
}
