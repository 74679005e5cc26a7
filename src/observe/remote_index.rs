//! A memo of remote sidecars, kept in the cache dir: what each sidecar said, keyed by the
//! object's version as the LIST shows it (ETag, size, last-modified). A no-op plan against a
//! remote then costs its LIST pages and no sidecar GET.
//!
//! Why a stale entry can never make a plan wrong: an entry is used only when the LIST shows
//! the very same ETag, size and last-modified time. S3 gives each write of different bytes a
//! different ETag, and every write a new last-modified time; trtctl never overwrites a sidecar
//! in place (create-only, or delete then create). Objects the LIST shows without an ETag are
//! never memoised. The index is only a memo: a missing, foreign-version or damaged file is
//! ignored and rebuilt from GETs, a damaged line is read again and rewritten, and one file per
//! remote URL keeps two remotes apart.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::line_memo::{IndexCursor, LineMemo, MemoLine};
use super::summary_fields;
use crate::identity::{EngineKey, SidecarSummary};
use crate::plan::RemoteSidecar;
use crate::store::StoreError;
use crate::store::remote::ObjectVersion;

/// Bumped whenever the line format changes; an index of another version is rebuilt. 2: what
/// a plan compares of each sidecar (`SidecarSummary`), not the whole sidecar. 3: tab-separated
/// lines, sorted, looked up in place. 4: whether the engine was built under simulation.
/// 5: a sidecar whose fingerprint is not its build inputs' is remembered as invalid. 6: the
/// builder GPU's model.
const INDEX_VERSION: u32 = 6;

/// What the index remembers of one sidecar: the version it was read at, and what it said.
#[derive(Debug, Clone, PartialEq)]
struct Memo {
    version: ObjectVersion,
    contents: Contents,
}

#[derive(Debug, Clone, PartialEq)]
enum Contents {
    Sidecar(SidecarSummary),
    Invalid(String),
}

const VALID: &str = "valid";
const INVALID: &str = "invalid";

/// A line's fields: the ETag, size and last-modified time listed, then `valid` and the
/// summary, or `invalid` and why (a JSON string, which escapes any tab or newline).
impl MemoLine for Memo {
    fn encode(&self, bytes: &mut Vec<u8>) {
        use std::io::Write;
        let version = &self.version;
        let e_tag = version.e_tag.as_deref().unwrap_or_default();
        let _ = write!(
            bytes,
            "{e_tag}\t{}\t{}\t",
            version.size, version.last_modified_ms
        );
        match &self.contents {
            Contents::Sidecar(summary) => {
                let _ = write!(bytes, "{VALID}\t");
                summary_fields::encode(bytes, summary);
            }
            Contents::Invalid(why) => {
                let _ = write!(bytes, "{INVALID}\t");
                serde_json::to_writer(bytes, why).expect("a string serializes");
            }
        }
    }

    fn decode(fields: &str) -> Option<Memo> {
        let mut fields = fields.split('\t');
        let version = ObjectVersion {
            e_tag: Some(fields.next()?.to_string()),
            size: fields.next()?.parse().ok()?,
            last_modified_ms: fields.next()?.parse().ok()?,
        };
        let contents = match fields.next()? {
            VALID => Contents::Sidecar(summary_fields::decode(&mut fields)?),
            INVALID => Contents::Invalid(serde_json::from_str(fields.next()?).ok()?),
            _ => return None,
        };
        fields
            .next()
            .is_none()
            .then_some(Memo { version, contents })
    }
}

#[derive(Debug)]
pub struct RemoteIndex {
    memo: LineMemo<Memo>,
}

impl RemoteIndex {
    /// The index of `remote` kept under `cache_dir`; empty when missing, damaged or of another
    /// version (then the next save rewrites it).
    pub fn load(cache_dir: &Path, remote: &str) -> RemoteIndex {
        let name = file_name(remote);
        // Format 2 was JSON lines, kept beside under the same name.
        let former = cache_dir.join(format!("{name}.jsonl"));
        RemoteIndex {
            memo: LineMemo::load(cache_dir.join(&name), INDEX_VERSION, remote, former),
        }
    }

    /// An index that starts empty and is never saved.
    pub fn in_memory() -> RemoteIndex {
        RemoteIndex {
            memo: LineMemo::in_memory(),
        }
    }

    /// What the sidecar of `key` said when it was at `version`, if that was recorded
    /// (`cursor`: see [`IndexCursor`]).
    pub fn get(
        &self,
        key: &EngineKey,
        version: &ObjectVersion,
        cursor: &mut IndexCursor,
    ) -> Option<RemoteSidecar> {
        version.e_tag.as_ref()?;
        let memo = self.memo.get(key, cursor)?;
        if memo.version != *version {
            return None;
        }
        Some(match memo.contents {
            Contents::Sidecar(s) => RemoteSidecar::Valid(s),
            Contents::Invalid(why) => RemoteSidecar::Invalid(why),
        })
    }

    /// Records what the sidecar of `key` says at `version`. A version listed without an ETag,
    /// or with a tab or newline in it, is not recorded: it would not be known again.
    pub fn record(&mut self, key: &EngineKey, version: &ObjectVersion, sidecar: &RemoteSidecar) {
        let contents = match sidecar {
            RemoteSidecar::Valid(s) => Contents::Sidecar(SidecarSummary {
                build: None,
                ..s.clone()
            }),
            RemoteSidecar::Invalid(why) => Contents::Invalid(why.clone()),
            RemoteSidecar::Missing => return,
        };
        let writable = |e_tag: &String| !e_tag.contains(['\t', '\n']);
        if version.e_tag.as_ref().is_some_and(writable) {
            let version = version.clone();
            self.memo.record(key, Memo { version, contents });
        }
    }

