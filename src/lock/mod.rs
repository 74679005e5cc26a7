//! `engines.lock`: the exact engines a desired set resolved to, byte for byte.
//!
//! CI writes it (`trtctl lock`, `trtctl apply`) and checks it (`--locked`); deploy hosts fetch
//! by it (`trtctl fetch --lock`) without ONNX files, trtexec or TensorRT. Like `Cargo.lock`,
//! it is generated, sorted and stable: the same state always gives the same bytes.

mod diff;
mod digest;
mod fetch;
mod format;
mod refit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use diff::{LockChange, diff, render_diff};
pub use digest::desired_digest;
pub use fetch::{FetchError, Fetched, fetch_pinned};
pub use refit::{LockedRefit, RefitError};

use crate::identity::{EngineId, EngineKey, Fingerprint, GpuArch};
use crate::manifest::{Manifest, ModelVersion, TrtPin};
use crate::plan::{DesiredEngine, Selector};
use crate::store::{self, StoreError};

/// The lock's file name, beside the manifest.
pub const LOCK_FILE: &str = "engines.lock";

/// The lock beside `manifest`.
pub fn lock_path(manifest: &Path) -> PathBuf {
    manifest.with_file_name(LOCK_FILE)
}

/// One engine pinned by its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedEngine {
    pub key: EngineKey,
    pub id: EngineId,
    pub sha256: String,
    pub size: u64,
    pub fingerprint: Fingerprint,
    /// For an engine whose weights are stripped: `sha256` and `size` are its stripped plan's,
    /// refitted by each host with the model's ONNX.
    pub refit: Option<LockedRefit>,
    /// For an `sm_80-plus` engine, the manifest's archs it serves; empty for one arch's engine.
    pub serves: Vec<GpuArch>,
}

impl LockedEngine {
    /// The GPU archs this engine is for: its own, or those its `sm_80-plus` target serves.
    pub fn serves(&self) -> Vec<GpuArch> {
        self.id.gpu_arch.serving(&self.serves)
    }
}

/// An engine of the desired set that did not exist when the lock was written
/// (`--allow-missing`): recorded so the digest still covers the whole set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingEngine {
    pub key: EngineKey,
    pub id: EngineId,
    pub fingerprint: Fingerprint,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// [`desired_digest`] of every engine, pinned or missing.
    pub desired_sha256: String,
    /// Sorted by key.
    pub engines: Vec<LockedEngine>,
    /// Sorted by key.
    pub missing: Vec<MissingEngine>,
}

/// An engine built here whose name the remote already holds with another build: its bytes
/// can never be uploaded (uploads are create-only), so a lock pinning them pins what no host
/// can fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConflict {
    pub key: EngineKey,
    /// The wanted build, which the local cache holds.
    pub local: Fingerprint,
    /// The build the remote's sidecar describes.
    pub remote: Fingerprint,
}

fn conflicts_text(conflicts: &[RemoteConflict]) -> String {
    conflicts
        .iter()
        .map(|c| {
            format!(
                "  {} (remote fingerprint {}…, built here {}…)\n",
                c.key,
                c.remote.short(),
                c.local.short()
            )
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{} engine(s) built here cannot be locked: the remote holds another build under the same name, and no host could fetch this one:\n{}bump the model's `version` in engines.toml so the build gets a name of its own (`trtctl apply` uploads it, then `trtctl lock` pins it), or, if the remote's copy is wrong, delete it from the remote (the engine, its .json and its .sig/) and run `trtctl apply` again",
        conflicts.len(),
        conflicts_text(conflicts)
    )]
    RemoteHoldsAnother { conflicts: Vec<RemoteConflict> },
    #[error(
        "{path} does not exist; run `trtctl lock` where the engines were built (CI) and ship the file with the manifest"
    )]
    NotFound { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}:{line}: {message}; the lock is generated, so run `trtctl lock` again rather than editing it"
    )]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{path}:{line}: {problem}; the lock is generated, so run `trtctl lock` again rather than editing it"
    )]
    BadEntry {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error(
        "{path}: its `desired_sha256` does not match the engines it lists (hand-edited?); run `trtctl lock` again"
    )]
    Tampered { path: PathBuf },
    #[error(
        "{path} was not written for {manifest}: it pins {engine}, but {why}; run `trtctl lock -f {manifest}` to lock this manifest"
    )]
    NotForManifest {
        path: PathBuf,
        manifest: PathBuf,
        engine: String,
        why: String,
    },
    #[error(
        "{path} pins no engine for {arch} (it pins {locked}); build that arch on CI and lock again, or pass the arch to fetch with --gpu-arch"
    )]
    ArchNotLocked {
        path: PathBuf,
        arch: GpuArch,
        locked: String,
    },
    #[error("`{selector}` matches no engine pinned by {path} for {archs}; {hint}")]
    UnmatchedSelector {
        path: PathBuf,
        selector: String,
        archs: String,
        hint: String,
    },
    #[error(transparent)]
    Write(#[from] StoreError),
}

