//! A manifest with everything around it resolved — cache dir, remote, GPUs, TensorRT — and the
//! observe → plan pipeline every command starts with.

use std::path::{Path, PathBuf};

use crate::builder::{BuildError, Builder, Trtexec};
use crate::exec::{ApplyOptions, ApplyReport, Executor, StopSignal};
use crate::gpu::{self, GpuInventory, TrtFact, TrtSource};
use crate::identity::{self, BuildFlags, EngineId, GpuArch, Precision, Profile, TrtVersion};
use crate::manifest::{Manifest, ManifestError, ModelSpec, ModelVersion, TrtPin};
use crate::observe::{self, HashCache};
use crate::plan::{self, Decision, DesiredEngine, Force, Plan, PlanInputs, Selector};
use crate::report::Reporter;
use crate::store::remote::{Remote, RemoteEnv, RemoteError, RemoteSettings};
use crate::store::{self, Cache, StoreError};

/// Everything read from the process environment, gathered at the edge so the library never
/// reads it behind the caller's back.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub cache_dir: Option<PathBuf>,
    pub home: Option<PathBuf>,
    /// `--gpu-arch` / `TRTCTL_GPU_ARCH`: plan as if these GPUs were here.
    pub gpu_archs: Vec<GpuArch>,
    pub trt_version: Option<String>,
    pub remote: RemoteEnv,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("remote {url}: {source}")]
    Remote { url: String, source: RemoteError },
    #[error("{0}")]
    TrtVersion(String),
    #[error(transparent)]
    Selector(#[from] plan::UnmatchedSelector),
}

pub struct Workspace {
    pub manifest: Manifest,
    pub cache: Cache,
    pub remote: Option<Remote>,
    pub gpus: GpuInventory,
    pub trt: TrtFact,
}

/// Where an `s3://` remote is kept when nothing points at a real S3 service: a directory beside
/// the cache, so a fresh checkout can plan and apply the example without any account.
fn embedded_remote(
    settings: &RemoteSettings,
    env: &RemoteEnv,
    cache_dir: &Path,
) -> Option<RemoteSettings> {
    let bucket_and_prefix = settings.url.strip_prefix("s3://")?;
    let configured = settings.endpoint.is_some()
        || settings.region.is_some()
        || env.endpoint.is_some()
        || env.access_key.is_some()
        || env.secret_key.is_some()
        || env.region.is_some();
    if configured {
        return None;
    }
    let base = cache_dir.parent().unwrap_or(cache_dir).join("remote");
    Some(RemoteSettings {
        url: format!("file://{}", base.join(bucket_and_prefix).display()),
        ..settings.clone()
    })
}

fn resolve_trt(manifest: &Manifest, env: &Environment) -> Result<TrtFact, WorkspaceError> {
    if let TrtPin::Pinned(version) = manifest.trt_version {
        return Ok(TrtFact {
            version,
            source: TrtSource::Pinned,
        });
    }
    let trtexec = gpu::find_trtexec(manifest.builder.trtexec.as_deref());
    gpu::detect_trt(env.trt_version.as_deref(), trtexec.as_deref()).map_err(|e| {
        WorkspaceError::TrtVersion(format!(
            "{}: `trt_version = \"auto\"` needs a local TensorRT: {e}",
            manifest.path.display()
        ))
    })
}

impl Workspace {
    pub fn open(manifest_path: &Path, env: &Environment) -> Result<Workspace, WorkspaceError> {
        let manifest = Manifest::load(manifest_path)?;
        Workspace::assemble(manifest, env, env.gpus())
    }

    /// Resolves the cache dir, the remote and TensorRT around an already validated manifest.
    pub fn assemble(
        manifest: Manifest,
        env: &Environment,
        gpus: GpuInventory,
    ) -> Result<Workspace, WorkspaceError> {
        let cache_dir = store::resolve_cache_dir(
            env.cache_dir.clone(),
            manifest.cache_dir.as_deref(),
            env.home.clone(),
        )?;
        let remote = match &manifest.remote {
            Some(settings) => {
                let settings = embedded_remote(settings, &env.remote, &cache_dir)
                    .unwrap_or_else(|| settings.clone());
                let remote = Remote::open(&settings, &env.remote).map_err(|source| {
                    WorkspaceError::Remote {
                        url: settings.url.clone(),
                        source,
                    }
                })?;
                Some(remote)
            }
            None => None,
        };
        let trt = resolve_trt(&manifest, env)?;
        Ok(Workspace {
            manifest,
            cache: Cache::new(cache_dir),
            remote,
            gpus,
            trt,
        })
    }

