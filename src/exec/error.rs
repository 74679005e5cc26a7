//! Why an action failed, typed so retries and exit codes decide on kinds, never on text.

use std::path::PathBuf;

use crate::builder::BuildError;
use crate::identity::{EngineKey, GpuArch, PlanMismatch, SidecarError};
use crate::store::StoreError;
use crate::store::remote::{RemoteError, Transient};
use crate::trust::{Untrusted, UntrustedSigner};

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{key}: downloaded bytes do not match the sidecar (sha256 {got_sha256}, {got_size} bytes; sidecar says {want_sha256}, {want_size} bytes); nothing was cached"
    )]
    Integrity {
        key: EngineKey,
        got_sha256: String,
        got_size: u64,
        want_sha256: String,
        want_size: u64,
    },
    #[error(
        "{key}: {source}; nothing was committed (another trtexec or TensorRT than the one named built it, or the bytes are no plan: check TRTEXEC and PATH, or rebuild it with the named TensorRT)"
    )]
    Plan {
        key: EngineKey,
        source: PlanMismatch,
    },
    #[error("{} changed since the plan was made; run `trtctl plan` again", path.display())]
    OnnxChanged { path: PathBuf },
    #[error("{key}: the remote sidecar disappeared since the plan was made")]
    RemoteSidecarGone { key: EngineKey },
    #[error("{key}: the remote engine changed since the plan was made")]
    RemoteChanged { key: EngineKey },
    #[error("{key}: remote {source}")]
    RemoteSidecar {
        key: EngineKey,
        source: SidecarError,
    },
    #[error("{key}: local {source}")]
    LocalSidecar {
        key: EngineKey,
        source: SidecarError,
    },
    #[error("{key}: not in the local cache")]
    NotCached { key: EngineKey },
    #[error("no builder available")]
    NoBuilder,
    #[error("no local GPU of {arch}")]
    NoGpu { arch: GpuArch },
    #[error(
        "refusing to build {key}: this host's GPUs are {host_gpus}, none of them {arch}, and an engine built on one of them would not run on {arch} (`--gpu-arch` / TRTCTL_GPU_ARCH plan as if, they never build as if); build it on a builder with an {arch} GPU, or leave it out with `--target`"
    )]
    NotThisHostsArch {
        key: EngineKey,
        arch: GpuArch,
        host_gpus: String,
    },
    #[error("no remote configured")]
    NoRemote,
    #[error(
        "no space left on the disk holding {}: free space there and run apply again",
        dir.display()
    )]
    DiskFull { dir: PathBuf },
    #[error(
        "{key}: refusing the remote engine: {why}; nothing was cached (see docs/trust.md: sign it with `trtctl sign` if it is good, or delete it from the remote and let a trusted builder publish it)"
    )]
    Untrusted { key: EngineKey, why: Untrusted },
    #[error("{key}: not uploaded: {source}")]
    UntrustedSigner {
        key: EngineKey,
        source: UntrustedSigner,
    },
    #[error(
        "{key}: its weights are stripped, and refitting them needs the model's ONNX at {}, which is not there; put the ONNX there (the manifest's `onnx` path), or set `weights = \"embedded\"` and have a builder publish full engines",
        onnx.display()
    )]
    RefitNeedsOnnx { key: EngineKey, onnx: PathBuf },
    #[error(
        "{key}: the stripped plan {} is missing or not the one its sidecar records; run `trtctl apply --force-rebuild` for it, or delete the engine from the cache and apply again",
        path.display()
    )]
    StrippedPlanMissing { key: EngineKey, path: PathBuf },
    #[error("a worker thread failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

impl Transient for ExecError {
    /// Only the remote's failures on the way pass; everything local is final.
    fn is_transient(&self) -> bool {
        matches!(self, ExecError::Remote(e) if e.is_transient())
    }
}

impl ExecError {
    /// The I/O error of an operation on `path`, for `map_err`.
    pub(super) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ExecError + '_ {
        move |source| ExecError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// This error, or — when a write failed for want of space anywhere in its causes — a
    /// [`ExecError::DiskFull`] that names `dir`, the directory being written.
    pub fn or_disk_full(self, dir: &std::path::Path) -> ExecError {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&self);
        while let Some(error) = cause {
            let io = error.downcast_ref::<std::io::Error>();
            if io.is_some_and(|e| e.raw_os_error() == Some(libc::ENOSPC)) {
                return ExecError::DiskFull {
                    dir: dir.to_path_buf(),
                };
            }
            cause = error.source();
        }
        self
    }
}
