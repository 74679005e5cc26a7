//! A memo of the local cache's sidecars: what a plan compares of each (fingerprint, size,
//! sha256, local trust), keyed by the sidecar file's stamp (size, mtime, ctime, inode), in one
//! file in the cache dir. An unchanged cache then costs a stat per engine and sidecar, not an
//! open, read and parse per sidecar.
//!
//! The sidecar file stays the truth: any rewrite of it moves its ctime (and a replacement by
//! rename its inode), so an entry whose stamp still matches describes the bytes on disk. Only
//! sidecars that parsed are memoised; a damaged one is read again every time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;

use super::memo_file;
use crate::identity::{EngineKey, Fingerprint, SidecarSummary};
use crate::store::{FileStamp, SIDECAR_INDEX_FILE, StoreError};

/// The index of format 1 (whole sidecars as JSON lines), removed when this one is written.
const FORMER_INDEX_FILE: &str = ".sidecar-index.jsonl";
/// Bumped whenever the line format (or what is kept of a sidecar) changes.
const INDEX_VERSION: u32 = 2;
const INDEX_OF: &str = "local sidecars";
/// Written in place of a field that is absent.
const ABSENT: &str = "-";

/// One line of the index: the engine, its sidecar's stamp, what the sidecar said.
type Line = (EngineKey, FileStamp, SidecarSummary);

#[derive(Debug, Default)]
pub struct LocalIndex {
    path: Option<PathBuf>,
    /// The lines as read, sorted by key (as they are written): a lookup is a binary search, and
    /// loading 10,000 builds no hash map (that and its memory were a sixth of a no-op plan).
    loaded: Vec<Line>,
    /// What was recorded (`Some`) or forgotten (`None`) since, looked up before `loaded`.
    changed: HashMap<EngineKey, Option<(FileStamp, SidecarSummary)>>,
    dirty: bool,
}

impl LocalIndex {
    /// The index kept in `cache_dir`; empty when missing or damaged (then rebuilt).
    pub fn load(cache_dir: &Path) -> LocalIndex {
        let path = cache_dir.join(SIDECAR_INDEX_FILE);
        let lines = memo_file::read_lines(&path, INDEX_VERSION, INDEX_OF, decode);
        let dirty = lines.is_none();
        let mut loaded = lines.unwrap_or_default();
        let sorted = loaded.is_sorted_by(|a, b| a.0 < b.0);
        if !sorted {
            // Written by hand or by another tool: usable, and rewritten in order.
            loaded.par_sort_by(|a, b| a.0.cmp(&b.0));
            loaded.dedup_by(|a, b| a.0 == b.0);
        }
        LocalIndex {
            path: Some(path),
            loaded,
            changed: HashMap::new(),
            dirty: dirty || !sorted,
        }
    }

    /// What the sidecar of `key` said when its file had `stamp`.
    pub fn get(&self, key: &EngineKey, stamp: &FileStamp) -> Option<&SidecarSummary> {
        self.current(key)
            .filter(|(known, _)| *known == stamp)
            .map(|(_, sidecar)| sidecar)
    }

    pub fn record(&mut self, key: &EngineKey, stamp: FileStamp, sidecar: &SidecarSummary) {
        let sidecar = SidecarSummary {
            build: None,
            ..sidecar.clone()
        };
        // A stale engine's sidecar is read on every plan (for its build inputs): that alone
        // must not rewrite the index each time.
        if self.current(key) != Some((&stamp, &sidecar)) {
            self.changed.insert(key.clone(), Some((stamp, sidecar)));
            self.dirty = true;
        }
    }

    pub fn forget(&mut self, key: &EngineKey) {
        if self.current(key).is_some() {
            self.changed.insert(key.clone(), None);
            self.dirty = true;
        }
    }

    fn current(&self, key: &EngineKey) -> Option<(&FileStamp, &SidecarSummary)> {
        match self.changed.get(key) {
            Some(changed) => changed.as_ref().map(|(stamp, sidecar)| (stamp, sidecar)),
            None => self
                .loaded
                .binary_search_by(|(known, ..)| known.cmp(key))
                .ok()
                .map(|i| (&self.loaded[i].1, &self.loaded[i].2)),
        }
    }

