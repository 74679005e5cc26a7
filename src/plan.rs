//! The planner: desired engines × observed state → what to do for each, and why.
//! Pure: every input is observed before it runs, and it does no I/O.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::identity::{self, EngineKey, GpuArch, TrtVersion};
use crate::manifest::Manifest;
use crate::store::LocalEngine;
use crate::trust::{TrustPolicy, Untrusted};

mod copies;
mod desired;
mod desired_weights;
mod graph;
mod per_engine;
mod refit;
mod selector;

use copies::{Copy, local_copy, remote_copy};
pub use copies::{RemoteEngine, RemoteSidecar, Staleness, local_is_usable, locally_trusted};
pub use desired::{DesiredEngine, desired_engines, wanted_names};
pub use desired_weights::DesiredWeights;
pub use graph::Node;
pub use per_engine::{LocalEngines, PerEngine, RemoteEngines};
pub use refit::{RefitSource, needs_builder, refits_into, with_graph};
pub use selector::{Force, Selector, SelectorError, UnmatchedSelector, check_selectors};

/// Bumped when the saved-plan JSON changes incompatibly.
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteState {
    pub url: String,
    pub writable: bool,
    /// How the remote is reached (credential source, region, endpoint, or the stand-in);
    /// `None` for a plain directory.
    pub access: Option<String>,
    /// Position for position with the desired engines it was observed for.
    pub engines: RemoteEngines,
    /// Build leases on wanted engines: another builder is at work (or crashed, if expired).
    pub leases: HashMap<EngineKey, BuildLease>,
}

impl RemoteState {
    /// The state of the desired engines that are `selected` (position for position).
    fn narrowed(&self, selected: &[bool]) -> RemoteState {
        RemoteState {
            url: self.url.clone(),
            writable: self.writable,
            access: self.access.clone(),
            engines: self.engines.narrowed(selected),
            leases: self.leases.clone(),
        }
    }
}

