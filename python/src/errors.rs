//! Library errors as exceptions of the `trtctl.Error` hierarchy (defined in `trtctl/_errors.py`),
//! each carrying the same one-line text the CLI prints.

use pyo3::prelude::*;
use trtctl::exec::ExecError;
use trtctl::lock::{FetchError, LockError, RefitError};
use trtctl::workspace::{DeployError, EnsureError, HandleError, WorkspaceError};

/// An instance of `trtctl.<class>` with `message`.
fn raise(class: &str, message: String) -> PyErr {
    Python::attach(|py| {
        let made = py
            .import("trtctl._errors")
            .and_then(|errors| errors.getattr(class))
            .and_then(|class| class.call1((message,)));
        match made {
            Ok(instance) => PyErr::from_value(instance),
            Err(err) => err,
        }
    })
}

/// The CLI's rendering of an error: the error and its causes, each shown once.
fn text(err: impl std::error::Error + Send + Sync + 'static) -> String {
    trtctl::cli::render(&anyhow::Error::new(err))
}

fn workspace_class(err: &WorkspaceError) -> &'static str {
    match err {
        WorkspaceError::Manifest(_) => "ManifestError",
        WorkspaceError::Store(_) => "CacheError",
        WorkspaceError::Remote { .. } => "RemoteError",
        WorkspaceError::TrtVersion { .. } => "TensorRTError",
        WorkspaceError::OnnxGraph { .. } => "InputError",
        WorkspaceError::Selector(_) | WorkspaceError::Key(_) | WorkspaceError::Lock(_) => {
            "InputError"
        }
    }
}

/// The class of a failed fetch, build or upload, by what failed rather than by the action.
fn action_class(err: &ExecError) -> &'static str {
    match err {
        ExecError::Build(_) | ExecError::NoBuilder => "BuildError",
        ExecError::NoGpu { .. } | ExecError::NotThisHostsArch { .. } => "GpuError",
        ExecError::Remote(_)
        | ExecError::RemoteSidecarGone { .. }
        | ExecError::RemoteChanged { .. }
        | ExecError::RemoteSidecar { .. }
        | ExecError::NoRemote => "RemoteError",
        ExecError::Integrity { .. }
        | ExecError::Plan { .. }
        | ExecError::LocalSidecar { .. }
        | ExecError::Untrusted { .. } => "IntegrityError",
        ExecError::Store(_)
        | ExecError::Io { .. }
        | ExecError::NotCached { .. }
        | ExecError::DiskFull { .. } => "CacheError",
        ExecError::OnnxChanged { .. }
        | ExecError::UntrustedSigner { .. }
        | ExecError::RefitNeedsOnnx { .. } => "InputError",
        ExecError::StrippedPlanMissing { .. } => "CacheError",
        ExecError::Worker(_) => "Error",
    }
}

pub fn from_workspace(err: WorkspaceError) -> PyErr {
    raise(workspace_class(&err), text(err))
}

pub fn from_ensure(err: EnsureError) -> PyErr {
    let class = match &err {
        EnsureError::MissingOnnx { .. }
        | EnsureError::NoModelName { .. }
        | EnsureError::BadName(_)
        | EnsureError::ReservedFamily { .. }
        | EnsureError::BadBatch { .. }
        | EnsureError::BadTimeout { .. }
        | EnsureError::NoShapes => "InputError",
        EnsureError::NoGpu { .. }
        | EnsureError::NoSuchGpu { .. }
        | EnsureError::CannotBuild { .. } => "GpuError",
        EnsureError::TrtVersion(_) => "TensorRTError",
        EnsureError::Workspace(inner) => workspace_class(inner),
        EnsureError::Builder(_) => "BuildError",
        EnsureError::ActionFailed { reason, .. } => action_class(reason),
        EnsureError::Integrity { .. } => "IntegrityError",
        EnsureError::Interrupted => "Error",
        EnsureError::TimedOut { .. } => "TimeoutError",
    };
    raise(class, text(err))
}

/// An engine handle that could not read its engine: other bytes under its path are an
/// integrity problem, a file that cannot be read is the cache's.
pub fn from_handle(err: HandleError) -> PyErr {
    let class = match &err {
        HandleError::Changed { .. } => "IntegrityError",
        HandleError::Unreadable { .. } => "CacheError",
    };
    raise(class, text(err))
}

/// A bad argument value (precision, arch, selector, version), as the CLI would reject it.
pub fn input(err: impl std::error::Error + Send + Sync + 'static) -> PyErr {
    raise("InputError", text(err))
}

pub fn build(err: trtctl::builder::BuildError) -> PyErr {
    raise("BuildError", text(err))
}

/// A manifest or lock that cannot serve a fetch: the lock's problems are input problems (a
/// stale, edited or foreign lock), reading it is the cache's.
pub fn from_deploy(err: DeployError) -> PyErr {
    let class = match &err {
        DeployError::Workspace(inner) => workspace_class(inner),
        DeployError::Lock(LockError::Write(_)) => "CacheError",
        DeployError::Lock(LockError::Tampered { .. }) => "IntegrityError",
        DeployError::Lock(_) => "InputError",
    };
    raise(class, text(err))
}

/// An engine the lock pins that could not be installed.
pub fn from_fetch(err: FetchError) -> PyErr {
    let class = match &err {
        FetchError::SidecarDiffers { .. }
        | FetchError::BytesDiffer { .. }
        | FetchError::Simulated { .. }
        | FetchError::Plan { .. } => "IntegrityError",
        FetchError::Store { .. } => "CacheError",
        FetchError::Refit { source, .. } => match source {
            RefitError::NeedsOnnx { .. } | RefitError::OtherOnnx { .. } => "InputError",
            RefitError::Build(_) => "BuildError",
            RefitError::Store(_) => "CacheError",
        },
        FetchError::NotOnRemote { .. }
        | FetchError::BadSidecar { .. }
        | FetchError::Remote { .. } => "RemoteError",
    };
    raise(class, text(err))
}

/// A bad argument the binding itself refuses (a number out of range), with the fix in `message`.
pub fn bad_input(message: String) -> PyErr {
    raise("InputError", message)
}

pub fn no_gpu(message: &str) -> PyErr {
    raise("GpuError", message.to_string())
}

pub fn manifest(message: String) -> PyErr {
    raise("ManifestError", message)
}