/// The engines of a lock one host installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub engines: Vec<LockedEngine>,
    /// Wanted here but not pinned: they did not exist when the lock was written.
    pub unpinned: Vec<EngineKey>,
}

impl Lock {
    /// The lock of a desired set, given what exists for each engine (and its position in
    /// `desired`): `(sha256, size)` of the committed engine whose fingerprint is the desired one.
    pub fn resolve(
        desired: &[DesiredEngine],
        exists: impl Fn(usize, &DesiredEngine) -> Option<(String, u64)>,
    ) -> Lock {
        let mut engines = Vec::new();
        let mut missing = Vec::new();
        for (position, wanted) in desired.iter().enumerate() {
            match exists(position, wanted) {
                Some((sha256, size)) => engines.push(LockedEngine {
                    key: wanted.key.clone(),
                    id: wanted.id.clone(),
                    sha256,
                    size,
                    fingerprint: wanted.fingerprint.clone(),
                    serves: wanted.serves.clone(),
                    refit: LockedRefit::of(wanted),
                }),
                None => missing.push(MissingEngine {
                    key: wanted.key.clone(),
                    id: wanted.id.clone(),
                    fingerprint: wanted.fingerprint.clone(),
                }),
            }
        }
        engines.sort_by(|a, b| a.key.cmp(&b.key));
        missing.sort_by(|a, b| a.key.cmp(&b.key));
        Lock {
            desired_sha256: desired_digest(desired.iter().map(|d| (&d.key, &d.fingerprint))),
            engines,
            missing,
        }
    }

    /// The digest recomputed from the entries; equal to `desired_sha256` unless hand-edited.
    fn entries_digest(&self) -> String {
        desired_digest(
            self.engines
                .iter()
                .map(|e| (&e.key, &e.fingerprint))
                .chain(self.missing.iter().map(|m| (&m.key, &m.fingerprint))),
        )
    }

