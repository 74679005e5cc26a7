//! What a desired engine whose weights are stripped knows of its graph: below both the
//! desired engines that carry it and the refit decisions that read it.

use serde::{Deserialize, Serialize};

use crate::identity::{Fingerprint, WeightsMode};

/// What a desired engine whose weights are stripped needs to know of its graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredWeights {
    pub mode: WeightsMode,
    pub graph_sha256: String,
    /// The stripped plan this engine is refitted from ([`crate::identity::plan_fingerprint`]).
    pub plan_fingerprint: Fingerprint,
}
