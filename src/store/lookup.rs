//! Looking up cached engines by name: what a plan compares of each, and the family directory
//! opened once so that thousands of engines are stat'ed relative to it.

use std::path::Path;

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use serde::{Deserialize, Serialize};

use super::FileStamp;
use crate::identity::{BuildInputs, Fingerprint, LocalTrust, Sidecar, SidecarError};

/// An engine committed to the local cache: its size and what its sidecar says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEngine {
    pub size: u64,
    pub sidecar: Result<CachedSidecar, SidecarError>,
}

/// What a plan compares of a cached engine's sidecar; the sidecar file keeps the rest
/// (provenance, the engine's identity). Small, so that a no-op plan of 10,000 engines keeps,
/// clones and drops little.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedSidecar {
    pub fingerprint: Option<Fingerprint>,
    pub engine_sha256: String,
    pub engine_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_trust: Option<LocalTrust>,
    /// The build inputs recorded: they say why an engine whose fingerprint is not the wanted
    /// one is stale. Never kept in the sidecar index (`None` there), so a lookup that finds a
    /// fingerprint other than the wanted one reads the sidecar file instead.
    #[serde(skip)]
    pub build: Option<Box<BuildInputs>>,
}

impl From<Sidecar> for CachedSidecar {
    fn from(sidecar: Sidecar) -> Self {
        CachedSidecar {
            fingerprint: sidecar.fingerprint,
            engine_sha256: sidecar.engine_sha256,
            engine_size: sidecar.engine_size,
            local_trust: sidecar.local_trust,
            build: sidecar.build.map(Box::new),
        }
    }
}

/// A family directory of the cache, open. Resolving `{cache}/{family}/{file}` from the root
/// for each of 20,000 engines and sidecars was a third of a no-op plan; relative to an open
/// directory each lookup resolves one name.
pub struct FamilyDir(OwnedFd);

impl FamilyDir {
    /// `None` when the directory is missing or is not one (a symlink is not followed).
    pub fn open(path: &Path) -> Option<FamilyDir> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        rustix::fs::open(path, flags, Mode::empty())
            .ok()
            .map(FamilyDir)
    }

    /// The stamp of `name` in this directory when it is a regular file (symlinks, directories
    /// and missing names are `None`).
    pub fn regular_file(&self, name: &str) -> Option<FileStamp> {
        let stat = rustix::fs::statat(&self.0, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return None;
        }
        let ns = |secs: i64, nanos: u64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        Some(FileStamp {
            size: stat.st_size as u64,
            mtime_ns: ns(stat.st_mtime, stat.st_mtime_nsec as u64),
            ctime_ns: ns(stat.st_ctime, stat.st_ctime_nsec as u64),
            inode: stat.st_ino,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_relative_to_the_family_is_the_stamp_of_the_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.trt"), b"engine").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("a.trt", dir.path().join("link.trt")).unwrap();
        let family = FamilyDir::open(dir.path()).unwrap();
        assert_eq!(
            family.regular_file("a.trt"),
            Some(FileStamp::of(&dir.path().join("a.trt")).unwrap())
        );
        assert_eq!(family.regular_file("sub"), None);
        assert_eq!(family.regular_file("link.trt"), None);
        assert_eq!(family.regular_file("missing.trt"), None);
        std::os::unix::fs::symlink(dir.path(), dir.path().join("family-link")).unwrap();
        assert!(FamilyDir::open(&dir.path().join("family-link")).is_none());
    }
}
