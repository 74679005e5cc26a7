//! What one copy of an engine, cached here or on the remote, is worth to a plan that wants it:
//! current, legacy, stale (and why), untrusted, or absent.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::desired::DesiredEngine;
use crate::identity::{BuildInputs, Fingerprint, SidecarSummary};
use crate::store::LocalEngine;
use crate::trust::{TrustPolicy, Untrusted};

/// What the remote holds for one engine name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEngine {
    /// `None` when only a sidecar is there (an upload that died before its engine landed is
    /// impossible: the engine goes first, so this is a foreign or damaged bucket).
    pub size: Option<u64>,
    pub sidecar: RemoteSidecar,
    /// When signatures are required and the engine may be fetched: the trusted key that signed
    /// it (its name), or why none did. `None` when not checked.
    pub trust: Option<Result<String, Untrusted>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteSidecar {
    Valid(SidecarSummary),
    Invalid(String),
    /// An engine with no sidecar: written by the earlier tool that kept none.
    Missing,
}

/// Why a local or remote copy cannot be used as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "why", content = "detail")]
pub enum Staleness {
    OnnxChanged,
    ProfileChanged,
    FlagsChanged,
    Forced,
    /// The sidecar is unreadable, of another schema, or describes other inputs.
    BadSidecar(String),
    /// A sidecar without its engine file.
    EngineMissing,
    /// Signatures are required and this copy was fetched without a trusted key's signature.
    Unverified,
    /// Built where CUDA showed no GPU, and this host has real ones.
    Simulated,
}

impl fmt::Display for Staleness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Staleness::OnnxChanged => f.write_str("ONNX changed"),
            Staleness::ProfileChanged => f.write_str("shapes changed"),
            Staleness::FlagsChanged => f.write_str("builder flags changed"),
            Staleness::Forced => f.write_str("forced"),
            Staleness::BadSidecar(why) => write!(f, "sidecar unusable: {why}"),
            Staleness::EngineMissing => f.write_str("engine file missing"),
            Staleness::Unverified => f.write_str("fetched without a trusted signature"),
            Staleness::Simulated => f.write_str("built under simulation, without a GPU"),
        }
    }
}

/// How a cached copy compares with what is wanted.
pub(super) enum Copy {
    Current,
    /// Usable but unverifiable: adopted from a bucket without sidecars.
    Legacy,
    Stale(Staleness),
    /// Signatures are required and no trusted key signed the remote copy.
    Untrusted(Untrusted),
    Absent,
}

/// A copy's recorded fingerprint against the wanted one; its recorded build inputs say why
/// they differ.
fn compare_sidecar(
    fingerprint: Option<&Fingerprint>,
    build: Option<&BuildInputs>,
    wanted: &DesiredEngine,
) -> Copy {
    let Some(fingerprint) = fingerprint else {
        return Copy::Legacy;
    };
    if *fingerprint == wanted.fingerprint {
        return Copy::Current;
    }
    let Some(build) = build else {
        return Copy::Stale(Staleness::BadSidecar("no build inputs recorded".into()));
    };
    let why = if build.onnx_sha256 != wanted.build.onnx_sha256 {
        Staleness::OnnxChanged
    } else if build.profile != wanted.build.profile {
        Staleness::ProfileChanged
    } else {
        Staleness::FlagsChanged
    };
    Copy::Stale(why)
}

/// Whether a cached copy may be used under `trust`: when signatures are required, its own
/// build or a fetch a key trusted now signed.
pub fn locally_trusted(sidecar: &SidecarSummary, trust: &TrustPolicy) -> bool {
    !trust.required() || trust.vouches_for(sidecar.local_trust.as_ref())
}

/// Whether the cached copy is current and may be used (on a GPU host when `gpu_host`): its
/// remote copy need not be checked.
pub fn local_is_usable(
    local: Option<&LocalEngine>,
    wanted: &DesiredEngine,
    trust: &TrustPolicy,
    gpu_host: bool,
) -> bool {
    matches!(local_copy(local, wanted, trust, gpu_host), Copy::Current)
}

pub(super) fn local_copy(
    local: Option<&LocalEngine>,
    wanted: &DesiredEngine,
    trust: &TrustPolicy,
    gpu_host: bool,
) -> Copy {
    match local {
        None => Copy::Absent,
        Some(LocalEngine {
            sidecar: Err(why), ..
        }) => Copy::Stale(Staleness::BadSidecar(why.to_string())),
        Some(LocalEngine {
            sidecar: Ok(s),
            size,
        }) if s.engine_size != *size => Copy::Stale(Staleness::BadSidecar(format!(
            "engine is {size} bytes, sidecar says {}",
            s.engine_size
        ))),
        Some(LocalEngine { sidecar: Ok(s), .. }) => {
            match compare_sidecar(s.fingerprint.as_ref(), s.build.as_deref(), wanted) {
                Copy::Current | Copy::Legacy if s.simulated && gpu_host => {
                    Copy::Stale(Staleness::Simulated)
                }
                Copy::Current | Copy::Legacy if !locally_trusted(s, trust) => {
                    Copy::Stale(Staleness::Unverified)
                }
                copy => copy,
            }
        }
    }
}

pub(super) fn remote_copy(
    remote: Option<&RemoteEngine>,
    wanted: &DesiredEngine,
    trust: &TrustPolicy,
    gpu_host: bool,
) -> Copy {
    let Some(remote) = remote else {
        return Copy::Absent;
    };
    let copy = match (&remote.size, &remote.sidecar) {
        (None, _) => Copy::Stale(Staleness::EngineMissing),
        (_, RemoteSidecar::Valid(s)) if s.simulated && gpu_host => {
            Copy::Stale(Staleness::Simulated)
        }
        (_, RemoteSidecar::Valid(s)) => {
            compare_sidecar(s.fingerprint.as_ref(), s.build.as_deref(), wanted)
        }
        (_, RemoteSidecar::Invalid(why)) => Copy::Stale(Staleness::BadSidecar(why.clone())),
        (_, RemoteSidecar::Missing) => Copy::Legacy,
    };
    match (copy, &remote.trust) {
        (Copy::Current | Copy::Legacy, Some(Err(why))) if trust.required() => {
            Copy::Untrusted(why.clone())
        }
        // Required but not checked (observation skipped it): never fetched on faith.
        (Copy::Current | Copy::Legacy, None) if trust.required() => {
            Copy::Untrusted(Untrusted::Unsigned {
                trusted: trust.key_names(),
            })
        }
        (copy, _) => copy,
    }
}