/// Another builder's lease on an engine, as observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildLease {
    pub host: String,
    pub pid: u32,
    /// Unix seconds.
    pub started_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// Past its expiry when observed, or its holder is gone: apply takes it over.
    pub expired: bool,
    /// Its holder was a process of this host that no longer runs.
    #[serde(default)]
    pub holder_gone: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Decision {
    UpToDate {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Fetch {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stale: Option<Staleness>,
        /// Adopted from a bucket without sidecars: its bytes cannot be verified.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        legacy: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Build {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stale: Option<Staleness>,
        upload: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// Another builder's lease: apply waits for its engine instead of building it again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lease: Option<BuildLease>,
    },
    Upload,
    CannotBuild {
        arch: GpuArch,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stale: Option<Staleness>,
    },
    /// `weights = "refittable"` and the ONNX changed in its weights alone: its stripped plan,
    /// here or on the remote, is refitted on a GPU instead of built; nothing is uploaded.
    Refit {
        from: RefitSource,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stale: Option<Staleness>,
    },
    /// Signatures are required and the remote copy is not signed by a trusted key: never fetched.
    Untrusted {
        why: Untrusted,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stale: Option<Staleness>,
    },
}

impl Decision {
    /// The same decision with `note` added to what it says (where it can say one).
    pub fn with_note(self, note: String) -> Decision {
        let joined =
            |old: Option<String>| Some(old.map_or(note.clone(), |o| format!("{o}; {note}")));
        match self {
            Decision::UpToDate { note: old } => Decision::UpToDate { note: joined(old) },
            Decision::Fetch {
                stale,
                legacy,
                note: old,
            } => Decision::Fetch {
                stale,
                legacy,
                note: joined(old),
            },
            other => other,
        }
    }

    pub fn is_change(&self) -> bool {
        !matches!(
            self,
            Decision::UpToDate { .. } | Decision::CannotBuild { .. } | Decision::Untrusted { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStep {
    #[serde(flatten)]
    pub engine: DesiredEngine,
    pub decision: Decision,
}

/// Everything the planner decides from.
pub struct PlanInputs<'a> {
    pub manifest: &'a Manifest,
    pub trt_version: TrtVersion,
    pub desired: Vec<DesiredEngine>,
    pub gpu_archs: &'a [GpuArch],
    /// CUDA shows real GPUs here: engines built under simulation are never used.
    pub gpu_host: bool,
    /// The model keys of this host's GPUs (or the simulated ones'), by arch.
    pub gpu_models: &'a HashMap<GpuArch, Vec<String>>,
    /// Position for position with `desired`.
    pub local: &'a LocalEngines,
    pub remote: Option<&'a RemoteState>,
    pub trust: &'a TrustPolicy,
    pub targets: &'a [Selector],
    pub force: &'a Force,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteSummary {
    pub url: String,
    pub writable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub trtctl_version: String,
    pub manifest: PathBuf,
    pub manifest_sha256: String,
    pub trt_version: TrtVersion,
    pub gpu_archs: Vec<GpuArch>,
    /// `--gpu-arch` on a GPU host: the plan is made as if `gpu_archs` were here, and only these,
    /// the host's real GPUs, build.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_gpus: Vec<String>,
    pub remote: Option<RemoteSummary>,
    /// The `--target` selectors the plan was made with; applying a saved plan uses them again.
    pub targets: Vec<String>,
    /// The `--force-rebuild` selectors (`*` for all).
    pub force_rebuild: Vec<String>,
    /// `--no-upload`: nothing is published.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_upload: bool,
    /// Digest of the observed state the plan was made from: a saved plan is refused once it changes.
    pub observed_digest: String,
    pub steps: Vec<EngineStep>,
    /// The remote's timing cache for each local arch, when they are shared. Not part of
    /// `observed_digest`: another builder publishing one changes no decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timing_caches: Vec<SharedTimingCache>,
}

/// Whether the remote holds a shared timing cache for one arch (and the plan's TensorRT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedTimingCache {
    pub arch: GpuArch,
    /// The GPU model it is for, where this host's GPUs of the arch are all one model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_model: Option<String>,
    pub name: String,
    pub remote: Option<RemoteTimingCacheState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteTimingCacheState {
    pub size: u64,
    /// Seconds since it was last written, when observed.
    pub age_secs: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub build: usize,
    pub fetch: usize,
    pub upload: usize,
    pub up_to_date: usize,
    pub cannot_build: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub untrusted: usize,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refit: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan: {} to build, {} to fetch, {} to upload, {} up to date, {} cannot be built here",
            self.build, self.fetch, self.upload, self.up_to_date, self.cannot_build
        )?;
        if self.refit > 0 {
            write!(f, ", {} to refit", self.refit)?;
        }
        match self.untrusted {
            0 => f.write_str("."),
            n => write!(f, ", {n} untrusted."),
        }
    }
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for step in &self.steps {
            match &step.decision {
                Decision::UpToDate { .. } => s.up_to_date += 1,
                Decision::Fetch { .. } => s.fetch += 1,
                Decision::Build { upload, .. } => {
                    s.build += 1;
                    s.upload += usize::from(*upload);
                }
                Decision::Upload => s.upload += 1,
                Decision::CannotBuild { .. } => s.cannot_build += 1,
                Decision::Untrusted { .. } => s.untrusted += 1,
                Decision::Refit { .. } => s.refit += 1,
            }
        }
        s
    }

    /// `--no-upload`: the same plan with nothing published.
    pub fn skip_uploads(&mut self) {
        self.no_upload = true;
        for step in &mut self.steps {
            match &mut step.decision {
                Decision::Upload => {
                    step.decision = Decision::UpToDate {
                        note: Some("not uploaded (--no-upload)".into()),
                    }
                }
                Decision::Build { upload, .. } => *upload = false,
                _ => {}
            }
        }
    }

    /// The plan less what may change from one moment to the next without changing what apply
    /// does (other builders' leases: apply checks them again as it goes).
    pub fn settled(&self) -> Plan {
        let mut plan = self.clone();
        for step in &mut plan.steps {
            if let Decision::Build { lease, .. } = &mut step.decision {
                *lease = None;
            }
        }
        plan
    }

    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| s.decision.is_change())
    }
}

/// The decision on the desired engine at `position`.
fn decide(position: usize, wanted: &DesiredEngine, inputs: &PlanInputs) -> Decision {
    let decision = decide_copies(position, wanted, inputs);
    let decision = refit::instead_of_build(position, wanted, inputs, &decision).unwrap_or(decision);
    let decision = refit::noted(wanted, decision);
    match other_gpu_model(position, wanted, inputs, &decision) {
        Some(warning) => decision.with_note(warning),
        None => decision,
    }
}

/// TensorRT's warning when the copy this host would use was built on another GPU model of its
/// arch, naming both models: `None` under `gpu_model = "any"`, or where a model is not known.
fn other_gpu_model(
    position: usize,
    wanted: &DesiredEngine,
    inputs: &PlanInputs,
    decision: &Decision,
) -> Option<String> {
    // A hardware-compatible plan (`ampere+`, `sameComputeCapability`) is built to be portable.
    let portable =
        (wanted.build.flags.hardware_compatibility.as_deref()).is_some_and(|l| l != "none");
    if !wanted.gpu_model.is_warn() || portable {
        return None;
    }
    let built_on = match decision {
        Decision::UpToDate { .. } => match inputs.local.get(position)? {
            LocalEngine { sidecar: Ok(s), .. } => s.gpu_model.as_deref(),
            _ => None,
        },
        Decision::Fetch { .. } => match &inputs.remote?.engines.get(position)?.sidecar {
            RemoteSidecar::Valid(s) => s.gpu_model.as_deref(),
            _ => None,
        },
        _ => None,
    }?;
    let here = inputs.gpu_models.get(&wanted.id.gpu_arch)?;
    (!here.is_empty() && !here.iter().any(|m| m == built_on)).then(|| {
        format!(
            "built on {built_on}, this host's {} GPU is {}: TensorRT warns that a plan used across GPU models may be slower or fail; set `gpu_model = \"any\"` if it is known to be portable",
            wanted.id.gpu_arch,
            here.join(" / ")
        )
    })
}

