//! A memo of remote sidecars, kept in the cache dir: what each sidecar said, keyed by the
//! object's version as the LIST shows it (ETag, size, last-modified). A no-op plan against a
//! remote then costs its LIST pages and no sidecar GET.
//!
//! Why a stale entry can never make a plan wrong: an entry is used only when the LIST shows
//! the very same ETag, size and last-modified time. S3 gives each write of different bytes a
//! different ETag, and every write a new last-modified time; trtctl never overwrites a sidecar
//! in place (create-only, or delete then create). Objects the LIST shows without an ETag are
//! never memoised. The index is only a memo: a missing, foreign-version or damaged file is
//! ignored and rebuilt from GETs, and one per remote URL keeps two remotes apart.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use foldhash::fast::RandomState;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::memo_file;
use crate::identity::{EngineKey, SIDECAR_SUFFIX, SidecarSummary};
use crate::plan::RemoteSidecar;
use crate::store::StoreError;
use crate::store::remote::ObjectVersion;

/// Bumped whenever the line format changes; an index of another version is rebuilt. 2: what
/// a plan compares of each sidecar (`SidecarSummary`), not the whole sidecar.
const INDEX_VERSION: u32 = 2;

/// One line of the file: a sidecar (its path in the remote), parsed or refused, and the
/// version it was read at. Written from borrowed parts (`V`, `C` references), read owned.
#[derive(Debug, Serialize, Deserialize)]
struct Entry<V = ObjectVersion, C = Contents> {
    key: String,
    version: V,
    contents: C,
}

/// What the index remembers of one sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Memo {
    version: ObjectVersion,
    contents: Contents,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Contents {
    Sidecar(SidecarSummary),
    Invalid(String),
}

#[derive(Debug, Default)]
pub struct RemoteIndex {
    path: Option<PathBuf>,
    remote: String,
    /// Keyed by engine, not by sidecar path: a plan looks up 10,000 of them, and a path would be
    /// a string made for each lookup. Hashed fast (SipHash was a twentieth of a warm plan's CPU):
    /// the keys are the index's own, not a remote's.
    entries: HashMap<EngineKey, Memo, RandomState>,
    dirty: bool,
}

impl RemoteIndex {
    /// The index of `remote` kept under `cache_dir`; empty when missing, damaged or of another
    /// version (then the next save rewrites it).
    pub fn load(cache_dir: &Path, remote: &str) -> RemoteIndex {
        let path = cache_dir.join(file_name(remote));
        let entries = memo_file::read::<Entry>(&path, INDEX_VERSION, remote).map(|entries| {
            // Made at its size once: grown, it rehashed 10,000 keys on the way.
            let mut memos =
                HashMap::with_capacity_and_hasher(entries.len(), RandomState::default());
            memos.extend(entries.into_iter().filter_map(|e| {
                let memo = Memo {
                    version: e.version,
                    contents: e.contents,
                };
                Some((engine_of(&e.key)?, memo))
            }));
            memos
        });
        RemoteIndex {
            path: Some(path),
            remote: remote.to_string(),
            dirty: entries.is_none(),
            entries: entries.unwrap_or_default(),
        }
    }

    /// An index that starts empty and is never saved.
    pub fn in_memory(remote: &str) -> RemoteIndex {
        RemoteIndex {
            remote: remote.to_string(),
            ..RemoteIndex::default()
        }
    }

    /// What the sidecar of `key` said when it was at `version`, if that was recorded.
    pub fn get(&self, key: &EngineKey, version: &ObjectVersion) -> Option<RemoteSidecar> {
        let memo = self.entries.get(key)?;
        (version.e_tag.is_some() && memo.version == *version).then(|| match &memo.contents {
            Contents::Sidecar(s) => RemoteSidecar::Valid(s.clone()),
            Contents::Invalid(why) => RemoteSidecar::Invalid(why.clone()),
        })
    }

    /// Records what the sidecar of `key` says at `version`.
    pub fn record(&mut self, key: &EngineKey, version: &ObjectVersion, sidecar: &RemoteSidecar) {
        let contents = match sidecar {
            RemoteSidecar::Valid(s) => Contents::Sidecar(SidecarSummary {
                build: None,
                ..s.clone()
            }),
            RemoteSidecar::Invalid(why) => Contents::Invalid(why.clone()),
            RemoteSidecar::Missing => return,
        };
        if version.e_tag.is_none() {
            return;
        }
        let memo = Memo {
            version: version.clone(),
            contents,
        };
        self.entries.insert(key.clone(), memo);
        self.dirty = true;
    }