    /// Reads and checks the lock at `path`.
    pub fn read(path: &Path) -> Result<Lock, LockError> {
        let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => LockError::NotFound {
                path: path.to_path_buf(),
            },
            _ => LockError::Read {
                path: path.to_path_buf(),
                source,
            },
        })?;
        Lock::parse(path, &text)
    }

    /// Parses and checks a lock's text; `path` is for messages.
    pub fn parse(path: &Path, text: &str) -> Result<Lock, LockError> {
        let lock = format::parse(path, text)?;
        if lock.entries_digest() != lock.desired_sha256 {
            return Err(LockError::Tampered {
                path: path.to_path_buf(),
            });
        }
        Ok(lock)
    }

    /// The lock's file contents.
    pub fn render(&self) -> String {
        format::render(self)
    }

    /// Writes the lock atomically (temp file, fsync, rename): never half-written.
    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        Ok(store::write_atomic(path, self.render().as_bytes())?)
    }

    /// Checks, without the ONNX files, that every engine of the lock is one `manifest` can
    /// want: its model, family, precision, arch, declared version and pinned TensorRT.
    pub fn check_manifest(&self, path: &Path, manifest: &Manifest) -> Result<(), LockError> {
        let models: BTreeMap<&str, _> = manifest
            .models
            .iter()
            .map(|m| (m.name.as_str(), m))
            .collect();
        let ids = self
            .engines
            .iter()
            .map(|e| (&e.key, &e.id))
            .chain(self.missing.iter().map(|m| (&m.key, &m.id)));
        for (key, id) in ids {
            let why = match models.get(id.model_name.as_str()) {
                None => Some(format!("the manifest has no model `{}`", id.model_name)),
                Some(model) if model.family != key.family => Some(format!(
                    "the manifest puts `{}` in family `{}`",
                    model.name, model.family
                )),
                Some(model) if !model.precisions.contains(&id.precision) => Some(format!(
                    "the manifest does not ask for {} of `{}`",
                    id.precision, model.name
                )),
                Some(model) if !model.engine_archs().contains(&id.gpu_arch) => Some(format!(
                    "the manifest does not ask for {} of `{}`",
                    id.gpu_arch, model.name
                )),
                Some(model) => match &model.version {
                    ModelVersion::Declared(v) if *v != id.model_version => Some(format!(
                        "the manifest declares version `{v}` of `{}`",
                        model.name
                    )),
                    _ => match manifest.trt_version {
                        TrtPin::Pinned(v) if v != id.trt_version => {
                            Some(format!("the manifest pins TensorRT {v}"))
                        }
                        _ => None,
                    },
                },
            };
            if let Some(why) = why {
                return Err(LockError::NotForManifest {
                    path: path.to_path_buf(),
                    manifest: manifest.path.clone(),
                    engine: key.to_string(),
                    why,
                });
            }
        }
        Ok(())
    }

    /// The engines for `archs` that every selector (if any) allows. Every arch must have an
    /// engine in the lock and every selector must match one: a typo never installs nothing.
    pub fn select(
        &self,
        path: &Path,
        archs: &[GpuArch],
        targets: &[Selector],
    ) -> Result<Selection, LockError> {
        let all_ids = || {
            self.engines
                .iter()
                .map(|e| &e.id)
                .chain(self.missing.iter().map(|m| &m.id))
        };
        for &arch in archs {
            if !all_ids().any(|id| id.gpu_arch.accepts(arch)) {
                let locked: std::collections::BTreeSet<String> =
                    all_ids().map(|id| id.gpu_arch.to_string()).collect();
                return Err(LockError::ArchNotLocked {
                    path: path.to_path_buf(),
                    arch,
                    locked: join_or_none(locked),
                });
            }
        }
        let here = |id: &EngineId| archs.iter().any(|&arch| id.gpu_arch.accepts(arch));
        for selector in targets {
            if !all_ids().any(|id| here(id) && selector.matches(id)) {
                return Err(LockError::UnmatchedSelector {
                    path: path.to_path_buf(),
                    selector: selector.to_string(),
                    archs: archs
                        .iter()
                        .map(GpuArch::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    hint: unmatched_hint(selector, all_ids()),
                });
            }
        }
        let wanted = |id: &EngineId| {
            here(id) && (targets.is_empty() || targets.iter().any(|t| t.matches(id)))
        };
        Ok(Selection {
            engines: self
                .engines
                .iter()
                .filter(|e| wanted(&e.id))
                .cloned()
                .collect(),
            unpinned: self
                .missing
                .iter()
                .filter(|m| wanted(&m.id))
                .map(|m| m.key.clone())
                .collect(),
        })
    }
}

/// Why a selector matched no engine for the archs fetched for: it names engines of other archs
/// only (fetch for those), or no pinned engine at all (a typo in the model name, or a precision
/// the lock does not pin).
fn unmatched_hint<'a>(selector: &Selector, pinned: impl Iterator<Item = &'a EngineId>) -> String {
    let pinned: Vec<&EngineId> = pinned.collect();
    let elsewhere: std::collections::BTreeSet<String> = (pinned.iter())
        .filter(|id| selector.matches(id))
        .map(|id| id.gpu_arch.to_string())
        .collect();
    if let Some(arch) = elsewhere.first() {
        return format!(
            "it matches engines for {} only: pass `--gpu-arch {arch}` to fetch for that arch",
            join_or_none(elsewhere.clone())
        );
    }
    let models: std::collections::BTreeSet<String> =
        pinned.iter().map(|id| id.model_name.clone()).collect();
    match selector.model() {
        Some(model) if models.contains(model) => format!(
            "check its precision (the lock pins {} of `{model}`)",
            join_or_none(
                (pinned.iter())
                    .filter(|id| id.model_name == model)
                    .map(|id| id.precision.as_str().to_string())
                    .collect()
            )
        ),
        _ => format!(
            "check the model name (the lock pins {})",
            join_or_none(models)
        ),
    }
}