    /// The engines remembered whose sidecar the LIST no longer shows (`listed`, given the
    /// family and the engine's file, is false), looked at in parallel.
    pub fn unlisted(&self, listed: impl Fn(&str, &str) -> bool + Sync) -> Vec<EngineKey> {
        self.memo.refused_by(listed)
    }

    /// Drops the entries of `keys`.
    pub fn forget_all(&mut self, keys: &[EngineKey]) {
        for key in keys {
            self.memo.forget(key);
        }
    }

    /// Writes the index back (temp file, fsync, rename) if anything changed.
    pub fn save(&self) -> Result<(), StoreError> {
        self.memo.save().map(drop)
    }
}

/// One file per remote: a hash of its URL, so no URL character reaches a file name.
fn file_name(remote: &str) -> String {
    let digest = Sha256::digest(remote.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!(".remote-sidecars-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{self, Provenance, Sidecar};

    fn sidecar(key: &EngineKey) -> RemoteSidecar {
        let (_, id) = EngineKey::parse(&key.path()).unwrap();
        let sidecar = Sidecar {
            schema_version: identity::SIDECAR_SCHEMA_VERSION,
            family: key.family.clone(),
            id,
            fingerprint: None,
            engine_sha256: "ab".repeat(32),
            engine_size: 3,
            build: None,
            provenance: Provenance::default(),
            local_trust: None,
            weights: None,
        };
        RemoteSidecar::Valid(sidecar.into())
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

    fn get(index: &RemoteIndex, key: &EngineKey, version: &ObjectVersion) -> Option<RemoteSidecar> {
        index.get(key, version, &mut IndexCursor::default())
    }

    #[test]
    fn entries_survive_a_save_and_answer_only_for_their_version() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (key("a"), key("b"));
        let why = RemoteSidecar::Invalid("bad:\tline\nbreak \"quoted\"".into());
        let mut index = RemoteIndex::load(dir.path(), "s3://bucket/x");
        index.record(&a, &version("\"1\""), &sidecar(&a));
        index.record(&b, &version("\"2\""), &why);
        index.save().unwrap();

        let again = RemoteIndex::load(dir.path(), "s3://bucket/x");
        assert_eq!(get(&again, &a, &version("\"1\"")), Some(sidecar(&a)));
        assert_eq!(get(&again, &b, &version("\"2\"")), Some(why));
        assert_eq!(get(&again, &a, &version("\"9\"")), None, "new ETag");
        let moved = ObjectVersion {
            last_modified_ms: 2,
            ..version("\"1\"")
        };
        assert_eq!(get(&again, &a, &moved), None, "rewritten");
        let other = RemoteIndex::load(dir.path(), "s3://other");
        assert_eq!(get(&other, &a, &version("\"1\"")), None, "another remote");
    }

    #[test]
    fn a_damaged_line_is_read_again_and_the_former_index_goes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (key("a"), key("b"));
        let former = dir.path().join(format!("{}.jsonl", file_name("s3://b")));
        std::fs::write(&former, "{}").unwrap();
        let mut index = RemoteIndex::load(dir.path(), "s3://b");
        index.record(&a, &version("\"1\""), &sidecar(&a));
        index.record(&b, &version("\"1\""), &sidecar(&b));
        index.save().unwrap();
        assert!(!former.exists());
        let path = dir.path().join(file_name("s3://b"));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 7);
        std::fs::write(&path, &bytes).unwrap();

        let mut damaged = RemoteIndex::load(dir.path(), "s3://b");
        assert_eq!(get(&damaged, &a, &version("\"1\"")), Some(sidecar(&a)));
        assert_eq!(get(&damaged, &b, &version("\"1\"")), None);
        damaged.record(&b, &version("\"1\""), &sidecar(&b));
        damaged.save().unwrap();
        let again = RemoteIndex::load(dir.path(), "s3://b");
        assert_eq!(get(&again, &b, &version("\"1\"")), Some(sidecar(&b)));
    }

    #[test]
    fn objects_without_a_writable_etag_are_not_memoised() {
        let a = key("a");
        let mut index = RemoteIndex::in_memory();
        let untagged = ObjectVersion {
            e_tag: None,
            ..version("x")
        };
        index.record(&a, &untagged, &sidecar(&a));
        assert_eq!(get(&index, &a, &untagged), None);
        for e_tag in ["\"a\tb\"", "\"a\nb\""] {
            index.record(&a, &version(e_tag), &sidecar(&a));
            assert_eq!(get(&index, &a, &version(e_tag)), None);
        }
    }

    #[test]
    fn sidecars_gone_from_the_listing_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (key("a"), key("b"));
        let mut index = RemoteIndex::load(dir.path(), "s3://b");
        for k in [&a, &b] {
            index.record(k, &version("1"), &sidecar(k));
        }
        index.save().unwrap();
        let mut index = RemoteIndex::load(dir.path(), "s3://b");
        let unlisted = index.unlisted(|family, file| family == a.family && file == a.file);
        assert_eq!(unlisted, std::slice::from_ref(&b));
        index.forget_all(&unlisted);
        index.save().unwrap();
        let index = RemoteIndex::load(dir.path(), "s3://b");
        assert!(get(&index, &a, &version("1")).is_some());
        assert!(
            get(&index, &b, &version("1")).is_none(),
            "what was dropped is saved"
        );
    }
}
