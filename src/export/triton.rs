//! A Triton model repository from pinned engines: `{repo}/{model}/{version}/model_sm_NN.plan`
//! and a `config.pbtxt` whose `cc_model_filenames` maps each compute capability to its plan.
//!
//! No `default_model_filename` and no `model.plan` are written, and a `model.plan` already in
//! the version directory is removed: a GPU whose arch has no engine fails to load the model
//! instead of loading an engine built for another arch.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::pbtxt::{self, PbtxtError};
use crate::identity::{EngineId, EngineKey, GpuArch, Profile};
use crate::store::{self, StoreError};

/// The `config.pbtxt` fields trtctl writes; everything else in the file is the user's.
/// `backend` and `default_model_filename` are owned so that they are removed: the platform
/// says TensorRT, and a default file would serve other archs a wrong engine.
pub const OWNED_FIELDS: [&str; 6] = [
    "name",
    "platform",
    "backend",
    "max_batch_size",
    "cc_model_filenames",
    "default_model_filename",
];

const CONFIG_FILE: &str = "config.pbtxt";
/// The plan Triton loads, for a TensorRT model, on any GPU `cc_model_filenames` does not name.
const DEFAULT_PLAN: &str = "model.plan";

const HEADER: &str = "\
# `trtctl export triton` owns name, platform, max_batch_size and cc_model_filenames here
# (and removes backend and default_model_filename); every other field is kept as written.
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelNameFrom {
    Model,
    Family,
}

#[derive(Debug, Clone)]
pub struct TritonOptions {
    pub repo: PathBuf,
    pub name_from: ModelNameFrom,
    /// Triton's numeric version directory.
    pub repo_version: RepoVersion,
}

/// A version directory Triton loads: a positive number written without leading zeros. Triton
/// skips a directory named `0` or with a leading zero (`007`) without a word, so such a version
/// is refused here instead of exporting a model no server would load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoVersion(u64);

#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is not a Triton version directory: Triton loads only positive numbers written without leading zeros (1, 2, 3, ...); pass e.g. `--repo-version 1`"
)]
pub struct RepoVersionError(String);

impl std::str::FromStr for RepoVersion {
    type Err = RepoVersionError;
    fn from_str(text: &str) -> Result<Self, RepoVersionError> {
        let plain = text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
        match text.parse::<u64>() {
            Ok(version) if plain => Ok(RepoVersion(version)),
            _ => Err(RepoVersionError(text.to_string())),
        }
    }
}

impl std::fmt::Display for RepoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One engine to export: the cached file and the build profile its sidecar records.
#[derive(Debug, Clone)]
pub struct ExportEngine {
    pub key: EngineKey,
    pub id: EngineId,
    pub path: PathBuf,
    pub profile: Profile,
    /// The compute capabilities it is for: its own arch, or those an `sm_80-plus` engine serves.
    pub serves: Vec<GpuArch>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportedModel {
    pub name: String,
    pub dir: PathBuf,
    pub max_batch_size: u32,
    /// Compute capability (`8.6`) → plan file name.
    pub cc_model_filenames: BTreeMap<String, String>,
    /// A `model.plan` found in the version directory and removed.
    pub removed: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "Triton model `{model}` would get two engines for {arch} ({files}); pick one with --target (e.g. `--target {selector}`)"
    )]
    TwoEnginesForArch {
        model: String,
        arch: GpuArch,
        files: String,
        selector: String,
    },
    #[error(
        "Triton model `{model}`: its engines take different batch sizes ({sizes}), but one config.pbtxt has one max_batch_size; give the archs one profile in engines.toml, or export them with --target"
    )]
    BatchSizesDiffer { model: String, sizes: String },
    #[error("{}: {source}; fix it or delete it to have trtctl write a fresh one", path.display())]
    Config { path: PathBuf, source: PbtxtError },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Triton's compute capability key for an arch: `sm_86` → `8.6`.
pub fn compute_capability(arch: GpuArch) -> String {
    format!("{}.{}", arch.major(), arch.minor())
}

