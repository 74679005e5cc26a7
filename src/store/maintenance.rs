//! Looking after the local cache: what it holds (`cache ls`), what can go (`cache clean`) and
//! whether its engines are intact (`cache verify`). Deciding what to remove is pure; removing
//! is one function that refuses anything outside the cache and anything locked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rayon::prelude::*;
use serde::Serialize;

use super::{Cache, StoreError, hash_file_unused, head_unused, io_err, remove_if_present};
use crate::identity::{EngineId, EngineKey, PLAN_HEADER_LEN, PlanHeader};

/// The sidecar of a cached engine, as found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum SidecarState {
    Verified,
    /// Adopted from a bucket without sidecars.
    Legacy,
    /// An interrupted write: the engine does not count as existing.
    Missing,
    Invalid(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct CacheEntry {
    pub key: EngineKey,
    pub id: EngineId,
    pub size: u64,
    pub state: SidecarState,
    /// Seconds since the Unix epoch.
    pub modified: u64,
    /// The later of the engine's access and modification times.
    pub last_used: u64,
    /// For an engine refitted here from a stripped plan: that plan's record (mode, size, refits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<crate::identity::WeightsRecord>,
}

/// Everything in the cache dir, classified.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub entries: Vec<CacheEntry>,
    /// Sidecars whose engine is gone.
    pub orphan_sidecars: Vec<EngineKey>,
    /// Temp files and foreign names among the families.
    pub strays: Vec<PathBuf>,
    /// The files under `timing/`.
    pub timing_caches: Vec<TimingCacheFile>,
}

/// A timing cache in the local cache (`timing/{arch}_{trt}.cache`), or one set aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimingCacheFile {
    pub name: String,
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub modified: u64,
    /// Set aside by apply after trtexec failed with it: never used again.
    pub rejected: bool,
}

impl Inventory {
    pub fn total_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}

