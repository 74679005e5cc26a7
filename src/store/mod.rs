//! The local engine cache: `{cache_dir}/{family}/{file}` plus `{file}.json` sidecars, the
//! commit protocol (temp file, fsync, rename, sidecar last) and per-engine locks.

mod lookup;
pub mod maintenance;
pub mod remote;
mod stripped;

pub use stripped::STRIPPED_DIR;

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::identity::{self, EngineKey, SIDECAR_SUFFIX, Sidecar, SidecarError};

pub use lookup::{FamilyDir, LocalEngine};

/// The seed's default, under the home directory.
pub const DEFAULT_CACHE_DIR: &str = ".cache/screenalytics/engines";
pub const CACHE_DIR_ENV: &str = "TENSORRT_CACHE_DIR";
/// Temp files start with this, so nothing half-written ever looks like an engine or a sidecar.
const TEMP_PREFIX: &str = ".tmp-";
const SIDECAR_READ_HINT: usize = 4096;
const LOCK_DIR: &str = ".locks";
pub const LOG_DIR: &str = "logs";
pub const TIMING_DIR: &str = "timing";
/// A timing cache trtexec failed with is renamed `{name}{REJECTED_TIMING_CACHE}{unix secs}`.
pub const REJECTED_TIMING_CACHE: &str = ".rejected-";
/// The memo of the cache's sidecars (`observe`); older formats add a suffix to this name.
pub const SIDECAR_INDEX_FILE: &str = ".sidecar-index";
/// Directories of the cache that are not families; no model may use these as its family.
pub const RESERVED_DIRS: [&str; 4] = [LOCK_DIR, LOG_DIR, TIMING_DIR, STRIPPED_DIR];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("no cache dir: set {CACHE_DIR_ENV}, `[cache] dir` in the manifest, or HOME")]
    NoCacheDir,
    #[error(
        "cache dir {} starts with `~`, but HOME is not set; give an absolute path",
        crate::sys::shown_path(path)
    )]
    NoHomeFor { path: PathBuf },
    #[error(
        "cache dir {} is {what}, not a directory of its own: engines would be written among other files; set {CACHE_DIR_ENV} or `[cache] dir` to e.g. ~/.cache/screenalytics/engines",
        crate::sys::shown_path(path)
    )]
    NotACacheDir { path: PathBuf, what: &'static str },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `TENSORRT_CACHE_DIR` wins over the manifest's `[cache] dir`, which wins over the default.
/// The result is absolute (a relative one against the working directory), so everything
/// derived from it, such as the stand-in remote beside it, is too.
///
/// `~` or `~/…` means the home directory (a quoted `TENSORRT_CACHE_DIR="~/tc"` reaches us
/// unexpanded). The filesystem root and the home directory itself are refused, as `cache
/// clean` refuses them: the cache writes, locks and prunes whatever it holds.
pub fn resolve_cache_dir(
    env_value: Option<PathBuf>,
    manifest_value: Option<&Path>,
    home: Option<PathBuf>,
) -> Result<PathBuf, StoreError> {
    let dir = env_value
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| manifest_value.map(Path::to_path_buf))
        .or_else(|| home.as_ref().map(|h| h.join(DEFAULT_CACHE_DIR)))
        .ok_or(StoreError::NoCacheDir)?;
    let dir = match dir.strip_prefix("~") {
        Ok(rest) => match &home {
            Some(home) => home.join(rest),
            None => return Err(StoreError::NoHomeFor { path: dir }),
        },
        Err(_) => dir,
    };
    let dir = std::path::absolute(&dir).map_err(io_err(&dir))?;
    match unfit_cache_dir(&dir, home.as_deref()) {
        Some(what) => Err(StoreError::NotACacheDir { path: dir, what }),
        None => Ok(dir),
    }
}

