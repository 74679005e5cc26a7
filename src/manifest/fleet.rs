//! `[fleet.kubernetes]`: what the Jobs of `trtctl fleet plan --format k8s` run with, so that
//! the command line need not repeat it.

use serde::Deserialize;

/// Fan-out to engines trtctl does not call (see docs/fleet.md).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Fleet")]
pub(super) struct RawFleet {
    kubernetes: Option<KubernetesSettings>,
}

/// The Jobs rendered by `trtctl fleet plan --format k8s`; flags of the same name override.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesSettings {
    /// The container image: trtctl, trtexec and the ONNX files.
    pub image: Option<String>,
    /// The namespace of the Jobs.
    pub namespace: Option<String>,
    /// The Secret whose keys become the container's environment (ARTIFACTS_*, AWS_*).
    pub secret: Option<String>,
    /// The ServiceAccount the pods run as (e.g. one bound to a cloud role).
    pub service_account: Option<String>,
    /// A PersistentVolumeClaim mounted as the engine cache (TENSORRT_CACHE_DIR).
    pub cache_volume_claim: Option<String>,
    /// The manifest's path inside the image (default: the path given to `-f`).
    pub manifest: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetSettings {
    pub kubernetes: KubernetesSettings,
}

pub(super) fn resolve_fleet(raw: RawFleet) -> FleetSettings {
    FleetSettings {
        kubernetes: raw.kubernetes.unwrap_or_default(),
    }
}
