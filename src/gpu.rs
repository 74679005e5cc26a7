//! GPU and TensorRT facts: the local GPUs (CUDA driver API through cudarc, loaded at run time
//! so the binary runs where there is no CUDA), and the local TensorRT version.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::identity::{GpuArch, NameError, TrtVersion};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuInfo {
    pub index: u32,
    pub name: String,
    pub arch: GpuArch,
    pub memory_bytes: u64,
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
}

impl GpuInventory {
    /// The GPUs CUDA sees. Without libcuda, or with a driver error, that is a state, not a crash.
    pub fn detect() -> GpuInventory {
        match cuda_gpus() {
            Ok((gpus, cuda)) => GpuInventory {
                gpus,
                cuda_driver_version: Some(cuda),
                driver_version: nvidia_driver_version(),
                source: GpuSource::Cuda,
            },
            Err(reason) => GpuInventory {
                gpus: Vec::new(),
                cuda_driver_version: None,
                driver_version: nvidia_driver_version(),
                source: GpuSource::Unavailable { reason },
            },
        }
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
                })
                .collect(),
            cuda_driver_version: None,
            driver_version: None,
            source: GpuSource::Override,
        }
    }

    /// Distinct archs, sorted.
    pub fn archs(&self) -> Vec<GpuArch> {
        let mut archs: Vec<GpuArch> = self.gpus.iter().map(|g| g.arch).collect();
        archs.sort();
        archs.dedup();
        archs
    }

    pub fn gpus_of(&self, arch: GpuArch) -> Vec<&GpuInfo> {
        self.gpus.iter().filter(|g| g.arch == arch).collect()
    }
}

