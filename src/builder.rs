//! Builder backends: NVIDIA's `trtexec` ([`Trtexec`]) and the `tensorrt` Python API
//! ([`PythonBuilder`]). Both run one child process per build (an argv, never a shell) with its
//! log in a file, and treat anything but a PASSED run that left a non-empty engine as a failure;
//! what they cannot build is refused by [`Builder::check`] before any build starts.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::gpu::{self, TrtFact, TrtSource};
use crate::identity::{BuildInputs, Profile, TrtVersion};
use crate::onnx;

mod python;
mod refit;
mod support;
mod trtexec;

pub use python::{BUILD_SCRIPT, PythonBuilder};
pub use refit::RefitJob;
pub use trtexec::Trtexec;

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
    #[error("`[builder] {key}` = {} is not an executable file: fix the path in the manifest", path.display())]
    NotExecutable { key: &'static str, path: PathBuf },
    #[error(
        "no builder here: no trtexec (tried `[builder] trtexec`, TRTEXEC, PATH) and no Python that can build ({python}); install TensorRT's trtexec, or `pip install tensorrt` into the Python trtctl runs with (`[builder] python`, TRTCTL_PYTHON)"
    )]
    NoBuilder { python: String },
    #[error(
        "local TensorRT {local} ({builder}) differs from {}",
        mismatch_fix(wanted)
    )]
    VersionMismatch {
        local: TrtVersion,
        /// The version the engines are for, and where that came from.
        wanted: TrtFact,
        builder: String,
    },
    #[error("{engine}: {builder} cannot build it: {what}; {fix}")]
    Unsupported {
        engine: String,
        builder: String,
        what: String,
        fix: String,
    },
    #[error("input `{input}`: `{dims}` is not a shape like 1x3x112x112")]
    BadShape { input: String, dims: String },
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
        TrtSource::Trtexec(_) | TrtSource::Libnvinfer(_) | TrtSource::Python(_) => format!(
            "TensorRT {version}, found {} when this process first looked: TensorRT changed under the running process; restart it",
            wanted.source
        ),
    }
}

pub trait Builder: Send + Sync {
    /// What is building, for sidecars and messages: e.g. `trtexec 10.3.0 (/usr/bin/trtexec)`.
    fn describe(&self) -> String;
    /// Refuses, before any build starts, an engine whose inputs this builder cannot honour (a
    /// flag its TensorRT version lacks). `engine` names it in the message.
    fn check(&self, engine: &str, inputs: &BuildInputs) -> Result<(), BuildError> {
        let _ = (engine, inputs);
        Ok(())
    }
    fn build<'a>(&'a self, job: &'a BuildJob) -> BoxFuture<'a, Result<Built, BuildError>>;
    /// Refits a weight-stripped plan with the weights of an ONNX of its graph. Refused by
    /// builders that cannot ([`Builder::check`] refuses their stripped builds first).
    fn refit<'a>(&'a self, job: &'a RefitJob) -> BoxFuture<'a, Result<Built, BuildError>> {
        Box::pin(async move {
            Err(BuildError::Unsupported {
                engine: job.engine.clone(),
                builder: self.describe(),
                what: "it cannot refit a weight-stripped plan".into(),
                fix: "build with `[builder] backend = \"trtexec\"` (TensorRT 10.14 or newer)"
                    .into(),
            })
        })
    }
}

/// The optimization profile of a job, per input its dims at min, opt and max: empty for static
/// shapes; a batch range reads the ONNX, to learn its inputs.
fn profile_ranges(job: &BuildJob) -> Result<Vec<(String, [String; 3])>, BuildError> {
    let onnx_error = |source| BuildError::Onnx {
        path: job.onnx.clone(),
        source,
    };
    match &job.inputs.profile {
        Profile::Static => Ok(Vec::new()),
        Profile::Batch { min, opt, max } => {
            let found = onnx::read_inputs(&job.onnx).map_err(onnx_error)?;
            onnx::batch_ranges(&found, *min, *opt, *max).map_err(onnx_error)
        }
        Profile::Shapes { inputs } => Ok((inputs.iter())
            .map(|(name, r)| (name.clone(), [&r.min, &r.opt, &r.max].map(String::clone)))
            .collect()),
    }
}

