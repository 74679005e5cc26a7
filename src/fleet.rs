//! Fleet fan-out: the builds a plan needs, grouped by the GPU each needs (units of work),
//! rendered for engines trtctl does not call (Kubernetes Jobs, a GitHub Actions matrix) or
//! submitted to a running Ray cluster. Correctness stays with the build leases in the remote;
//! the engine only decides where and when each unit runs.

mod command;
pub mod events;
pub mod github;
pub mod kubernetes;
pub mod ray;
mod units;
pub mod yaml;

pub use command::{JOB_ENV, JobCommand, forwarded_credentials};
pub use units::{FleetError, FleetPlan, Unit, UnitKey, fleet_plan};