fn cuda_gpus() -> Result<(Vec<GpuInfo>, String), String> {
    use cudarc::driver::{result, sys};
    // Every cudarc driver call panics when libcuda cannot be loaded: ask first.
    // SAFETY: only tries to dlopen the library.
    if !unsafe { sys::is_culib_present() } {
        return Err("no CUDA driver (libcuda) on this machine".into());
    }
    result::init().map_err(|e| format!("CUDA driver failed to initialize: {e}"))?;
    let mut version = 0;
    // SAFETY: writes one int.
    unsafe { sys::cuDriverGetVersion(&mut version) }
        .result()
        .map_err(|e| format!("CUDA driver version: {e}"))?;
    let count = result::device::get_count().map_err(|e| format!("CUDA device count: {e}"))?;
    let gpus = (0..count)
        .map(|ordinal| {
            let dev =
                result::device::get(ordinal).map_err(|e| format!("CUDA device {ordinal}: {e}"))?;
            let attribute = |attr| {
                // SAFETY: `dev` came from cuDeviceGet.
                unsafe { result::device::get_attribute(dev, attr) }
                    .map_err(|e| format!("CUDA device {ordinal}: {e}"))
            };
            let major =
                attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
            let minor =
                attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
            // SAFETY: `dev` came from cuDeviceGet.
            let memory = unsafe { result::device::total_mem(dev) }
                .map_err(|e| format!("CUDA device {ordinal}: {e}"))?;
            Ok(GpuInfo {
                index: ordinal as u32,
                name: result::device::get_name(dev)
                    .map_err(|e| format!("CUDA device {ordinal}: {e}"))?,
                arch: GpuArch::new(major as u32, minor as u32),
                memory_bytes: memory as u64,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((gpus, format!("{}.{}", version / 1000, version % 1000 / 10)))
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
        .map(str::parse)
        .collect()
}

const ARCH_NAMES: &[(u32, u32, &str)] = &[
    (6, 1, "GTX 1080 Ti"),
    (7, 0, "V100"),
    (7, 2, "Jetson Xavier"),
    (7, 5, "RTX 2080 Ti, T4"),
    (8, 0, "A100, A30"),
    (8, 6, "RTX 3090/3080, A10, A40"),
    (8, 7, "Jetson Orin"),
    (8, 9, "RTX 4090/4080, L4, L40"),
    (9, 0, "H100, H200, GH200"),
    (10, 0, "B200, GB200"),
    (12, 0, "RTX 5090/5080"),
];

/// The GPUs of an arch, for messages: "needs an sm_89 (RTX 4090/4080, L4, L40) builder".
pub fn gpu_names(arch: GpuArch) -> Option<&'static str> {
    ARCH_NAMES
        .iter()
        .find(|(major, minor, _)| GpuArch::new(*major, *minor) == arch)
        .map(|(_, _, names)| *names)
}

pub fn describe_arch(arch: GpuArch) -> String {
    match gpu_names(arch) {
        Some(names) => format!("{arch} ({names})"),
        None => arch.to_string(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "from")]
pub enum TrtSource {
    /// `trt_version` in the manifest.
    Pinned,
    /// `TRTCTL_TRT_VERSION`.
    Env,
    Trtexec(PathBuf),
    Libnvinfer(String),
}

impl std::fmt::Display for TrtSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrtSource::Pinned => f.write_str("pinned by trt_version in the manifest"),
            TrtSource::Env => f.write_str("from TRTCTL_TRT_VERSION"),
            TrtSource::Trtexec(path) => write!(f, "from the banner of {}", path.display()),
            TrtSource::Libnvinfer(library) => write!(f, "from {library}"),
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
    #[error("cannot run {}: {source}", path.display())]
    Run {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} printed no `&&&& RUNNING TensorRT.trtexec [TensorRT vNNNN]` banner with a version (TensorRT 7 or older?)", path.display())]
    NoBanner { path: PathBuf },
    #[error(
        "no TensorRT found (no trtexec on TRTEXEC, PATH or /usr/src/tensorrt/bin, no libnvinfer): install TensorRT, set TRTEXEC, or pin `trt_version` / set TRTCTL_TRT_VERSION"
    )]
    NotFound,
}

/// The version from trtexec's output: the banner `[TensorRT v100300]`, else the log line
/// `[I] TensorRT version: 10.3.0`.
pub fn parse_trtexec_banner(output: &str) -> Option<TrtVersion> {
    let from_banner = output.lines().find_map(|line| {
        let rest = line.strip_prefix("&&&& ")?;
        let code = rest.split("[TensorRT v").nth(1)?.split(']').next()?;
        TrtVersion::from_encoded(code.parse().ok()?)
    });
    from_banner.or_else(|| {
        output.lines().find_map(|line| {
            let version = line.split("] TensorRT version: ").nth(1)?;
            version.trim().parse().ok()
        })
    })
}

const DEFAULT_TRTEXEC: &str = "/usr/src/tensorrt/bin/trtexec";

/// trtexec: the configured path, `TRTEXEC`, each dir of `PATH`, then NVIDIA's default place.
pub fn find_trtexec(configured: Option<&Path>) -> Option<PathBuf> {
    find_trtexec_in(
        configured,
        std::env::var_os("TRTEXEC"),
        std::env::var_os("PATH"),
    )
}

fn find_trtexec_in(
    configured: Option<&Path>,
    trtexec_env: Option<OsString>,
    path_env: Option<OsString>,
) -> Option<PathBuf> {
    let from_path = path_env
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("trtexec"))
        .collect::<Vec<_>>();
    configured
        .map(Path::to_path_buf)
        .into_iter()
        .chain(trtexec_env.filter(|v| !v.is_empty()).map(PathBuf::from))
        .chain(from_path)
        .chain(std::iter::once(PathBuf::from(DEFAULT_TRTEXEC)))
        .find(|p| is_executable(p))
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

/// `getInferLibVersion()` from libnvinfer, when TensorRT's library is installed.
pub fn libnvinfer_version() -> Option<(TrtVersion, String)> {
    ["libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so"]
        .iter()
        .find_map(|name| {
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
    if let Some(text) = env_override {
        let version = text.parse().map_err(TrtDetectError::BadOverride)?;
        return Ok(TrtFact {
            version,
            source: TrtSource::Env,
        });
    }
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
        let failed = "&&&& FAILED TensorRT.trtexec [TensorRT v101602] # trtexec --version";
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
    fn arch_names_for_messages() {
        assert_eq!(
            gpu_names(GpuArch::new(8, 9)),
            Some("RTX 4090/4080, L4, L40")
        );
        assert_eq!(
            describe_arch(GpuArch::new(9, 0)),
            "sm_90 (H100, H200, GH200)"
        );
        assert_eq!(describe_arch(GpuArch::new(5, 3)), "sm_53");
    }

    #[test]
    fn arch_lists_from_the_environment() {
        assert_eq!(
            parse_arch_list("sm_86, sm_89 sm_86").unwrap(),
            vec![GpuArch::new(8, 6), GpuArch::new(8, 9), GpuArch::new(8, 6)]
        );
        assert!(parse_arch_list("sm_86,sm86").is_err());
    }

    #[test]
    fn simulated_gpus_repeat_archs() {
        let inv =
            GpuInventory::simulated(&[GpuArch::new(8, 6), GpuArch::new(8, 6), GpuArch::new(8, 9)]);
        assert_eq!(
            inv.gpus.iter().map(|g| g.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(inv.archs(), vec![GpuArch::new(8, 6), GpuArch::new(8, 9)]);
        assert_eq!(inv.gpus_of(GpuArch::new(8, 6)).len(), 2);
    }

    #[test]
    fn no_cuda_is_a_state_not_a_panic() {
        let inv = GpuInventory::detect();
        if let GpuSource::Unavailable { reason } = &inv.source {
            assert!(inv.gpus.is_empty());
            assert!(!reason.is_empty());
        }
    }

    #[test]
    fn nvidia_driver_version_from_proc() {
        let text = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 07:09:10 UTC 2025\nGCC version:  gcc version 13.3.0\n";
        assert_eq!(parse_nvrm_version(text), Some("580.65.06".into()));
        assert_eq!(parse_nvrm_version("garbage"), None);
    }

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
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
            find_trtexec_in(Some(&configured), None, path_env.clone()),
            Some(configured.clone())
        );
        assert_eq!(
            find_trtexec_in(
                None,
                Some(configured.clone().into_os_string()),
                path_env.clone()
            ),
            Some(configured)
        );
        assert_eq!(find_trtexec_in(None, None, path_env), Some(in_path));
        let not_executable = dir.path().join("plain");
        std::fs::write(&not_executable, "").unwrap();
        assert_ne!(
            find_trtexec_in(Some(&not_executable), None, None),
            Some(not_executable)
        );
    }

    #[test]
    fn the_version_is_read_even_when_trtexec_fails() {
        let dir = tempfile::tempdir().unwrap();
        let fake = script(
            dir.path(),
            "trtexec",
            "echo '&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec --version'\necho '[E] Model missing or format not recognized'\necho '&&&& FAILED TensorRT.trtexec [TensorRT v100300] # trtexec --version'\nexit 1",
        );
        assert_eq!(trtexec_version(&fake).unwrap(), TrtVersion::new(10, 3, 0));
        let silent = script(dir.path(), "silent", "exit 1");
        assert!(matches!(
            trtexec_version(&silent),
            Err(TrtDetectError::NoBanner { .. })
        ));
        let fact = detect_trt(None, Some(&fake)).unwrap();
        assert_eq!(fact.source, TrtSource::Trtexec(fake));
        assert_eq!(
            detect_trt(Some("8.6.1"), None).unwrap().source,
            TrtSource::Env
        );
        assert!(detect_trt(Some("8.6"), None).is_err());
    }
}
