//! What this machine has (GPUs, TensorRT), detected once per probe: a long-lived caller such as
//! the Python package keeps one probe for the process, so a cache hit never touches CUDA or
//! starts trtexec (or a Python importing tensorrt) again.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use super::Environment;
use super::backend::local_trt;
use crate::gpu::{self, GpuInventory, TrtDetectError, TrtFact};
use crate::manifest::BuilderSettings;

/// The trtexec and the Python a TensorRT version was asked of.
type AskedOf = (Option<PathBuf>, Option<PathBuf>);

#[derive(Debug, Default)]
pub struct MachineProbe {
    gpus: OnceLock<GpuInventory>,
    /// Keyed by the trtexec and the Python that would be asked, so pointing `TRTEXEC` or
    /// `TRTCTL_PYTHON` elsewhere asks again.
    trt: Mutex<HashMap<AskedOf, TrtFact>>,
}

impl MachineProbe {
    /// The GPUs to plan for: the simulated ones `env` asks for, else what CUDA found the first
    /// time. CUDA is asked either way: what it shows is what builds.
    pub fn gpus(&self, env: &Environment) -> GpuInventory {
        self.gpus
            .get_or_init(GpuInventory::detect)
            .clone()
            .simulating(&env.gpu_archs, env.gpu_model.as_deref())
    }

    /// The local TensorRT: `TRTCTL_TRT_VERSION`, else what the backend that builds here (the
    /// trtexec found on the search path, else a Python whose tensorrt imports) said the first
    /// time it was asked, else libnvinfer.
    pub fn trt(&self, env: &Environment) -> Result<TrtFact, TrtDetectError> {
        if env.trt_version.is_some() {
            return gpu::detect_trt(env.trt_version.as_deref(), None);
        }
        let key = (
            gpu::find_trtexec(None),
            gpu::find_python(None, env.python.as_deref()),
        );
        let mut known = self.trt.lock().expect("trt probe");
        if let Some(fact) = known.get(&key) {
            return Ok(fact.clone());
        }
        let fact = local_trt(&BuilderSettings::default(), env)?;
        known.insert(key, fact.clone());
        Ok(fact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{GpuArch, TrtVersion};

    #[test]
    fn simulated_gpus_are_planned_for_and_cuda_is_still_asked() {
        let probe = MachineProbe::default();
        let env = Environment {
            gpu_archs: vec![GpuArch::new(8, 6), GpuArch::new(8, 9)],
            ..Environment::default()
        };
        let gpus = probe.gpus(&env);
        assert_eq!(gpus.archs(), vec![GpuArch::new(8, 6), GpuArch::new(8, 9)]);
        let detected = probe.gpus.get().expect("CUDA was asked");
        assert_eq!(gpus.on_gpu_host(), detected.on_gpu_host());
    }

    #[test]
    fn the_trt_override_wins_and_is_parsed() {
        let probe = MachineProbe::default();
        let env = Environment {
            trt_version: Some("10.3.0".into()),
            ..Environment::default()
        };
        assert_eq!(probe.trt(&env).unwrap().version, TrtVersion::new(10, 3, 0));
        let bad = Environment {
            trt_version: Some("ten".into()),
            ..Environment::default()
        };
        assert!(matches!(
            probe.trt(&bad),
            Err(TrtDetectError::BadOverride(_))
        ));
    }
}