/// The plan's file name in the version directory: `sm_86` → `model_sm_86.plan`.
pub fn plan_file(arch: GpuArch) -> String {
    format!("model_{arch}.plan")
}

/// Triton's `max_batch_size`: the profile's largest batch. Explicit shapes count as batched
/// only when every input's leading dimension has the same maximum; otherwise, and for the
/// ONNX file's static shapes, 0 (no batching: the dims are the full shapes).
pub fn max_batch_size(profile: &Profile) -> u32 {
    match profile {
        Profile::Static => 0,
        Profile::Batch { max, .. } => *max,
        Profile::Shapes { inputs } => {
            let leading: Vec<Option<u32>> = inputs
                .values()
                .map(|range| range.max.split('x').next().and_then(|d| d.parse().ok()))
                .collect();
            match leading.first() {
                Some(Some(first)) if leading.iter().all(|d| *d == Some(*first)) => *first,
                _ => 0,
            }
        }
    }
}

struct Model<'a> {
    name: String,
    engines: BTreeMap<GpuArch, &'a ExportEngine>,
    max_batch_size: u32,
}

/// Groups the engines into Triton models and checks them, before anything is written.
fn models<'a>(
    engines: &'a [ExportEngine],
    name_from: ModelNameFrom,
) -> Result<Vec<Model<'a>>, ExportError> {
    let mut grouped: BTreeMap<String, BTreeMap<GpuArch, &ExportEngine>> = BTreeMap::new();
    for engine in engines {
        let name = match name_from {
            ModelNameFrom::Model => engine.id.model_name.clone(),
            ModelNameFrom::Family => engine.key.family.clone(),
        };
        let by_arch = grouped.entry(name.clone()).or_default();
        for &arch in &engine.serves {
            if let Some(first) = by_arch.insert(arch, engine) {
                return Err(ExportError::TwoEnginesForArch {
                    model: name,
                    arch,
                    files: format!("{}, {}", first.key.file, engine.key.file),
                    selector: format!("{}:{}", engine.id.model_name, engine.id.precision),
                });
            }
        }
    }
    grouped
        .into_iter()
        .map(|(name, engines)| {
            let sizes: std::collections::BTreeSet<u32> = engines
                .values()
                .map(|e| max_batch_size(&e.profile))
                .collect();
            match sizes.iter().copied().collect::<Vec<_>>()[..] {
                [max_batch_size] => Ok(Model {
                    name,
                    engines,
                    max_batch_size,
                }),
                _ => Err(ExportError::BatchSizesDiffer {
                    model: name,
                    sizes: sizes
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            }
        })
        .collect()
}

/// Writes the repository: plans first (each atomically), then each model's `config.pbtxt`.
pub fn export_triton(
    engines: &[ExportEngine],
    options: &TritonOptions,
) -> Result<Vec<ExportedModel>, ExportError> {
    let models = models(engines, options.name_from)?;
    // Every existing config is read and split before the first write: a broken one stops the
    // export with nothing changed.
    let kept: Vec<String> = models
        .iter()
        .map(|m| user_fields(&options.repo.join(&m.name).join(CONFIG_FILE)))
        .collect::<Result<_, _>>()?;
    let mut exported = Vec::with_capacity(models.len());
    for (model, user) in models.iter().zip(kept) {
        let model_dir = options.repo.join(&model.name);
        let version_dir = model_dir.join(options.repo_version.to_string());
        let mut files = BTreeMap::new();
        let mut placed = std::collections::BTreeSet::new();
        for (&arch, engine) in &model.engines {
            // An `sm_80-plus` engine is one plan file, named for every arch it serves.
            let file = plan_file(engine.id.gpu_arch);
            if placed.insert(file.clone()) {
                place(&engine.path, &version_dir.join(&file))?;
            }
            files.insert(compute_capability(arch), file);
        }
        let removed = remove_default_plan(&version_dir)?;
        let config = render_config(&model.name, model.max_batch_size, &files, &user);
        store::write_atomic(&model_dir.join(CONFIG_FILE), config.as_bytes())?;
        exported.push(ExportedModel {
            name: model.name.clone(),
            dir: model_dir,
            max_batch_size: model.max_batch_size,
            cc_model_filenames: files,
            removed,
        });
    }
    Ok(exported)
}

/// Removes the version directory's `model.plan`, which Triton would load on a GPU whose arch
/// has no engine here; the path, when there was one.
fn remove_default_plan(version_dir: &Path) -> Result<Option<PathBuf>, ExportError> {
    let path = version_dir.join(DEFAULT_PLAN);
    match fs::remove_file(&path) {
        Ok(()) => {
            store::sync_dir(version_dir)?;
            Ok(Some(path))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ExportError::Io { path, source }),
    }
}

/// What the user wrote in an existing config: everything but the owned fields and our header.
fn user_fields(path: &Path) -> Result<String, ExportError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(String::new()),
        Err(source) => {
            return Err(ExportError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let kept =
        pbtxt::without_fields(&text, &OWNED_FIELDS).map_err(|source| ExportError::Config {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(kept
        .replace(HEADER, "")
        .trim_start_matches('\n')
        .to_string())
}

fn render_config(
    name: &str,
    max_batch_size: u32,
    files: &BTreeMap<String, String>,
    user: &str,
) -> String {
    let mut out = String::from(HEADER);
    out.push_str(&format!("name: {}\n", pbtxt::quote(name)));
    out.push_str("platform: \"tensorrt_plan\"\n");
    out.push_str(&format!("max_batch_size: {max_batch_size}\n"));
    for (cc, file) in files {
        out.push_str(&format!(
            "cc_model_filenames {{ key: {} value: {} }}\n",
            pbtxt::quote(cc),
            pbtxt::quote(file)
        ));
    }
    if !user.is_empty() {
        out.push('\n');
        out.push_str(user);
        if !user.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Puts `source` at `dest` atomically: a hard link (no copy of a large engine) or, across
/// filesystems, a copy; either under a temp name, synced, then renamed over `dest`. An existing
/// `dest` keeps its mode (a Triton of another uid was given access to it).
fn place(source: &Path, dest: &Path) -> Result<(), ExportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    let dir = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let temp = tempfile::Builder::new()
        .prefix(".trtctl-export-")
        .make_in(dir, |path| match fs::hard_link(source, path) {
            Ok(()) => Ok(()),
            Err(_) => fs::copy(source, path).and_then(|_| fs::File::open(path)?.sync_all()),
        })
        .map_err(io(dir))?;
    if let Ok(existing) = fs::metadata(dest) {
        fs::set_permissions(temp.path(), existing.permissions()).map_err(io(temp.path()))?;
    }
    let temp_path = temp.path().to_path_buf();
    temp.persist(dest).map_err(|e| ExportError::Io {
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    // Renaming a name over another link to the same file (`dest` already is this engine) does
    // nothing and leaves both names: the temp one goes here.
    match fs::remove_file(&temp_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&temp_path)(e)),
        _ => {}
    }
    Ok(store::sync_dir(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::ShapeRange;

    #[test]
    fn names_follow_tritons_conventions() {
        let arch: GpuArch = "sm_86".parse().unwrap();
        assert_eq!(compute_capability(arch), "8.6");
        assert_eq!(plan_file(arch), "model_sm_86.plan");
    }

    #[test]
    fn max_batch_size_comes_from_the_profile() {
        assert_eq!(
            max_batch_size(&Profile::Batch {
                min: 1,
                opt: 8,
                max: 16
            }),
            16
        );
        assert_eq!(max_batch_size(&Profile::Static), 0);
        let shapes = |maxes: &[&str]| Profile::Shapes {
            inputs: maxes
                .iter()
                .enumerate()
                .map(|(i, max)| {
                    (
                        format!("in{i}"),
                        ShapeRange {
                            min: "1x3".into(),
                            opt: "1x3".into(),
                            max: (*max).into(),
                        },
                    )
                })
                .collect(),
        };
        assert_eq!(max_batch_size(&shapes(&["32x3x112x112", "32x4"])), 32);
        assert_eq!(max_batch_size(&shapes(&["32x3", "8x4"])), 0);
    }
}