/// The decision from the copies alone.
fn decide_copies(position: usize, wanted: &DesiredEngine, inputs: &PlanInputs) -> Decision {
    let local = local_copy(
        inputs.local.get(position),
        wanted,
        inputs.trust,
        inputs.gpu_host,
    );
    let remote_state = inputs.remote;
    let remote = remote_copy(
        remote_state.and_then(|r| r.engines.get(position)),
        wanted,
        inputs.trust,
        inputs.gpu_host,
    );
    let writable = remote_state.is_some_and(|r| r.writable);
    let model_here = |arch: &GpuArch| match &wanted.id.gpu_model {
        Some(model) => inputs
            .gpu_models
            .get(arch)
            .is_some_and(|here| here.contains(model)),
        None => true,
    };
    let can_build =
        (inputs.gpu_archs.iter()).any(|gpu| wanted.id.gpu_arch.accepts(*gpu) && model_here(gpu));
    // Only an empty slot is uploaded to: create-only writes never replace what another machine put there.
    let remote_slot_free = remote_state.is_some() && matches!(remote, Copy::Absent);
    let upload_after_build = writable && remote_slot_free;
    let remote_note = |remote: &Copy| {
        match remote {
        Copy::Stale(Staleness::Simulated) => Some(
            "the remote copy was built under simulation, without a GPU: not fetched, not replaced; delete it from the remote".into()
        ),
        Copy::Stale(why) => Some(format!(
            "remote holds another build under this name ({why}): not replaced; bump the model's `version`"
        )),
        Copy::Untrusted(why) => Some(format!(
            "the remote copy is untrusted ({why}): not replaced"
        )),
        _ => None,
    }
    };

    if inputs.force.applies(&wanted.id) {
        return if can_build {
            Decision::Build {
                stale: Some(Staleness::Forced),
                upload: upload_after_build,
                note: remote_note(&remote),
                lease: None,
            }
        } else {
            Decision::CannotBuild {
                arch: wanted.id.gpu_arch,
                stale: Some(Staleness::Forced),
            }
        };
    }
    let local_stale = match local {
        Copy::Current | Copy::Legacy => {
            let legacy = matches!(local, Copy::Legacy);
            // An engine without a sidecar beside ours may be our own upload, killed before its
            // sidecar: uploading again hashes it and seals it if the bytes are ours (and refuses,
            // loudly, if they are not).
            let unsealed = matches!(remote, Copy::Legacy);
            return if (remote_slot_free || unsealed) && writable && !legacy {
                Decision::Upload
            } else {
                Decision::UpToDate {
                    note: if legacy {
                        Some("legacy, unverified".into())
                    } else if remote_slot_free && !writable {
                        Some("remote is read-only (no credentials): not uploaded".into())
                    } else {
                        remote_note(&remote)
                    },
                }
            };
        }
        Copy::Stale(why) => Some(why),
        // Untrusted is a verdict on remote copies only.
        Copy::Untrusted(_) | Copy::Absent => None,
    };
    match remote {
        Copy::Current => Decision::Fetch {
            stale: local_stale,
            legacy: false,
            note: None,
        },
        Copy::Legacy => Decision::Fetch {
            stale: local_stale,
            legacy: true,
            note: None,
        },
        Copy::Untrusted(why) => Decision::Untrusted {
            why,
            stale: local_stale,
        },
        _ if can_build => Decision::Build {
            stale: local_stale,
            upload: upload_after_build,
            note: remote_note(&remote),
            lease: remote_state.and_then(|r| r.leases.get(&wanted.key).cloned()),
        },
        _ => Decision::CannotBuild {
            arch: wanted.id.gpu_arch,
            stale: local_stale,
        },
    }
}

/// Hashes what the plan was decided from, so applying a saved plan can tell if the world moved:
/// a line per engine, formatted and hashed a chunk at a time in parallel, then the chunks'
/// digests in order. (Formatting and hashing the 3 MB of 10,000 lines on one thread was half of
/// a warm remote plan's decision time.)
fn observed_digest(inputs: &PlanInputs) -> String {
    use sha2::Digest;
    const CHUNK: usize = 256;
    let chunks: Vec<[u8; 32]> = (inputs.desired.par_chunks(CHUNK).enumerate())
        .map(|(k, engines)| {
            let mut lines = String::with_capacity(engines.len() * 256);
            write_observed_lines(k * CHUNK, engines, inputs, &mut lines);
            sha2::Sha256::digest(lines.as_bytes()).into()
        })
        .collect();
    let mut hasher = sha2::Sha256::new();
    for chunk in &chunks {
        hasher.update(chunk);
    }
    identity::hex(&hasher.finalize())
}