    pub fn trt_version(&self) -> TrtVersion {
        self.trt.version
    }

    /// The engines the manifest wants, once its ONNX files are hashed (or found in the hash cache).
    pub fn desired(&self) -> Result<Vec<DesiredEngine>, WorkspaceError> {
        let files: Vec<PathBuf> = self
            .manifest
            .models
            .iter()
            .map(|m| m.onnx.clone())
            .collect();
        let mut hashes = HashCache::load(self.cache.root());
        let digests = hashes.digest(&files)?;
        // A lost hash cache only costs a re-hash next time; a read-only cache dir must not fail a plan.
        let _ = hashes.save();
        Ok(plan::desired_engines(
            &self.manifest,
            &digests.sha256,
            self.trt_version(),
        ))
    }

    /// Observes the ONNX files, the cache and the remote, then plans.
    pub async fn plan(&self, targets: &[Selector], force: &Force) -> Result<Plan, WorkspaceError> {
        let desired = self.desired()?;
        plan::check_selectors(
            &self.manifest.path,
            &desired,
            targets.iter().chain(force.selected()),
        )?;
        let local = observe::observe_local(&self.cache, &desired);
        let remote = match &self.remote {
            Some(remote) => Some(observe::observe_remote(remote, &desired).await.map_err(
                |source| WorkspaceError::Remote {
                    url: remote.url().to_string(),
                    source,
                },
            )?),
            None => None,
        };
        let archs = self.gpus.archs();
        Ok(plan::plan(PlanInputs {
            manifest: &self.manifest,
            trt_version: self.trt_version(),
            desired,
            gpu_archs: &archs,
            local: &local,
            remote: remote.as_ref(),
            targets,
            force,
        }))
    }
}

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

impl Workspace {
    /// The builder, when the plan builds anything: trtexec found and checked against the pin.
    pub fn builder_for(&self, plan: &Plan) -> Result<Option<Trtexec>, BuildError> {
        let builds = plan
            .steps
            .iter()
            .any(|s| matches!(s.decision, Decision::Build { .. }));
        if !builds {
            return Ok(None);
        }
        Trtexec::locate(self.manifest.builder.trtexec.as_deref(), self.trt_version()).map(Some)
    }

    /// Carries out `plan`: fetch, build, upload, reporting as it goes.
    pub async fn apply(
        &self,
        plan: &Plan,
        builder: Option<&dyn Builder>,
        reporter: &dyn Reporter,
        options: ApplyOptions,
        stop: &StopSignal,
    ) -> ApplyReport {
        let executor = Executor {
            cache: &self.cache,
            remote: self.remote.as_ref(),
            gpus: &self.gpus,
            builder,
            timing_cache: self.manifest.builder.timing_cache,
            reporter,
            options,
            stop,
        };
        executor.apply(plan).await
    }
}

/// One engine without a manifest: the seed's `build_or_load_engine`.
#[derive(Debug, Clone)]
pub struct EngineRequest {
    pub onnx: PathBuf,
    pub precision: Precision,
    pub batch_size: u32,
    /// Defaults to the ONNX file's stem.
    pub name: Option<String>,
    /// Defaults to the first 8 hex digits of the ONNX sha256.
    pub version: Option<String>,
    pub family: Option<String>,
    /// Defaults to `[remote]`-less: only the local cache and the local GPU.
    pub remote: Option<RemoteSettings>,
    pub env: Environment,
}

#[derive(Debug, thiserror::Error)]
pub enum EnsureError {
    #[error("{0}")]
    Request(String),
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error("{0}")]
    Failed(String),
}