fn epoch_secs(time: std::io::Result<SystemTime>) -> u64 {
    time.ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

impl Cache {
    pub fn inventory(&self) -> Result<Inventory, StoreError> {
        let listing = self.list()?;
        let entries = listing
            .engines
            .par_iter()
            .map(|key| {
                let meta = std::fs::metadata(self.engine_path(key)).ok();
                let size = &meta.as_ref().map_or(0, |m| m.len());
                let modified = meta.as_ref().map_or(0, |m| epoch_secs(m.modified()));
                let accessed = meta.as_ref().map_or(0, |m| epoch_secs(m.accessed()));
                let sidecar = self.read_sidecar(key);
                let weights = match &sidecar {
                    Some(Ok(s)) => s.weights.clone(),
                    _ => None,
                };
                let state = match sidecar {
                    None => SidecarState::Missing,
                    Some(Err(e)) => SidecarState::Invalid(e.to_string()),
                    Some(Ok(s)) if s.engine_size != *size => SidecarState::Invalid(format!(
                        "engine is {size} bytes, sidecar says {}",
                        s.engine_size
                    )),
                    Some(Ok(s)) if s.provenance.legacy => SidecarState::Legacy,
                    Some(Ok(_)) => SidecarState::Verified,
                };
                let id = EngineId::parse_file_name(&key.file).expect("listed keys parse");
                CacheEntry {
                    key: key.clone(),
                    id,
                    size: *size,
                    state,
                    modified,
                    last_used: modified.max(accessed),
                    weights,
                }
            })
            .collect();
        let mut entries: Vec<CacheEntry> = entries;
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        let mut orphan_sidecars: Vec<EngineKey> = listing
            .sidecars
            .iter()
            .filter(|k| !listing.engines.contains(*k))
            .cloned()
            .collect();
        orphan_sidecars.sort();
        Ok(Inventory {
            entries,
            orphan_sidecars,
            strays: listing.strays,
            timing_caches: self.timing_caches()?,
        })
    }

    /// The regular files under `timing/`, by name; none when it does not exist.
    fn timing_caches(&self) -> Result<Vec<TimingCacheFile>, StoreError> {
        let dir = self.root.join(super::TIMING_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::Io { path: dir, source }),
        };
        let mut caches: Vec<TimingCacheFile> = entries
            .flatten()
            .filter_map(|entry| {
                let meta = entry.path().symlink_metadata().ok()?;
                let name = entry.file_name().into_string().ok()?;
                meta.is_file().then(|| TimingCacheFile {
                    rejected: name.contains(super::REJECTED_TIMING_CACHE),
                    name,
                    size: meta.len(),
                    modified: epoch_secs(meta.modified()),
                })
            })
            .collect();
        caches.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(caches)
    }

    /// Re-hashes every engine that has a sidecar, in parallel; a sidecar that cannot vouch for
    /// its engine is corruption too.
    pub fn verify(&self, inventory: &Inventory) -> Vec<Corruption> {
        inventory
            .entries
            .par_iter()
            .filter(|e| e.state != SidecarState::Missing)
            .filter_map(|entry| {
                let sidecar = match self.read_sidecar(&entry.key)? {
                    Ok(sidecar) => sidecar,
                    Err(e) => {
                        return Some(Corruption {
                            key: entry.key.clone(),
                            problem: e.to_string(),
                        });
                    }
                };
                let path = self.engine_path(&entry.key);
                let problem = match hash_file_unused(&path) {
                    Err(e) => e.to_string(),
                    Ok((sha, size))
                        if sha != sidecar.engine_sha256 || size != sidecar.engine_size =>
                    {
                        format!(
                            "sha256 {sha} ({size} bytes), sidecar says {} ({} bytes)",
                            sidecar.engine_sha256, sidecar.engine_size
                        )
                    }
                    Ok(_) => match head_unused(&path, PLAN_HEADER_LEN as u64) {
                        Err(e) => e.to_string(),
                        Ok(head) => {
                            let named = entry.id.trt_version;
                            match PlanHeader::check(&head, named, sidecar.provenance.trt_build) {
                                Err(mismatch) => mismatch.to_string(),
                                Ok(_) => return None,
                            }
                        }
                    },
                };
                Some(Corruption {
                    key: entry.key.clone(),
                    problem,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Corruption {
    pub key: EngineKey,
    pub problem: String,
}

impl Cache {
    /// Removes a corrupt engine unless another process holds it; `false` when it was held.
    pub fn remove_unlocked(&self, key: &EngineKey) -> Result<bool, StoreError> {
        match self.try_lock(key)? {
            Some(_lock) => self.remove(key).map(|()| true),
            None => Ok(false),
        }
    }
}

/// Why something is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// The manifest no longer wants it.
    Stale,
    /// A temp file, an engine without sidecar, a sidecar without engine.
    Leftover,
    Old,
    /// A timing cache trtexec failed with, set aside by apply.
    RejectedTimingCache,
    /// Evicted, least recently used first, to fit `--max-size`.
    OverSize,
    All,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::Stale => "no longer in the manifest",
            Why::Leftover => "interrupted leftover",
            Why::Old => "unused for too long",
            Why::RejectedTimingCache => "a timing cache trtexec failed with",
            Why::OverSize => "evicted to fit --max-size",
            Why::All => "--all",
        })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Engine { key } => write!(f, "{key}"),
            Target::File { path } => write!(f, "{}", path.display()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Target {
    Engine { key: EngineKey },
    File { path: PathBuf },
}

#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub target: Target,
    pub bytes: u64,
    pub why: Why,
}

#[derive(Debug, Clone, Default)]
pub struct CleanPolicy {
    pub all: bool,
    /// Engines the manifest wants; `None` when there is no manifest to ask.
    pub wanted: Option<BTreeSet<EngineKey>>,
    pub older_than: Option<Duration>,
    pub max_size: Option<u64>,
}

/// What `cache clean` removes under `policy`, given the time now. Pure.
pub fn plan_clean(inventory: &Inventory, policy: &CleanPolicy, now: u64) -> Vec<Removal> {
    let mut removals = Vec::new();
    let mut kept: Vec<&CacheEntry> = Vec::new();
    for entry in &inventory.entries {
        let why = if policy.all {
            Some(Why::All)
        } else if matches!(
            entry.state,
            SidecarState::Missing | SidecarState::Invalid(_)
        ) {
            Some(Why::Leftover)
        } else if policy
            .wanted
            .as_ref()
            .is_some_and(|w| !w.contains(&entry.key))
        {
            Some(Why::Stale)
        } else if policy
            .older_than
            .is_some_and(|age| now.saturating_sub(entry.last_used) > age.as_secs())
        {
            Some(Why::Old)
        } else {
            None
        };
        match why {
            Some(why) => removals.push(Removal {
                target: Target::Engine {
                    key: entry.key.clone(),
                },
                bytes: entry.size,
                why,
            }),
            None => kept.push(entry),
        }
    }
    if let Some(max) = policy.max_size {
        kept.sort_by_key(|e| std::cmp::Reverse(e.last_used));
        let mut total = 0u64;
        for entry in kept {
            total += entry.size;
            if total > max {
                removals.push(Removal {
                    target: Target::Engine {
                        key: entry.key.clone(),
                    },
                    bytes: entry.size,
                    why: Why::OverSize,
                });
            }
        }
    }
    // Only trtctl's own temp files: anything else in the cache dir is someone else's.
    let leftover_files = inventory
        .strays
        .iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(super::TEMP_PREFIX))
        })
        .cloned()
        .chain(
            inventory
                .orphan_sidecars
                .iter()
                .map(|k| PathBuf::from(k.sidecar_path())),
        );
    for path in leftover_files {
        removals.push(Removal {
            target: Target::File { path },
            bytes: 0,
            why: if policy.all { Why::All } else { Why::Leftover },
        });
    }
    // Working timing caches go only with `--all` (with the whole `timing/`); rejected ones always.
    for cache in inventory.timing_caches.iter().filter(|c| c.rejected) {
        removals.push(Removal {
            target: Target::File {
                path: Path::new(super::TIMING_DIR).join(&cache.name),
            },
            bytes: cache.size,
            why: Why::RejectedTimingCache,
        });
    }
    removals
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CleanReport {
    /// What was removed, as the removals asked.
    pub removed: Vec<Removal>,
    pub bytes_freed: u64,
    /// Engines another process holds the lock of: left alone.
    pub locked: Vec<EngineKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    #[error("refusing to clean {}: it is {what}, not an engine cache; set TENSORRT_CACHE_DIR or `[cache] dir`", path.display())]
    Refused { path: PathBuf, what: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A cache dir that is `/` or the home directory is a misconfiguration, never a cache to empty.
pub fn check_cleanable(root: &Path, home: Option<&Path>) -> Result<(), CleanError> {
    match super::unfit_cache_dir(root, home) {
        Some(what) => Err(CleanError::Refused {
            path: root.to_path_buf(),
            what,
        }),
        None => Ok(()),
    }
}

impl Cache {
    /// Removes what `plan_clean` chose: sidecar before engine, never a locked engine, never a
    /// path outside the cache dir.
    pub fn clean(&self, removals: &[Removal]) -> Result<CleanReport, CleanError> {
        let mut report = CleanReport::default();
        for removal in removals {
            match &removal.target {
                Target::Engine { key } => {
                    let Some(_lock) = self.try_lock(key)? else {
                        report.locked.push(key.clone());
                        continue;
                    };
                    self.remove(key)?;
                }
                Target::File { path } => {
                    let path = if path.is_absolute() {
                        path.clone()
                    } else {
                        self.root.join(path)
                    };
                    if !path.starts_with(&self.root)
                        || path
                            .components()
                            .any(|c| c == std::path::Component::ParentDir)
                    {
                        continue;
                    }
                    // A temp file is a build or fetch in flight while its engine's lock is held.
                    let _lock = match self.temp_owner(&path) {
                        Some(key) => match self.try_lock(&key)? {
                            Some(lock) => Some(lock),
                            None => {
                                report.locked.push(key);
                                continue;
                            }
                        },
                        None => None,
                    };
                    remove_if_present(&path)?;
                }
            }
            report.bytes_freed += removal.bytes;
            report.removed.push(removal.clone());
        }
        Ok(report)
    }

    /// The engine a temp file `.tmp-{file}.XXXXXX` in a family dir is being written for.
    fn temp_owner(&self, path: &Path) -> Option<EngineKey> {
        let name = path
            .file_name()?
            .to_str()?
            .strip_prefix(super::TEMP_PREFIX)?;
        let file = name.rsplit_once('.')?.0;
        let family = path.parent()?.file_name()?.to_str()?;
        EngineKey::parse(&format!("{family}/{file}"))
            .ok()
            .map(|(key, _)| key)
    }

    /// Removes the lock files nobody holds (they are recreated on demand).
    pub fn clean_locks(&self) -> Result<usize, StoreError> {
        let dir = self.root.join(super::LOCK_DIR);
        let mut removed = 0;
        for entry in walkdir::WalkDir::new(&dir)
            .min_depth(2)
            .max_depth(2)
            .follow_links(false)
        {
            let Ok(entry) = entry else { continue };
            let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".lock"))
            else {
                continue;
            };
            let family = entry
                .path()
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|f| f.to_str());
            let Some(Ok((key, _))) = family.map(|f| EngineKey::parse(&format!("{f}/{name}")))
            else {
                continue;
            };
            if let Some(lock) = self.try_lock(&key)? {
                remove_if_present(entry.path())?;
                drop(lock);
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Everything under the cache dir, for `clean --all`, minus what locked engines need.
    pub fn remove_auxiliary(&self) -> Result<(), StoreError> {
        for dir in [super::LOG_DIR, super::TIMING_DIR] {
            let path = self.root.join(dir);
            if path.is_dir() && !path.is_symlink() {
                std::fs::remove_dir_all(&path).map_err(|source| StoreError::Io { path, source })?;
            }
        }
        remove_if_present(&self.root.join(".onnx-hashes.json"))?;
        // The sidecar indexes (`observe`): memos of what the sidecars say, useless without them.
        for entry in std::fs::read_dir(&self.root).map_err(io_err(&self.root))? {
            let path = entry.map_err(io_err(&self.root))?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with(super::SIDECAR_INDEX_FILE) || name.starts_with(".remote-sidecars-")
            {
                remove_if_present(&path)?;
            }
        }
        Ok(())
    }
}

/// An age or size on the command line that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum QuantityError {
    #[error("`{0}` is not an age like `30d`")]
    NotAnAge(String),
    #[error("`{0}`: use a unit of s, m, h, d or w (e.g. `30d`)")]
    AgeUnit(String),
    #[error("`{0}` is not a size like `50GiB`")]
    NotASize(String),
    #[error("`{0}`: use B, KiB, MiB, GiB, TiB (or KB, MB, GB, TB)")]
    SizeUnit(String),
}

/// Parses `30d`, `12h`, `45m`, `90s`, `2w`.
pub fn parse_age(text: &str) -> Result<Duration, QuantityError> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| QuantityError::NotAnAge(text.to_string()))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(QuantityError::AgeUnit(text.to_string()));
        }
    };
    Ok(Duration::from_secs(number * seconds))
}