    /// The entries whose sidecar the LIST no longer shows (`listed` is false), looked at in
    /// parallel.
    pub fn unlisted(&self, listed: impl Fn(&EngineKey) -> bool + Sync) -> Vec<EngineKey> {
        self.entries
            .par_iter()
            .filter(|(key, _)| !listed(key))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Drops the entries of `keys`.
    pub fn forget_all(&mut self, keys: &[EngineKey]) {
        for key in keys {
            self.dirty |= self.entries.remove(key).is_some();
        }
    }

    /// Writes the index back (temp file, fsync, rename) if anything changed.
    pub fn save(&self) -> Result<(), StoreError> {
        let Some(path) = self.path.as_ref().filter(|_| self.dirty) else {
            return Ok(());
        };
        let entries = self.entries.iter().map(|(key, memo)| Entry {
            key: key.sidecar_path(),
            version: &memo.version,
            contents: &memo.contents,
        });
        memo_file::write(path, INDEX_VERSION, &self.remote, entries)
    }
}

/// The engine whose sidecar is at `path` (`{family}/{file}.json`); `None` for anything else,
/// which the index then forgets.
fn engine_of(path: &str) -> Option<EngineKey> {
    let (family, sidecar) = path.split_once('/')?;
    Some(EngineKey {
        family: family.to_string(),
        file: sidecar.strip_suffix(SIDECAR_SUFFIX)?.to_string(),
    })
}

/// One file per remote: a hash of its URL, so no URL character reaches a file name.
fn file_name(remote: &str) -> String {
    let digest = Sha256::digest(remote.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!(".remote-sidecars-{hex}.jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{self, Provenance, Sidecar};

    fn sidecar(key: &EngineKey) -> Sidecar {
        let (_, id) = EngineKey::parse(&key.path()).unwrap();
        Sidecar {
            schema_version: identity::SIDECAR_SCHEMA_VERSION,
            family: key.family.clone(),
            id,
            fingerprint: None,
            engine_sha256: "ab".repeat(32),
            engine_size: 3,
            build: None,
            provenance: Provenance::default(),
            local_trust: None,
        }
    }

    fn version(e_tag: &str) -> ObjectVersion {
        ObjectVersion {
            e_tag: Some(e_tag.into()),
            size: 10,
            last_modified_ms: 1,
        }
    }

    fn key(name: &str) -> EngineKey {
        EngineKey::parse(&format!("fam/{name}_v1_fp16_sm_86_10.3.0.trt"))
            .unwrap()
            .0
    }

    #[test]
    fn entries_survive_a_save_and_answer_only_for_their_version() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (key("a"), key("b"));
        let mut index = RemoteIndex::load(dir.path(), "s3://bucket/x");
        index.record(
            &a,
            &version("\"1\""),
            &RemoteSidecar::Valid(sidecar(&a).into()),
        );
        index.record(&b, &version("\"2\""), &RemoteSidecar::Invalid("bad".into()));
        index.save().unwrap();

        let again = RemoteIndex::load(dir.path(), "s3://bucket/x");
        assert_eq!(
            again.get(&a, &version("\"1\"")),
            Some(RemoteSidecar::Valid(sidecar(&a).into()))
        );
        assert_eq!(
            again.get(&b, &version("\"2\"")),
            Some(RemoteSidecar::Invalid("bad".into()))
        );
        assert_eq!(again.get(&a, &version("\"9\"")), None, "new ETag");
        let moved = ObjectVersion {
            last_modified_ms: 2,
            ..version("\"1\"")
        };
        assert_eq!(again.get(&a, &moved), None, "rewritten");
        assert!(
            RemoteIndex::load(dir.path(), "s3://other")
                .entries
                .is_empty()
        );
    }

    #[test]
    fn a_damaged_index_is_ignored_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let a = key("a");
        let mut index = RemoteIndex::load(dir.path(), "s3://b");
        index.record(
            &a,
            &version("\"1\""),
            &RemoteSidecar::Valid(sidecar(&a).into()),
        );
        index.save().unwrap();
        let path = dir.path().join(file_name("s3://b"));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 7);
        std::fs::write(&path, &bytes).unwrap();

        let damaged = RemoteIndex::load(dir.path(), "s3://b");
        assert!(damaged.entries.is_empty() && damaged.dirty);
        damaged.save().unwrap();
        assert_eq!(RemoteIndex::load(dir.path(), "s3://b").entries.len(), 0);
        assert!(memo_file::read::<Entry>(&path, INDEX_VERSION, "s3://b").is_some());
    }

    #[test]
    fn objects_without_an_etag_are_not_memoised() {
        let a = key("a");
        let mut index = RemoteIndex::in_memory("s3://b");
        let untagged = ObjectVersion {
            e_tag: None,
            ..version("x")
        };
        index.record(&a, &untagged, &RemoteSidecar::Valid(sidecar(&a).into()));
        assert_eq!(index.get(&a, &untagged), None);
    }

    #[test]
    fn sidecars_gone_from_the_listing_are_dropped() {
        let (a, b) = (key("a"), key("b"));
        let mut index = RemoteIndex::in_memory("s3://b");
        for k in [&a, &b] {
            index.record(k, &version("1"), &RemoteSidecar::Valid(sidecar(k).into()));
        }
        let unlisted = index.unlisted(|key| *key == a);
        assert_eq!(unlisted, std::slice::from_ref(&b));
        index.dirty = false;
        index.forget_all(&unlisted);
        assert!(index.dirty, "what was dropped is saved");
        assert!(index.get(&a, &version("1")).is_some());
        assert!(index.get(&b, &version("1")).is_none());
    }
}
