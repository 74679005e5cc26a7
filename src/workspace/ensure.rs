//! One engine without a manifest: the seed's `build_or_load_engine`.

use std::path::PathBuf;

use super::{Environment, Workspace, WorkspaceError};
use crate::builder::{BuildError, Builder};
use crate::exec::Reporter;
use crate::exec::{ApplyOptions, StopSignal};
use crate::identity::{self, BuildFlags, EngineId, Precision, Profile};
use crate::manifest::{Manifest, ModelSpec, ModelVersion, TrtPin};
use crate::plan::{Decision, Force};
use crate::store::remote::RemoteSettings;

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
    fn event(&self, _: &crate::exec::Event) {}
}
