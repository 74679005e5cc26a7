//! One engine without a manifest: the seed's `build_or_load_engine`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{Environment, MachineProbe, Workspace, WorkspaceError};
use crate::builder::BuildError;
use crate::exec::{ActionKind, ApplyOptions, ApplyReport, ExecError, Reporter, StopSignal};
use crate::gpu::{GpuInventory, TrtDetectError, TrtFact, TrtSource};
use crate::identity::{
    self, BuildFlags, EngineId, EngineKey, NameError, PlanHeader, PlanMismatch, Precision, Profile,
    Sidecar, SidecarError, TrtVersion, WeightsMode,
};
use crate::manifest::{Manifest, ModelSpec, ModelVersion, TrtPin};
use crate::plan::{Decision, Force, Plan};
use crate::store::RESERVED_DIRS;
use crate::store::remote::RemoteSettings;

/// The seed's bucket, used when only `ARTIFACTS_ENDPOINT` says where the remote is.
pub const SEED_REMOTE_URL: &str = "s3://screenalytics-artifacts/engines";
/// Appended to a family derived from the model name that is one of the cache's own directories.
const RESERVED_FAMILY_SUFFIX: &str = "-model";
/// The seed's default `batch_size`: its call with this profile keeps the seed's engine name.
const SEED_BATCH_SIZE: u32 = 32;

/// Where an engine handed out by [`ensure_engine`] came from — the seed's three answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    LocalCache,
    Remote,
    Built,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::LocalCache => "local_cache",
            Source::Remote => "remote",
            Source::Built => "built",
        })
    }
}

/// Which remote cache `ensure` talks to.
#[derive(Debug, Clone, Default)]
pub enum RemoteChoice {
    /// `TRTCTL_REMOTE`; else the seed's bucket at `ARTIFACTS_ENDPOINT`; else none.
    #[default]
    FromEnvironment,
    /// Only the local cache and the local GPU.
    Off,
    At(RemoteSettings),
}

/// One engine without a manifest: the seed's `build_or_load_engine` and its expert options.
#[derive(Debug, Clone)]
pub struct EngineRequest {
    pub onnx: PathBuf,
    pub precision: Precision,
    /// `Profile::Batch { min: 1, opt: N, max: N }` is the seed's `batch_size = N`.
    pub profile: Profile,
    /// Defaults to the ONNX file's stem.
    pub name: Option<String>,
    /// Defaults to the first 8 hex digits of the ONNX sha256.
    pub version: Option<String>,
    /// Defaults to the name up to its first `_`.
    pub family: Option<String>,
    /// Build on this device index (default: the first GPU).
    pub gpu: Option<u32>,
    /// Defaults to the local TensorRT (see [`MachineProbe::trt`]).
    pub trt_version: Option<TrtVersion>,
    /// Wins over `TENSORRT_CACHE_DIR` and the default.
    pub cache_dir: Option<PathBuf>,
    pub remote: RemoteChoice,
    /// Build again even if a current engine exists locally or remotely.
    pub force_rebuild: bool,
    /// Publish an engine this call builds to the remote.
    pub upload: bool,
    /// Give up (cleanly, nothing half-written committed) after this long.
    pub timeout: Option<Duration>,
    /// `hardware_compatibility` and `version_compatible`, as a manifest's build table sets them.
    pub flags: BuildFlags,
    /// Where the engine's weights live: a stripped one is refitted here from the ONNX.
    pub weights: WeightsMode,
    pub env: Environment,
}

impl EngineRequest {
    /// The seed's call: `build_or_load_engine(onnx_path, precision, batch_size)`.
    pub fn new(onnx: PathBuf, precision: Precision, batch_size: u32, env: Environment) -> Self {
        EngineRequest {
            onnx,
            precision,
            profile: Profile::Batch {
                min: 1,
                opt: batch_size,
                max: batch_size,
            },
            name: None,
            version: None,
            family: None,
            gpu: None,
            trt_version: None,
            cache_dir: None,
            remote: RemoteChoice::FromEnvironment,
            force_rebuild: false,
            upload: true,
            timeout: None,
            flags: BuildFlags::default(),
            weights: WeightsMode::Embedded,
            env,
        }
    }
}

