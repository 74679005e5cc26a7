//! GPU and TensorRT facts: the local GPUs (CUDA driver API through cudarc, loaded at run time
//! so the binary runs where there is no CUDA), and the local TensorRT version.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::identity::{GpuArch, GpuModels, NameError, TrtVersion};

mod archs;
mod libcuda;
mod python;
pub use archs::{describe_arch, gpu_names};
pub use libcuda::{find_libcuda, preload_libcuda};
pub use python::{PythonTrt, PythonTrtError, find_python, parse_tensorrt_version, python_trt};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuInfo {
    pub index: u32,
    pub name: String,
    pub arch: GpuArch,
    pub memory_bytes: u64,
    /// The GPU model within its arch (`a10g`, `h100-80gb-hbm3`), from its name: TensorRT warns
    /// when a plan is used on another model than the one that built it. `None` for a simulated
    /// GPU without `--gpu-model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// `0: NVIDIA H100 80GB HBM3 (sm_90)`: a GPU as messages and plan headers name it.
impl std::fmt::Display for GpuInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.index, self.name, self.arch)
    }
}

/// The model key of a CUDA device name: `NVIDIA A10G` → `a10g`, `NVIDIA H100 80GB HBM3` →
/// `h100-80gb-hbm3`; lowercase letters, digits and single dashes, safe in names and paths.
pub fn model_key(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    let bare = lower.strip_prefix("nvidia ").unwrap_or(&lower);
    bare.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum GpuSource {
    Cuda,
    /// `--gpu-arch` / `TRTCTL_GPU_ARCH`: GPUs planned for, not detected.
    Override,
    Unavailable {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuInventory {
    pub gpus: Vec<GpuInfo>,
    /// The CUDA version the driver supports, e.g. `13.0`.
    pub cuda_driver_version: Option<String>,
    /// The NVIDIA kernel driver, e.g. `580.65.06`, where the system says.
    pub driver_version: Option<String>,
    pub source: GpuSource,
    /// The GPUs CUDA shows when `gpus` are simulated (`--gpu-arch` on a GPU host): builds run on
    /// these alone. Empty when `gpus` were detected, or where CUDA shows none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_gpus: Vec<GpuInfo>,
}

impl GpuInventory {
    /// The GPUs CUDA sees. Without libcuda, or with a driver error, that is a state, not a crash.
    pub fn detect() -> GpuInventory {
        // cudarc panics on a driver function it cannot find (a stub or partial libcuda): a
        // broken driver is reported like a missing one, not a crash of the planner.
        let detected = std::panic::catch_unwind(cuda_gpus).unwrap_or_else(|payload| {
            Err(CudaError::Unusable(
                panic_message(payload.as_ref()).to_string(),
            ))
        });
        match detected {
            Ok((gpus, cuda)) => GpuInventory {
                gpus,
                cuda_driver_version: Some(cuda),
                driver_version: nvidia_driver_version(),
                source: GpuSource::Cuda,
                host_gpus: Vec::new(),
            },
            Err(reason) => GpuInventory {
                gpus: Vec::new(),
                cuda_driver_version: None,
                driver_version: nvidia_driver_version(),
                source: GpuSource::Unavailable {
                    reason: reason.to_string(),
                },
                host_gpus: Vec::new(),
            },
        }
    }

    /// Plans for `archs` instead (none: these GPUs as they are), GPUs of `model` where one is
    /// given (`--gpu-model`). Whatever real GPUs were detected stay the ones that build: a plan
    /// may be made as if an sm_86 were here, an engine may not be built as if it were.
    pub fn simulating(self, archs: &[GpuArch], model: Option<&str>) -> GpuInventory {
        if archs.is_empty() {
            return self;
        }
        let mut simulated = GpuInventory::simulated(archs);
        for gpu in &mut simulated.gpus {
            gpu.model = model.map(model_key);
        }
        let host_gpus = match self.source {
            GpuSource::Cuda => self.gpus,
            GpuSource::Override => self.host_gpus,
            GpuSource::Unavailable { .. } => Vec::new(),
        };
        GpuInventory {
            host_gpus,
            cuda_driver_version: self.cuda_driver_version,
            driver_version: self.driver_version,
            ..simulated
        }
    }

    /// The model keys of the GPUs planned for, by arch (simulated GPUs without a model have none).
    pub fn models_by_arch(&self) -> GpuModels {
        let mut models = GpuModels::default();
        for gpu in &self.gpus {
            if let Some(model) = &gpu.model {
                let known = models.entry(gpu.arch).or_default();
                if !known.contains(model) {
                    known.push(model.clone());
                }
            }
        }
        models
    }

    /// Per arch of the plan's GPUs, the shared timing cache builds of it use: named by the GPU
    /// model too where it is known, that of the arch's first GPUs as the executor picks them.
    pub fn timing_targets(&self) -> Vec<(GpuArch, Option<String>)> {
        (self.archs().into_iter())
            .map(|arch| {
                let of_arch = self.gpus.iter().filter(|g| g.arch == arch);
                (arch, of_arch.map(|g| g.model.clone()).min().flatten())
            })
            .collect()
    }

    /// Whether CUDA shows real GPUs on this host: then nothing built under simulation is used.
    pub fn on_gpu_host(&self) -> bool {
        match self.source {
            GpuSource::Cuda => !self.gpus.is_empty(),
            GpuSource::Override => !self.host_gpus.is_empty(),
            GpuSource::Unavailable { .. } => false,
        }
    }

    /// The GPUs that builds run on: the host's real ones, or the simulated ones where CUDA
    /// shows none (a test or a GPU-less CI job, whose engines are marked simulated).
    pub fn build_gpus(&self) -> &[GpuInfo] {
        if self.host_gpus.is_empty() {
            &self.gpus
        } else {
            &self.host_gpus
        }
    }

    /// Whether builds here are simulated: no real GPU, so no real engine either.
    pub fn builds_simulated(&self) -> bool {
        !self.on_gpu_host()
    }

    /// `0: NVIDIA H100 80GB HBM3 (sm_90), 1: …`: the GPUs builds run on, for messages.
    pub fn describe_build_gpus(&self) -> String {
        self.build_gpus()
            .iter()
            .map(GpuInfo::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One stand-in GPU per entry; repeating an arch means several GPUs of it.
    pub fn simulated(archs: &[GpuArch]) -> GpuInventory {
        GpuInventory {
            gpus: archs
                .iter()
                .zip(0..)
                .map(|(&arch, index)| GpuInfo {
                    index,
                    name: format!("simulated {arch}"),
                    arch,
                    memory_bytes: 0,
                    model: None,
                })
                .collect(),
            cuda_driver_version: None,
            driver_version: None,
            source: GpuSource::Override,
            host_gpus: Vec::new(),
        }
    }

    /// Distinct archs, sorted.
    pub fn archs(&self) -> Vec<GpuArch> {
        let mut archs: Vec<GpuArch> = self.gpus.iter().map(|g| g.arch).collect();
        archs.sort();
        archs.dedup();
        archs
    }
}

/// Why CUDA shows no GPU; shown as the inventory's reason.
#[derive(Debug, thiserror::Error)]
enum CudaError {
    #[error("no CUDA driver (libcuda) on this machine")]
    NoDriver,
    #[error("the CUDA driver (libcuda) is unusable: {0}")]
    Unusable(String),
    #[error("CUDA driver failed to initialize: {0}")]
    Init(String),
    #[error("CUDA driver version: {0}")]
    Version(String),
    #[error("CUDA device count: {0}")]
    Count(String),
    #[error("the CUDA driver sees no GPU (check CUDA_VISIBLE_DEVICES)")]
    NoDevice,
    #[error("CUDA device {ordinal}: {detail}")]
    Device { ordinal: i32, detail: String },
}

fn cuda_gpus() -> Result<(Vec<GpuInfo>, String), CudaError> {
    use cudarc::driver::{result, sys};
    // Every cudarc driver call panics when libcuda cannot be loaded: ask first, and where the
    // loader's search misses it, look where Jetson and DRIVE boards keep it.
    // SAFETY (both): only try to dlopen the library.
    let present = || unsafe { sys::is_culib_present() };
    if !present() && (preload_libcuda(Path::new("/")).is_none() || !present()) {
        return Err(CudaError::NoDriver);
    }
    result::init().map_err(|e| CudaError::Init(driver_error(e)))?;
    let mut version = 0;
    // SAFETY: writes one int.
    unsafe { sys::cuDriverGetVersion(&mut version) }
        .result()
        .map_err(|e| CudaError::Version(driver_error(e)))?;
    let count = result::device::get_count().map_err(|e| CudaError::Count(driver_error(e)))?;
    if count <= 0 {
        return Err(CudaError::NoDevice);
    }
    let gpus = (0..count)
        .map(|ordinal| {
            cuda_gpu(ordinal).map_err(|e| CudaError::Device {
                ordinal,
                detail: driver_error(e),
            })
        })
        .collect::<Result<Vec<_>, CudaError>>()?;
    Ok((gpus, format!("{}.{}", version / 1000, version % 1000 / 10)))
}

fn cuda_gpu(ordinal: i32) -> Result<GpuInfo, cudarc::driver::DriverError> {
    use cudarc::driver::{result::device, sys::CUdevice_attribute};
    let dev = device::get(ordinal)?;
    // SAFETY (both): `dev` came from cuDeviceGet.
    let attribute = |attr| unsafe { device::get_attribute(dev, attr) };
    let memory = unsafe { device::total_mem(dev) }?;
    let major = attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
    let minor = attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
    let name = device::get_name(dev)?;
    Ok(GpuInfo {
        index: ordinal.unsigned_abs(),
        model: Some(model_key(&name)),
        name,
        arch: GpuArch::new(major.unsigned_abs(), minor.unsigned_abs()),
        memory_bytes: memory as u64,
    })
}

/// `no CUDA-capable device is detected (CUDA_ERROR_NO_DEVICE)` rather than cudarc's Debug tuple.
fn driver_error(e: cudarc::driver::DriverError) -> String {
    match e.error_string() {
        Ok(text) => format!("{} ({:?})", text.to_string_lossy(), e.0),
        Err(_) => format!("{:?}", e.0),
    }
}

/// A panic's message, for the rare cudarc panic `detect` turns into a reason.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic")
}

/// `NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 ...` → `580.65.06`.
fn nvidia_driver_version() -> Option<String> {
    let text = std::fs::read_to_string("/proc/driver/nvidia/version").ok()?;
    parse_nvrm_version(&text)
}

fn parse_nvrm_version(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with("NVRM version:"))?;
    line.split_whitespace()
        .find(|w| {
            w.split('.').count() >= 2
                && w.split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
}

/// `sm_86,sm_89` or `sm_86 sm_89`, as `TRTCTL_GPU_ARCH` holds them.
pub fn parse_arch_list(text: &str) -> Result<Vec<GpuArch>, NameError> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(parse_gpu_arch)
        .collect()
}

/// A GPU's arch: `sm_80-plus` names engines, never a GPU.
pub fn parse_gpu_arch(text: &str) -> Result<GpuArch, NameError> {
    match text.parse::<GpuArch>()? {
        arch if arch.is_and_later() => Err(NameError::NotAGpu {
            value: text.to_string(),
            hint: "; `sm_80-plus` names the engine of `hardware_compatibility = \"ampere+\"`, not a GPU".into(),
        }),
        arch => Ok(arch),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "from")]
pub enum TrtSource {
    /// `trt_version` in the manifest.
    Pinned,
    /// `TRTCTL_TRT_VERSION`.
    Env,
    /// Asked for by the caller (Python's `trt_version`).
    Asked,
    Trtexec(PathBuf),
    Libnvinfer(String),
    /// `tensorrt.__version__` of this Python.
    Python(PathBuf),
}

impl std::fmt::Display for TrtSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrtSource::Pinned => f.write_str("pinned by trt_version in the manifest"),
            TrtSource::Env => f.write_str("from TRTCTL_TRT_VERSION"),
            TrtSource::Asked => f.write_str("asked for by `trt_version`"),
            TrtSource::Trtexec(path) => write!(f, "from the banner of {}", path.display()),
            TrtSource::Libnvinfer(library) => write!(f, "from {library}"),
            TrtSource::Python(python) => {
                write!(f, "from tensorrt.__version__ of {}", python.display())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrtFact {
    pub version: TrtVersion,
    pub source: TrtSource,
}

#[derive(Debug, thiserror::Error)]
pub enum TrtDetectError {
    #[error("TRTCTL_TRT_VERSION: {0}")]
    BadOverride(NameError),
    #[error(
        "cannot run {} to ask its TensorRT version: {source}; point TRTEXEC or `[builder] trtexec` at a working trtexec",
        path.display()
    )]
    Run {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} printed no `&&&& RUNNING TensorRT.trtexec [TensorRT vNNNN]` banner with a version: TensorRT 7 or older, or not trtexec; point TRTEXEC or `[builder] trtexec` at the trtexec of TensorRT 8 or newer",
        path.display()
    )]
    NoBanner { path: PathBuf },
    #[error(transparent)]
    Python(#[from] PythonTrtError),
    #[error(
        "no TensorRT found: no trtexec (tried `[builder] trtexec`, TRTEXEC, each dir of PATH, {DEFAULT_TRTEXEC}), no Python with an importable tensorrt (`[builder] python`, TRTCTL_PYTHON, python3 on PATH) and no loadable {}; install TensorRT, set TRTEXEC to its trtexec, `pip install tensorrt`, or pin `trt_version = \"10.3.0\"` in the manifest / set TRTCTL_TRT_VERSION",
        LIBNVINFER_NAMES.join(" / ")
    )]
    NotFound,
}