    /// Writes the index back, sorted, if anything changed; losing it only costs reads next time.
    pub fn save(&self) -> Result<(), StoreError> {
        let Some(path) = self.path.as_ref().filter(|_| self.dirty) else {
            return Ok(());
        };
        let kept = self
            .loaded
            .iter()
            .filter(|(key, ..)| !self.changed.contains_key(key))
            .map(|(key, stamp, sidecar)| (key, stamp, sidecar));
        let recorded = self.changed.iter().filter_map(|(key, entry)| {
            entry.as_ref().map(|(stamp, sidecar)| (key, stamp, sidecar))
        });
        let mut lines: Vec<_> = kept.chain(recorded).collect();
        lines.sort_unstable_by(|a, b| a.0.cmp(b.0));
        memo_file::write_lines(path, INDEX_VERSION, INDEX_OF, lines.into_iter(), encode)?;
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_file(dir.join(FORMER_INDEX_FILE));
        }
        Ok(())
    }
}

/// A line of tab-separated fields: family, file, the sidecar's size, mtime, ctime and inode,
/// the engine's size, fingerprint and sha256, then how the engine reached the cache (JSON).
/// Names hold no tabs (the manifest allows letters, digits, `.`, `-`, `_`). Parsing 10,000 of
/// these is a few milliseconds, a fifth of the same entries as JSON objects.
fn encode(bytes: &mut Vec<u8>, (key, stamp, sidecar): (&EngineKey, &FileStamp, &SidecarSummary)) {
    use std::io::Write;
    let fingerprint = sidecar
        .fingerprint
        .as_ref()
        .map_or(ABSENT, |f| f.0.as_str());
    let trust = sidecar
        .local_trust
        .as_ref()
        .map(|t| serde_json::to_string(t).expect("serializes"));
    let _ = write!(
        bytes,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{fingerprint}\t{}\t{}",
        key.family,
        key.file,
        stamp.size,
        stamp.mtime_ns,
        stamp.ctime_ns,
        stamp.inode,
        sidecar.engine_size,
        sidecar.engine_sha256,
        trust.as_deref().unwrap_or(ABSENT),
    );
}

