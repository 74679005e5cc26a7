//! `trtctl fleet apply --ray URL`: one Ray job per unit through Ray's Jobs REST API, placed by a
//! custom resource every Ray version schedules on (`trtctl/sm_86`), waited on to the end.

mod client;
mod submit;

pub use client::{JobDetails, JobStatus, RayClient, RayError};
pub use submit::{SubmitOptions, UnitResult, apply};

use crate::identity::GpuArch;

/// The custom resource a node offers for each GPU arch it has, and a unit's job asks for.
pub fn resource(arch: GpuArch) -> String {
    format!("trtctl/{arch}")
}

/// The `ray start --resources` value for a node with GPUs of `archs`: one of each, so that a
/// node runs one unit at a time (its `trtctl apply` builds on all of the node's GPUs), and
/// `trtctl/sm_80-plus` where a GPU of sm_80 or later can build `ampere+` engines.
pub fn node_resources(archs: &[GpuArch]) -> serde_json::Value {
    let and_later = (archs.iter().any(|&arch| GpuArch::AMPERE_PLUS.accepts(arch)))
        .then_some(GpuArch::AMPERE_PLUS);
    (archs.iter().copied().chain(and_later))
        .map(|arch| (resource(arch), serde_json::json!(1)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}