/// The digest's lines of `engines`, the desired engines from position `first` on.
fn write_observed_lines(
    first: usize,
    engines: &[DesiredEngine],
    inputs: &PlanInputs,
    lines: &mut String,
) {
    use std::fmt::Write;
    for (j, wanted) in engines.iter().enumerate() {
        let position = first + j;
        let local = inputs.local.get(position).map(|l| match &l.sidecar {
            Ok(s) => (l.size, Cow::Borrowed(s.engine_sha256.as_str())),
            Err(e) => (l.size, Cow::Owned(e.to_string())),
        });
        let remote = (inputs.remote)
            .and_then(|r| r.engines.get(position))
            .map(|r| {
                let sidecar = match &r.sidecar {
                    RemoteSidecar::Valid(s) => s.engine_sha256.as_str(),
                    RemoteSidecar::Invalid(e) => e.as_str(),
                    RemoteSidecar::Missing => "legacy",
                };
                (r.size, sidecar, &r.trust)
            });
        let _ = write!(lines, "{}={}|", wanted.key, wanted.fingerprint);
        write_observed_copies(lines, local.as_ref(), remote);
    }
}

/// A remote copy as the digest sees it: its size, its sidecar's engine hash (or what stands for
/// it) and the trust verdict.
type ObservedRemote<'a> = (Option<u64>, &'a str, &'a Option<Result<String, Untrusted>>);

