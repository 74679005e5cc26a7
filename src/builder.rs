//! Builder backends. The default runs NVIDIA's `trtexec` with an argv (never a shell), its log
//! in a file, and treats anything but a PASSED run that left a non-empty engine as a failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::gpu::{self, TrtFact, TrtSource};
use crate::identity::{BuildInputs, Precision, Profile, TrtVersion};
use crate::onnx;

/// Lines of the log shown when a build fails.
const LOG_TAIL_LINES: usize = 15;

/// One engine to build, with where everything goes.
#[derive(Debug, Clone)]
pub struct BuildJob {
    pub onnx: PathBuf,
    pub inputs: BuildInputs,
    /// The temp file the engine is written to; committed by the caller.
    pub output: PathBuf,
    pub log: PathBuf,
    pub timing_cache: Option<PathBuf>,
    /// Index of the GPU that builds it.
    pub device: u32,
}

#[derive(Debug, Clone)]
pub struct Built {
    pub duration: Duration,
    /// The builder and its version, recorded in the sidecar.
    pub builder: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "trtexec not found: install TensorRT, put trtexec on PATH, or set TRTEXEC or `[builder] trtexec`"
    )]
    NotFound,
    #[error("`[builder] trtexec` = {} is not an executable file: fix the path in the manifest", .0.display())]
    NotExecutable(PathBuf),
    #[error(
        "local TensorRT {local} ({trtexec}) differs from {}",
        mismatch_fix(wanted)
    )]
    VersionMismatch {
        local: TrtVersion,
        /// The version the engines are for, and where that came from.
        wanted: TrtFact,
        trtexec: String,
    },
    #[error("cannot read the ONNX inputs of {}: {source}", path.display())]
    Onnx {
        path: PathBuf,
        source: onnx::OnnxError,
    },
    #[error("cannot run {}: {source}", program.display())]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{reason}\n--- last lines of {} ---\n{tail}", log.display())]
    Failed {
        reason: String,
        log: PathBuf,
        tail: String,
    },
    #[error(transparent)]
    Version(#[from] gpu::TrtDetectError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The version wanted, where it came from, and the fix for a trtexec of another version.
fn mismatch_fix(wanted: &TrtFact) -> String {
    let version = wanted.version;
    match &wanted.source {
        TrtSource::Pinned => {
            format!("trt_version = {version} in the manifest: install {version}, or change the pin")
        }
        TrtSource::Env => format!(
            "TRTCTL_TRT_VERSION = {version}: install {version}, or change TRTCTL_TRT_VERSION"
        ),
        TrtSource::Asked => format!(
            "trt_version = {version} as asked: install {version}, or ask for the local TensorRT's version"
        ),
        TrtSource::Trtexec(_) | TrtSource::Libnvinfer(_) => format!(
            "TensorRT {version}, found {} when this process first looked: TensorRT changed under the running process; restart it",
            wanted.source
        ),
    }
}

pub trait Builder: Send + Sync {
    /// What is building, for sidecars and messages: e.g. `trtexec 10.3.0 (/usr/bin/trtexec)`.
    fn describe(&self) -> String;
    fn build<'a>(&'a self, job: &'a BuildJob) -> BoxFuture<'a, Result<Built, BuildError>>;
}

/// NVIDIA's trtexec, found and version-checked once.
#[derive(Debug, Clone)]
pub struct Trtexec {
    path: PathBuf,
    version: TrtVersion,
}

impl Trtexec {
    /// Finds trtexec and checks that it is the TensorRT the engines are for.
    pub fn locate(configured: Option<&Path>, wanted: &TrtFact) -> Result<Trtexec, BuildError> {
        // A configured trtexec that is not there is a mistake to report, not a reason to use another.
        if let Some(path) = configured.filter(|p| !gpu::is_executable(p)) {
            return Err(BuildError::NotExecutable(path.to_path_buf()));
        }
        let path = gpu::find_trtexec(configured).ok_or(BuildError::NotFound)?;
        let version = gpu::trtexec_version(&path)?;
        if version != wanted.version {
            return Err(BuildError::VersionMismatch {
                local: version,
                wanted: wanted.clone(),
                trtexec: path.display().to_string(),
            });
        }
        Ok(Trtexec { path, version })
    }

    /// The argv for one build; the ONNX is read only for a batch range, to learn its inputs.
    pub fn args(&self, job: &BuildJob) -> Result<Vec<String>, BuildError> {
        let inputs = &job.inputs;
        let mut args = vec![
            format!("--onnx={}", job.onnx.display()),
            format!("--saveEngine={}", job.output.display()),
        ];
        if inputs.flags.strongly_typed {
            args.push("--stronglyTyped".into());
        } else if let Some(flag) = precision_flag(inputs.precision) {
            args.push(flag.into());
        }
        if let Some((min, opt, max)) = self.shapes(job)? {
            args.push(format!("--minShapes={min}"));
            args.push(format!("--optShapes={opt}"));
            args.push(format!("--maxShapes={max}"));
        }
        let modern = self.version >= TrtVersion::new(8, 6, 0);
        if let Some(mib) = inputs.flags.workspace_mib {
            args.push(if self.version >= TrtVersion::new(8, 4, 0) {
                format!("--memPoolSize=workspace:{mib}M")
            } else {
                format!("--workspace={mib}")
            });
        }
        if let Some(cache) = &job.timing_cache {
            args.push(format!("--timingCacheFile={}", cache.display()));
        }
        if let Some(level) = inputs.flags.optimization_level {
            args.push(format!("--builderOptimizationLevel={level}"));
        }
        if let Some(level) = &inputs.flags.hardware_compatibility {
            args.push(format!("--hardwareCompatibilityLevel={level}"));
        }
        if inputs.flags.version_compatible {
            args.push("--versionCompatible".into());
        }
        args.extend(inputs.flags.extra_args.iter().cloned());
        args.push(
            if modern {
                "--skipInference"
            } else {
                "--buildOnly"
            }
            .into(),
        );
        args.push(format!("--device={}", job.device));
        Ok(args)
    }

    fn shapes(&self, job: &BuildJob) -> Result<Option<(String, String, String)>, BuildError> {
        let onnx_error = |source| BuildError::Onnx {
            path: job.onnx.clone(),
            source,
        };
        match &job.inputs.profile {
            Profile::Static => Ok(None),
            Profile::Batch { min, opt, max } => {
                let found = onnx::read_inputs(&job.onnx).map_err(onnx_error)?;
                let shapes = onnx::batch_shapes(&found, *min, *opt, *max).map_err(onnx_error)?;
                Ok(Some(shapes).filter(|(min, _, _)| !min.is_empty()))
            }
            Profile::Shapes { inputs } => {
                let join = |pick: fn(&crate::identity::ShapeRange) -> &String| {
                    inputs
                        .iter()
                        .map(|(name, range)| format!("{name}:{}", pick(range)))
                        .collect::<Vec<_>>()
                        .join(",")
                };
                Ok(Some((join(|r| &r.min), join(|r| &r.opt), join(|r| &r.max))))
            }
        }
    }

    async fn run(&self, job: &BuildJob) -> Result<Built, BuildError> {
        let args = self.args(job)?;
        let started = Instant::now();
        let log = create_log(&job.log)?;
        let status = tokio::process::Command::new(&self.path)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_error(&job.log))?)
            .stderr(log)
            // A cancelled apply must not leave a build running on the GPU.
            .kill_on_drop(true)
            .status()
            .await
            .map_err(|source| BuildError::Spawn {
                program: self.path.clone(),
                source,
            })?;
        let text = std::fs::read_to_string(&job.log).unwrap_or_default();
        let passed = status.success() && text.lines().any(|l| l.starts_with("&&&& PASSED"));
        let written = std::fs::metadata(&job.output).map(|m| m.len()).unwrap_or(0);
        let reason = if let Some(dir) = full_disk(&[&job.output, &job.log]).filter(|_| !passed) {
            Some(format!(
                "no space left on the disk holding {}: the engine or its log could not be written; free space there and run apply again",
                dir.display()
            ))
        } else if !passed {
            Some(failure_reason(&text, status))
        } else if written == 0 {
            Some(
                "trtexec said PASSED but wrote no engine (empty or missing --saveEngine file)"
                    .to_string(),
            )
        } else {
            None
        };
        match reason {
            Some(reason) => Err(BuildError::Failed {
                reason,
                log: job.log.clone(),
                tail: tail(&text, LOG_TAIL_LINES),
            }),
            None => Ok(Built {
                duration: started.elapsed(),
                builder: self.describe(),
            }),
        }
    }
}

