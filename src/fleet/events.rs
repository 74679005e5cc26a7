//! What a fleet submission tells its reporter, as data: the fleet owns the [`FleetReporter`]
//! trait, the renderers in `report` implement it.

use std::time::Duration;

use super::UnitKey;

/// Where a unit's job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitEvent {
    /// A job was submitted for it.
    Submitted {
        job: String,
    },
    /// A job of the same plan was already there (a re-run): it is waited on, not submitted again.
    Attached {
        job: String,
        status: String,
    },
    /// The job started on a node.
    Running {
        job: String,
    },
    Succeeded {
        job: String,
        elapsed: Duration,
    },
    /// The job failed: the tail of its log.
    Failed {
        job: String,
        status: String,
        message: String,
        log_tail: String,
    },
    /// No node took the job within the capacity timeout; it stays queued.
    NoCapacity {
        job: String,
        resource: String,
        waited: Duration,
    },
}

pub trait FleetReporter: Send + Sync {
    fn unit(&self, gpu: &UnitKey, event: &UnitEvent);
}