/// What `dir` is when it must not be an engine cache: the filesystem root or the home
/// directory (symlinks followed where they exist).
pub fn unfit_cache_dir(dir: &Path, home: Option<&Path>) -> Option<&'static str> {
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let canonical = real(dir);
    if canonical.parent().is_none() {
        return Some("the filesystem root");
    }
    if home.is_some_and(|h| real(h) == canonical) {
        return Some("the home directory");
    }
    None
}

/// What the cache holds, from a directory listing (sidecars are read separately, on demand).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheListing {
    /// Engine files (not stat'ed: a listing of thousands stays a directory read).
    pub engines: HashSet<EngineKey>,
    pub sidecars: HashSet<EngineKey>,
    /// Files in the cache that are neither: temp files, foreign names.
    pub strays: Vec<PathBuf>,
}

/// What identifies one version of a file without reading it: any rewrite moves one of these,
/// the ctime even when a user sets size and mtime back (`touch -r`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileStamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub inode: u64,
}

impl FileStamp {
    pub fn of(path: &Path) -> Result<FileStamp, StoreError> {
        Ok(FileStamp::of_metadata(
            &fs::metadata(path).map_err(io_err(path))?,
        ))
    }

    pub fn of_metadata(meta: &fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp::from_parts(
            meta.size(),
            (meta.mtime(), meta.mtime_nsec()),
            (meta.ctime(), meta.ctime_nsec()),
            meta.ino(),
        )
    }

    /// From a stat's fields, times as (seconds, nanoseconds): every way of stat-ing a file
    /// must give the same stamp, or a memo keyed by it would never match.
    pub fn from_parts(size: u64, mtime: (i64, i64), ctime: (i64, i64), inode: u64) -> FileStamp {
        let ns = |(secs, nanos): (i64, i64)| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        FileStamp {
            size,
            mtime_ns: ns(mtime),
            ctime_ns: ns(ctime),
            inode,
        }
    }
}

/// sha256 and size of a stream, read in large chunks.
pub fn hash_reader(mut reader: impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((identity::hex(&hasher.finalize()), total))
}

pub fn hash_file(path: &Path) -> Result<(String, u64), StoreError> {
    File::open(path).and_then(hash_reader).map_err(io_err(path))
}

/// Hashes a cached engine without counting it as a use: `cache clean` evicts by last access,
/// and a check that reads every engine must not make them all look used today.
pub fn hash_file_unused(path: &Path) -> Result<(String, u64), StoreError> {
    read_unused(path, |file| hash_reader(file))
}

/// The first `len` bytes of a cached engine (fewer if it is shorter), read without counting
/// it as a use.
pub fn head_unused(path: &Path, len: u64) -> Result<Vec<u8>, StoreError> {
    read_unused(path, |file| {
        let mut head = Vec::new();
        file.take(len).read_to_end(&mut head)?;
        Ok(head)
    })
}

/// Runs `read` on the file at `path` without moving its access time.
fn read_unused<T>(path: &Path, read: impl FnOnce(&File) -> io::Result<T>) -> Result<T, StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let no_atime = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path);
    match no_atime {
        Ok(file) => read(&file).map_err(io_err(path)),
        // O_NOATIME is refused on files of other owners: read, then put the access time back.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            let accessed = fs::metadata(path)
                .and_then(|m| m.accessed())
                .map_err(io_err(path))?;
            let file = File::open(path).map_err(io_err(path))?;
            let value = read(&file).map_err(io_err(path))?;
            file.set_times(fs::FileTimes::new().set_accessed(accessed))
                .map_err(io_err(path))?;
            Ok(value)
        }
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Makes a rename durable: the directory entry is on disk once this returns.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

/// A temp file in `dir` whose name starts with `prefix`, created with the mode the umask leaves
/// of `rw-rw-rw-` like any new file (tempfile's own 0600 would keep every engine, and every
/// plan exported from one, from a Triton running as another uid).
fn new_temp(dir: &Path, prefix: &str) -> Result<NamedTempFile, StoreError> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(io_err(dir))
}