/// The version from trtexec's output: the banner `[TensorRT v100300]`, else the log line
/// `[I] TensorRT version: 10.3.0`.
pub fn parse_trtexec_banner(output: &str) -> Option<TrtVersion> {
    let from_banner = output.lines().find_map(|line| {
        // Only before ` # `: what follows is trtexec's argv, which could contain anything.
        let head = line.strip_prefix("&&&& ")?.split(" # ").next()?;
        let code = head.split_once("[TensorRT v")?.1.split(']').next()?;
        TrtVersion::from_encoded(code.parse().ok()?)
    });
    from_banner.or_else(|| {
        output.lines().find_map(|line| {
            let version = line.split("] TensorRT version: ").nth(1)?;
            version.trim().parse().ok()
        })
    })
}

/// Where NVIDIA's TensorRT packages put trtexec: the Debian packages (libnvinfer-bin) on x86_64
/// and SBSA hosts, and JetPack on Jetson boards, which installs the same packages.
const DEFAULT_TRTEXEC: &str = "/usr/src/tensorrt/bin/trtexec";

/// trtexec: the configured path, `TRTEXEC`, each dir of `PATH`, then NVIDIA's default place.
pub fn find_trtexec(configured: Option<&Path>) -> Option<PathBuf> {
    find_trtexec_in(
        configured,
        std::env::var_os("TRTEXEC"),
        std::env::var_os("PATH"),
        Path::new("/"),
    )
}

