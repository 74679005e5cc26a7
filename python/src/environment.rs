//! The process environment as the CLI reads it, with the `gpu_arch` argument in place of
//! `--gpu-arch`, and this interpreter as the Python of the python builder backend.

use std::path::PathBuf;

use pyo3::prelude::*;
use trtctl::identity::GpuArch;
use trtctl::workspace::Environment;

use crate::errors;

/// `--gpu-arch` values, or `TRTCTL_GPU_ARCH` when none are given. The python builder backend
/// runs `TRTCTL_PYTHON`, else the interpreter this package runs in (`sys.executable`).
pub fn environment(gpu_arch: Vec<String>) -> PyResult<Environment> {
    let mut env = Environment::from_process();
    if !gpu_arch.is_empty() {
        env.gpu_archs = gpu_arch
            .iter()
            .map(|a| a.parse::<GpuArch>())
            .collect::<Result<_, _>>()
            .map_err(errors::input)?;
    }
    if env.python.is_none() {
        env.python = own_interpreter();
    }
    Ok(env)
}

/// `sys.executable`; none where the interpreter cannot tell (an embedding application).
fn own_interpreter() -> Option<PathBuf> {
    Python::attach(|py| {
        let executable = py.import("sys").ok()?.getattr("executable").ok()?;
        let path: Option<PathBuf> = executable.extract().ok()?;
        path.filter(|p| !p.as_os_str().is_empty())
    })
}
