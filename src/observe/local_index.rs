//! A memo of the local cache's sidecars: what a plan compares of each (fingerprint, size,
//! sha256, local trust), keyed by the sidecar file's stamp (size, mtime, ctime, inode), in one
//! file in the cache dir. An unchanged cache then costs a stat per engine and sidecar, not an
//! open, read and parse per sidecar.
//!
//! The sidecar file stays the truth: any rewrite of it moves its ctime (and a replacement by
//! rename its inode), so an entry whose stamp still matches describes the bytes on disk. Only
//! sidecars that parsed are memoised; a damaged one is read again every time.

use std::path::Path;

use super::line_memo::{IndexCursor, LineMemo, MemoLine};
use super::summary_fields;
use crate::identity::{EngineKey, SidecarSummary};
use crate::store::{FileStamp, SIDECAR_INDEX_FILE, StoreError};

/// The index of format 1 (whole sidecars as JSON lines), removed when this one is written.
const FORMER_INDEX_FILE: &str = ".sidecar-index.jsonl";
/// Bumped whenever the line format (or what is kept of a sidecar) changes. 3: whether the
/// engine was built under simulation. 4: only sidecars whose fingerprint is their build
/// inputs' are remembered. 5: the builder GPU's model.
const INDEX_VERSION: u32 = 5;
const INDEX_OF: &str = "local sidecars";

/// What the index remembers of one sidecar: its file's stamp, and what it said.
#[derive(Debug, Clone, PartialEq)]
struct Memo {
    stamp: FileStamp,
    sidecar: SidecarSummary,
}

/// A line's fields: the sidecar's size, mtime, ctime and inode, then its summary.
impl MemoLine for Memo {
    fn encode(&self, bytes: &mut Vec<u8>) {
        use std::io::Write;
        let stamp = &self.stamp;
        let _ = write!(
            bytes,
            "{}\t{}\t{}\t{}\t",
            stamp.size, stamp.mtime_ns, stamp.ctime_ns, stamp.inode
        );
        summary_fields::encode(bytes, &self.sidecar);
    }

    fn decode(fields: &str) -> Option<Memo> {
        let mut fields = fields.split('\t');
        let stamp = FileStamp {
            size: fields.next()?.parse().ok()?,
            mtime_ns: fields.next()?.parse().ok()?,
            ctime_ns: fields.next()?.parse().ok()?,
            inode: fields.next()?.parse().ok()?,
        };
        let sidecar = summary_fields::decode(&mut fields)?;
        fields.next().is_none().then_some(Memo { stamp, sidecar })
    }
}

#[derive(Debug)]
pub struct LocalIndex {
    memo: LineMemo<Memo>,
}

impl Default for LocalIndex {
    /// An index that starts empty and is never saved.
    fn default() -> Self {
        LocalIndex {
            memo: LineMemo::in_memory(),
        }
    }
}

impl LocalIndex {
    /// The index kept in `cache_dir`; empty when missing or damaged (then rebuilt).
    pub fn load(cache_dir: &Path) -> LocalIndex {
        let (path, former) = (
            cache_dir.join(SIDECAR_INDEX_FILE),
            cache_dir.join(FORMER_INDEX_FILE),
        );
        LocalIndex {
            memo: LineMemo::load(path, INDEX_VERSION, INDEX_OF, former),
        }
    }

    /// What the sidecar of `key` said when its file had `stamp` (`cursor`: see
    /// [`IndexCursor`]).
    pub fn get(
        &self,
        key: &EngineKey,
        stamp: &FileStamp,
        cursor: &mut IndexCursor,
    ) -> Option<SidecarSummary> {
        let memo = self.memo.get(key, cursor)?;
        (memo.stamp == *stamp).then_some(memo.sidecar)
    }

    pub fn record(&mut self, key: &EngineKey, stamp: FileStamp, sidecar: &SidecarSummary) {
        // Kept without build inputs, so that a stale engine's sidecar, read on every plan for
        // them, does not rewrite the index each time.
        let sidecar = SidecarSummary {
            build: None,
            ..sidecar.clone()
        };
        self.memo.record(key, Memo { stamp, sidecar });
    }

    pub fn forget(&mut self, key: &EngineKey) {
        self.memo.forget(key);
    }

    /// Writes the index back if anything changed; losing it only costs reads next time.
    pub fn save(&self) -> Result<(), StoreError> {
        self.memo.save().map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Fingerprint, LocalTrust};

    fn key(file: &str) -> EngineKey {
        EngineKey {
            family: "arcface".into(),
            file: file.into(),
        }
    }

    fn memo(size: u64, local_trust: Option<LocalTrust>) -> Memo {
        Memo {
            stamp: FileStamp {
                size,
                mtime_ns: 1_795_606_060_599_620_013,
                ctime_ns: -5,
                inode: 9_307_823,
            },
            sidecar: SidecarSummary {
                fingerprint: Some(Fingerprint("cd".repeat(32))),
                engine_sha256: "ab".repeat(32),
                engine_size: 33,
                local_trust,
                simulated: false,
                gpu_model: None,
                build: None,
                weights: None,
            },
        }
    }

    #[test]
    fn every_field_survives_the_line_encoding() {
        for memo in [memo(822, None), memo(1, Some(LocalTrust::Built))] {
            let mut bytes = Vec::new();
            memo.encode(&mut bytes);
            let text = String::from_utf8(bytes).unwrap();
            assert_eq!(Memo::decode(&text), Some(memo.clone()));
            assert_eq!(
                Memo::decode(&format!("{text}\t-")),
                None,
                "a field too many"
            );
            let cut = &text[..text.rfind('\t').unwrap()];
            assert_eq!(Memo::decode(cut), None, "a field short");
            assert_eq!(Memo::decode(&text.replacen("9307823", "93x7823", 1)), None);
        }
    }

    #[test]
    fn a_sidecar_is_remembered_at_its_stamp_only_and_the_former_index_goes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FORMER_INDEX_FILE), "{}").unwrap();
        let (a, at) = (key("a.trt"), memo(822, Some(LocalTrust::Built)));
        let mut index = LocalIndex::load(dir.path());
        index.record(&a, at.stamp, &at.sidecar);
        index.save().unwrap();
        assert!(!dir.path().join(FORMER_INDEX_FILE).exists());

        let index = LocalIndex::load(dir.path());
        let cursor = &mut IndexCursor::default();
        assert_eq!(index.get(&a, &at.stamp, cursor), Some(at.sidecar.clone()));
        assert_eq!(index.get(&a, &memo(823, None).stamp, cursor), None);
        assert_eq!(index.get(&key("b.trt"), &at.stamp, cursor), None);
    }
}
