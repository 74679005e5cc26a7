//! The part of a sidecar that plans compare.

use serde::{Deserialize, Serialize};

use super::{BuildInputs, Fingerprint, LocalTrust, Sidecar, WeightsRecord};

/// What a plan compares of a sidecar, local or remote; the sidecar keeps the rest (provenance,
/// the engine's identity). Small, so that a no-op plan of 10,000 engines keeps, clones and
/// drops little, and the sidecar indexes hold little.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidecarSummary {
    pub fingerprint: Option<Fingerprint>,
    pub engine_sha256: String,
    pub engine_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_trust: Option<LocalTrust>,
    /// Built under simulation: never used on a host with real GPUs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    /// The model key of the GPU that built it, where recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
    /// The build inputs recorded: they say why an engine whose fingerprint is not the wanted
    /// one is stale. Never kept in the sidecar indexes (`None` there), so a lookup that finds a
    /// fingerprint other than the wanted one reads the sidecar itself.
    #[serde(skip)]
    pub build: Option<Box<BuildInputs>>,
    /// The stripped plan's record, for an engine whose weights are stripped: it says whether a
    /// copy whose fingerprint is not the wanted one can be refitted into it. Like `build`,
    /// never kept in the sidecar indexes: only needed where the fingerprint differs, and then
    /// the sidecar itself is read.
    #[serde(skip)]
    pub weights: Option<Box<WeightsRecord>>,
}

impl From<Sidecar> for SidecarSummary {
    fn from(sidecar: Sidecar) -> Self {
        SidecarSummary {
            fingerprint: sidecar.fingerprint,
            engine_sha256: sidecar.engine_sha256,
            engine_size: sidecar.engine_size,
            local_trust: sidecar.local_trust,
            simulated: sidecar.provenance.simulated,
            gpu_model: sidecar.provenance.gpu_model,
            build: sidecar.build.map(Box::new),
            weights: sidecar.weights.map(Box::new),
        }
    }
}

impl SidecarSummary {
    /// Whether this says all that a plan wanting `wanted` needs: the build inputs (which a
    /// remembered summary lacks) only explain a fingerprint other than the wanted one.
    pub fn suffices_for(&self, wanted: &Fingerprint) -> bool {
        self.build.is_some() || self.fingerprint.as_ref().is_none_or(|f| f == wanted)
    }
}