/// A timeout in seconds as the CLI and Python take it: above 0 and finite. 0 would give up
/// before starting and a negative one means nothing, so both are refused alike; no timeout at
/// all is how to wait as long as the work takes.
pub fn timeout_from_secs(secs: f64) -> Result<Duration, EnsureError> {
    match Duration::try_from_secs_f64(secs) {
        Ok(timeout) if secs > 0.0 => Ok(timeout),
        _ => Err(EnsureError::BadTimeout { secs }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EnsureError {
    #[error(
        "ONNX file {} {problem}; pass the path of an .onnx model",
        crate::sys::shown_path(path)
    )]
    MissingOnnx {
        path: PathBuf,
        problem: &'static str,
    },
    #[error("{} has no file name to name the engine after; pass a model name", path.display())]
    NoModelName { path: PathBuf },
    #[error("{0}")]
    BadName(#[from] NameError),
    #[error(
        "family `{family}` is reserved for the cache's own files; pass another family (e.g. `{family}{RESERVED_FAMILY_SUFFIX}`)"
    )]
    ReservedFamily { family: String },
    #[error(
        "batch range min {min}, opt {opt}, max {max} is invalid; it needs 1 <= min <= opt <= max"
    )]
    BadBatch { min: u32, opt: u32, max: u32 },
    #[error("explicit shapes name no input; give each input a min/opt/max shape")]
    NoShapes,
    #[error(
        "timeout {secs} is not a number of seconds above 0; pass e.g. 600, or no timeout to wait as long as the work takes"
    )]
    BadTimeout { secs: f64 },
    #[error(
        "no local GPU ({reason}): an engine is built for the GPU it runs on; pass a GPU arch (--gpu-arch sm_86, TRTCTL_GPU_ARCH) to plan as if one were here"
    )]
    NoGpu { reason: String },
    #[error("no GPU with index {index}; this machine has {available}")]
    NoSuchGpu { index: u32, available: String },
    #[error(transparent)]
    TrtVersion(#[from] TrtDetectError),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Builder(#[from] BuildError),
    #[error("{} {file} failed: {reason}", action.as_str())]
    ActionFailed {
        action: ActionKind,
        file: String,
        #[source]
        reason: Arc<ExecError>,
    },
    #[error(
        "{file} cannot be built here and is not in the remote (needs a GPU of {arch}); pass that GPU arch or a remote that has it"
    )]
    CannotBuild {
        file: String,
        arch: identity::GpuArch,
    },
    #[error("{}: {problem}; run `trtctl cache verify --fix` and ensure again", path.display())]
    Integrity {
        path: PathBuf,
        #[source]
        problem: CachedEngineProblem,
    },
    #[error("interrupted; nothing half-written was committed")]
    Interrupted,
    #[error(
        "gave up after {}s (the timeout); nothing half-written was committed, a later call resumes",
        timeout.as_secs_f64()
    )]
    TimedOut { timeout: Duration },
}