/// Runs one build: `command`'s stdout and stderr go to the job's log, a cancelled build (apply
/// interrupted, timed out) kills it, and its verdict is read from its exit status, its log and
/// the engine it left. `label` names the builder in messages.
async fn run_logged(
    command: tokio::process::Command,
    job: &BuildJob,
    label: &str,
    describe: String,
) -> Result<Built, BuildError> {
    run_logged_to(command, &job.output, &job.log, label, describe).await
}

/// [`run_logged`] of a run that writes `output`, logging to `log_path`.
async fn run_logged_to(
    mut command: tokio::process::Command,
    output: &Path,
    log_path: &Path,
    label: &str,
    describe: String,
) -> Result<Built, BuildError> {
    let started = Instant::now();
    let log = create_log(log_path)?;
    let program = PathBuf::from(command.as_std().get_program());
    let status = command
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io_error(log_path))?)
        .stderr(log)
        // A cancelled apply must not leave a build running on the GPU.
        .kill_on_drop(true)
        .status()
        .await
        .map_err(|source| BuildError::Spawn { program, source })?;
    let text = std::fs::read_to_string(log_path).unwrap_or_default();
    let passed = status.success() && text.lines().any(|l| l.starts_with("&&&& PASSED"));
    let written = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
    let reason = if let Some(dir) = full_disk(&[output, log_path]).filter(|_| !passed) {
        Some(format!(
            "no space left on the disk holding {}: the engine or its log could not be written; free space there and run apply again",
            dir.display()
        ))
    } else if !passed {
        Some(failure_reason(label, &text, status))
    } else if written == 0 {
        Some(format!(
            "{label} said PASSED but wrote no engine (empty or missing output file)"
        ))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(BuildError::Failed {
            reason,
            log: log_path.to_path_buf(),
            tail: tail(&text, LOG_TAIL_LINES),
        }),
        None => Ok(Built {
            duration: started.elapsed(),
            builder: describe,
        }),
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
/// build failed for want of it: the builder's own message (if it could still write one) rarely says.
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

/// The most telling line: the first error (`[E]`, or `[F]` for TensorRT's internal errors; later
/// ones are consequences), else the FAILED line, else the exit status or the signal.
fn failure_reason(label: &str, log: &str, status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    let first_error = log
        .lines()
        .find(|l| l.contains("] [E] ") || l.contains("] [F] "))
        .map(str::trim);
    let failed = log
        .lines()
        .rev()
        .find(|l| l.starts_with("&&&& FAILED"))
        .map(str::trim);
    let what = first_error.or(failed).map(str::to_string);
    match (what, status.code(), status.signal()) {
        (Some(line), _, _) => format!("{label} failed: {line}"),
        (None, Some(code), _) => format!("{label} exited with status {code} without a PASSED line"),
        (None, None, Some(signal)) => format!("{label} was killed by signal {signal}"),
        (None, None, None) => format!("{label} was killed by a signal"),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{BuildFlags, GpuArch, Precision};

    /// A job for the tiny model, as the executor would make it.
    pub(super) fn job(profile: Profile, flags: BuildFlags, precision: Precision) -> BuildJob {
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

    #[test]
    fn failure_reasons_prefer_the_error_line() {
        use std::os::unix::process::ExitStatusExt;
        let status = std::process::ExitStatus::from_raw(1 << 8);
        let log = "&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec\n[11/24/2026-02:50:01] [E] Error[4]: bad node\n[11/24/2026-02:50:01] [E] Building engine failed\n&&&& FAILED TensorRT.trtexec [TensorRT v100300] # trtexec\n";
        assert_eq!(
            failure_reason("trtexec", log, status),
            "trtexec failed: [11/24/2026-02:50:01] [E] Error[4]: bad node"
        );
        assert_eq!(
            failure_reason("trtexec", "garbage", status),
            "trtexec exited with status 1 without a PASSED line"
        );
        let internal = "[11/24/2026-02:50:01] [F] Assertion failed\n";
        assert_eq!(
            failure_reason("python", internal, status),
            "python failed: [11/24/2026-02:50:01] [F] Assertion failed"
        );
        let segfault = std::process::ExitStatus::from_raw(11);
        assert_eq!(
            failure_reason("python", "Fatal Python error: Segmentation fault", segfault),
            "python was killed by signal 11"
        );
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
    }
}