fn join_or_none(items: std::collections::BTreeSet<String>) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.into_iter().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{BuildFlags, BuildInputs, Profile, TrtVersion};

    fn desired(file: &str, onnx: &str) -> DesiredEngine {
        let (key, id) = EngineKey::parse(&format!("arcface/{file}")).unwrap();
        let build = BuildInputs {
            onnx_sha256: onnx.repeat(64),
            precision: id.precision,
            gpu_arch: id.gpu_arch,
            trt_version: TrtVersion::new(10, 3, 0),
            profile: Profile::Static,
            flags: BuildFlags::default(),
        };
        DesiredEngine {
            key,
            fingerprint: build.fingerprint(),
            id,
            build,
            onnx: "a.onnx".into(),
            gpu_model: Default::default(),
            serves: Vec::new(),
            weights: None,
        }
    }

    fn two() -> Vec<DesiredEngine> {
        vec![
            desired("arcface_r100_v1.0_fp32_sm_86_10.3.0.trt", "a"),
            desired("arcface_r100_v1.0_fp16_sm_86_10.3.0.trt", "a"),
        ]
    }

    fn pinned(_: usize, wanted: &DesiredEngine) -> Option<(String, u64)> {
        (wanted.id.precision.as_str() == "fp16").then(|| ("e".repeat(64), 42))
    }

    #[test]
    fn renders_sorted_and_parses_back_the_same() {
        let lock = Lock::resolve(&two(), pinned);
        assert_eq!(lock.engines.len(), 1);
        assert_eq!(lock.missing.len(), 1);
        let text = lock.render();
        assert_eq!(
            Lock::resolve(&two().into_iter().rev().collect::<Vec<_>>(), pinned).render(),
            text
        );
        assert_eq!(Lock::parse(Path::new("engines.lock"), &text).unwrap(), lock);
    }

    #[test]
    fn refuses_edits_that_the_digest_or_the_name_catches() {
        let text = Lock::resolve(&two(), pinned).render();
        let path = Path::new("engines.lock");
        let dropped = text.replace("\n[[missing]]", "\n[[ignored]]");
        assert!(matches!(
            Lock::parse(path, &dropped),
            Err(LockError::Syntax { .. })
        ));
        let retargeted = text.replace("arch = \"sm_86\"", "arch = \"sm_89\"");
        let err = Lock::parse(path, &retargeted).unwrap_err();
        assert!(matches!(err, LockError::BadEntry { line: 7, .. }), "{err}");
        let fingerprint = &Lock::resolve(&two(), pinned).engines[0].fingerprint.0;
        let swapped = text.replacen(fingerprint.as_str(), &"0".repeat(64), 1);
        assert!(matches!(
            Lock::parse(path, &swapped),
            Err(LockError::Tampered { .. })
        ));
    }

    #[test]
    fn diff_names_each_kind_of_change() {
        let old = Lock::resolve(&two(), pinned);
        let mut changed = two();
        changed[1] = desired("arcface_r100_v1.0_fp16_sm_86_10.3.0.trt", "b");
        changed.push(desired("arcface_r100_v1.0_fp16_sm_89_10.3.0.trt", "a"));
        changed.remove(0);
        let new = Lock::resolve(&changed, |_, _| None);
        let lines: Vec<String> = diff(&old, &new).iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with(
            "~ arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt: build inputs changed"
        ));
        assert_eq!(
            lines[1],
            "+ arcface/arcface_r100_v1.0_fp16_sm_89_10.3.0.trt"
        );
        assert_eq!(
            lines[2],
            "- arcface/arcface_r100_v1.0_fp32_sm_86_10.3.0.trt"
        );
        let vanished = Lock::resolve(&two(), |_, _| None);
        assert_eq!(
            diff(&old, &vanished)[0].to_string(),
            "~ arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt: pinned, but exists nowhere now"
        );
        assert!(diff(&old, &old).is_empty());
    }
}
