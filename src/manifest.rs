//! `engines.toml`: the desired engines, validated with errors that point at file, line and fix.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

mod fleet;
mod raw;
mod source;
mod targets;
mod trust;
mod weights;

pub use fleet::{FleetSettings, KubernetesSettings};
pub use raw::json_schema;
use raw::{RawBatch, RawDefaults, RawFlags, RawManifest, RawModel, RawRemote};
pub use source::Diagnostic;
use source::Source;
pub use trust::{LeanRuntime, TrustSettings};

use crate::identity::{
    self, BuildFlags, EngineId, EngineTarget, GpuArch, GpuModelPolicy, Precision, Profile,
    TrtVersion,
};
use crate::store::remote::{
    DEFAULT_CONCURRENCY, DEFAULT_LEASE_TTL, DEFAULT_MAX_IN_FLIGHT, DEFAULT_PART_SIZE,
    DEFAULT_READ_TIMEOUT, RemoteSettings,
};

const DEFAULT_PRECISIONS: [Precision; 1] = [Precision::Fp16];
/// Renewals go every third of the lease time: shorter leases would expire on one slow request.
const MIN_LEASE_TTL_SECS: u64 = 3;

/// The TensorRT version engines are built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrtPin {
    Pinned(TrtVersion),
    /// Whatever the local TensorRT is.
    Auto,
    /// Already resolved by the caller, and how (`ensure`: the probe of the process, or the
    /// version asked for): no manifest pins it.
    Resolved(crate::gpu::TrtFact),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelVersion {
    Declared(String),
    /// The first 8 hex digits of the ONNX file's sha256.
    Auto,
}

impl ModelVersion {
    pub fn resolve(&self, onnx_sha256: &str) -> String {
        match self {
            ModelVersion::Declared(v) => v.clone(),
            ModelVersion::Auto => onnx_sha256[..8].to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub name: String,
    pub family: String,
    /// Absolute (resolved against the manifest's directory).
    pub onnx: PathBuf,
    pub version: ModelVersion,
    pub precisions: Vec<Precision>,
    pub archs: Vec<GpuArch>,
    pub profile: Profile,
    pub flags: BuildFlags,
    pub gpu_model: GpuModelPolicy,
}

/// `[builder] backend`: what builds the engines.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum BuilderBackend {
    /// trtexec where one is found, else a Python whose `tensorrt` imports.
    #[default]
    Auto,
    /// NVIDIA's trtexec.
    Trtexec,
    /// The `tensorrt` Python API (`pip install tensorrt`), in a child process of `[builder] python`.
    Python,
}

impl BuilderBackend {
    pub fn as_str(self) -> &'static str {
        match self {
            BuilderBackend::Auto => "auto",
            BuilderBackend::Trtexec => "trtexec",
            BuilderBackend::Python => "python",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuilderSettings {
    pub backend: BuilderBackend,
    pub trtexec: Option<PathBuf>,
    /// The Python interpreter of the `python` backend.
    pub python: Option<PathBuf>,
    /// Share one timing cache per arch and TensorRT version across builds.
    pub timing_cache: bool,
    /// Share those timing caches with the fleet through the remote.
    pub shared_timing_cache: bool,
}

#[derive(Debug, Clone)]
pub struct Manifest {
    pub path: PathBuf,
    /// sha256 of the manifest's bytes: a saved plan is refused once it changes.
    pub sha256: String,
    pub trt_version: TrtPin,
    pub cache_dir: Option<PathBuf>,
    pub remote: Option<RemoteSettings>,
    pub builder: BuilderSettings,
    pub trust: TrustSettings,
    pub fleet: FleetSettings,
    pub models: Vec<ModelSpec>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "cannot read manifest {}: {source}\n  = help: pass the manifest's path: `-f path/to/engines.toml` on the command line, the `manifest` argument in Python",
        crate::sys::shown_path(path)
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
}

impl ManifestError {
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            ManifestError::Invalid(d) => Some(d),
            ManifestError::Read { .. } => None,
        }
    }
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Manifest::parse(path, &text)
    }