/// Writes `bytes` to `dest` atomically: temp file in the same dir, fsync, rename, fsync dir.
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = parent_dir(dest);
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut temp = new_temp(dir, TEMP_PREFIX)?;
    temp.write_all(bytes).map_err(io_err(temp.path()))?;
    persist(temp, dest)
}

/// Renames `temp` over `dest` durably. A file it replaces keeps its mode: someone chose it.
fn persist(temp: NamedTempFile, dest: &Path) -> Result<(), StoreError> {
    if let Ok(existing) = fs::metadata(dest) {
        temp.as_file()
            .set_permissions(existing.permissions())
            .map_err(io_err(temp.path()))?;
    }
    temp.as_file().sync_all().map_err(io_err(temp.path()))?;
    temp.persist(dest).map_err(|e| StoreError::Io {
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    sync_dir(parent_dir(dest))
}

/// The directory a file is in; `.` for a bare file name.
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn engine_path(&self, key: &EngineKey) -> PathBuf {
        self.root.join(&key.family).join(&key.file)
    }

    pub fn sidecar_path(&self, key: &EngineKey) -> PathBuf {
        self.root.join(&key.family).join(key.sidecar_file())
    }

    pub fn log_path(&self, key: &EngineKey) -> PathBuf {
        self.root.join(LOG_DIR).join(format!("{}.log", key.file))
    }

    /// Lists `{family}/{file}` entries without following symlinks; a missing cache is empty.
    pub fn list(&self) -> Result<CacheListing, StoreError> {
        let mut listing = CacheListing::default();
        if !self.root.exists() {
            return Ok(listing);
        }
        // No min_depth: walkdir does not show entries above it to the filter, which must see
        // the family directories to skip the reserved ones.
        let walker = walkdir::WalkDir::new(&self.root)
            .max_depth(2)
            .follow_links(false)
            .into_iter()
            .filter_entry(|e| e.depth() != 1 || !is_reserved_dir(e.file_name()));
        let mut sidecars = Vec::new();
        for entry in walker {
            let entry = entry.map_err(|e| StoreError::Io {
                path: e.path().unwrap_or(&self.root).to_path_buf(),
                source: e.into(),
            })?;
            if entry.depth() != 2 || !entry.file_type().is_file() {
                continue;
            }
            let names = entry
                .path()
                .parent()
                .and_then(|p| p.file_name())
                .and_then(|f| f.to_str())
                .zip(entry.file_name().to_str());
            let Some((family, file)) = names else {
                listing.strays.push(entry.path().to_path_buf());
                continue;
            };
            if let Some(engine_file) = file.strip_suffix(SIDECAR_SUFFIX) {
                sidecars.push((
                    family.to_string(),
                    engine_file.to_string(),
                    entry.into_path(),
                ));
                continue;
            }
            match EngineKey::parse(&format!("{family}/{file}")) {
                Ok((key, _)) => {
                    listing.engines.insert(key);
                }
                Err(_) => listing.strays.push(entry.into_path()),
            }
        }
        // Sidecars are matched against the engines by name; only orphans are parsed, which keeps
        // listing a cache of thousands a directory read.
        for (family, file, path) in sidecars {
            let key = EngineKey { family, file };
            if listing.engines.contains(&key) || EngineKey::parse(&key.path()).is_ok() {
                listing.sidecars.insert(key);
            } else {
                listing.strays.push(path);
            }
        }
        Ok(listing)
    }

    /// The sidecar beside `key`'s engine, if there is one.
    /// `None` when there is no sidecar, or when it is a symlink (never followed out of the
    /// cache) or not a file.
    pub fn read_sidecar(&self, key: &EngineKey) -> Option<Result<Sidecar, SidecarError>> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(self.sidecar_path(key))
            .ok()?;
        // Sidecars are about 1 KiB: one read and the one that sees EOF. (`read_to_end` would
        // add a stat and a seek for its size hint: a tenth of a no-op plan of 10,000 engines.)
        let mut bytes = vec![0u8; SIDECAR_READ_HINT];
        let mut len = 0;
        loop {
            if len == bytes.len() {
                bytes.resize(len * 2, 0);
            }
            match file.read(&mut bytes[len..]).ok()? {
                0 => break,
                n => len += n,
            }
        }
        Some(Sidecar::parse_for(&bytes[..len], key))
    }

    /// `key`'s engine as the planner observes it: a regular file beside a sidecar that is one
    /// too (symlinks are never followed), its size and what its sidecar says.
    pub fn local_engine(&self, key: &EngineKey) -> Option<LocalEngine> {
        let family = FamilyDir::open(&self.root.join(&key.family))?;
        let size = family.regular_file(&key.file)?.size;
        family.regular_file(&key.sidecar_file())?;
        let sidecar = self.read_sidecar(key)?.map(identity::SidecarSummary::from);
        Some(LocalEngine { size, sidecar })
    }

    /// A temp file beside where `key`'s engine goes: the rename that commits it stays on one filesystem.
    pub fn temp_engine(&self, key: &EngineKey) -> Result<NamedTempFile, StoreError> {
        let dir = self.root.join(&key.family);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        new_temp(&dir, &format!("{TEMP_PREFIX}{}.", key.file))
    }

    /// The commit protocol: the engine is renamed into place first, then the sidecar, so a
    /// crash at any instant leaves either no sidecar (the engine does not exist) or a complete one.
    pub fn commit(
        &self,
        key: &EngineKey,
        engine: NamedTempFile,
        sidecar: &Sidecar,
    ) -> Result<PathBuf, StoreError> {
        let dest = self.engine_path(key);
        // An older sidecar must not vouch for the new bytes while they are being swapped in.
        self.remove_sidecar(key)?;
        persist(engine, &dest)?;
        write_atomic(&self.sidecar_path(key), &sidecar.to_json())?;
        Ok(dest)
    }

    /// Un-commits an engine: the sidecar goes first, so the engine stops existing at once.
    pub fn remove(&self, key: &EngineKey) -> Result<(), StoreError> {
        self.remove_sidecar(key)?;
        remove_if_present(&self.engine_path(key))?;
        self.remove_stripped(key)
    }

    fn remove_sidecar(&self, key: &EngineKey) -> Result<(), StoreError> {
        remove_if_present(&self.sidecar_path(key))
    }

    pub fn lock_path(&self, key: &EngineKey) -> PathBuf {
        self.root
            .join(LOCK_DIR)
            .join(&key.family)
            .join(format!("{}.lock", key.file))
    }

    /// Blocks until this process holds `key`'s lock; released when the guard drops (or the process dies).
    pub fn lock(&self, key: &EngineKey) -> Result<EngineLock, StoreError> {
        let file = self.open_lock(key)?;
        file.lock().map_err(io_err(&self.lock_path(key)))?;
        Ok(EngineLock { _file: file })
    }

    /// `None` when another process holds `key`'s lock.
    pub fn try_lock(&self, key: &EngineKey) -> Result<Option<EngineLock>, StoreError> {
        let file = self.open_lock(key)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(EngineLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(io_err(&self.lock_path(key))(e)),
        }
    }

    fn open_lock(&self, key: &EngineKey) -> Result<File, StoreError> {
        let path = self.lock_path(key);
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))
    }
}

