//! `build_or_load_engine`: one engine through [`trtctl::workspace::ensure_engine`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3::types::PyDict;
use trtctl::exec::StopSignal;
use trtctl::identity::{BuildFlags, Precision, Profile, ShapeRange, TrtVersion};
use trtctl::store::remote::RemoteSettings;
use trtctl::workspace::{
    EngineRequest, EnsuredEngine, MachineProbe, RemoteChoice, ensure_engine, read_handed_out,
};

use crate::blocking::run_interruptible;
use crate::environment::environment;
use crate::errors;

/// GPUs and TensorRT, detected on the first call of the process only.
fn probe() -> &'static MachineProbe {
    static PROBE: OnceLock<MachineProbe> = OnceLock::new();
    PROBE.get_or_init(MachineProbe::default)
}

fn profile(batch: (u32, u32, u32), shapes: Option<BTreeMap<String, [String; 3]>>) -> Profile {
    match shapes {
        Some(inputs) => Profile::Shapes {
            inputs: inputs
                .into_iter()
                .map(|(name, [min, opt, max])| (name, ShapeRange { min, opt, max }))
                .collect(),
        },
        None => Profile::Batch {
            min: batch.0,
            opt: batch.1,
            max: batch.2,
        },
    }
}

fn remote(url: Option<String>, off: bool) -> RemoteChoice {
    match (url, off) {
        (_, true) => RemoteChoice::Off,
        (Some(url), false) => RemoteChoice::At(RemoteSettings {
            url,
            ..RemoteSettings::default()
        }),
        (None, false) => RemoteChoice::FromEnvironment,
    }
}

fn described<'py>(py: Python<'py>, engine: EnsuredEngine) -> PyResult<Bound<'py, PyDict>> {
    let id = &engine.sidecar.id;
    let out = PyDict::new(py);
    out.set_item("path", engine.path)?;
    out.set_item("source", engine.source.to_string())?;
    out.set_item("family", engine.key.family)?;
    out.set_item("name", engine.key.file)?;
    out.set_item("model", &id.model_name)?;
    out.set_item("version", &id.model_version)?;
    out.set_item("precision", id.precision.as_str())?;
    out.set_item("arch", id.gpu_arch.to_string())?;
    out.set_item("trt", id.trt_version.to_string())?;
    out.set_item("sha256", &engine.sidecar.engine_sha256)?;
    out.set_item("size", engine.sidecar.engine_size)?;
    out.set_item(
        "fingerprint",
        engine.sidecar.fingerprint.as_ref().map(|f| f.0.clone()),
    )?;
    let provenance = &engine.sidecar.provenance;
    out.set_item("trt_build", provenance.trt_build.map(|v| v.to_string()))?;
    out.set_item("gpu_model", provenance.gpu_model.clone())?;
    let flags = engine.sidecar.build.as_ref().map(|b| &b.flags);
    let level = flags.and_then(|f| f.hardware_compatibility.clone());
    out.set_item("hardware_compatibility", level)?;
    out.set_item(
        "version_compatible",
        flags.is_some_and(|f| f.version_compatible),
    )?;
    let weights = engine.sidecar.weights.as_ref();
    out.set_item("weights", weights.map(|w| w.mode.as_str()))?;
    out.set_item("refits", weights.map_or(0, |w| w.refits))?;
    out.set_item("plan_size", weights.map(|w| w.plan_size))?;
    Ok(out)
}

/// The batch range: `min_batch..max_batch` optimized for `opt_batch`, the last two
/// `batch_size` unless given.
fn batch_range(
    batch_size: &Bound<'_, PyAny>,
    [min, opt, max]: [Option<&Bound<'_, PyAny>>; 3],
) -> PyResult<(u32, u32, u32)> {
    let size = crate::arguments::whole(batch_size, "batch_size", 1)?;
    Ok((
        crate::arguments::whole_or(min, "min_batch", 1)?.unwrap_or(1),
        crate::arguments::whole_or(opt, "opt_batch", 1)?.unwrap_or(size),
        crate::arguments::whole_or(max, "max_batch", 1)?.unwrap_or(size),
    ))
}

/// Ensures one engine; returns a dict the Python side turns into an `Engine`.
#[pyfunction]
#[pyo3(signature = (
    onnx, precision, batch_size, shapes=None, *, min_batch=None, opt_batch=None, max_batch=None,
    name=None, version=None, family=None, gpu=None, gpu_arch=Vec::new(), trt_version=None,
    cache_dir=None, remote_url=None, remote_off=false, force_rebuild=false, upload=true,
    timeout=None, hardware_compatibility=None, version_compatible=false, weights=None
))]
#[allow(clippy::too_many_arguments)] // each is one keyword argument of the Python API
pub fn ensure<'py>(
    py: Python<'py>,
    onnx: PathBuf,
    precision: &str,
    batch_size: &Bound<'py, PyAny>,
    shapes: Option<BTreeMap<String, [String; 3]>>,
    min_batch: Option<&Bound<'py, PyAny>>,
    opt_batch: Option<&Bound<'py, PyAny>>,
    max_batch: Option<&Bound<'py, PyAny>>,
    name: Option<String>,
    version: Option<String>,
    family: Option<String>,
    gpu: Option<&Bound<'py, PyAny>>,
    gpu_arch: Vec<String>,
    trt_version: Option<String>,
    cache_dir: Option<PathBuf>,
    remote_url: Option<String>,
    remote_off: bool,
    force_rebuild: bool,
    upload: bool,
    timeout: Option<f64>,
    hardware_compatibility: Option<String>,
    version_compatible: bool,
    weights: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let weights = weights
        .map(|w| w.parse::<trtctl::identity::WeightsMode>())
        .transpose()
        .map_err(errors::bad_input)?
        .unwrap_or_default();
    let precision: Precision = precision.parse().map_err(errors::input)?;
    let batch = batch_range(batch_size, [min_batch, opt_batch, max_batch])?;
    let gpu = crate::arguments::whole_or(gpu, "gpu", 0)?;
    let trt_version = trt_version
        .map(|v| v.parse::<TrtVersion>())
        .transpose()
        .map_err(errors::input)?;
    let timeout = timeout
        .map(trtctl::workspace::timeout_from_secs)
        .transpose()
        .map_err(errors::from_ensure)?;
    let request = EngineRequest {
        profile: profile(batch, shapes),
        name,
        version,
        family,
        gpu,
        trt_version,
        cache_dir,
        remote: remote(remote_url, remote_off),
        force_rebuild,
        upload,
        timeout,
        flags: BuildFlags {
            hardware_compatibility,
            version_compatible,
            ..BuildFlags::default()
        },
        weights,
        ..EngineRequest::new(onnx, precision, batch.1, environment(gpu_arch)?)
    };
    let stop = StopSignal::default();
    let ensured = run_interruptible(py, &stop, ensure_engine(&request, probe(), &stop))?;
    described(py, ensured.map_err(errors::from_ensure)?)
}

/// An engine's bytes, if they are still the engine of `sha256` and `size` bytes a call handed
/// out; `IntegrityError` when another build replaced it under its name, or it was damaged.
#[pyfunction]
pub fn read_engine<'py>(
    py: Python<'py>,
    path: PathBuf,
    sha256: &str,
    size: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = py
        .detach(|| read_handed_out(&path, sha256, size))
        .map_err(errors::from_handle)?;
    Ok(PyBytes::new(py, &bytes))
}
