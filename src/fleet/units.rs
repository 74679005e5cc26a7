//! Units of work: what must be built, grouped by the GPU it needs.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::identity::{GpuArch, sha256_hex};
use crate::plan::{Decision, EngineStep, Plan};

/// The GPU a unit's builds need: its arch (or `sm_80-plus`, any GPU of sm_80 or later), and
/// under `gpu_model = "exact"` the GPU model, so that each model gets a unit of its own.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct UnitKey {
    pub arch: GpuArch,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
}

impl UnitKey {
    fn of(step: &EngineStep) -> UnitKey {
        UnitKey {
            arch: step.engine.id.gpu_arch,
            gpu_model: step.engine.id.gpu_model.clone(),
        }
    }

    /// `sm86`, or `sm86-a10g` with a model: lowercase letters, digits and dashes, fit for
    /// Kubernetes names, runner labels and Ray ids.
    pub fn slug(&self) -> String {
        let plus = if self.arch.is_and_later() {
            "-plus"
        } else {
            ""
        };
        let arch = format!("sm{}{}{plus}", self.arch.major(), self.arch.minor());
        match &self.gpu_model {
            Some(model) => {
                let model: String = (model.chars())
                    .map(|c| match c.to_ascii_lowercase() {
                        c @ ('a'..='z' | '0'..='9') => c,
                        _ => '-',
                    })
                    .collect();
                format!("{arch}-{model}")
            }
            None => arch,
        }
    }
}

impl fmt::Display for UnitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.gpu_model {
            Some(model) => write!(f, "{} ({model})", self.arch),
            None => write!(f, "{}", self.arch),
        }
    }
}

/// The builds one GPU kind must run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    pub gpu: UnitKey,
    /// `trtctl-sm86-<digest>`: the same engines give the same name, so a Job or a Ray job of
    /// the same plan is the same object, not another.
    pub name: String,
    /// How many engines it builds.
    pub count: usize,
    /// `model:precision:sm_NN`, one per engine: what `trtctl apply --target` takes.
    pub selectors: Vec<String>,
    /// The engines' names (`family/file`).
    pub engines: Vec<String>,
}

/// The units a plan needs, and the digest of them all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetPlan {
    /// Names every object rendered for this plan (`trtctl.io/plan` label).
    pub digest: String,
    pub manifest: std::path::PathBuf,
    pub remote: String,
    pub units: Vec<Unit>,
}

impl FleetPlan {
    pub fn engine_count(&self) -> usize {
        self.units.iter().map(|u| u.count).sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(
        "refusing to fan out: the remote holds untrusted copies of {}; a fleet would build beside engines no host may use\n  = help: see docs/trust.md, \"An untrusted remote engine\", then plan again",
        engines.join(", ")
    )]
    Untrusted { engines: Vec<String> },
    #[error(
        "a fleet's builds land in the remote, and {} has none\n  = help: add a `[remote]` table (or set TRTCTL_REMOTE / ARTIFACTS_ENDPOINT)",
        manifest.display()
    )]
    NoRemote { manifest: std::path::PathBuf },
}

/// The units `plan` needs: every engine it builds here or cannot build here, grouped by GPU.
/// What is up to date, fetchable or only to be uploaded is left out; a plan that would fetch or
/// build beside an untrusted remote copy renders nothing.
pub fn fleet_plan(plan: &Plan) -> Result<FleetPlan, FleetError> {
    let untrusted: Vec<String> = (plan.steps.iter())
        .filter(|s| matches!(s.decision, Decision::Untrusted { .. }))
        .map(|s| s.engine.key.to_string())
        .collect();
    if !untrusted.is_empty() {
        return Err(FleetError::Untrusted { engines: untrusted });
    }
    let Some(remote) = &plan.remote else {
        return Err(FleetError::NoRemote {
            manifest: plan.manifest.clone(),
        });
    };
    let mut grouped: BTreeMap<UnitKey, Vec<&EngineStep>> = BTreeMap::new();
    for step in plan.steps.iter().filter(|s| needs_build(&s.decision)) {
        grouped.entry(UnitKey::of(step)).or_default().push(step);
    }
    let units: Vec<Unit> = grouped.into_iter().map(|(k, s)| unit(k, &s)).collect();
    let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
    Ok(FleetPlan {
        digest: sha256_hex(names.join("\n").as_bytes())[..10].to_string(),
        manifest: plan.manifest.clone(),
        remote: remote.url.clone(),
        units,
    })
}

fn needs_build(decision: &Decision) -> bool {
    matches!(
        decision,
        Decision::Build { .. } | Decision::CannotBuild { .. }
    )
}

fn unit(gpu: UnitKey, steps: &[&EngineStep]) -> Unit {
    // The names carry the TensorRT and model versions, the fingerprints everything else the
    // bytes depend on: the same digest means the very same builds.
    let identity: String = (steps.iter())
        .map(|s| format!("{} {}\n", s.engine.key, s.engine.fingerprint))
        .collect();
    Unit {
        name: format!(
            "trtctl-{}-{}",
            gpu.slug(),
            &sha256_hex(identity.as_bytes())[..10]
        ),
        count: steps.len(),
        selectors: (steps.iter())
            .map(|s| {
                let id = &s.engine.id;
                format!("{}:{}:{}", id.model_name, id.precision, id.gpu_arch)
            })
            .collect(),
        engines: steps.iter().map(|s| s.engine.key.to_string()).collect(),
        gpu,
    }
}

#[cfg(test)]
mod tests {
    use super::UnitKey;

    #[test]
    fn a_gpu_model_joins_the_slug_as_a_kubernetes_name_may_hold_it() {
        let arch = "sm_86".parse().unwrap();
        let key = |gpu_model: Option<&str>| UnitKey {
            arch,
            gpu_model: gpu_model.map(str::to_string),
        };
        assert_eq!(key(None).slug(), "sm86");
        assert_eq!(key(Some("NVIDIA A10G")).slug(), "sm86-nvidia-a10g");
        assert_eq!(key(Some("a10g")).to_string(), "sm_86 (a10g)");
    }
}
