//! The process environment as the CLI reads it, with the `gpu_arch` argument in place of
//! `--gpu-arch`.

use pyo3::prelude::*;
use trtctl::identity::GpuArch;
use trtctl::workspace::Environment;

use crate::errors;

/// `--gpu-arch` values, or `TRTCTL_GPU_ARCH` when none are given.
pub fn environment(gpu_arch: Vec<String>) -> PyResult<Environment> {
    let mut env = Environment::from_process();
    if !gpu_arch.is_empty() {
        env.gpu_archs = gpu_arch
            .iter()
            .map(|a| a.parse::<GpuArch>())
            .collect::<Result<_, _>>()
            .map_err(errors::input)?;
    }
    Ok(env)
}
