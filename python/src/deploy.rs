//! `fetch`: installs what `engines.lock` pins, as `trtctl fetch` does on a deploy host (no ONNX
//! files, trtexec or TensorRT needed).

use std::path::PathBuf;

use pyo3::prelude::*;
use trtctl::exec::StopSignal;
use trtctl::lock::{self, Fetched};
use trtctl::workspace::{DeployError, Deployment};

use crate::blocking::run_interruptible;
use crate::environment::environment;
use crate::errors;
use crate::manifest::selectors;

/// One pinned engine in the cache: key, path, sha256, size and the bytes downloaded for it
/// (0 when the cache already held it).
type Installed = (String, String, String, u64, u64);

/// Fetches the pinned engines for the local GPUs' archs (or `gpu_arch`); returns each one
/// installed and the keys wanted here that the lock does not pin. The first engine that could
/// not be installed raises, after every other one was tried.
#[pyfunction]
#[pyo3(signature = (manifest, *, lock=None, targets=Vec::new(), gpu_arch=Vec::new(), jobs=4))]
pub fn fetch(
    py: Python<'_>,
    manifest: PathBuf,
    lock: Option<PathBuf>,
    targets: Vec<String>,
    gpu_arch: Vec<String>,
    jobs: usize,
) -> PyResult<(Vec<Installed>, Vec<String>)> {
    let env = environment(gpu_arch)?;
    let targets = selectors(&targets)?;
    let deployment = Deployment::open(&manifest, &env).map_err(errors::from_deploy)?;
    let (locked, path) = deployment
        .read_lock(lock.as_deref())
        .map_err(|e| errors::from_deploy(DeployError::Lock(e)))?;
    let gpus = env.gpus();
    let archs = gpus.archs();
    if archs.is_empty() {
        return Err(errors::no_gpu(
            "no local GPU found to fetch engines for; pass gpu_arch=[\"sm_NN\"] (or set TRTCTL_GPU_ARCH)",
        ));
    }
    let selection = locked
        .select(&path, &archs, &targets)
        .map_err(|e| errors::from_deploy(DeployError::Lock(e)))?;
    let remote = deployment.remote.as_ref().ok_or_else(|| {
        errors::manifest(format!(
            "{} has no [remote]: fetch needs one to install pinned engines from; add `[remote] url = \"s3://bucket/prefix\"`",
            manifest.display()
        ))
    })?;
    let stop = StopSignal::default();
    let results = run_interruptible(
        py,
        &stop,
        lock::fetch_pinned(
            &deployment.cache,
            remote,
            &selection.engines,
            jobs,
            gpus.on_gpu_host(),
        ),
    )?;
    let mut installed = Vec::with_capacity(results.len());
    for (engine, result) in selection.engines.iter().zip(results) {
        let downloaded = match result.map_err(errors::from_fetch)? {
            Fetched::Cached => 0,
            Fetched::Downloaded { bytes } => bytes,
        };
        installed.push((
            engine.key.to_string(),
            deployment
                .cache
                .engine_path(&engine.key)
                .to_string_lossy()
                .into_owned(),
            engine.sha256.clone(),
            engine.size,
            downloaded,
        ));
    }
    let unpinned = selection.unpinned.iter().map(ToString::to_string).collect();
    Ok((installed, unpinned))
}