    /// The manifest as a deploy host reads it: everything validated except that the ONNX files
    /// exist (a host that only fetches pinned engines has none).
    pub fn load_without_onnx(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Manifest::parse_source(Source {
            path,
            text: &text,
            onnx_required: false,
        })
    }

    /// Validates `text` as the manifest at `path`; relative paths in it resolve against its directory.
    pub fn parse(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse_source(Source {
            path,
            text,
            onnx_required: true,
        })
    }

    fn parse_source(source: Source) -> Result<Manifest, ManifestError> {
        let Source { path, text, .. } = source;
        let raw: RawManifest = toml::from_str(text).map_err(|e| source.toml_error(e))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let trt_version = parse_trt_pin(&source, raw.trt_version.as_ref())?;
        let defaults = raw.defaults.unwrap_or(RawDefaults {
            precisions: None,
            archs: None,
            batch: None,
            build: None,
            gpu_model: None,
            weights: None,
        });
        if raw.model.is_empty() {
            return Err(source.error(
                0..0,
                "the manifest declares no engines",
                Some(
                    "add a `[[model]]` table with `name` and `onnx` (see engines.toml.example)"
                        .into(),
                ),
            ));
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut models = Vec::with_capacity(raw.model.len());
        for model in raw.model {
            let spec = resolve_model(&source, dir, &defaults, model, &trt_version, &mut seen)?;
            models.push(spec);
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            sha256: identity::sha256_hex(text.as_bytes()),
            trt_version,
            cache_dir: raw.cache.and_then(|c| c.dir).map(|d| resolve_path(dir, &d)),
            remote: raw
                .remote
                .map(|r| resolve_remote(&source, dir, r))
                .transpose()?,
            builder: raw
                .builder
                .map(|b| BuilderSettings {
                    backend: b.backend.unwrap_or_default(),
                    trtexec: b.trtexec.map(|t| resolve_path(dir, &t)),
                    python: b.python.map(|p| resolve_path(dir, &p)),
                    timing_cache: b.timing_cache.unwrap_or(true),
                    shared_timing_cache: b.shared_timing_cache.unwrap_or(true),
                })
                .unwrap_or(BuilderSettings {
                    timing_cache: true,
                    shared_timing_cache: true,
                    ..BuilderSettings::default()
                }),
            trust: raw
                .trust
                .map(|t| trust::resolve_trust(&source, dir, t))
                .transpose()?
                .unwrap_or_default(),
            fleet: raw.fleet.map(fleet::resolve_fleet).unwrap_or_default(),
            models,
        })
    }

    /// The engine identity a model gets for one precision and arch, once its ONNX is hashed.
    pub fn engine_id(
        model: &ModelSpec,
        onnx_sha256: &str,
        precision: Precision,
        target: &EngineTarget,
        trt: TrtVersion,
    ) -> EngineId {
        EngineId {
            model_name: model.name.clone(),
            model_version: model.version.resolve(onnx_sha256),
            precision,
            gpu_arch: target.arch,
            trt_version: trt,
            gpu_model: target.gpu_model.clone(),
        }
    }
}

/// `~` means the home directory; anything relative is relative to the manifest.
fn resolve_path(dir: &Path, value: &str) -> PathBuf {
    if let Some(rest) = value.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    dir.join(value)
}

fn parse_trt_pin(
    source: &Source,
    value: Option<&Spanned<String>>,
) -> Result<TrtPin, ManifestError> {
    let Some(value) = value else {
        return Ok(TrtPin::Auto);
    };
    if value.get_ref() == "auto" {
        return Ok(TrtPin::Auto);
    }
    value.get_ref().parse().map(TrtPin::Pinned).map_err(|e: identity::NameError| {
        source.error(
            value.span(),
            e.to_string(),
            Some("pin a version like `trt_version = \"10.3.0\"`, or use `\"auto\"` for the local TensorRT".into()),
        )
    })
}