/// [`find_trtexec`] with the default place under `root` instead of `/`.
fn find_trtexec_in(
    configured: Option<&Path>,
    trtexec_env: Option<OsString>,
    path_env: Option<OsString>,
    root: &Path,
) -> Option<PathBuf> {
    let from_env = trtexec_env.filter(|v| !v.is_empty()).map(PathBuf::from);
    // An empty PATH entry means "the current directory" to a shell; a trtexec that happens to
    // sit wherever trtctl is run from is not one to build production engines with.
    let from_path = path_env
        .iter()
        .flat_map(std::env::split_paths)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join("trtexec"))
        .collect::<Vec<_>>();
    configured
        .map(Path::to_path_buf)
        .into_iter()
        .chain(from_env)
        .chain(from_path)
        .chain(std::iter::once(
            root.join(DEFAULT_TRTEXEC.trim_start_matches('/')),
        ))
        .find(|p| is_executable(p))
        .map(runnable)
}

/// `trtexec` → `./trtexec`: `Command` looks a name without `/` up on PATH, which would run
/// another trtexec than the one found here.
fn runnable(path: PathBuf) -> PathBuf {
    if path.components().count() == 1 && path.is_relative() {
        Path::new(".").join(path)
    } else {
        path
    }
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Asks trtexec its version. `--version` is no clean query in many builds (it fails for want of
/// a model), so the banner is read whatever the exit code.
pub fn trtexec_version(trtexec: &Path) -> Result<TrtVersion, TrtDetectError> {
    let output = Command::new(trtexec)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| TrtDetectError::Run {
            path: trtexec.to_path_buf(),
            source,
        })?;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    parse_trtexec_banner(&text).ok_or_else(|| TrtDetectError::NoBanner {
        path: trtexec.to_path_buf(),
    })
}

/// Newest first: TensorRT 10, then 8, then whatever the unversioned dev link points at.
const LIBNVINFER_NAMES: [&str; 3] = ["libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so"];

/// `getInferLibVersion()` from libnvinfer, when TensorRT's library is installed.
pub fn libnvinfer_version() -> Option<(TrtVersion, String)> {
    LIBNVINFER_NAMES.iter().find_map(|name| {
        // SAFETY: loading libnvinfer runs its initializers, which only register TensorRT.
        let library = unsafe { libloading::Library::new(name) }.ok()?;
        // SAFETY: `getInferLibVersion` is `int32_t getInferLibVersion() noexcept` with C linkage.
        let code = unsafe {
            let get: libloading::Symbol<unsafe extern "C" fn() -> i32> =
                library.get(b"getInferLibVersion").ok()?;
            get()
        };
        let version = TrtVersion::from_encoded(u32::try_from(code).ok()?)?;
        Some((version, (*name).to_string()))
    })
}

/// The local TensorRT: `TRTCTL_TRT_VERSION` (passed in), else trtexec's banner, else libnvinfer.
pub fn detect_trt(
    env_override: Option<&str>,
    trtexec: Option<&Path>,
) -> Result<TrtFact, TrtDetectError> {
    // `TRTCTL_TRT_VERSION=` is how a shell user unsets it for one command.
    if let Some(text) = env_override.map(str::trim).filter(|t| !t.is_empty()) {
        let version = text.parse().map_err(TrtDetectError::BadOverride)?;
        return Ok(TrtFact {
            version,
            source: TrtSource::Env,
        });
    }
    // No fallback to libnvinfer when this trtexec cannot tell: it is the one that builds, and a
    // libnvinfer found elsewhere may belong to another TensorRT.
    if let Some(path) = trtexec {
        return Ok(TrtFact {
            version: trtexec_version(path)?,
            source: TrtSource::Trtexec(path.to_path_buf()),
        });
    }
    libnvinfer_version()
        .map(|(version, library)| TrtFact {
            version,
            source: TrtSource::Libnvinfer(library),
        })
        .ok_or(TrtDetectError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_of_every_tensorrt_generation() {
        let ten = "&&&& RUNNING TensorRT.trtexec [TensorRT v100300] [b10] # trtexec --onnx=m.onnx";
        assert_eq!(parse_trtexec_banner(ten), Some(TrtVersion::new(10, 3, 0)));
        let eight = "&&&& RUNNING TensorRT.trtexec [TensorRT v8601] # trtexec --onnx=m.onnx";
        assert_eq!(parse_trtexec_banner(eight), Some(TrtVersion::new(8, 6, 1)));
        let failed = "&&&& FAILED TensorRT.trtexec [TensorRT v101602] # trtexec --version\r\n";
        assert_eq!(
            parse_trtexec_banner(failed),
            Some(TrtVersion::new(10, 16, 2))
        );
        let seven = "&&&& RUNNING TensorRT.trtexec # trtexec --onnx=m.onnx";
        assert_eq!(parse_trtexec_banner(seven), None);
        let log_line = format!("{seven}\n[11/23/2026-23:47:38] [I] TensorRT version: 10.3.0\n");
        assert_eq!(
            parse_trtexec_banner(&log_line),
            Some(TrtVersion::new(10, 3, 0))
        );
    }

    #[test]
    fn a_version_in_trtexec_argv_is_not_the_banner() {
        let seven = "&&&& RUNNING TensorRT.trtexec # trtexec --onnx=[TensorRT v100300].onnx";
        assert_eq!(parse_trtexec_banner(seven), None);
        assert_eq!(parse_trtexec_banner(""), None);
        assert_eq!(
            parse_trtexec_banner("&&&& RUNNING TensorRT.trtexec [TensorRT v12] # x"),
            None
        );
    }

    #[test]
    fn model_keys_from_cuda_device_names() {
        assert_eq!(model_key("NVIDIA A10G"), "a10g");
        assert_eq!(model_key("NVIDIA A10"), "a10");
        assert_eq!(model_key("NVIDIA H100 80GB HBM3"), "h100-80gb-hbm3");
        assert_eq!(
            model_key("NVIDIA GeForce RTX 3090 Ti"),
            "geforce-rtx-3090-ti"
        );
        assert_eq!(model_key(" Tesla T4 "), "tesla-t4");
        assert_eq!(model_key("NVIDIA A100-SXM4-80GB"), "a100-sxm4-80gb");
    }

    #[test]
    fn arch_lists_from_the_environment() {
        assert_eq!(
            parse_arch_list("sm_86, sm_89 sm_86").unwrap(),
            vec![GpuArch::new(8, 6), GpuArch::new(8, 9), GpuArch::new(8, 6)]
        );
        assert_eq!(
            parse_arch_list(" sm_120\n").unwrap(),
            vec![GpuArch::new(12, 0)]
        );
        assert_eq!(parse_arch_list("").unwrap(), vec![]);
        let err = parse_arch_list("sm_86,sm86").unwrap_err().to_string();
        assert!(err.contains("did you mean `sm_86`"), "{err}");
        assert!(parse_arch_list("sm_86;sm_89").is_err());
        assert!(parse_arch_list("ampere").is_err());
    }

    #[test]
    fn simulated_gpus_repeat_archs() {
        let inv =
            GpuInventory::simulated(&[GpuArch::new(8, 6), GpuArch::new(8, 6), GpuArch::new(8, 9)]);
        assert_eq!(
            inv.gpus.iter().map(|g| g.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(inv.gpus[0].name, "simulated sm_86");
        assert!(inv.gpus.iter().all(|g| g.memory_bytes == 0));
        assert_eq!(inv.source, GpuSource::Override);
        assert_eq!(inv.archs(), vec![GpuArch::new(8, 6), GpuArch::new(8, 9)]);
        assert_eq!(
            inv.build_gpus().len(),
            3,
            "no real GPU: the simulated ones build"
        );
        assert!(inv.builds_simulated());
    }

    /// Holds on machines with and without a GPU: either real GPUs or a reason, never a panic.
    #[test]
    fn no_cuda_is_a_state_not_a_panic() {
        let inv = GpuInventory::detect();
        match &inv.source {
            GpuSource::Cuda => {
                assert!(!inv.gpus.is_empty());
                assert!(inv.gpus.iter().all(|g| g.arch.major() > 0));
                assert!(inv.cuda_driver_version.is_some());
            }
            GpuSource::Unavailable { reason } => {
                assert!(inv.gpus.is_empty());
                assert!(!reason.is_empty());
                assert_eq!(inv.cuda_driver_version, None);
            }
            GpuSource::Override => panic!("detect() never simulates"),
        }
    }

    #[test]
    fn json_shapes_other_tools_read() {
        let unavailable = GpuSource::Unavailable {
            reason: "no libcuda".into(),
        };
        assert_eq!(
            serde_json::to_value(&unavailable).unwrap(),
            serde_json::json!({"kind": "unavailable", "reason": "no libcuda"})
        );
        assert_eq!(
            serde_json::to_value(GpuSource::Cuda).unwrap(),
            serde_json::json!({"kind": "cuda"})
        );
        let fact = TrtFact {
            version: TrtVersion::new(10, 3, 0),
            source: TrtSource::Trtexec(PathBuf::from("/opt/trt/bin/trtexec")),
        };
        assert_eq!(
            serde_json::to_value(&fact).unwrap(),
            serde_json::json!({
                "version": "10.3.0",
                "source": {"kind": "trtexec", "from": "/opt/trt/bin/trtexec"}
            })
        );
        assert_eq!(
            serde_json::to_value(TrtSource::Env).unwrap(),
            serde_json::json!({"kind": "env"})
        );
    }

    #[test]
    fn nvidia_driver_version_from_proc() {
        let text = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 07:09:10 UTC 2025\nGCC version:  gcc version 13.3.0\n";
        assert_eq!(parse_nvrm_version(text), Some("580.65.06".into()));
        assert_eq!(parse_nvrm_version("garbage"), None);
    }

    /// An executable shell script in `dir`, ready to run.
    pub(super) fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        wait_until_runnable(&path);
        path
    }

    /// A test thread that forked while the script was open for writing leaves a child holding
    /// the descriptor until it execs; running the script before then fails with ETXTBSY.
    fn wait_until_runnable(path: &Path) {
        for _ in 0..200 {
            match std::process::Command::new(path).output() {
                Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                _ => return,
            }
        }
    }

    #[test]
    fn trtexec_is_found_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let on_path = dir.path().join("bin");
        std::fs::create_dir(&on_path).unwrap();
        let in_path = script(&on_path, "trtexec", "exit 0");
        let configured = script(dir.path(), "custom-trtexec", "exit 0");
        let path_env = Some(OsString::from(format!(
            "/nonexistent:{}",
            on_path.display()
        )));
        assert_eq!(
            find_trtexec_in(Some(&configured), None, path_env.clone(), dir.path()),
            Some(configured.clone())
        );
        assert_eq!(
            find_trtexec_in(
                None,
                Some(configured.clone().into_os_string()),
                path_env.clone(),
                dir.path()
            ),
            Some(configured)
        );
        assert_eq!(
            find_trtexec_in(None, Some(OsString::new()), path_env.clone(), dir.path()),
            Some(in_path.clone())
        );
        assert_eq!(
            find_trtexec_in(None, None, path_env, dir.path()),
            Some(in_path)
        );
    }

    #[test]
    fn trtexec_must_be_an_executable_file() {
        let dir = tempfile::tempdir().unwrap();
        let not_executable = dir.path().join("plain");
        std::fs::write(&not_executable, "").unwrap();
        let a_dir = dir.path().join("trtexec");
        std::fs::create_dir(&a_dir).unwrap();
        let path_env = Some(dir.path().as_os_str().to_owned());
        for configured in [&not_executable, &a_dir] {
            let found = find_trtexec_in(Some(configured), None, path_env.clone(), dir.path());
            assert_ne!(found.as_ref(), Some(configured));
            assert_ne!(found, Some(a_dir.clone()));
        }
    }

    /// The working directory belongs to the whole process: the search runs again in a child
    /// test process started in a directory that holds an executable trtexec.
    #[test]
    fn an_empty_path_entry_is_not_the_current_dir() {
        const IN_CHILD: &str = "TRTCTL_TEST_TRTEXEC_IN_CWD";
        if std::env::var_os(IN_CHILD).is_some() {
            assert!(Path::new("trtexec").is_file());
            let root = tempfile::tempdir().unwrap();
            let found = find_trtexec_in(None, None, Some(OsString::from(":")), root.path());
            assert_eq!(found, None);
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "trtexec", "exit 0");
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "gpu::tests::an_empty_path_entry_is_not_the_current_dir",
            ])
            .env(IN_CHILD, "1")
            .current_dir(dir.path())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&child.stdout);
        assert!(child.status.success(), "{said}");
        assert!(said.contains("test result: ok. 1 passed"), "{said}");
    }

    #[test]
    fn trtexec_is_found_where_jetpack_and_the_debian_packages_put_it() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("usr/src/tensorrt/bin");
        std::fs::create_dir_all(&bin).unwrap();
        assert_eq!(find_trtexec_in(None, None, None, root.path()), None);
        let installed = script(&bin, "trtexec", "exit 0");
        assert_eq!(
            find_trtexec_in(
                None,
                None,
                Some(OsString::from("/nonexistent")),
                root.path()
            ),
            Some(installed)
        );
    }

    #[test]
    fn a_bare_name_runs_from_where_it_was_found() {
        assert_eq!(
            runnable(PathBuf::from("trtexec")),
            PathBuf::from("./trtexec")
        );
        assert_eq!(
            runnable(PathBuf::from("bin/trtexec")),
            PathBuf::from("bin/trtexec")
        );
        assert_eq!(
            runnable(PathBuf::from(DEFAULT_TRTEXEC)),
            PathBuf::from(DEFAULT_TRTEXEC)
        );
    }

    const FAILING_VERSION_QUERY: &str =
        "echo '&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec --version'