/// What is observed of one engine's copies, in the digest's line format: that of `{:?}` of
/// `(local, remote)`'s parts, written without the formatter's machinery for the parts a no-op
/// plan has (10,000 times a plan; through `Debug` it was a third of a warm remote plan's
/// decision time). Saved plans keep their digests: the text is the same.
fn write_observed_copies(
    out: &mut String,
    local: Option<&(u64, Cow<'_, str>)>,
    remote: Option<ObservedRemote<'_>>,
) {
    use std::fmt::Write;
    match local {
        Some((size, sidecar)) => {
            let _ = write!(out, "Some(({size}, ");
            write_debug_str(out, sidecar);
            out.push_str("))|");
        }
        None => out.push_str("None|"),
    }
    match remote {
        Some((size, sidecar, trust)) => {
            match size {
                Some(size) => _ = write!(out, "Some((Some({size}), "),
                None => out.push_str("Some((None, "),
            }
            write_debug_str(out, sidecar);
            match trust {
                None => out.push_str(", None))\n"),
                Some(trust) => _ = writeln!(out, ", {:?}))", Some(trust)),
            }
        }
        None => out.push_str("None\n"),
    }
}

/// Writes `text` as `{:?}` formats a `str`, without escaping it character by character when
/// nothing in it needs escaping (a digest, 10,000 times a plan).
fn write_debug_str(out: &mut String, text: &str) {
    use std::fmt::Write;
    let plain = |b: u8| matches!(b, b' '..=b'~') && b != b'"' && b != b'\\';
    if text.bytes().all(plain) {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        let _ = write!(out, "{text:?}");
    }
}

/// Decides every wanted engine. Pure: same inputs, same plan.
pub fn plan(inputs: PlanInputs) -> Plan {
    assert_eq!(
        inputs.desired.len(),
        inputs.local.len(),
        "the local cache was observed for other engines"
    );
    assert!(
        (inputs.remote).is_none_or(|r| r.engines.len() == inputs.desired.len()),
        "the remote was observed for other engines"
    );
    let mut inputs = inputs;
    let narrowed_local: LocalEngines;
    let narrowed_remote: Option<RemoteState>;
    if !inputs.targets.is_empty() {
        let targets = inputs.targets;
        let selected: Vec<bool> = (inputs.desired.iter())
            .map(|wanted| targets.iter().any(|t| t.matches(&wanted.id)))
            .collect();
        let desired = std::mem::take(&mut inputs.desired);
        inputs.desired = (desired.into_iter().zip(&selected))
            .filter_map(|(wanted, selected)| selected.then_some(wanted))
            .collect();
        narrowed_local = inputs.local.narrowed(&selected);
        narrowed_remote = inputs.remote.map(|r| r.narrowed(&selected));
        inputs.local = &narrowed_local;
        inputs.remote = narrowed_remote.as_ref();
    }
    let observed_digest = observed_digest(&inputs);
    // Decided as the steps are made: `decide` looks at everything but the desired engines.
    let desired = std::mem::take(&mut inputs.desired);
    let steps = (desired.into_par_iter().enumerate())
        .map(|(position, engine)| EngineStep {
            decision: decide(position, &engine, &inputs),
            engine,
        })
        .collect();
    let archs: BTreeSet<GpuArch> = inputs.gpu_archs.iter().copied().collect();
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        trtctl_version: env!("CARGO_PKG_VERSION").to_string(),
        manifest: inputs.manifest.path.clone(),
        manifest_sha256: inputs.manifest.sha256.clone(),
        trt_version: inputs.trt_version,
        gpu_archs: archs.into_iter().collect(),
        host_gpus: Vec::new(),
        remote: inputs.remote.map(|r| RemoteSummary {
            url: r.url.clone(),
            writable: r.writable,
            access: r.access.clone(),
        }),
        targets: inputs.targets.iter().map(Selector::to_string).collect(),
        force_rebuild: inputs.force.selectors(),
        no_upload: false,
        observed_digest,
        steps,
        timing_caches: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::identity::{
        BuildInputs, EngineId, Profile, Provenance, SIDECAR_SCHEMA_VERSION, Sidecar,
    };
    use crate::store::LocalEngine;

    const ONNX_SHA: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

    struct World {
        _dir: tempfile::TempDir,
        manifest: Manifest,
        gpus: Vec<GpuArch>,
        gpu_host: bool,
        gpu_models: HashMap<GpuArch, Vec<String>>,
        /// Copies put from now on were built under simulation, on a GPU of this model.
        simulated: bool,
        built_on: Option<String>,
        local: HashMap<EngineKey, LocalEngine>,
        /// Its `engines` stay empty: the plan's are those of `remote_engines`.
        remote: Option<RemoteState>,
        remote_engines: HashMap<EngineKey, RemoteEngine>,
        force: Force,
    }

    fn arch(s: &str) -> GpuArch {
        s.parse().unwrap()
    }

    impl World {
        /// One model, fp16, archs sm_86 and sm_89; a GPU of sm_86 here; a writable remote.
        fn new() -> World {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("m.onnx"), b"x").unwrap();
            let manifest = Manifest::parse(
                &dir.path().join("engines.toml"),
                "trt_version = \"10.3.0\"\n[[model]]\nname = \"arcface_r100\"\nonnx = \"m.onnx\"\nversion = \"v1.0\"\narchs = [\"sm_86\", \"sm_89\"]\nbatch = { min = 1, opt = 8, max = 16 }\n",
            )
            .unwrap();
            World {
                _dir: dir,
                manifest,
                gpus: vec![arch("sm_86")],
                gpu_host: false,
                gpu_models: HashMap::new(),
                simulated: false,
                built_on: None,
                local: HashMap::new(),
                remote: Some(RemoteState {
                    url: "s3://b/engines".into(),
                    writable: true,
                    access: None,
                    engines: RemoteEngines::default(),
                    leases: HashMap::new(),
                }),
                remote_engines: HashMap::new(),
                force: Force::Nothing,
            }
        }

        fn desired(&self) -> Vec<DesiredEngine> {
            let hashes =
                BTreeMap::from([(self.manifest.models[0].onnx.clone(), ONNX_SHA.to_string())]);
            let no_gpus = Default::default();
            desired_engines(&self.manifest, &hashes, TrtVersion::new(10, 3, 0), &no_gpus)
        }

        fn engine(&self, arch_name: &str) -> DesiredEngine {
            self.desired()
                .into_iter()
                .find(|d| d.id.gpu_arch == arch(arch_name))
                .unwrap()
        }

        fn plan(&self) -> Plan {
            let desired = self.desired();
            let remote = self.remote_state(&desired);
            plan(PlanInputs {
                trust: &TrustPolicy::default(),
                manifest: &self.manifest,
                trt_version: TrtVersion::new(10, 3, 0),
                local: &LocalEngines::by_key(&desired, &self.local),
                desired,
                gpu_archs: &self.gpus,
                gpu_host: self.gpu_host,
                gpu_models: &self.gpu_models,
                remote: remote.as_ref(),
                targets: &[],
                force: &self.force,
            })
        }

        /// The remote as observed for `desired`.
        fn remote_state(&self, desired: &[DesiredEngine]) -> Option<RemoteState> {
            self.remote.as_ref().map(|r| RemoteState {
                engines: RemoteEngines::by_key(desired, &self.remote_engines),
                ..r.clone()
            })
        }

        fn decision(&self, arch_name: &str) -> Decision {
            let wanted = self.engine(arch_name);
            self.plan()
                .steps
                .into_iter()
                .find(|s| s.engine.key == wanted.key)
                .unwrap()
                .decision
        }

        fn put_local(&mut self, arch_name: &str, change: impl Fn(&mut BuildInputs)) {
            let (key, sidecar) = self.sidecar(arch_name, change);
            self.local.insert(
                key,
                LocalEngine {
                    size: sidecar.engine_size,
                    sidecar: Ok(sidecar.into()),
                },
            );
        }

        fn put_remote(&mut self, arch_name: &str, change: impl Fn(&mut BuildInputs)) {
            let (key, sidecar) = self.sidecar(arch_name, change);
            self.remote_engines.insert(
                key,
                RemoteEngine {
                    size: Some(sidecar.engine_size),
                    sidecar: RemoteSidecar::Valid(sidecar.into()),
                    trust: None,
                },
            );
        }

        fn sidecar(
            &self,
            arch_name: &str,
            change: impl Fn(&mut BuildInputs),
        ) -> (EngineKey, Sidecar) {
            let wanted = self.engine(arch_name);
            let mut build = wanted.build.clone();
            change(&mut build);
            let sidecar = Sidecar {
                schema_version: SIDECAR_SCHEMA_VERSION,
                family: wanted.key.family.clone(),
                id: wanted.id.clone(),
                fingerprint: Some(build.fingerprint()),
                engine_sha256: "00".repeat(32),
                engine_size: 10,
                build: Some(build),
                provenance: Provenance {
                    simulated: self.simulated,
                    gpu_model: self.built_on.clone(),
                    ..Provenance::default()
                },
                local_trust: None,
                weights: None,
            };
            (wanted.key, sidecar)
        }
    }

    fn same(_: &mut BuildInputs) {}

    #[test]
    fn observed_copies_are_written_as_debug_formats_them() {
        let texts = [
            "ab".repeat(32),
            "the engine's 3 bytes, sidecar says 4".to_string(),
            "a \"quoted\" \\ path\twith tab".to_string(),
            "unicode é and \u{7f} and \u{200b}".to_string(),
            String::new(),
        ];
        let trusts = [
            None,
            Some(Ok("ci-key".to_string())),
            Some(Err(Untrusted::Unsigned {
                trusted: vec!["ci-key".into()],
            })),
        ];
        for text in &texts {
            for size in [None, Some(0u64), Some(1 << 40)] {
                for trust in &trusts {
                    let local = Some((7u64, Cow::Borrowed(text.as_str())));
                    let remote = Some((size, text.as_str(), trust));
                    for (local, remote) in [(local.clone(), remote), (None, None)] {
                        let mut written = String::new();
                        write_observed_copies(&mut written, local.as_ref(), remote);
                        let plain_local = local.as_ref().map(|(n, t)| (*n, t.as_ref()));
                        assert_eq!(written, format!("{plain_local:?}|{remote:?}\n"));
                    }
                }
            }
        }
    }

    #[test]
    fn nothing_anywhere_builds_where_a_gpu_exists() {
        let w = World::new();
        assert_eq!(
            w.decision("sm_86"),
            Decision::Build {
                stale: None,
                upload: true,
                note: None,
                lease: None
            }
        );
        assert_eq!(
            w.decision("sm_89"),
            Decision::CannotBuild {
                arch: arch("sm_89"),
                stale: None
            }
        );
    }

    #[test]
    fn cached_everywhere_is_up_to_date() {
        let mut w = World::new();
        w.put_local("sm_86", same);
        w.put_remote("sm_86", same);
        assert_eq!(w.decision("sm_86"), Decision::UpToDate { note: None });
    }

    #[test]
    fn remote_only_is_fetched_even_without_a_gpu() {
        let mut w = World::new();
        w.put_remote("sm_89", same);
        assert_eq!(
            w.decision("sm_89"),
            Decision::Fetch {
                stale: None,
                legacy: false,
                note: None
            }
        );
    }

    #[test]
    fn local_only_is_uploaded_when_writable() {
        let mut w = World::new();
        w.put_local("sm_86", same);
        assert_eq!(w.decision("sm_86"), Decision::Upload);
        w.remote.as_mut().unwrap().writable = false;
        assert!(
            matches!(w.decision("sm_86"), Decision::UpToDate { note: Some(n) } if n.contains("read-only"))
        );
        w.remote = None;
        assert_eq!(w.decision("sm_86"), Decision::UpToDate { note: None });
    }

    #[test]
    fn an_unsealed_remote_engine_beside_a_current_local_one_is_uploaded_again() {
        let mut w = World::new();
        w.put_local("sm_86", same);
        let key = w.engine("sm_86").key;
        w.remote_engines.insert(
            key,
            RemoteEngine {
                size: Some(10),
                sidecar: RemoteSidecar::Missing,
                trust: None,
            },
        );
        assert_eq!(w.decision("sm_86"), Decision::Upload);
    }

    #[test]
    fn read_only_remote_builds_without_upload() {
        let mut w = World::new();
        w.remote.as_mut().unwrap().writable = false;
        assert_eq!(
            w.decision("sm_86"),
            Decision::Build {
                stale: None,
                upload: false,
                note: None,
                lease: None
            }
        );
    }

    #[test]
    fn rebuild_reasons_name_what_changed() {
        type Change = fn(&mut BuildInputs);
        let cases: [(Change, Staleness); 3] = [
            (|b| b.onnx_sha256 = "ff".repeat(32), Staleness::OnnxChanged),
            (
                |b| {
                    b.profile = Profile::Batch {
                        min: 1,
                        opt: 4,
                        max: 16,
                    }
                },
                Staleness::ProfileChanged,
            ),
            (|b| b.flags.workspace_mib = Some(1), Staleness::FlagsChanged),
        ];
        for (change, why) in cases {
            let mut w = World::new();
            w.remote = None;
            w.put_local("sm_86", change);
            assert_eq!(
                w.decision("sm_86"),
                Decision::Build {
                    stale: Some(why),
                    upload: false,
                    note: None,
                    lease: None
                }
            );
        }
    }

    #[test]
    fn stale_local_with_current_remote_is_fetched() {
        let mut w = World::new();
        w.put_local("sm_89", |b| b.onnx_sha256 = "ff".repeat(32));
        w.put_remote("sm_89", same);
        assert_eq!(
            w.decision("sm_89"),
            Decision::Fetch {
                stale: Some(Staleness::OnnxChanged),
                legacy: false,
                note: None
            }
        );
    }

    #[test]
    fn stale_remote_is_never_overwritten() {
        let mut w = World::new();
        w.put_remote("sm_86", |b| b.onnx_sha256 = "ff".repeat(32));
        let Decision::Build { upload, note, .. } = w.decision("sm_86") else {
            panic!()
        };
        assert!(!upload);
        assert!(note.unwrap().contains("bump the model's `version`"));
    }

    #[test]
    fn broken_local_sidecar_forces_a_rebuild() {
        let mut w = World::new();
        w.remote = None;
        w.local.insert(
            w.engine("sm_86").key,
            LocalEngine {
                size: 3,
                sidecar: Err(crate::identity::SidecarError::Inconsistent),
            },
        );
        assert!(matches!(
            w.decision("sm_86"),
            Decision::Build {
                stale: Some(Staleness::BadSidecar(_)),
                ..
            }
        ));
    }

    #[test]
    fn another_builders_lease_is_carried_into_the_build_decision() {
        let mut w = World::new();
        w.gpus.push(arch("sm_89"));
        let key = w.engine("sm_86").key;
        let lease = BuildLease {
            host: "gpu-b".into(),
            pid: 7,
            started_at: 1_700_000_000,
            expires_at: 1_700_000_300,
            expired: false,
            holder_gone: false,
        };
        w.remote.as_mut().unwrap().leases.insert(key, lease.clone());
        assert_eq!(
            w.decision("sm_86"),
            Decision::Build {
                stale: None,
                upload: true,
                note: None,
                lease: Some(lease)
            }
        );
        assert!(
            matches!(w.decision("sm_89"), Decision::Build { lease: None, .. }),
            "a lease is on one engine only"
        );
    }

    #[test]
    fn a_local_engine_of_the_wrong_size_is_stale() {
        let mut w = World::new();
        w.remote = None;
        w.put_local("sm_86", same);
        w.local.values_mut().for_each(|l| l.size += 1);
        assert!(matches!(
            w.decision("sm_86"),
            Decision::Build {
                stale: Some(Staleness::BadSidecar(_)),
                ..
            }
        ));
    }

    #[test]
    fn legacy_remote_engines_are_fetched_and_kept() {
        let mut w = World::new();
        let key = w.engine("sm_89").key;
        w.remote_engines.insert(
            key,
            RemoteEngine {
                size: Some(5),
                sidecar: RemoteSidecar::Missing,
                trust: None,
            },
        );
        assert_eq!(
            w.decision("sm_89"),
            Decision::Fetch {
                stale: None,
                legacy: true,
                note: None
            }
        );
        w.put_local("sm_89", same);
        w.local.values_mut().for_each(|l| {
            if let Ok(s) = &mut l.sidecar {
                s.fingerprint = None;
            }
        });
        assert_eq!(
            w.decision("sm_89"),
            Decision::UpToDate {
                note: Some("legacy, unverified".into())
            }
        );
    }

    #[test]
    fn a_gpu_host_never_uses_an_engine_built_under_simulation() {
        let mut w = World::new();
        w.simulated = true;
        w.put_local("sm_86", same);
        w.put_remote("sm_86", same);
        w.put_remote("sm_89", same);
        assert_eq!(w.decision("sm_86"), Decision::UpToDate { note: None });
        assert_eq!(
            w.decision("sm_89"),
            Decision::Fetch {
                stale: None,
                legacy: false,
                note: None
            }
        );
        w.gpu_host = true;
        let Decision::Build {
            stale: Some(Staleness::Simulated),
            upload: false,
            note: Some(note),
            lease: None,
        } = w.decision("sm_86")
        else {
            panic!("{:?}", w.decision("sm_86"));
        };
        assert!(note.contains("built under simulation"), "{note}");
        assert_eq!(
            w.decision("sm_89"),
            Decision::CannotBuild {
                arch: arch("sm_89"),
                stale: None
            }
        );
    }

    #[test]
    fn a_copy_built_on_another_gpu_model_of_the_arch_is_used_with_a_warning() {
        let mut w = World::new();
        w.gpus = vec![arch("sm_86"), arch("sm_89")];
        w.built_on = Some("a10g".into());
        w.put_local("sm_86", same);
        w.put_remote("sm_86", same);
        w.put_remote("sm_89", same);
        let warned = |decision: Decision| match decision {
            Decision::UpToDate { note } | Decision::Fetch { note, .. } => note,
            other => panic!("{other:?}"),
        };
        // Models unknown here (a simulated GPU without --gpu-model): nothing to compare.
        assert_eq!(warned(w.decision("sm_86")), None);
        w.gpu_models = HashMap::from([
            (arch("sm_86"), vec!["a10".to_string()]),
            (arch("sm_89"), vec!["a10g".to_string()]),
        ]);
        let note = warned(w.decision("sm_86")).expect("warned");
        assert!(
            note.starts_with("built on a10g, this host's sm_86 GPU is a10: TensorRT warns"),
            "{note}"
        );
        assert_eq!(warned(w.decision("sm_89")), None, "the same model");
        w.gpu_models.insert(arch("sm_89"), vec!["l4".to_string()]);
        assert!(
            warned(w.decision("sm_89")).is_some(),
            "a fetch is warned of too"
        );
        w.manifest.models[0].gpu_model = identity::GpuModelPolicy::Any;
        assert_eq!(warned(w.decision("sm_86")), None, "`any` says nothing");
    }

    #[test]
    fn force_rebuilds_selected_engines_only() {
        let mut w = World::new();
        w.gpus = vec![arch("sm_86"), arch("sm_89")];
        w.put_local("sm_86", same);
        w.put_local("sm_89", same);
        w.put_remote("sm_86", same);
        w.put_remote("sm_89", same);
        w.force = Force::Selected(vec!["arcface_r100:fp16:sm_89".parse().unwrap()]);
        assert_eq!(w.decision("sm_86"), Decision::UpToDate { note: None });
        assert!(matches!(
            w.decision("sm_89"),
            Decision::Build {
                stale: Some(Staleness::Forced),
                upload: false,
                ..
            }
        ));
    }

    #[test]
    fn targets_narrow_the_plan() {
        let mut w = World::new();
        // Cached is the second desired engine only, and the remote holds the first only:
        // narrowed, the plan must still pair it with its own entries.
        w.put_local("sm_89", same);
        w.put_remote("sm_86", same);
        let targets: Vec<Selector> = vec!["*:*:sm_89".parse().unwrap()];
        let desired = w.desired();
        let remote = w.remote_state(&desired);
        let plan = plan(PlanInputs {
            trust: &TrustPolicy::default(),
            manifest: &w.manifest,
            trt_version: TrtVersion::new(10, 3, 0),
            local: &LocalEngines::by_key(&desired, &w.local),
            desired,
            gpu_archs: &w.gpus,
            gpu_host: w.gpu_host,
            gpu_models: &w.gpu_models,
            remote: remote.as_ref(),
            targets: &targets,
            force: &Force::Nothing,
        });
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(plan.steps[0].engine.id.gpu_arch, arch("sm_89"));
        assert_eq!(plan.steps[0].decision, Decision::Upload);
    }

    #[test]
    fn graph_links_hash_build_upload() {
        let mut w = World::new();
        w.gpus = vec![arch("sm_86"), arch("sm_89")];
        let graph = w.plan().graph();
        // one hash, two builds, two uploads
        assert_eq!(graph.node_count(), 5);
        assert_eq!(graph.edge_count(), 4);
        assert!(petgraph::algo::toposort(&graph, None).is_ok());
        assert_eq!(
            w.plan().summary().to_string(),
            "Plan: 2 to build, 0 to fetch, 2 to upload, 0 up to date, 0 cannot be built here."
        );
    }

    #[test]
    fn the_plan_digest_follows_the_observed_state() {
        let mut w = World::new();
        let before = w.plan();
        assert_eq!(before, w.plan(), "the planner is not deterministic");
        w.put_remote("sm_89", same);
        assert_ne!(before.observed_digest, w.plan().observed_digest);
    }

    #[test]
    fn selectors_parse_and_match() {
        let id = EngineId::parse_file_name("arcface_r100_v1.0_fp16_sm_86_10.3.0.trt").unwrap();
        for (text, hit) in [
            ("arcface_r100", true),
            ("arcface_r100:fp16", true),
            ("arcface_r100:fp32", false),
            ("*:*:sm_86", true),
            ("*:fp16:sm_89", false),
            ("other", false),
        ] {
            assert_eq!(
                text.parse::<Selector>().unwrap().matches(&id),
                hit,
                "{text}"
            );
        }
        for bad in ["a:fp61", "a:b:c:d", "a::sm_86", "*:*:sm86"] {
            assert!(bad.parse::<Selector>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_step_survives_a_saved_plan() {
        let decision = Decision::Untrusted {
            why: Untrusted::UnknownSigners {
                signers: vec!["evil".into()],
                trusted: vec!["ci-2026".into()],
            },
            stale: Some(Staleness::Unverified),
        };
        let json = serde_json::to_string(&decision).unwrap();
        assert!(json.contains(r#""action":"untrusted""#), "{json}");
        assert_eq!(serde_json::from_str::<Decision>(&json).unwrap(), decision);
    }
}