fn decode(line: &[u8]) -> Option<Line> {
    let mut fields = std::str::from_utf8(line).ok()?.split('\t');
    let mut next = || fields.next();
    let key = EngineKey {
        family: next()?.to_string(),
        file: next()?.to_string(),
    };
    let stamp = FileStamp {
        size: next()?.parse().ok()?,
        mtime_ns: next()?.parse().ok()?,
        ctime_ns: next()?.parse().ok()?,
        inode: next()?.parse().ok()?,
    };
    let engine_size = next()?.parse().ok()?;
    let fingerprint = match next()? {
        ABSENT => None,
        hex => Some(Fingerprint(hex.to_string())),
    };
    let engine_sha256 = next()?.to_string();
    let local_trust = match next()? {
        ABSENT => None,
        json => Some(serde_json::from_str(json).ok()?),
    };
    let sidecar = SidecarSummary {
        fingerprint,
        engine_sha256,
        engine_size,
        local_trust,
        build: None,
    };
    fields.next().is_none().then_some((key, stamp, sidecar))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::LocalTrust;

    fn line(fingerprint: Option<&str>, local_trust: Option<LocalTrust>) -> Line {
        let key = EngineKey {
            family: "arcface".into(),
            file: "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt".into(),
        };
        let stamp = FileStamp {
            size: 822,
            mtime_ns: 1_795_606_060_599_620_013,
            ctime_ns: -5,
            inode: 9_307_823,
        };
        let sidecar = SidecarSummary {
            fingerprint: fingerprint.map(|f| Fingerprint(f.into())),
            engine_sha256: "ab".repeat(32),
            engine_size: 33,
            local_trust,
            build: None,
        };
        (key, stamp, sidecar)
    }

    fn round_trip((key, stamp, sidecar): &Line) -> Option<Line> {
        let mut bytes = Vec::new();
        encode(&mut bytes, (key, stamp, sidecar));
        decode(&bytes)
    }

    #[test]
    fn every_field_survives_the_line_encoding() {
        let signed = LocalTrust::Fetched {
            signer: Some("ci:AAAA".into()),
            signature: Some("{\"sig\":\"tab\\there\"}".into()),
        };
        for line in [
            line(Some(&"cd".repeat(32)), None),
            line(None, Some(LocalTrust::Built)),
            line(Some(&"ef".repeat(32)), Some(signed)),
        ] {
            assert_eq!(round_trip(&line), Some(line));
        }
    }

    fn keyed(file: &str, size: u64) -> Line {
        let (_, stamp, sidecar) = line(None, None);
        let key = EngineKey {
            family: "arcface".into(),
            file: file.into(),
        };
        (key, FileStamp { size, ..stamp }, sidecar)
    }

    #[test]
    fn what_is_recorded_and_forgotten_is_saved_in_order_and_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (keyed("a.trt", 1), keyed("b.trt", 2), keyed("c.trt", 3));
        let mut index = LocalIndex::load(dir.path());
        for (key, stamp, sidecar) in [&c, &a, &b] {
            index.record(key, *stamp, sidecar);
        }
        index.save().unwrap();
        let text = std::fs::read_to_string(dir.path().join(SIDECAR_INDEX_FILE)).unwrap();
        let files: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split('\t').nth(1).unwrap())
            .collect();
        assert_eq!(files, ["a.trt", "b.trt", "c.trt"], "written sorted");

        let mut index = LocalIndex::load(dir.path());
        assert!(!index.dirty);
        assert_eq!(index.get(&b.0, &b.1), Some(&b.2));
        assert_eq!(index.get(&b.0, &a.1), None, "another stamp");
        index.forget(&a.0);
        index.record(&c.0, FileStamp { size: 9, ..c.1 }, &c.2);
        index.record(&b.0, b.1, &b.2);
        assert_eq!(index.get(&a.0, &a.1), None, "forgotten");
        assert_eq!(index.get(&c.0, &c.1), None, "recorded anew");
        index.save().unwrap();

        let index = LocalIndex::load(dir.path());
        assert_eq!(index.get(&a.0, &a.1), None);
        assert_eq!(index.get(&b.0, &b.1), Some(&b.2));
        assert_eq!(index.get(&c.0, &FileStamp { size: 9, ..c.1 }), Some(&c.2));
    }

    #[test]
    fn lines_out_of_order_are_still_found_and_rewritten_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (keyed("a.trt", 1), keyed("b.trt", 2));
        let path = dir.path().join(SIDECAR_INDEX_FILE);
        let lines = [&b, &a].map(|(key, stamp, sidecar)| (key, stamp, sidecar));
        memo_file::write_lines(&path, INDEX_VERSION, INDEX_OF, lines.into_iter(), encode).unwrap();
        let index = LocalIndex::load(dir.path());
        assert_eq!(index.get(&a.0, &a.1), Some(&a.2));
        assert_eq!(index.get(&b.0, &b.1), Some(&b.2));
        assert!(index.dirty, "rewritten sorted at the next save");
    }

    #[test]
    fn a_short_or_long_or_garbled_line_is_no_entry() {
        let mut bytes = Vec::new();
        let (key, stamp, sidecar) = line(None, None);
        encode(&mut bytes, (&key, &stamp, &sidecar));
        let text = String::from_utf8(bytes).unwrap();
        let cut = &text[..text.rfind('\t').unwrap()];
        assert!(decode(cut.as_bytes()).is_none());
        assert!(decode(format!("{text}\t-").as_bytes()).is_none());
        assert!(decode(text.replace("822", "8x2").as_bytes()).is_none());
        assert!(decode(b"").is_none());
    }
}
