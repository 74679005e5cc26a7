//! A manifest with everything around it resolved (cache dir, remote, GPUs, TensorRT) and the
//! observe → plan → apply pipeline every command starts with; [`ensure_engine`] is the
//! one-call API.

mod assemble;
mod backend;
mod compatible;
mod deploy;
mod ensure;
mod env;
mod freeing;
mod handle;
mod pipeline;
mod probe;
mod sign;
mod weights;

pub use assemble::{Workspace, WorkspaceError, resolve_trt, trust_policy};
pub use backend::{BackendChoice, Found, choose_backend, local_trt};
pub use deploy::{DeployError, Deployment};
pub use ensure::{
    CachedEngineProblem, EngineRequest, EnsureError, EnsuredEngine, RemoteChoice, SEED_REMOTE_URL,
    Source, default_remote, ensure_engine, timeout_from_secs,
};
pub use env::Environment;
pub use freeing::free_in_background;
pub use handle::{HandleError, read_handed_out};
pub use pipeline::PlanBasis;
pub use probe::MachineProbe;
pub use sign::{SignError, SignOutcome};
