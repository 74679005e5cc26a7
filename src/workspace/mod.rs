//! A manifest with everything around it resolved (cache dir, remote, GPUs, TensorRT) and the
//! observe → plan → apply pipeline every command starts with; [`ensure_engine`] is the
//! one-call API.

mod assemble;
mod ensure;
mod env;
mod pipeline;

pub use assemble::{Workspace, WorkspaceError};
pub use ensure::{EngineRequest, EnsureError, Source, ensure_engine};
pub use env::Environment;
