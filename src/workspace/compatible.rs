//! Version-compatible engines of an older TensorRT serving this one: where a model is built
//! `version_compatible = true` and neither the cache nor the remote has its engine for this
//! TensorRT, the newest older engine that TensorRT loads here is used instead of a build.

use std::collections::{BTreeMap, BTreeSet};

use super::Workspace;
use super::WorkspaceError;
use crate::identity::{EngineId, EngineKey, TrtVersion};
use crate::manifest::LeanRuntime;
use crate::observe::LocalIndex;
use crate::plan::{self, Decision, DesiredEngine, EngineStep, Force, Plan, PlanInputs};

impl Workspace {
    /// Replaces each step that would build (or cannot build) a version-compatible engine by the
    /// fetch or use of the newest older engine of the same build inputs that this TensorRT
    /// loads, where the manifest's trust allows running its embedded lean runtime.
    pub(super) async fn serve_from_older_tensorrt(
        &self,
        plan: &mut Plan,
    ) -> Result<(), WorkspaceError> {
        let host = self.trt_version();
        let needing: Vec<usize> = (plan.steps.iter().enumerate())
            .filter(|(_, step)| wants_own_build(step))
            .map(|(position, _)| position)
            .collect();
        if needing.is_empty() || !self.runs_lean_runtimes() {
            return Ok(());
        }
        let families: BTreeSet<String> = (needing.iter())
            .map(|&p| plan.steps[p].engine.key.family.clone())
            .collect();
        let existing = self.engines_of(&families).await?;
        let substitutes: Vec<(usize, DesiredEngine)> = (needing.into_iter())
            .filter_map(|position| {
                let wanted = &plan.steps[position].engine;
                newest_serving(wanted, host, &existing).map(|older| (position, older))
            })
            .collect();
        if substitutes.is_empty() {
            return Ok(());
        }
        let desired: Vec<DesiredEngine> = substitutes.iter().map(|(_, d)| d.clone()).collect();
        let observed = self.observe_engines(&desired).await?;
        let older = plan::plan(PlanInputs {
            manifest: &self.manifest,
            trt_version: host,
            desired,
            // Never built here: this TensorRT builds its own engine, not an older one's.
            gpu_archs: &[],
            gpu_host: self.gpus.on_gpu_host(),
            gpu_models: &self.gpus.models_by_arch(),
            local: &observed.local,
            remote: observed.remote.as_ref(),
            trust: &self.trust,
            targets: &[],
            force: &Force::Nothing,
        });
        for ((position, _), step) in substitutes.into_iter().zip(older.steps) {
            if let Some(step) = serving(step, host) {
                plan.steps[position] = step;
            }
        }
        Ok(())
    }

    /// Whether plans that embed the lean runtime may be loaded here: a trusted key signed them
    /// (signatures are required of everything fetched), or the manifest allows any.
    fn runs_lean_runtimes(&self) -> bool {
        self.trust.required() || self.manifest.trust.lean_runtime == LeanRuntime::Any
    }

    /// The engine files of `families`, in the cache and in the remote.
    async fn engines_of(
        &self,
        families: &BTreeSet<String>,
    ) -> Result<BTreeSet<EngineKey>, WorkspaceError> {
        let mut keys: BTreeSet<EngineKey> = (self.cache.list()?.engines.into_iter())
            .filter(|key| families.contains(&key.family))
            .collect();
        if let Some(remote) = &self.remote {
            for family in families {
                let listing =
                    remote
                        .list_family(family)
                        .await
                        .map_err(|source| WorkspaceError::Remote {
                            url: remote.url().to_string(),
                            source,
                        })?;
                keys.extend(listing.engines.into_keys());
            }
        }
        Ok(keys)
    }

    /// What the cache and the remote hold of `desired`.
    async fn observe_engines(
        &self,
        desired: &[DesiredEngine],
    ) -> Result<super::pipeline::Observed, WorkspaceError> {
        let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for engine in desired {
            let files = names.entry(engine.key.family.clone()).or_default();
            files.push(engine.key.file.clone());
        }
        let reads = (self.remote.as_ref()).map(|remote| self.send_reads(remote, names, &[]));
        let index = LocalIndex::load(self.cache.root());
        self.observe(desired, index, reads).await
    }
}

/// Whether the step builds its engine, or would where a GPU of its arch were, for a model
/// built version-compatible: only then may an older TensorRT's engine serve instead.
fn wants_own_build(step: &EngineStep) -> bool {
    let rebuild_forced = matches!(&step.decision, Decision::Build { stale: Some(s), .. } if *s == plan::Staleness::Forced);
    step.engine.build.flags.version_compatible
        && !rebuild_forced
        && matches!(
            step.decision,
            Decision::Build { .. } | Decision::CannotBuild { .. }
        )
}

/// The engine of `wanted`'s build inputs under the newest older TensorRT of `existing` whose
/// version-compatible plans `host` loads.
fn newest_serving(
    wanted: &DesiredEngine,
    host: TrtVersion,
    existing: &BTreeSet<EngineKey>,
) -> Option<DesiredEngine> {
    let same_but_version = |id: &EngineId| {
        id.model_name == wanted.id.model_name
            && id.model_version == wanted.id.model_version
            && id.precision == wanted.id.precision
            && id.gpu_arch == wanted.id.gpu_arch
    };
    let newest = (existing.iter())
        .filter(|key| key.family == wanted.key.family)
        .filter_map(|key| EngineId::parse_file_name(&key.file).ok())
        .filter(|id| same_but_version(id) && id.trt_version.compatible_plan_serves(host))
        .map(|id| id.trt_version)
        .max()?;
    let mut older = wanted.clone();
    older.id.trt_version = newest;
    older.build.trt_version = newest;
    older.key = EngineKey::new(&wanted.key.family, &older.id);
    older.fingerprint = older.build.fingerprint();
    Some(older)
}

/// The older engine's step where it is there to use: fetched, or already in the cache, with a
/// note that says which TensorRT built it.
fn serving(step: EngineStep, host: TrtVersion) -> Option<EngineStep> {
    let note = format!(
        "no {host} engine: TensorRT {}'s version-compatible engine serves this TensorRT {host}",
        step.engine.id.trt_version
    );
    let decision = match step.decision {
        decision @ (Decision::Fetch { stale: None, .. } | Decision::UpToDate { .. }) => {
            decision.with_note(note)
        }
        _ => return None,
    };
    Some(EngineStep {
        decision,
        engine: step.engine,
    })
}