/// Holds a per-engine lock for as long as it lives.
#[derive(Debug)]
pub struct EngineLock {
    _file: File,
}

fn is_reserved_dir(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    RESERVED_DIRS.contains(&name.as_ref()) || name.starts_with('.')
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(path)(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{EngineId, Provenance, SIDECAR_SCHEMA_VERSION};

    fn key(model: &str) -> (EngineKey, EngineId) {
        EngineKey::parse(&format!("fam/{model}_v1_fp16_sm_86_10.3.0.trt")).unwrap()
    }

    fn sidecar_for(key: &EngineKey, id: &EngineId, bytes: &[u8]) -> Sidecar {
        Sidecar {
            schema_version: SIDECAR_SCHEMA_VERSION,
            family: key.family.clone(),
            id: id.clone(),
            fingerprint: None,
            engine_sha256: identity::sha256_hex(bytes),
            engine_size: bytes.len() as u64,
            build: None,
            provenance: Provenance::default(),
            local_trust: None,
            weights: None,
        }
    }

    #[test]
    fn cache_dir_precedence() {
        let env = Some(PathBuf::from("/env"));
        let manifest = Some(Path::new("/manifest"));
        let home = Some(PathBuf::from("/home/u"));
        assert_eq!(
            resolve_cache_dir(env, manifest, home.clone()).unwrap(),
            PathBuf::from("/env")
        );
        assert_eq!(
            resolve_cache_dir(None, manifest, home.clone()).unwrap(),
            PathBuf::from("/manifest")
        );
        assert_eq!(
            resolve_cache_dir(Some(PathBuf::new()), None, home).unwrap(),
            PathBuf::from("/home/u/.cache/screenalytics/engines")
        );
        assert!(resolve_cache_dir(None, None, None).is_err());
    }

    #[test]
    fn commit_then_list_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let (key, id) = key("m");
        let mut temp = cache.temp_engine(&key).unwrap();
        temp.write_all(b"engine").unwrap();
        let listing = cache.list().unwrap();
        assert!(
            listing.engines.is_empty(),
            "a temp file looked like an engine"
        );
        let sidecar = sidecar_for(&key, &id, b"engine");
        let path = cache.commit(&key, temp, &sidecar).unwrap();
        assert_eq!(fs::read(path).unwrap(), b"engine");
        let listing = cache.list().unwrap();
        assert!(listing.engines.contains(&key));
        assert!(listing.sidecars.contains(&key));
        std::fs::create_dir_all(cache.log_path(&key).parent().unwrap()).unwrap();
        std::fs::write(cache.log_path(&key), b"log").unwrap();
        let listing = cache.list().unwrap();
        assert!(listing.strays.is_empty(), "{:?}", listing.strays);
        assert_eq!(cache.read_sidecar(&key).unwrap().unwrap(), sidecar);
        cache.remove(&key).unwrap();
        assert!(cache.list().unwrap().engines.is_empty());
    }

    #[test]
    fn sidecars_of_any_size_read_back_and_symlinked_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let (key, id) = key("m");
        let mut sidecar = sidecar_for(&key, &id, b"engine");
        sidecar.provenance.gpu_name = Some("x".repeat(3 * SIDECAR_READ_HINT));
        let mut temp = cache.temp_engine(&key).unwrap();
        temp.write_all(b"engine").unwrap();
        cache.commit(&key, temp, &sidecar).unwrap();
        assert_eq!(cache.read_sidecar(&key).unwrap().unwrap(), sidecar);

        let outside = tempfile::tempdir().unwrap();
        let moved = outside.path().join("sidecar.json");
        fs::rename(cache.sidecar_path(&key), &moved).unwrap();
        std::os::unix::fs::symlink(&moved, cache.sidecar_path(&key)).unwrap();
        assert!(cache.read_sidecar(&key).is_none());
    }

    #[test]
    fn foreign_files_and_symlinks_are_strays_or_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        fs::create_dir_all(dir.path().join("fam")).unwrap();
        fs::write(dir.path().join("fam/notes.txt"), b"x").unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("m_v1_fp16_sm_86_10.3.0.trt"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linked")).unwrap();
        let listing = cache.list().unwrap();
        assert!(listing.engines.is_empty());
        assert_eq!(listing.strays, vec![dir.path().join("fam/notes.txt")]);
    }

    #[test]
    fn locks_exclude_other_holders() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let (key, _) = key("m");
        let held = cache.lock(&key).unwrap();
        assert!(cache.try_lock(&key).unwrap().is_none());
        drop(held);
        assert!(cache.try_lock(&key).unwrap().is_some());
    }
}