/// Why a cached engine cannot be handed out.
#[derive(Debug, thiserror::Error)]
pub enum CachedEngineProblem {
    #[error("its sidecar is missing")]
    NoSidecar,
    #[error(transparent)]
    Sidecar(#[from] SidecarError),
    #[error("cannot read the engine: {0}")]
    Unreadable(std::io::Error),
    #[error("the engine has {found} bytes, its sidecar says {expected}")]
    Size { found: u64, expected: u64 },
    #[error(transparent)]
    Plan(#[from] PlanMismatch),
}

/// The engine [`ensure_engine`] hands out, with what its sidecar says about it.
#[derive(Debug, Clone)]
pub struct EnsuredEngine {
    pub path: PathBuf,
    pub source: Source,
    pub key: EngineKey,
    pub sidecar: Sidecar,
}

impl EngineRequest {
    fn model_name(&self) -> Result<String, EnsureError> {
        let name = match &self.name {
            Some(name) => name.clone(),
            None => self
                .onnx
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .ok_or_else(|| EnsureError::NoModelName {
                    path: self.onnx.clone(),
                })?,
        };
        identity::validate_model_name(&name)?;
        Ok(name)
    }

    /// The family directory: the one asked for, which must not be one of the cache's own
    /// directories, or one derived from the name that cannot be.
    fn family(&self, name: &str) -> Result<String, EnsureError> {
        let family = match &self.family {
            Some(family) => {
                identity::validate_family(family)?;
                if RESERVED_DIRS.contains(&family.as_str()) {
                    return Err(EnsureError::ReservedFamily {
                        family: family.clone(),
                    });
                }
                family.clone()
            }
            None => {
                let derived = EngineId::default_family(name);
                if RESERVED_DIRS.contains(&derived) {
                    format!("{derived}{RESERVED_FAMILY_SUFFIX}")
                } else {
                    derived.to_string()
                }
            }
        };
        Ok(family)
    }

    fn check_profile(&self) -> Result<(), EnsureError> {
        match &self.profile {
            &Profile::Batch { min, opt, max } if min == 0 || min > opt || opt > max => {
                Err(EnsureError::BadBatch { min, opt, max })
            }
            Profile::Shapes { inputs } if inputs.is_empty() => Err(EnsureError::NoShapes),
            _ => Ok(()),
        }
    }

    fn remote_settings(&self) -> Option<RemoteSettings> {
        match &self.remote {
            RemoteChoice::FromEnvironment => default_remote(&self.env),
            RemoteChoice::Off => None,
            RemoteChoice::At(settings) => Some(settings.clone()),
        }
    }

    /// The model as a manifest would declare it, every input checked (before anything is
    /// detected, so a typo is reported as one); its arch is set once the GPU is known. Its name
    /// carries the profile unless it is the seed's default (see [`profile_mark`]); the family
    /// is derived from the name without it.
    fn model(&self) -> Result<ModelSpec, EnsureError> {
        let base = self.model_name()?;
        let family = self.family(&base)?;
        let name = match profile_mark(&self.profile) {
            Some(mark) => format!("{base}-{mark}"),
            None => base,
        };
        let version = match &self.version {
            Some(v) => {
                identity::validate_model_version(v)?;
                ModelVersion::Declared(v.clone())
            }
            None => ModelVersion::Auto,
        };
        if let Some(problem) = crate::sys::not_a_file(&self.onnx) {
            return Err(EnsureError::MissingOnnx {
                path: self.onnx.clone(),
                problem,
            });
        }
        self.check_profile()?;
        Ok(ModelSpec {
            name,
            family,
            onnx: std::path::absolute(&self.onnx).unwrap_or_else(|_| self.onnx.clone()),
            version,
            precisions: vec![self.precision],
            archs: Vec::new(),
            profile: self.profile.clone(),
            flags: BuildFlags {
                weights: self.weights,
                ..self.flags.clone()
            },
            gpu_model: Default::default(),
        })
    }

    fn manifest(&self, model: ModelSpec, trt: TrtFact) -> Manifest {
        Manifest {
            path: self.onnx.clone(),
            sha256: String::new(),
            trt_version: TrtPin::Resolved(trt),
            cache_dir: None,
            remote: self.remote_settings(),
            builder: Default::default(),
            trust: Default::default(),
            fleet: Default::default(),
            models: vec![model],
        }
    }
}

/// What the engine's name says of a profile other than the seed's default (batch 1..32,
/// optimized for 32): `b16` for the seed's batch 16 (1..16, optimized for 16), `b2-16-64` for
/// another batch range, `s` and 8 hex digits of a digest of explicit shapes, `static` for the
/// ONNX file's own shapes. One model asked for with two profiles keeps two engines, each built
/// once, instead of one name rebuilt over and over with the bytes of whichever came last.
fn profile_mark(profile: &Profile) -> Option<String> {
    match *profile {
        Profile::Batch { min: 1, opt, max } if opt == SEED_BATCH_SIZE && max == opt => None,
        Profile::Batch { min: 1, opt, max } if max == opt => Some(format!("b{max}")),
        Profile::Batch { min, opt, max } => Some(format!("b{min}-{opt}-{max}")),
        Profile::Shapes { .. } => {
            let canonical = serde_json::to_vec(profile).expect("a profile serializes");
            Some(format!("s{}", &identity::sha256_hex(&canonical)[..8]))
        }
        Profile::Static => Some("static".into()),
    }
}

/// The remote `ensure` uses when none is passed: `TRTCTL_REMOTE`, else the seed's bucket at
/// `ARTIFACTS_ENDPOINT`, else none — never a guessed bucket on real AWS.
pub fn default_remote(env: &Environment) -> Option<RemoteSettings> {
    let url = match (&env.remote_url, &env.remote.endpoint) {
        (Some(url), _) => url.clone(),
        (None, Some(_)) => SEED_REMOTE_URL.to_string(),
        (None, None) => return None,
    };
    Some(RemoteSettings {
        url,
        ..RemoteSettings::default()
    })
}

/// The GPUs the engine may be built on: all of them, or the one `index` names.
fn select_gpu(gpus: GpuInventory, index: Option<u32>) -> Result<GpuInventory, EnsureError> {
    if gpus.gpus.is_empty() {
        let reason = match &gpus.source {
            crate::gpu::GpuSource::Unavailable { reason } => reason.clone(),
            _ => "CUDA sees none".into(),
        };
        return Err(EnsureError::NoGpu { reason });
    }
    let Some(index) = index else {
        return Ok(gpus);
    };
    let available = gpus
        .gpus
        .iter()
        .map(|g| format!("{} ({}, {})", g.index, g.name, g.arch))
        .collect::<Vec<_>>()
        .join(", ");
    let only: Vec<_> = gpus
        .gpus
        .iter()
        .filter(|g| g.index == index)
        .cloned()
        .collect();
    if only.is_empty() {
        return Err(EnsureError::NoSuchGpu { index, available });
    }
    Ok(GpuInventory { gpus: only, ..gpus })
}

/// Returns the engine for `request` on this machine's GPU, from the local cache, the remote,
/// or a fresh build — in that order of preference. A current local engine is handed out
/// without asking the remote anything; `stop` (or the request's timeout) interrupts cleanly.
///
/// ```no_run
/// use trtctl::exec::StopSignal;
/// use trtctl::identity::Precision;
/// use trtctl::workspace::{ensure_engine, EngineRequest, Environment, MachineProbe};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let mut request = EngineRequest::new(
///     "models/arcface_r100.onnx".into(),
///     Precision::Fp16,
///     32,
///     Environment::from_process(),
/// );
/// request.version = Some("v1.0".into());
/// let engine = ensure_engine(&request, &MachineProbe::default(), &StopSignal::default()).await?;
/// println!("{} ({})", engine.path.display(), engine.source);
/// # Ok(()) }
/// ```
pub async fn ensure_engine(
    request: &EngineRequest,
    probe: &MachineProbe,
    stop: &StopSignal,
) -> Result<EnsuredEngine, EnsureError> {
    let work = ensure_now(request, probe, stop);
    let Some(timeout) = request.timeout else {
        return work.await;
    };
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => result,
        () = tokio::time::sleep(timeout) => {
            stop.cancel();
            match work.await {
                Err(EnsureError::Interrupted) => Err(EnsureError::TimedOut { timeout }),
                other => other,
            }
        }
    }
}

async fn ensure_now(
    request: &EngineRequest,
    probe: &MachineProbe,
    stop: &StopSignal,
) -> Result<EnsuredEngine, EnsureError> {
    // An explicit cache dir wins over TENSORRT_CACHE_DIR, as a flag would.
    let env = &Environment {
        cache_dir: request
            .cache_dir
            .clone()
            .or_else(|| request.env.cache_dir.clone()),
        ..request.env.clone()
    };
    let mut model = request.model()?;
    let gpus = select_gpu(probe.gpus(env), request.gpu)?;
    model.archs = vec![gpus.gpus[0].arch];
    let trt = match request.trt_version {
        Some(version) => TrtFact {
            version,
            source: TrtSource::Asked,
        },
        None => probe.trt(env)?,
    };
    let mut manifest = request.manifest(model, trt);
    let force = if request.force_rebuild {
        Force::All
    } else {
        Force::Nothing
    };
    // The remote is only asked when the local cache has no current engine: a hit costs a stat
    // and a sidecar read, not a round trip.
    let remote = manifest.remote.take();
    if !request.force_rebuild {
        let local = Workspace::assemble(manifest.clone(), env, gpus.clone())?;
        let plan = planned(&local, &force, stop).await?;
        if matches!(plan.steps[0].decision, Decision::UpToDate { .. }) {
            return handed_out(&local, &plan, Source::LocalCache);
        }
    }
    manifest.remote = remote;
    let workspace = Workspace::assemble(manifest, env, gpus)?;
    let mut plan = planned(&workspace, &force, stop).await?;
    if !request.upload {
        plan.skip_uploads();
    }
    if let Decision::CannotBuild { arch, .. } = plan.steps[0].decision {
        return Err(EnsureError::CannotBuild {
            file: plan.steps[0].engine.key.file.clone(),
            arch,
        });
    }
    let builder = workspace.builder_for(&plan)?;
    let options = ApplyOptions {
        jobs: 4,
        keep_going: false,
    };
    let report = workspace
        .apply(&plan, builder.as_deref(), &SilentReporter, options, stop)
        .await;
    let source = source_of(&report)?;
    handed_out(&workspace, &plan, source)
}

/// The plan of the one engine, given up as soon as `stop` is cancelled: observing a remote that
/// accepts and never answers must not outlast the timeout, Ctrl-C or SIGTERM.
async fn planned(
    workspace: &Workspace,
    force: &Force,
    stop: &StopSignal,
) -> Result<Plan, EnsureError> {
    match stop.unless_cancelled(workspace.plan(&[], force)).await {
        Some(plan) => Ok(plan?),
        None => Err(EnsureError::Interrupted),
    }
}

/// What the apply did to the engine, as the seed says it: only the caller that built it says
/// `built`; one that found it built (or fetched) by another process meanwhile says `local_cache`.
fn source_of(report: &ApplyReport) -> Result<Source, EnsureError> {
    if report.interrupted {
        return Err(EnsureError::Interrupted);
    }
    if let Some(failure) = report.failures.first() {
        return Err(EnsureError::ActionFailed {
            action: failure.action,
            file: failure.file.clone(),
            reason: failure.reason.clone(),
        });
    }
    Ok(if report.built > 0 {
        Source::Built
    } else if report.fetched > 0 {
        Source::Remote
    } else {
        Source::LocalCache
    })
}

/// The planned engine as it now sits in the cache: its sidecar read and its size checked, so a
/// caller never gets a truncated or foreign file.
fn handed_out(
    workspace: &Workspace,
    plan: &Plan,
    source: Source,
) -> Result<EnsuredEngine, EnsureError> {
    let key = plan.steps[0].engine.key.clone();
    let path = workspace.cache.engine_path(&key);
    match checked_sidecar(workspace, &key, &path) {
        Ok(sidecar) => Ok(EnsuredEngine {
            path,
            source,
            key,
            sidecar,
        }),
        Err(problem) => Err(EnsureError::Integrity { path, problem }),
    }
}

fn checked_sidecar(
    workspace: &Workspace,
    key: &EngineKey,
    path: &Path,
) -> Result<Sidecar, CachedEngineProblem> {
    let sidecar = workspace
        .cache
        .read_sidecar(key)
        .ok_or(CachedEngineProblem::NoSidecar)??;
    let found = std::fs::metadata(path)
        .map_err(CachedEngineProblem::Unreadable)?
        .len();
    if found != sidecar.engine_size {
        return Err(CachedEngineProblem::Size {
            found,
            expected: sidecar.engine_size,
        });
    }
    PlanHeader::check_file(path, sidecar.id.trt_version, sidecar.provenance.trt_build)
        .map_err(CachedEngineProblem::Unreadable)??;
    Ok(sidecar)
}

struct SilentReporter;

impl Reporter for SilentReporter {
    fn event(&self, _: &crate::exec::Event) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::remote::RemoteEnv;