impl EngineRequest {
    fn manifest(&self, trt: TrtPin) -> Result<Manifest, EnsureError> {
        let bad = |e: crate::identity::NameError| EnsureError::Request(e.to_string());
        let name = match &self.name {
            Some(name) => name.clone(),
            None => self
                .onnx
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .ok_or_else(|| {
                    EnsureError::Request(format!("{} has no file name", self.onnx.display()))
                })?,
        };
        identity::validate_model_name(&name).map_err(bad)?;
        let family = self
            .family
            .clone()
            .unwrap_or_else(|| EngineId::default_family(&name).to_string());
        identity::validate_family(&family).map_err(bad)?;
        let version = match &self.version {
            Some(v) => {
                identity::validate_model_version(v).map_err(bad)?;
                ModelVersion::Declared(v.clone())
            }
            None => ModelVersion::Auto,
        };
        if !self.onnx.is_file() {
            return Err(EnsureError::Request(format!(
                "ONNX file {} does not exist",
                self.onnx.display()
            )));
        }
        if self.batch_size == 0 {
            return Err(EnsureError::Request(
                "--batch-size must be at least 1".into(),
            ));
        }
        Ok(Manifest {
            path: self.onnx.clone(),
            sha256: String::new(),
            trt_version: trt,
            cache_dir: None,
            remote: self.remote.clone(),
            builder: Default::default(),
            models: vec![ModelSpec {
                name,
                family,
                onnx: std::path::absolute(&self.onnx).unwrap_or_else(|_| self.onnx.clone()),
                version,
                precisions: vec![self.precision],
                archs: Vec::new(),
                profile: Profile::Batch {
                    min: 1,
                    opt: self.batch_size,
                    max: self.batch_size,
                },
                flags: BuildFlags::default(),
            }],
        })
    }
}

/// Returns the engine for `request` on this machine's GPU, from the local cache, the remote,
/// or a fresh build — in that order of preference.
///
/// ```no_run
/// use trtctl::identity::Precision;
/// use trtctl::workspace::{ensure_engine, EngineRequest, Environment};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let request = EngineRequest {
///     onnx: "models/arcface_r100.onnx".into(),
///     precision: Precision::Fp16,
///     batch_size: 32,
///     name: None,
///     version: Some("v1.0".into()),
///     family: None,
///     remote: None,
///     env: Environment::from_process(),
/// };
/// let (path, source) = ensure_engine(&request).await?;
/// println!("{} ({source})", path.display());
/// # Ok(()) }
/// ```
pub async fn ensure_engine(request: &EngineRequest) -> Result<(PathBuf, Source), EnsureError> {
    let env = &request.env;
    let gpus = env.gpus();
    let arch = *gpus.archs().first().ok_or_else(|| {
        EnsureError::Request(
            "no local GPU: an engine is built for the GPU it runs on (or pass --gpu-arch)".into(),
        )
    })?;
    let pin = env
        .trt_version
        .as_deref()
        .map(|v| v.parse().map(TrtPin::Pinned))
        .transpose()
        .map_err(|e: crate::identity::NameError| {
            EnsureError::Request(format!("TRTCTL_TRT_VERSION: {e}"))
        })?
        .unwrap_or(TrtPin::Auto);
    let mut manifest = request.manifest(pin)?;
    manifest.models[0].archs = vec![arch];
    let workspace = Workspace::assemble(manifest, env, gpus)?;
    let plan = workspace.plan(&[], &Force::Nothing).await?;
    let step = plan
        .steps
        .first()
        .ok_or_else(|| EnsureError::Failed("nothing planned".into()))?;
    let source = match step.decision {
        Decision::UpToDate { .. } | Decision::Upload => Source::LocalCache,
        Decision::Fetch { .. } => Source::Remote,
        _ => Source::Built,
    };
    let builder = workspace.builder_for(&plan)?;
    let stop = StopSignal::default();
    let options = ApplyOptions {
        jobs: 4,
        keep_going: false,
    };
    let report = workspace
        .apply(
            &plan,
            builder.as_ref().map(|b| b as &dyn Builder),
            &SilentReporter,
            options,
            &stop,
        )
        .await;
    if let Some(failure) = report.failures.first() {
        return Err(EnsureError::Failed(format!(
            "{} {}: {}",
            failure.action.as_str(),
            failure.file,
            failure.reason
        )));
    }
    Ok((workspace.cache.engine_path(&step.engine.key), source))
}

struct SilentReporter;

impl Reporter for SilentReporter {
    fn event(&self, _: &crate::report::Event) {}
}

impl Environment {
    /// The GPUs to plan for: the simulated ones asked for, else what CUDA finds.
    pub fn gpus(&self) -> GpuInventory {
        if self.gpu_archs.is_empty() {
            GpuInventory::detect()
        } else {
            GpuInventory::simulated(&self.gpu_archs)
        }
    }

    /// Reads every variable trtctl honours; the one place the library looks at the environment.
    pub fn from_process() -> Environment {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Environment {
            cache_dir: var(store::CACHE_DIR_ENV).map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            gpu_archs: var("TRTCTL_GPU_ARCH")
                .and_then(|v| gpu::parse_arch_list(&v).ok())
                .unwrap_or_default(),
            trt_version: var("TRTCTL_TRT_VERSION"),
            remote: RemoteEnv::from_process_env(),
        }
    }
}
