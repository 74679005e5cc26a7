//! The sidecar: what is recorded beside every engine, and read back before it is trusted.

use serde::{Deserialize, Serialize};

use super::{
    BuildInputs, EngineId, EngineKey, Fingerprint, SIDECAR_SCHEMA_VERSION, TrtVersion,
    WeightsRecord,
};

/// `{file}.json` beside every engine, written last: the engine exists only once it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub schema_version: u32,
    pub family: String,
    #[serde(flatten)]
    pub id: EngineId,
    /// Absent for engines adopted from a legacy bucket, whose build inputs nobody recorded.
    pub fingerprint: Option<Fingerprint>,
    pub engine_sha256: String,
    pub engine_size: u64,
    pub build: Option<BuildInputs>,
    pub provenance: Provenance,
    /// Local copies only, never published: how the engine reached this cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_trust: Option<LocalTrust>,
    /// Set for an engine whose weights are stripped (`weights = "stripped"` or `"refittable"`).
    /// An older trtctl refuses the sidecar (unknown field), so it never takes the stripped plan
    /// the remote holds for a usable engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<WeightsRecord>,
}

/// How a cached engine reached this cache: what `[trust]` asks of it before it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "origin")]
pub enum LocalTrust {
    /// Built on this machine: its own work.
    Built,
    /// Fetched from a remote. `signer` (`NAME:base64`) and `signature` (the record) are set when
    /// a trusted key's signature was verified at fetch time.
    Fetched {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signer: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
}

/// Who made the engine, where and when. Informative, except `trt_build` and `simulated`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub gpu_name: Option<String>,
    /// The builder GPU's model key (`a10g`), as `trtctl gpus` shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
    /// The exact TensorRT build that made the plan, read from its header after the build; a
    /// copy whose header says otherwise is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trt_build: Option<TrtVersion>,
    /// Built where CUDA showed no GPU (a test, a GPU-less CI job): the bytes are whatever the
    /// trtexec there wrote, no engine a GPU can run. A host with real GPUs never uses one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    pub builder: Option<String>,
    pub trtctl_version: String,
    pub host: Option<String>,
    pub build_duration_ms: Option<u64>,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    /// Set when the engine came from a bucket without sidecars: its bytes were never verified.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub legacy: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SidecarError {
    #[error("sidecar is not valid JSON for schema {SIDECAR_SCHEMA_VERSION}: {0}")]
    Malformed(String),
    #[error("sidecar has schema version {found}, this trtctl reads {SIDECAR_SCHEMA_VERSION}")]
    Schema { found: u64 },
    #[error("sidecar describes `{found}`, but sits beside `{expected}`")]
    WrongEngine { found: String, expected: String },
    #[error("sidecar's fingerprint does not match its own build inputs")]
    Inconsistent,
}

impl Sidecar {
    /// Parses and checks a sidecar found beside `key`'s engine: it must describe that engine,
    /// and its fingerprint must be the one its own build inputs hash to. A sidecar that fails
    /// either vouches for nothing, wherever it is read: planning, fetching, verifying.
    pub fn parse_for(bytes: &[u8], key: &EngineKey) -> Result<Sidecar, SidecarError> {
        // One parse on the happy path; the schema version is looked for only to explain a failure.
        let sidecar: Sidecar = match serde_json::from_slice::<Sidecar>(bytes) {
            Ok(sidecar) if sidecar.schema_version == SIDECAR_SCHEMA_VERSION => sidecar,
            Ok(sidecar) => {
                return Err(SidecarError::Schema {
                    found: u64::from(sidecar.schema_version),
                });
            }
            Err(e) => {
                #[derive(Deserialize)]
                struct Header {
                    schema_version: u64,
                }
                return Err(match serde_json::from_slice::<Header>(bytes) {
                    Ok(h) if h.schema_version != u64::from(SIDECAR_SCHEMA_VERSION) => {
                        SidecarError::Schema {
                            found: h.schema_version,
                        }
                    }
                    _ => SidecarError::Malformed(e.to_string()),
                });
            }
        };
        let described = EngineKey::new(&sidecar.family, &sidecar.id);
        if &described != key {
            return Err(SidecarError::WrongEngine {
                found: described.to_string(),
                expected: key.to_string(),
            });
        }
        sidecar.check_consistent()?;
        Ok(sidecar)
    }

    /// Whether the recorded build inputs hash to the recorded fingerprint (one sha256 over a
    /// few hundred bytes; the sidecar indexes keep plans from reading a sidecar twice).
    pub fn check_consistent(&self) -> Result<(), SidecarError> {
        match (&self.fingerprint, &self.build) {
            (Some(fingerprint), Some(build)) if &build.fingerprint() != fingerprint => {
                Err(SidecarError::Inconsistent)
            }
            _ => Ok(()),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("sidecar serializes");
        bytes.push(b'\n');
        bytes
    }

    /// What is published: the sidecar without what only this cache knows of it.
    pub fn to_remote_json(&self) -> Vec<u8> {
        match (&self.local_trust, &self.weights) {
            (None, None) => self.to_json(),
            _ => self.published().to_json(),
        }
    }

    /// The sidecar the remote holds: without this cache's trust, and for an engine whose
    /// weights are stripped, describing the stripped plan (what the remote holds and a fetch
    /// verifies) with no refits.
    pub fn published(&self) -> Sidecar {
        let mut published = Sidecar {
            local_trust: None,
            ..self.clone()
        };
        if let Some(weights) = &mut published.weights {
            published.engine_sha256 = weights.plan_sha256.clone();
            published.engine_size = weights.plan_size;
            weights.refits = 0;
        }
        published
    }

    pub fn key(&self) -> EngineKey {
        EngineKey::new(&self.family, &self.id)
    }
}