    fn request(onnx: &str) -> EngineRequest {
        EngineRequest::new(onnx.into(), Precision::Fp16, 32, Environment::default())
    }

    #[test]
    fn a_derived_family_never_lands_in_the_caches_own_directories() {
        for reserved in ["logs", "timing"] {
            let family = request(&format!("{reserved}_r50.onnx"))
                .family(&format!("{reserved}_r50"))
                .unwrap();
            assert_eq!(family, format!("{reserved}-model"));
            assert!(!RESERVED_DIRS.contains(&family.as_str()));
        }
        assert_eq!(request("m.onnx").family("arcface_r100").unwrap(), "arcface");
    }

    #[test]
    fn an_explicit_reserved_family_is_refused_with_the_fix() {
        let mut asked = request("m.onnx");
        asked.family = Some("timing".into());
        let err = asked.family("arcface_r100").unwrap_err();
        assert!(matches!(err, EnsureError::ReservedFamily { .. }));
        assert!(err.to_string().contains("pass another family"), "{err}");
        asked.family = Some(".locks".into());
        assert!(matches!(
            asked.family("arcface_r100"),
            Err(EnsureError::BadName(NameError::Escapes { .. }))
        ));
    }

    #[test]
    fn only_the_seeds_default_profile_leaves_the_name_unmarked() {
        let batch = |min, opt, max| Profile::Batch { min, opt, max };
        assert_eq!(profile_mark(&batch(1, 32, 32)), None);
        assert_eq!(profile_mark(&batch(1, 16, 16)).as_deref(), Some("b16"));
        assert_eq!(profile_mark(&batch(1, 16, 32)).as_deref(), Some("b1-16-32"));
        assert_eq!(profile_mark(&batch(2, 16, 64)).as_deref(), Some("b2-16-64"));
        assert_eq!(profile_mark(&Profile::Static).as_deref(), Some("static"));
        let shapes = |opt: &str| Profile::Shapes {
            inputs: [(
                "input".to_string(),
                identity::ShapeRange {
                    min: "1x3x112x112".into(),
                    opt: opt.into(),
                    max: "8x3x112x112".into(),
                },
            )]
            .into(),
        };
        let four = profile_mark(&shapes("4x3x112x112")).unwrap();
        assert!(four.len() == 9 && four.starts_with('s'), "{four}");
        assert_ne!(Some(four), profile_mark(&shapes("8x3x112x112")));
        for profile in [batch(2, 16, 64), shapes("4x3x112x112"), Profile::Static] {
            let name = format!("arcface_r100-{}", profile_mark(&profile).unwrap());
            assert!(identity::validate_model_name(&name).is_ok(), "{name}");
        }
    }