echo '[11/23/2026-23:47:38] [E] Model missing or format not recognized'
echo '&&&& FAILED TensorRT.trtexec [TensorRT v100300] # trtexec --version'
exit 1";

    #[test]
    fn the_version_is_read_even_when_trtexec_fails() {
        let dir = tempfile::tempdir().unwrap();
        let fake = script(dir.path(), "trtexec", FAILING_VERSION_QUERY);
        assert_eq!(trtexec_version(&fake).unwrap(), TrtVersion::new(10, 3, 0));
        let eight = script(
            dir.path(),
            "trtexec8",
            "echo '&&&& RUNNING TensorRT.trtexec [TensorRT v8601] # trtexec --version' >&2",
        );
        assert_eq!(trtexec_version(&eight).unwrap(), TrtVersion::new(8, 6, 1));
    }

    #[test]
    fn trtexec_without_a_version_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let silent = script(dir.path(), "silent", "exit 1");
        let err = trtexec_version(&silent).unwrap_err();
        assert!(matches!(err, TrtDetectError::NoBanner { .. }));
        assert!(err.to_string().contains("TRTEXEC"), "{err}");
        let missing = dir.path().join("missing");
        assert!(matches!(
            trtexec_version(&missing),
            Err(TrtDetectError::Run { .. })
        ));
        // That trtexec is what builds: no quiet fallback to some libnvinfer.
        assert!(matches!(
            detect_trt(None, Some(&silent)),
            Err(TrtDetectError::NoBanner { .. })
        ));
    }

    #[test]
    fn trt_detection_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let fake = script(dir.path(), "trtexec", FAILING_VERSION_QUERY);
        let fact = detect_trt(None, Some(&fake)).unwrap();
        assert_eq!(fact.version, TrtVersion::new(10, 3, 0));
        assert_eq!(fact.source, TrtSource::Trtexec(fake.clone()));
        assert_eq!(
            detect_trt(Some("8.6.1"), Some(&fake)).unwrap(),
            TrtFact {
                version: TrtVersion::new(8, 6, 1),
                source: TrtSource::Env
            }
        );
        assert_eq!(
            detect_trt(Some(""), Some(&fake)).unwrap().source,
            TrtSource::Trtexec(fake)
        );
        assert!(matches!(
            detect_trt(Some("8.6"), None),
            Err(TrtDetectError::BadOverride(_))
        ));
    }

    /// Without trtexec, libnvinfer where TensorRT is installed, else an error with the ways out.
    #[test]
    fn nothing_found_says_how_to_fix_it() {
        match detect_trt(None, None) {
            Ok(fact) => assert!(matches!(fact.source, TrtSource::Libnvinfer(_))),
            Err(err) => {
                let text = err.to_string();
                for hint in [
                    "TRTEXEC",
                    "trt_version",
                    "TRTCTL_TRT_VERSION",
                    "libnvinfer.so.10",
                ] {
                    assert!(text.contains(hint), "{text}");
                }
            }
        }
    }
}