impl Builder for Trtexec {
    fn describe(&self) -> String {
        format!("trtexec {} ({})", self.version, self.path.display())
    }

    fn build<'a>(&'a self, job: &'a BuildJob) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(self.run(job))
    }
}

fn precision_flag(precision: Precision) -> Option<&'static str> {
    match precision {
        Precision::Fp32 => None,
        Precision::Fp16 => Some("--fp16"),
        Precision::Bf16 => Some("--bf16"),
        Precision::Int8 => Some("--int8"),
        Precision::Fp8 => Some("--fp8"),
        Precision::Best => Some("--best"),
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create_log(path: &Path) -> Result<std::fs::File, BuildError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    std::fs::File::create(path).map_err(io_error(path))
}

/// Less free space than this where the engine or its log goes, after a failed build, means the
/// build failed for want of it: trtexec's own message (if it could still write one) rarely says.
const FULL_DISK_BYTES: u64 = 1 << 20;

/// The directory, of the engine's and the log's, whose file system is (nearly) full.
fn full_disk(paths: &[&Path]) -> Option<PathBuf> {
    paths.iter().filter_map(|p| p.parent()).find_map(|dir| {
        let text = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
        let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: a NUL-terminated path and a statvfs buffer the call fills on success.
        let ok = unsafe { libc::statvfs(text.as_ptr(), stats.as_mut_ptr()) } == 0;
        // SAFETY: statvfs returned 0, so it filled the buffer.
        let stats = ok.then(|| unsafe { stats.assume_init() })?;
        let free = stats.f_bavail.saturating_mul(stats.f_frsize);
        (free < FULL_DISK_BYTES).then(|| dir.to_path_buf())
    })
}

