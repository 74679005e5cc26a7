//! A memo of the local cache's sidecars: each one parsed once and kept, keyed by the sidecar
//! file's stamp (size, mtime, ctime, inode), in one file in the cache dir. An unchanged cache
//! then costs a stat per engine and sidecar, not an open, read and parse per sidecar.
//!
//! The sidecar file stays the truth: any rewrite of it moves its ctime (and a replacement by
//! rename its inode), so an entry whose stamp still matches describes the bytes on disk. Only
//! sidecars that parsed are memoised; a damaged one is read again every time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::memo_file;
use crate::identity::{EngineKey, Sidecar};
use crate::store::{FileStamp, StoreError};

const INDEX_FILE: &str = ".sidecar-index.jsonl";
/// Bumped whenever the line format (or the sidecar schema) changes.
const INDEX_VERSION: u32 = 1;
const INDEX_OF: &str = "local sidecars";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// The engine's path under the cache dir (`family/file`).
    key: String,
    stamp: FileStamp,
    sidecar: Sidecar,
}

#[derive(Debug, Default)]
pub struct LocalIndex {
    path: Option<PathBuf>,
    entries: HashMap<String, Entry>,
    dirty: bool,
}

impl LocalIndex {
    /// The index kept in `cache_dir`; empty when missing or damaged (then rebuilt).
    pub fn load(cache_dir: &Path) -> LocalIndex {
        let path = cache_dir.join(INDEX_FILE);
        let entries = memo_file::read::<Entry>(&path, INDEX_VERSION, INDEX_OF);
        LocalIndex {
            path: Some(path),
            dirty: entries.is_none(),
            entries: entries
                .unwrap_or_default()
                .into_iter()
                .map(|e| (e.key.clone(), e))
                .collect(),
        }
    }

    /// The sidecar of `key` as recorded when its file had `stamp`.
    pub fn get(&self, key: &EngineKey, stamp: &FileStamp) -> Option<&Sidecar> {
        self.entries
            .get(&key.path())
            .filter(|e| e.stamp == *stamp)
            .map(|e| &e.sidecar)
    }

    pub fn record(&mut self, key: &EngineKey, stamp: FileStamp, sidecar: &Sidecar) {
        let entry = Entry {
            key: key.path(),
            stamp,
            sidecar: sidecar.clone(),
        };
        self.entries.insert(entry.key.clone(), entry);
        self.dirty = true;
    }

    pub fn forget(&mut self, key: &EngineKey) {
        self.dirty |= self.entries.remove(&key.path()).is_some();
    }

    /// Writes the index back if anything changed; losing it only costs reads next time.
    pub fn save(&self) -> Result<(), StoreError> {
        match &self.path {
            Some(path) if self.dirty => {
                memo_file::write(path, INDEX_VERSION, INDEX_OF, self.entries.values())
            }
            _ => Ok(()),
        }
    }
}
