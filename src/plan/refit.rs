//! Refits instead of builds: an engine with `weights = "refittable"` whose ONNX changed in its
//! weights alone (same graph) is refitted from its stripped plan, cached here or held by the
//! remote, on a GPU of its arch: a fraction of a build, and nothing new to upload.

use serde::{Deserialize, Serialize};

use super::copies::RemoteSidecar;
use super::desired::DesiredEngine;
use super::desired_weights::DesiredWeights;
use super::{Decision, EngineStep, PlanInputs, Staleness};
use crate::identity::{SidecarSummary, WeightsMode, plan_fingerprint};
use crate::store::LocalEngine;

/// Where the stripped plan to refit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefitSource {
    /// This cache's copy of the plan, beside the engine it refitted before.
    Cache,
    /// The remote's: fetched (a fraction of the engine's bytes), then refitted.
    Remote,
}

/// Whether carrying out `step` runs the builder: a build, a refit, or the fetch of an engine
/// whose weights are stripped (refitted once fetched).
pub fn needs_builder(step: &EngineStep) -> bool {
    match step.decision {
        Decision::Build { .. } | Decision::Refit { .. } => true,
        Decision::Fetch { .. } => step.engine.weights.is_some(),
        _ => false,
    }
}

/// A fetch of an engine whose weights are stripped says what it brings: a stripped plan,
/// refitted here (which needs the ONNX, trtexec and a GPU of the arch).
pub(super) fn noted(wanted: &DesiredEngine, decision: Decision) -> Decision {
    match (&decision, &wanted.weights) {
        (Decision::Fetch { .. }, Some(weights)) => {
            decision.with_note(format!("{} plan, refitted here", weights.mode))
        }
        _ => decision,
    }
}

/// Records the graph of the engine's ONNX, for an engine whose weights are stripped.
pub fn with_graph(engine: &mut DesiredEngine, graph_sha256: &str) {
    let mode = engine.build.flags.weights;
    if mode.is_embedded() {
        return;
    }
    engine.weights = Some(DesiredWeights {
        mode,
        graph_sha256: graph_sha256.to_string(),
        plan_fingerprint: plan_fingerprint(mode, &engine.build, graph_sha256),
    });
}

/// Whether a copy recorded as `summary` has the stripped plan `wanted` can be refitted from:
/// the same plan identity, and refittable (an identical-weights plan takes only its own
/// weights, and its plan identity is its engine's fingerprint, which differs).
pub fn refits_into(summary: &SidecarSummary, wanted: &DesiredEngine) -> bool {
    let (Some(have), Some(want)) = (&summary.weights, &wanted.weights) else {
        return false;
    };
    want.mode == WeightsMode::Refittable
        && have.mode == WeightsMode::Refittable
        && have.plan_fingerprint == want.plan_fingerprint
}

/// A refit in place of the build `decision` plans, where a refittable plan of the engine is
/// here or on the remote; `None` where there is none (or the build is forced).
pub(super) fn instead_of_build(
    position: usize,
    wanted: &DesiredEngine,
    inputs: &PlanInputs,
    decision: &Decision,
) -> Option<Decision> {
    let Decision::Build { stale, .. } = decision else {
        return None;
    };
    if *stale == Some(Staleness::Forced) || wanted.weights.is_none() {
        return None;
    }
    let usable = |s: &SidecarSummary| refits_into(s, wanted) && !(s.simulated && inputs.gpu_host);
    let local = match inputs.local.get(position) {
        Some(LocalEngine { sidecar: Ok(s), .. }) => {
            usable(s) && super::locally_trusted(s, inputs.trust)
        }
        _ => false,
    };
    if local {
        return Some(Decision::Refit {
            from: RefitSource::Cache,
            stale: stale.clone(),
        });
    }
    let remote = inputs.remote?.engines.get(position)?;
    let trusted = !inputs.trust.required() || matches!(remote.trust, Some(Ok(_)));
    match &remote.sidecar {
        RemoteSidecar::Valid(s) if remote.size.is_some() && trusted && usable(s) => {
            Some(Decision::Refit {
                from: RefitSource::Remote,
                stale: stale.clone(),
            })
        }
        _ => None,
    }
}