/// The most telling line: trtexec's first error (later ones are consequences), else its
/// FAILED line, else the exit status.
fn failure_reason(log: &str, status: std::process::ExitStatus) -> String {
    let first_error = log.lines().find(|l| l.contains("] [E] ")).map(str::trim);
    let failed = log
        .lines()
        .rev()
        .find(|l| l.starts_with("&&&& FAILED"))
        .map(str::trim);
    let what = first_error.or(failed).map(str::to_string);
    match (what, status.code()) {
        (Some(line), _) => format!("trtexec failed: {line}"),
        (None, Some(code)) => format!("trtexec exited with status {code} without a PASSED line"),
        (None, None) => "trtexec was killed by a signal".to_string(),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{BuildFlags, GpuArch, ShapeRange};

    fn job(profile: Profile, flags: BuildFlags, precision: Precision) -> BuildJob {
        BuildJob {
            onnx: PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/models/arcface_r100.onnx"
            )),
            inputs: BuildInputs {
                onnx_sha256: String::new(),
                precision,
                gpu_arch: GpuArch::new(8, 6),
                trt_version: TrtVersion::new(10, 3, 0),
                profile,
                flags,
            },
            output: PathBuf::from("/c/arc/.tmp-x"),
            log: PathBuf::from("/c/logs/x.log"),
            timing_cache: Some(PathBuf::from("/c/timing/sm_86_10.3.0.cache")),
            device: 1,
        }
    }

    fn trtexec(version: TrtVersion) -> Trtexec {
        Trtexec {
            path: PathBuf::from("/usr/bin/trtexec"),
            version,
        }
    }

    #[test]
    fn argv_for_a_batch_range_reads_the_onnx_inputs() {
        let flags = BuildFlags {
            workspace_mib: Some(4096),
            optimization_level: Some(3),
            ..BuildFlags::default()
        };
        let args = trtexec(TrtVersion::new(10, 3, 0))
            .args(&job(
                Profile::Batch {
                    min: 1,
                    opt: 32,
                    max: 64,
                },
                flags,
                Precision::Fp16,
            ))
            .unwrap();
        let shown = args.join(" ");
        assert!(shown.contains("--fp16 --minShapes=input:1x3x112x112 --optShapes=input:32x3x112x112 --maxShapes=input:64x3x112x112"), "{shown}");
        assert!(shown.contains("--memPoolSize=workspace:4096M"), "{shown}");
        assert!(
            shown.contains("--timingCacheFile=/c/timing/sm_86_10.3.0.cache"),
            "{shown}"
        );
        assert!(shown.contains("--builderOptimizationLevel=3"), "{shown}");
        assert!(shown.ends_with("--skipInference --device=1"), "{shown}");
    }

    #[test]
    fn argv_follows_older_tensorrt() {
        let flags = BuildFlags {
            workspace_mib: Some(1024),
            ..BuildFlags::default()
        };
        let args = trtexec(TrtVersion::new(8, 2, 1))
            .args(&job(Profile::Static, flags, Precision::Fp32))
            .unwrap();
        assert!(args.contains(&"--workspace=1024".to_string()), "{args:?}");
        assert!(args.contains(&"--buildOnly".to_string()), "{args:?}");
        assert!(
            !args
                .iter()
                .any(|a| a.starts_with("--fp") || a.contains("Shapes")),
            "{args:?}"
        );
    }

    #[test]
    fn explicit_shapes_and_strong_typing() {
        let inputs = [(
            "images".to_string(),
            ShapeRange {
                min: "1x3x640x640".into(),
                opt: "4x3x640x640".into(),
                max: "8x3x640x640".into(),
            },
        )]
        .into_iter()
        .collect();
        let flags = BuildFlags {
            strongly_typed: true,
            ..BuildFlags::default()
        };
        let args = trtexec(TrtVersion::new(10, 3, 0))
            .args(&job(Profile::Shapes { inputs }, flags, Precision::Fp16))
            .unwrap();
        assert!(args.contains(&"--stronglyTyped".to_string()));
        assert!(!args.contains(&"--fp16".to_string()));
        assert!(args.contains(&"--maxShapes=images:8x3x640x640".to_string()));
    }

    #[test]
    fn failure_reasons_prefer_the_error_line() {
        use std::os::unix::process::ExitStatusExt;
        let status = std::process::ExitStatus::from_raw(1 << 8);
        let log = "&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec\n[11/24/2026-02:50:01] [E] Error[4]: bad node\n[11/24/2026-02:50:01] [E] Building engine failed\n&&&& FAILED TensorRT.trtexec [TensorRT v100300] # trtexec\n";
        assert_eq!(
            failure_reason(log, status),
            "trtexec failed: [11/24/2026-02:50:01] [E] Error[4]: bad node"
        );
        assert_eq!(
            failure_reason("garbage", status),
            "trtexec exited with status 1 without a PASSED line"
        );
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
    }
}
