//! The process environment, read once at the edge so the library never reads it behind the
//! caller's back.

use std::path::PathBuf;

use crate::gpu::{self, GpuInventory};
use crate::identity::GpuArch;
use crate::store;
use crate::store::remote::RemoteEnv;

pub const TRUSTED_KEYS_ENV: &str = "TRTCTL_TRUSTED_KEYS";
pub const SIGNING_KEY_FILE_ENV: &str = "TRTCTL_SIGNING_KEY_FILE";

/// Everything read from the process environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub cache_dir: Option<PathBuf>,
    pub home: Option<PathBuf>,
    /// `--gpu-arch` / `TRTCTL_GPU_ARCH`: plan as if these GPUs were here (builds still need a
    /// real GPU of the arch where CUDA shows any).
    pub gpu_archs: Vec<GpuArch>,
    /// `--gpu-model` / `TRTCTL_GPU_MODEL`: the model of the GPUs `gpu_archs` simulates.
    pub gpu_model: Option<String>,
    pub trt_version: Option<String>,
    /// `TRTCTL_PYTHON`, or the Python package's own interpreter: the Python of the python
    /// builder backend unless `[builder] python` names one.
    pub python: Option<PathBuf>,
    /// `TRTCTL_REMOTE`: the remote of `ensure` when none is passed (`s3://…` or `file:///dir`).
    pub remote_url: Option<String>,
    pub remote: RemoteEnv,
    /// `TRTCTL_TRUSTED_KEYS`: public keys (`NAME:base64`, separated by spaces or commas) trusted
    /// in addition to the manifest's `[trust] keys`.
    pub trusted_keys: Option<String>,
    /// `TRTCTL_SIGNING_KEY_FILE`: the secret key this machine signs what it publishes with.
    pub signing_key_file: Option<PathBuf>,
}

impl Environment {
    /// The GPUs to plan for: the simulated ones asked for, else what CUDA finds. CUDA is asked
    /// either way: what it shows is what builds.
    pub fn gpus(&self) -> GpuInventory {
        GpuInventory::detect().simulating(&self.gpu_archs, self.gpu_model.as_deref())
    }

    /// Reads every variable trtctl honours; the one place the library looks at the environment.
    pub fn from_process() -> Environment {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            cache_dir: var(store::CACHE_DIR_ENV).map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            gpu_archs: var("TRTCTL_GPU_ARCH")
                .and_then(|v| gpu::parse_arch_list(&v).ok())
                .unwrap_or_default(),
            gpu_model: var("TRTCTL_GPU_MODEL"),
            trt_version: var("TRTCTL_TRT_VERSION"),
            python: var("TRTCTL_PYTHON").map(PathBuf::from),
            remote_url: var("TRTCTL_REMOTE"),
            remote: RemoteEnv::from_process_env(),
            trusted_keys: var(TRUSTED_KEYS_ENV),
            signing_key_file: var(SIGNING_KEY_FILE_ENV).map(PathBuf::from),
        }
    }
}