/// Parses `50GiB`, `500MiB`, `2TB`, `1024` (bytes).
pub fn parse_size(text: &str) -> Result<u64, QuantityError> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| QuantityError::NotASize(text.to_string()))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "TiB" | "T" => 1 << 40,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => {
            return Err(QuantityError::SizeUnit(text.to_string()));
        }
    };
    Ok((number * factor as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, size: u64, last_used: u64, state: SidecarState) -> CacheEntry {
        let (key, id) = EngineKey::parse(&format!("fam/{name}_v1_fp16_sm_86_10.3.0.trt")).unwrap();
        CacheEntry {
            key,
            id,
            size,
            state,
            modified: last_used,
            last_used,
            weights: None,
        }
    }

    fn removed(removals: &[Removal]) -> Vec<(String, Why)> {
        removals
            .iter()
            .map(|r| match &r.target {
                Target::Engine { key } => (key.file.split('_').next().unwrap().to_string(), r.why),
                Target::File { path } => (path.display().to_string(), r.why),
            })
            .collect()
    }

    #[test]
    fn rejected_timing_caches_always_go_and_working_ones_stay() {
        let cache = |name: &str, rejected| TimingCacheFile {
            name: name.into(),
            size: 10,
            modified: 0,
            rejected,
        };
        let inventory = Inventory {
            timing_caches: vec![
                cache("sm_86_10.3.0.cache", false),
                cache("sm_86_10.3.0.cache.rejected-1700000000", true),
            ],
            ..Inventory::default()
        };
        assert_eq!(
            removed(&plan_clean(&inventory, &CleanPolicy::default(), 1000)),
            [(
                "timing/sm_86_10.3.0.cache.rejected-1700000000".into(),
                Why::RejectedTimingCache
            )]
        );
    }

    #[test]
    fn max_size_evicts_least_recently_used_first() {
        let inventory = Inventory {
            entries: vec![
                entry("a", 40, 100, SidecarState::Verified),
                entry("b", 40, 300, SidecarState::Verified),
                entry("c", 40, 200, SidecarState::Verified),
            ],
            ..Inventory::default()
        };
        let policy = CleanPolicy {
            max_size: Some(90),
            ..CleanPolicy::default()
        };
        assert_eq!(
            removed(&plan_clean(&inventory, &policy, 1000)),
            [("a".into(), Why::OverSize)]
        );
    }

    #[test]
    fn stale_old_and_leftovers() {
        let inventory = Inventory {
            entries: vec![
                entry("wanted", 1, 990, SidecarState::Verified),
                entry("gone", 1, 990, SidecarState::Verified),
                entry("old", 1, 10, SidecarState::Verified),
                entry("torn", 1, 990, SidecarState::Missing),
            ],
            strays: vec![
                PathBuf::from("fam/.tmp-x"),
                PathBuf::from("fontconfig/cache-7"),
            ],
            orphan_sidecars: vec![],
            timing_caches: vec![],
        };
        let wanted: BTreeSet<EngineKey> = ["wanted", "old", "torn"]
            .iter()
            .map(|n| {
                EngineKey::parse(&format!("fam/{n}_v1_fp16_sm_86_10.3.0.trt"))
                    .unwrap()
                    .0
            })
            .collect();
        let policy = CleanPolicy {
            wanted: Some(wanted),
            older_than: Some(Duration::from_secs(100)),
            ..CleanPolicy::default()
        };
        assert_eq!(
            removed(&plan_clean(&inventory, &policy, 1000)),
            [
                ("gone".into(), Why::Stale),
                ("old".into(), Why::Old),
                ("torn".into(), Why::Leftover),
                ("fam/.tmp-x".into(), Why::Leftover),
            ]
        );
    }

    #[test]
    fn ages_and_sizes_parse() {
        assert_eq!(parse_age("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert!(parse_age("30 days").is_err());
        assert_eq!(parse_size("50GiB").unwrap(), 50 << 30);
        assert_eq!(parse_size("1.5MiB").unwrap(), 3 << 19);
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn root_and_home_are_never_cleaned() {
        assert!(check_cleanable(Path::new("/"), None).is_err());
        let home = tempfile::tempdir().unwrap();
        assert!(check_cleanable(home.path(), Some(home.path())).is_err());
        assert!(check_cleanable(&home.path().join("cache"), Some(home.path())).is_ok());
    }
}
