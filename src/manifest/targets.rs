//! What a model's engines are built for: its archs, folded by `ampere+` into `sm_80-plus`, and
//! under `gpu_model = "exact"` one engine per GPU model of an arch.

use std::borrow::Cow;

use super::ModelSpec;
use crate::identity::{self, BuildFlags, EngineTarget, GpuArch, GpuModelPolicy, GpuModels};

impl ModelSpec {
    /// Whether the model's engines are built hardware-compatible (`ampere+`).
    fn ampere_plus(&self) -> bool {
        self.flags.hardware_compatibility.as_deref() == Some(identity::AMPERE_PLUS_LEVEL)
    }

    /// The targets of the model's engines: its archs, where those one `ampere+` engine serves
    /// are folded into `sm_80-plus` (after the archs it does not serve, which keep their own).
    pub fn engine_archs(&self) -> Vec<GpuArch> {
        if !self.ampere_plus() {
            return self.archs.clone();
        }
        let mut targets: Vec<GpuArch> = (self.archs.iter())
            .copied()
            .filter(|&arch| !GpuArch::AMPERE_PLUS.accepts(arch))
            .collect();
        if targets.len() < self.archs.len() {
            targets.push(GpuArch::AMPERE_PLUS);
        }
        targets
    }

    /// What the model's engines are built for on a host whose GPUs of each arch are of
    /// `gpu_models`: its [`ModelSpec::engine_archs`], and under `gpu_model = "exact"` one engine
    /// per GPU model of the arch here; an arch with no known model here then has none (its own
    /// hosts plan it). Hardware-compatible engines are for no one model.
    pub fn engine_targets(&self, gpu_models: &GpuModels) -> Vec<EngineTarget> {
        let per_model = self.gpu_model == GpuModelPolicy::Exact
            && (self.flags.hardware_compatibility.as_deref()).is_none_or(|l| l == "none");
        (self.engine_archs().into_iter())
            .flat_map(|arch| match per_model && !arch.is_and_later() {
                false => vec![EngineTarget::arch(arch)],
                true => (gpu_models.get(&arch).into_iter().flatten())
                    .map(|model| EngineTarget {
                        arch,
                        gpu_model: Some(model.clone()),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The archs of the model that an engine for `target` serves.
    pub fn served_archs(&self, target: GpuArch) -> Vec<GpuArch> {
        (self.archs.iter())
            .copied()
            .filter(|&arch| target.accepts(arch))
            .collect()
    }

    /// The build flags of the engine for `target`: an arch that `ampere+` does not serve
    /// (before sm_80, Jetson, DRIVE) is built without the level, which its GPU would refuse.
    pub fn flags_for(&self, target: GpuArch) -> Cow<'_, BuildFlags> {
        if target.is_and_later() {
            Cow::Borrowed(&self.flags)
        } else {
            self.one_arch_flags()
        }
    }

    /// The build flags of the engines for one arch (not `sm_80-plus`).
    pub fn one_arch_flags(&self) -> Cow<'_, BuildFlags> {
        if self.ampere_plus() {
            Cow::Owned(BuildFlags {
                hardware_compatibility: None,
                ..self.flags.clone()
            })
        } else {
            Cow::Borrowed(&self.flags)
        }
    }
}