    #[test]
    fn batch_ranges_must_be_ordered_and_positive() {
        let mut asked = request("m.onnx");
        for (min, opt, max) in [(0, 1, 1), (2, 1, 4), (1, 8, 4)] {
            asked.profile = Profile::Batch { min, opt, max };
            assert!(matches!(
                asked.check_profile(),
                Err(EnsureError::BadBatch { .. })
            ));
        }
        asked.profile = Profile::Batch {
            min: 1,
            opt: 8,
            max: 8,
        };
        assert!(asked.check_profile().is_ok());
    }

    #[test]
    fn the_default_remote_is_explicit_or_the_seeds_bucket_at_its_endpoint() {
        let mut env = Environment::default();
        assert!(default_remote(&env).is_none(), "never a guessed AWS bucket");
        env.remote = RemoteEnv {
            endpoint: Some("http://127.0.0.1:9000".into()),
            ..RemoteEnv::default()
        };
        assert_eq!(default_remote(&env).unwrap().url, SEED_REMOTE_URL);
        env.remote_url = Some("file:///srv/engines".into());
        assert_eq!(default_remote(&env).unwrap().url, "file:///srv/engines");
    }

    /// The mapping of reports to sources; two real processes, one seen waiting for the other's
    /// lock, are `tests/integration/ensure_cli.rs::of_two_processes_asking_at_once_only_the_builder_says_built`.
    #[test]
    fn only_the_process_that_built_says_built() {
        let built_elsewhere = ApplyReport {
            local_cache: 1,
            ..ApplyReport::default()
        };
        assert_eq!(source_of(&built_elsewhere).unwrap(), Source::LocalCache);
        let built_here = ApplyReport {
            built: 1,
            uploaded: 1,
            ..ApplyReport::default()
        };
        assert_eq!(source_of(&built_here).unwrap(), Source::Built);
        let fetched = ApplyReport {
            fetched: 1,
            ..ApplyReport::default()
        };
        assert_eq!(source_of(&fetched).unwrap(), Source::Remote);
        let stopped = ApplyReport {
            interrupted: true,
            ..ApplyReport::default()
        };
        assert!(matches!(source_of(&stopped), Err(EnsureError::Interrupted)));
    }

    #[test]
    fn a_gpu_index_selects_that_gpu_or_names_the_ones_there() {
        let gpus =
            GpuInventory::simulated(&[identity::GpuArch::new(8, 6), identity::GpuArch::new(8, 9)]);
        let second = select_gpu(gpus.clone(), Some(1)).unwrap();
        assert_eq!(second.archs(), vec![identity::GpuArch::new(8, 9)]);
        let err = select_gpu(gpus, Some(5)).unwrap_err();
        assert!(
            err.to_string().contains("0 (simulated sm_86, sm_86)"),
            "{err}"
        );
        let none = GpuInventory::simulated(&[]);
        assert!(matches!(
            select_gpu(none, None),
            Err(EnsureError::NoGpu { .. })
        ));
    }
}