fn resolve_remote(
    source: &Source,
    dir: &Path,
    raw: RawRemote,
) -> Result<RemoteSettings, ManifestError> {
    let url = raw.url.get_ref();
    let url = if let Some(rel) = url.strip_prefix("file://").filter(|p| !p.starts_with('/')) {
        format!("file://{}", absolute(&dir.join(rel)).display())
    } else if url.starts_with("s3://") || url.starts_with("file:///") {
        url.clone()
    } else {
        return Err(source.error(
            raw.url.span(),
            format!("unsupported remote URL `{url}`"),
            Some(
                "use `s3://bucket/prefix` or `file:///absolute/dir` (or `file://relative/dir`)"
                    .into(),
            ),
        ));
    };
    let positive = |value: &Option<Spanned<u64>>, what: &str| match value {
        Some(v) if *v.get_ref() == 0 => {
            Err(source.error(v.span(), format!("`{what}` must be at least 1"), None))
        }
        _ => Ok(()),
    };
    positive(&raw.part_size_mib, "part_size_mib")?;
    positive(&raw.read_timeout_secs, "read_timeout_secs")?;
    let as_u64 = |v: &Option<Spanned<usize>>| {
        v.as_ref()
            .map(|c| Spanned::new(c.span(), *c.get_ref() as u64))
    };
    positive(&as_u64(&raw.concurrency), "concurrency")?;
    positive(&as_u64(&raw.max_in_flight), "max_in_flight")?;
    if let Some(ttl) = &raw.lease_ttl_secs
        && *ttl.get_ref() < MIN_LEASE_TTL_SECS
    {
        return Err(source.error(
            ttl.span(),
            format!("`lease_ttl_secs` must be at least {MIN_LEASE_TTL_SECS}"),
            None,
        ));
    }
    Ok(RemoteSettings {
        url,
        endpoint: raw.endpoint,
        region: raw.region,
        part_size: raw
            .part_size_mib
            .map_or(DEFAULT_PART_SIZE, |p| *p.get_ref() * 1024 * 1024),
        concurrency: raw
            .concurrency
            .map_or(DEFAULT_CONCURRENCY, |c| *c.get_ref()),
        max_in_flight: raw
            .max_in_flight
            .map_or(DEFAULT_MAX_IN_FLIGHT, |c| *c.get_ref()),
        lease_ttl: raw
            .lease_ttl_secs
            .map_or(DEFAULT_LEASE_TTL, |t| Duration::from_secs(*t.get_ref())),
        read_timeout: raw
            .read_timeout_secs
            .map_or(DEFAULT_READ_TIMEOUT, |t| Duration::from_secs(*t.get_ref())),
        embedded: raw.embedded.unwrap_or(true),
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn non_empty<T: Clone>(
    source: &Source,
    list: &Spanned<Vec<T>>,
    what: &str,
) -> Result<Vec<T>, ManifestError> {
    if list.get_ref().is_empty() {
        return Err(source.error(
            list.span(),
            format!("`{what}` is empty"),
            Some(format!(
                "list at least one, or remove `{what}` to use [defaults]"
            )),
        ));
    }
    Ok(list.get_ref().clone())
}

/// A model's `archs`: GPU archs, never the `sm_80-plus` that names an `ampere+` engine.
fn gpu_archs(source: &Source, list: &Spanned<Vec<GpuArch>>) -> Result<Vec<GpuArch>, ManifestError> {
    let archs = non_empty(source, list, "archs")?;
    match archs.iter().find(|a| a.is_and_later()) {
        Some(target) => Err(source.error(
            list.span(),
            format!("`{target}` names the engine that serves many archs, not a GPU arch"),
            Some(
                "list the GPU archs (`archs = [\"sm_80\", \"sm_86\", \"sm_90\"]`) and set `build = { hardware_compatibility = \"ampere+\" }`".into(),
            ),
        )),
        None => Ok(archs),
    }
}

fn resolve_model(
    source: &Source,
    dir: &Path,
    defaults: &RawDefaults,
    model: RawModel,
    trt: &TrtPin,
    seen: &mut HashMap<String, usize>,
) -> Result<ModelSpec, ManifestError> {
    let name = model.name.get_ref().clone();
    identity::validate_model_name(&name)
        .map_err(|e| source.error(model.name.span(), e.to_string(), None))?;
    let line = source.text[..model.name.span().start].matches('\n').count() + 1;
    if let Some(first) = seen.insert(name.clone(), line) {
        return Err(source.error(
            model.name.span(),
            format!("model `{name}` is declared twice (first on line {first})"),
            Some("give each [[model]] a unique `name`, or merge the two".into()),
        ));
    }
    let (family, family_span) = match &model.family {
        Some(family) => {
            identity::validate_family(family.get_ref())
                .map_err(|e| source.error(family.span(), e.to_string(), None))?;
            (family.get_ref().clone(), family.span())
        }
        None => (
            EngineId::default_family(&name).to_string(),
            model.name.span(),
        ),
    };
    if crate::store::RESERVED_DIRS.contains(&family.as_str()) {
        return Err(source.error(
            family_span,
            format!("family `{family}` is reserved for the cache's own files"),
            Some("set `family = \"...\"` to another name".into()),
        ));
    }
    let version = match &model.version {
        None => ModelVersion::Auto,
        Some(v) if v.get_ref() == "auto" => ModelVersion::Auto,
        Some(v) => {
            identity::validate_model_version(v.get_ref()).map_err(|e| {
                source.error(
                    v.span(),
                    e.to_string(),
                    Some("use a version like `v1.0`, or `\"auto\"`".into()),
                )
            })?;
            ModelVersion::Declared(v.get_ref().clone())
        }
    };
    let precisions = match model.precisions.as_ref().or(defaults.precisions.as_ref()) {
        Some(list) => dedup(non_empty(source, list, "precisions")?),
        None => DEFAULT_PRECISIONS.to_vec(),
    };
    let archs = match model.archs.as_ref().or(defaults.archs.as_ref()) {
        Some(list) => dedup(gpu_archs(source, list)?),
        None => {
            return Err(source.error(
                model.name.span(),
                format!("model `{name}` names no GPU archs"),
                Some("add `archs = [\"sm_86\"]` to the model or to [defaults]".into()),
            ));
        }
    };
    check_file_name_length(source, &model, &version, &precisions, &archs, trt)?;
    let onnx = resolve_onnx(source, dir, &model.onnx)?;
    let profile = resolve_profile(source, &model, defaults)?;
    let weights = weights::resolve_weights(source, &model, defaults, trt)?;
    let mut flags = resolve_flags(
        source,
        model
            .build
            .unwrap_or_default()
            .over(defaults.build.as_ref().unwrap_or(&RawFlags::default())),
    )?;
    flags.weights = weights;
    Ok(ModelSpec {
        name,
        family,
        onnx,
        version,
        precisions,
        archs,
        profile,
        flags,
        gpu_model: model.gpu_model.or(defaults.gpu_model).unwrap_or_default(),
    })
}

/// The longest engine file name the model makes must leave room for the names derived from it
/// (temp and staging files), or the build fails late with `File name too long`.
fn check_file_name_length(
    source: &Source,
    model: &RawModel,
    version: &ModelVersion,
    precisions: &[Precision],
    archs: &[GpuArch],
    trt: &TrtPin,
) -> Result<(), ManifestError> {
    // "auto" versions are 8 hex digits; an auto TensorRT version is at most `NN.NN.NN`.
    let version_len = match version {
        ModelVersion::Declared(v) => v.len(),
        ModelVersion::Auto => 8,
    };
    let trt_len = match trt {
        TrtPin::Pinned(v) => v.to_string().len(),
        TrtPin::Resolved(fact) => fact.version.to_string().len(),
        TrtPin::Auto => 8,
    };
    let longest_precision = precisions.iter().map(|p| p.to_string().len()).max();
    let longest_arch = archs.iter().map(|a| a.to_string().len()).max();
    let name = model.name.get_ref();
    let longest = name.len()
        + version_len
        + longest_precision.unwrap_or(0)
        + longest_arch.unwrap_or(0)
        + trt_len
        + "____.trt".len();
    if longest <= identity::MAX_ENGINE_FILE_NAME {
        return Ok(());
    }
    Err(source.error(
        model.name.span(),
        format!(
            "engine file names of model `{name}` reach {longest} bytes; at most {} fit (the file system allows 255, and temp and staging names add {})",
            identity::MAX_ENGINE_FILE_NAME,
            255 - identity::MAX_ENGINE_FILE_NAME
        ),
        Some(format!(
            "shorten the model name to at most {} characters",
            name.len() - (longest - identity::MAX_ENGINE_FILE_NAME)
        )),
    ))
}

/// Drops repeats, keeping the manifest's order.
fn dedup<T: PartialEq>(list: Vec<T>) -> Vec<T> {
    list.into_iter().fold(Vec::new(), |mut kept, item| {
        if !kept.contains(&item) {
            kept.push(item);
        }
        kept
    })
}

fn resolve_onnx(
    source: &Source,
    dir: &Path,
    onnx: &Spanned<String>,
) -> Result<PathBuf, ManifestError> {
    let path = absolute(&resolve_path(dir, onnx.get_ref()));
    if !source.onnx_required {
        return Ok(path);
    }
    let Some(problem) = crate::sys::not_a_file(&path) else {
        return Ok(path);
    };
    Err(source.error(
        onnx.span(),
        format!(
            "ONNX file `{}` {problem} (looked at {})",
            crate::sys::shown(onnx.get_ref()),
            crate::sys::shown_path(&path)
        ),
        Some("paths are relative to the manifest's directory; fix the path or export the model there".into()),
    ))
}

fn resolve_profile(
    source: &Source,
    model: &RawModel,
    defaults: &RawDefaults,
) -> Result<Profile, ManifestError> {
    if let (Some(batch), Some(_)) = (&model.batch, &model.shapes) {
        return Err(source.error(
            batch.span(),
            "`batch` and `shapes` are both set",
            Some("use `batch` for a batch range over the ONNX shapes, or `shapes` for explicit per-input shapes, not both".into()),
        ));
    }
    if let Some(shapes) = &model.shapes {
        if shapes.get_ref().is_empty() {
            return Err(source.error(
                shapes.span(),
                "`shapes` is empty",
                Some("give each dynamic input `{ min = \"...\", opt = \"...\", max = \"...\" }`, or remove `shapes`".into()),
            ));
        }
        for (input, range) in shapes.get_ref() {
            for dims in [&range.min, &range.opt, &range.max] {
                if !is_dims(dims) {
                    return Err(source.error(
                        shapes.span(),
                        format!("shape `{dims}` of input `{input}` is not dims like `1x3x112x112`"),
                        None,
                    ));
                }
            }
        }
        return Ok(Profile::Shapes {
            inputs: shapes.get_ref().clone(),
        });
    }
    match model.batch.as_ref().or(defaults.batch.as_ref()) {
        Some(batch) => {
            let RawBatch { min, opt, max } = *batch.get_ref();
            if min == 0 || min > opt || opt > max {
                return Err(source.error(
                    batch.span(),
                    format!(
                        "batch range min={min} opt={opt} max={max} is not 1 <= min <= opt <= max"
                    ),
                    Some("for example `batch = { min = 1, opt = 32, max = 64 }`".into()),
                ));
            }
            Ok(Profile::Batch { min, opt, max })
        }
        None => Ok(Profile::Static),
    }
}

fn is_dims(text: &str) -> bool {
    text.split('x')
        .all(|d| !d.is_empty() && d.len() <= 9 && d.bytes().all(|b| b.is_ascii_digit()))
}

fn resolve_flags(source: &Source, raw: RawFlags) -> Result<BuildFlags, ManifestError> {
    if let Some(level) = &raw.optimization_level
        && *level.get_ref() > 5
    {
        return Err(source.error(
            level.span(),
            format!("optimization_level {} is out of range", level.get_ref()),
            Some("TensorRT's builder optimization level is 0 to 5".into()),
        ));
    }
    Ok(BuildFlags {
        workspace_mib: raw.workspace_mib,
        optimization_level: raw.optimization_level.map(|l| *l.get_ref()),
        hardware_compatibility: raw.hardware_compatibility,
        version_compatible: raw.version_compatible.unwrap_or(false),
        strongly_typed: raw.strongly_typed.unwrap_or(false),
        extra_args: raw.extra_args.unwrap_or_default(),
        weights: identity::WeightsMode::Embedded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir {
        dir: tempfile::TempDir,
    }

    impl Dir {
        fn new() -> Dir {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join("models")).unwrap();
            std::fs::write(dir.path().join("models/a.onnx"), b"onnx").unwrap();
            std::fs::write(dir.path().join("models/b.onnx"), b"onnx2").unwrap();
            Dir { dir }
        }
        fn parse(&self, text: &str) -> Result<Manifest, ManifestError> {
            Manifest::parse(&self.dir.path().join("engines.toml"), text)
        }
        fn error(&self, text: &str) -> Diagnostic {
            match self.parse(text) {
                Err(ManifestError::Invalid(d)) => *d,
                other => panic!("expected a diagnostic, got {other:?}"),
            }
        }
    }

    const GOOD: &str = r#"
trt_version = "10.3.0"

[defaults]
precisions = ["fp16"]
archs = ["sm_80", "sm_86"]

[[model]]
name = "arcface_r100"
family = "arcface"
onnx = "models/a.onnx"
version = "v1.0"
precisions = ["fp16", "fp32"]
batch = { min = 1, opt = 32, max = 64 }
build = { workspace_mib = 4096 }

[[model]]
name = "scrfd_10g"
onnx = "models/b.onnx"
"#;

    #[test]
    fn defaults_merge_into_models() {
        let dir = Dir::new();
        let m = dir.parse(GOOD).unwrap();
        assert_eq!(m.trt_version, TrtPin::Pinned(TrtVersion::new(10, 3, 0)));
        let [a, b] = &m.models[..] else { panic!() };
        assert_eq!(a.family, "arcface");
        assert_eq!(a.precisions, vec![Precision::Fp16, Precision::Fp32]);
        assert_eq!(
            a.profile,
            Profile::Batch {
                min: 1,
                opt: 32,
                max: 64
            }
        );
        assert_eq!(a.flags.workspace_mib, Some(4096));
        assert_eq!(a.version, ModelVersion::Declared("v1.0".into()));
        assert_eq!(b.family, "scrfd");
        assert_eq!(b.precisions, vec![Precision::Fp16]);
        assert_eq!(b.archs, vec![GpuArch::new(8, 0), GpuArch::new(8, 6)]);
        assert_eq!(b.version, ModelVersion::Auto);
        assert_eq!(b.profile, Profile::Static);
        assert!(b.onnx.is_absolute() && b.onnx.ends_with("models/b.onnx"));
    }

    #[test]
    fn unknown_keys_suggest_the_nearest() {
        let dir = Dir::new();
        let d =
            dir.error(&GOOD.replace("precisions = [\"fp16\", \"fp32\"]", "precison = [\"fp16\"]"));
        assert_eq!((d.line, d.column), (13, 1), "{d}");
        assert!(d.message.contains("unknown field `precison`"), "{d}");
        assert_eq!(d.help.as_deref(), Some("did you mean `precisions`?"));
        let shown = d.to_string();
        assert!(
            shown.starts_with(&format!(
                "{}:13:1:",
                dir.dir.path().join("engines.toml").display()
            )),
            "{shown}"
        );
        assert!(shown.contains("13 | precison = [\"fp16\"]"), "{shown}");
    }

    #[test]
    fn bad_precision_names_line_and_fix() {
        let d = Dir::new().error(&GOOD.replace("[\"fp16\", \"fp32\"]", "[\"fp16\", \"fp61\"]"));
        assert_eq!(d.line, 13, "{d}");
        assert!(d.message.contains("unknown precision `fp61`"), "{d}");
        assert!(d.message.contains("did you mean `fp16`?"), "{d}");
    }

    #[test]
    fn bad_archs_are_refused() {
        let dir = Dir::new();
        let d = dir.error(&GOOD.replace("\"sm_80\", \"sm_86\"", "\"sm_80\", \"sm86\""));
        assert_eq!(d.line, 6, "{d}");
        assert!(d.message.contains("did you mean `sm_86`?"), "{d}");
        let d = dir.error(&GOOD.replace("\"sm_80\", \"sm_86\"", "\"sm_8\""));
        assert!(d.message.contains("`sm_8` is not a GPU arch"), "{d}");
    }

    #[test]
    fn duplicate_models_name_both_lines() {
        let d = Dir::new().error(&GOOD.replace("scrfd_10g", "arcface_r100"));
        assert_eq!(d.line, 18, "{d}");
        assert!(
            d.message.contains("declared twice (first on line 9)"),
            "{d}"
        );
    }

    #[test]
    fn names_that_escape_are_refused() {
        let dir = Dir::new();
        for bad in ["../x", "a/b", ".hidden"] {
            let d = dir.error(&GOOD.replace("name = \"scrfd_10g\"", &format!("name = \"{bad}\"")));
            assert_eq!(d.line, 18, "{d}");
        }
        let d = dir.error(&GOOD.replace("family = \"arcface\"", "family = \"../etc\""));
        assert_eq!(d.line, 10, "{d}");
        let d = dir.error(&GOOD.replace("version = \"v1.0\"", "version = \"v1_0\""));
        assert!(
            d.message.contains("model version `v1_0` contains `_`"),
            "{d}"
        );
    }

    #[test]
    fn reserved_families_are_refused_even_by_default() {
        let d = Dir::new().error(&GOOD.replace("scrfd_10g", "logs_detector"));
        assert!(d.message.contains("family `logs` is reserved"), "{d}");
        assert_eq!(d.line, 18, "{d}");
        let d = Dir::new().error(&GOOD.replace("family = \"arcface\"", "family = \"timing\""));
        assert_eq!(d.line, 10, "{d}");
    }

    #[test]
    fn timing_caches_are_shared_unless_turned_off() {
        let dir = Dir::new();
        let builder = |text: &str| dir.parse(text).unwrap().builder;
        let default = builder(GOOD);
        assert!(default.timing_cache && default.shared_timing_cache);
        let off = builder(&format!("{GOOD}\n[builder]\nshared_timing_cache = false\n"));
        assert!(off.timing_cache && !off.shared_timing_cache);
        let d = dir.error(&format!(
            "{GOOD}\n[builder]\nshared_timing_cache = \"no\"\n"
        ));
        assert!(d.message.contains("invalid type"), "{d}");
    }

    #[test]
    fn the_backend_and_its_python() {
        let dir = Dir::new();
        let builder = |text: &str| dir.parse(text).unwrap().builder;
        assert_eq!(builder(GOOD).backend, BuilderBackend::Auto);
        assert_eq!(builder(GOOD).python, None);
        let python = builder(&format!(
            "{GOOD}\n[builder]\nbackend = \"python\"\npython = \"venv/bin/python\"\n"
        ));
        assert_eq!(python.backend, BuilderBackend::Python);
        assert_eq!(python.python, Some(dir.dir.path().join("venv/bin/python")));
        let d = dir.error(&format!("{GOOD}\n[builder]\nbackend = \"pyton\"\n"));
        assert!(d.message.contains("unknown variant `pyton`"), "{d}");
        assert_eq!(d.help.as_deref(), Some("did you mean `python`?"));
        assert_eq!(d.line, GOOD.lines().count() + 3, "{d}");
        let d = dir.error(&format!("{GOOD}\n[builder]\nbackend = \"docker\"\n"));
        assert_eq!(
            d.help.as_deref(),
            Some("remove `docker`; valid values are `auto`, `trtexec`, `python`")
        );
    }

    #[test]
    fn empty_lists_are_refused() {
        let d = Dir::new().error(&GOOD.replace("[\"fp16\", \"fp32\"]", "[]"));
        assert!(d.message.contains("`precisions` is empty"), "{d}");
        assert_eq!(d.line, 13);
    }

    #[test]
    fn missing_onnx_names_the_resolved_path() {
        let d = Dir::new().error(&GOOD.replace("models/b.onnx", "models/missing.onnx"));
        assert_eq!(d.line, 19, "{d}");
        assert!(
            d.message.contains("`models/missing.onnx` does not exist"),
            "{d}"
        );
        assert!(d.help.unwrap().contains("relative to the manifest"));
    }

    #[test]
    fn syntax_errors_point_at_the_text() {
        let d = Dir::new().error("trt_version = \"10.3.0\"\n[[model]\nname = 1\n");
        assert_eq!(d.line, 2, "{d}");
    }

    #[test]
    fn missing_fields_say_what_to_add() {
        let d = Dir::new().error("[[model]]\nname = \"x\"\narchs = [\"sm_86\"]\n");
        assert!(d.message.contains("missing field `onnx`"), "{d}");
        assert!(d.help.unwrap().contains("add `onnx = ...`"));
    }

    #[test]
    fn bad_batch_and_conflicting_profiles() {
        let dir = Dir::new();
        let d = dir.error(&GOOD.replace("min = 1, opt = 32", "min = 8, opt = 4"));
        assert!(d.message.contains("is not 1 <= min <= opt <= max"), "{d}");
        let both = GOOD.replace(
            "build = { workspace_mib = 4096 }",
            "shapes = { input = { min = \"1x3\", opt = \"2x3\", max = \"4x3\" } }",
        );
        let d = dir.error(&both);
        assert!(
            d.message.contains("`batch` and `shapes` are both set"),
            "{d}"
        );
    }

    #[test]
    fn trt_pin_is_validated() {
        let d = Dir::new().error(&GOOD.replace("10.3.0", "10.3"));
        assert_eq!((d.line, d.column), (2, 15), "{d}");
        assert!(d.help.unwrap().contains("auto"));
    }

    #[test]
    fn no_models_is_an_error() {
        let d = Dir::new().error("trt_version = \"auto\"\n");
        assert!(d.message.contains("declares no engines"), "{d}");
    }

    #[test]
    fn relative_file_remotes_resolve_against_the_manifest() {
        let dir = Dir::new();
        let m = dir
            .parse(&format!(
                "{GOOD}\n[remote]\nurl = \"file://shared/engines\"\n"
            ))
            .unwrap();
        let url = m.remote.unwrap().url;
        assert!(
            url.starts_with("file:///") && url.ends_with("shared/engines"),
            "{url}"
        );
        let d = dir.error(&format!("{GOOD}\n[remote]\nurl = \"ftp://x\"\n"));
        assert!(d.message.contains("unsupported remote URL"), "{d}");
    }
}
