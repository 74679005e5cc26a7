//! A memo of the local cache's sidecars: what a plan compares of each (fingerprint, size,
//! sha256, local trust), keyed by the sidecar file's stamp (size, mtime, ctime, inode), in one
//! file in the cache dir. An unchanged cache then costs a stat per engine and sidecar, not an
//! open, read and parse per sidecar.
//!
//! The sidecar file stays the truth: any rewrite of it moves its ctime (and a replacement by
//! rename its inode), so an entry whose stamp still matches describes the bytes on disk. Only
//! sidecars that parsed are memoised; a damaged one is read again every time.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

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

/// Where a caller's previous lookup ended (see [`LocalIndex::get`]).
#[derive(Debug, Default)]
pub struct IndexCursor(usize);

/// Where a line of the index text is, and the stamp every lookup compares. Its names are
/// compared in place and the rest is parsed on a hit: loading 10,000 lines allocates nothing per
/// line (the decoded lines were a tenth of a no-op plan, most of it page faults).
#[derive(Debug)]
struct Entry {
    line: Range<usize>,
    family_len: usize,
    file_len: usize,
    stamp: FileStamp,
}

#[derive(Debug, Default)]
pub struct LocalIndex {
    path: Option<PathBuf>,
    /// The index file as read; `loaded` points into it.
    text: String,
    /// One entry a line, sorted by key (as they are written): a lookup is a binary search.
    loaded: Vec<Entry>,
    /// What was recorded (`Some`) or forgotten (`None`) since, looked up before `loaded`.
    changed: HashMap<EngineKey, Option<(FileStamp, SidecarSummary)>>,
    dirty: bool,
}

impl LocalIndex {
    /// The index kept in `cache_dir`; empty when missing or damaged (then rebuilt).
    pub fn load(cache_dir: &Path) -> LocalIndex {
        let path = cache_dir.join(SIDECAR_INDEX_FILE);
        let read = memo_file::read_text(&path, INDEX_VERSION, INDEX_OF)
            .and_then(|(text, body)| locate(&text, body).map(|loaded| (text, loaded)));
        let dirty = read.is_none();
        let (text, mut loaded) = read.unwrap_or_default();
        let key = |entry: &Entry| names(&text, entry);
        let sorted = loaded.is_sorted_by(|a, b| key(a) < key(b));
        if !sorted {
            // Written by hand or by another tool: usable, and rewritten in order.
            loaded.par_sort_by(|a, b| key(a).cmp(&key(b)));
            loaded.dedup_by(|a, b| key(a) == key(b));
        }
        LocalIndex {
            path: Some(path),
            text,
            loaded,
            changed: HashMap::new(),
            dirty: dirty || !sorted,
        }
    }

    /// What the sidecar of `key` said when its file had `stamp`. `cursor` is where the
    /// previous lookup of the caller ended: engines looked up in manifest order are mostly next
    /// to each other in the index, so most lookups compare one line, not fourteen.
    pub fn get(
        &self,
        key: &EngineKey,
        stamp: &FileStamp,
        cursor: &mut IndexCursor,
    ) -> Option<SidecarSummary> {
        match self.changed.get(key) {
            Some(changed) => changed
                .as_ref()
                .filter(|(known, _)| known == stamp)
                .map(|(_, sidecar)| sidecar.clone()),
            None => self
                .find(key, cursor)
                .filter(|entry| entry.stamp == *stamp)
                .and_then(|entry| self.summary(entry)),
        }
    }

    pub fn record(&mut self, key: &EngineKey, stamp: FileStamp, sidecar: &SidecarSummary) {
        let sidecar = SidecarSummary {
            build: None,
            ..sidecar.clone()
        };
        // A stale engine's sidecar is read on every plan (for its build inputs): that alone
        // must not rewrite the index each time.
        if self.get(key, &stamp, &mut IndexCursor::default()).as_ref() != Some(&sidecar) {
            self.changed.insert(key.clone(), Some((stamp, sidecar)));
            self.dirty = true;
        }
    }

    pub fn forget(&mut self, key: &EngineKey) {
        let known = match self.changed.get(key) {
            Some(changed) => changed.is_some(),
            None => self.find(key, &mut IndexCursor::default()).is_some(),
        };
        if known {
            self.changed.insert(key.clone(), None);
            self.dirty = true;
        }
    }

    fn find(&self, key: &EngineKey, cursor: &mut IndexCursor) -> Option<&Entry> {
        let wanted = (key.family.as_bytes(), key.file.as_bytes());
        let next = cursor.0;
        let at = match self.loaded.get(next) {
            Some(entry) if names(&self.text, entry) == wanted => next,
            _ => self
                .loaded
                .binary_search_by(|entry| names(&self.text, entry).cmp(&wanted))
                .ok()?,
        };
        cursor.0 = at + 1;
        Some(&self.loaded[at])
    }

    /// The summary on `entry`'s line; `None` if its local trust does not parse (the sidecar is
    /// read instead, and the line rewritten).
    fn summary(&self, entry: &Entry) -> Option<SidecarSummary> {
        fields(&self.text[entry.line.clone()])?.summary()
    }

    /// Writes the index back, sorted, if anything changed; losing it only costs reads next time.
    /// Lines kept as they were are copied as they were.
    pub fn save(&self) -> Result<(), StoreError> {
        let Some(path) = self.path.as_ref().filter(|_| self.dirty) else {
            return Ok(());
        };
        let changed: HashSet<(&[u8], &[u8])> = self
            .changed
            .keys()
            .map(|key| (key.family.as_bytes(), key.file.as_bytes()))
            .collect();
        let kept = self.loaded.iter().filter_map(|entry| {
            let names = names(&self.text, entry);
            let line = &self.text[entry.line.clone()];
            (!changed.contains(&names)).then_some((names, Saved::Kept(line)))
        });
        let recorded = self.changed.iter().filter_map(|(key, entry)| {
            let (stamp, sidecar) = entry.as_ref()?;
            let names = (key.family.as_bytes(), key.file.as_bytes());
            Some((names, Saved::Recorded((key, stamp, sidecar))))
        });
        let mut lines: Vec<_> = kept.chain(recorded).collect();
        lines.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let lines = lines.into_iter().map(|(_, line)| line);
        memo_file::write_lines(
            path,
            INDEX_VERSION,
            INDEX_OF,
            lines,
            |bytes, line| match line {
                Saved::Kept(text) => bytes.extend_from_slice(text.as_bytes()),
                Saved::Recorded(line) => encode(bytes, line),
            },
        )?;
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_file(dir.join(FORMER_INDEX_FILE));
        }
        Ok(())
    }
}

/// A line as it is written back.
enum Saved<'a> {
    Kept(&'a str),
    Recorded((&'a EngineKey, &'a FileStamp, &'a SidecarSummary)),
}

/// The family and file of `entry`, as bytes of the index text (ordered as the strings are,
/// without checking character boundaries at every comparison of a search).
fn names<'a>(text: &'a str, entry: &Entry) -> (&'a [u8], &'a [u8]) {
    let text = text.as_bytes();
    let start = entry.line.start;
    let family_end = start + entry.family_len;
    let file_start = family_end + 1;
    (
        &text[start..family_end],
        &text[file_start..file_start + entry.file_len],
    )
}

/// The entries of the lines of `text` from `body` on (parsed in parallel); `None` if any line
/// is not one.
fn locate(text: &str, body: usize) -> Option<Vec<Entry>> {
    let mut start = body;
    let lines: Vec<Range<usize>> = memo_file::entry_lines(&text[body..])
        .map(|line| {
            let range = start..start + line.len();
            start = range.end + 1;
            range
        })
        .collect();
    lines
        .into_par_iter()
        .map(|line| {
            let fields = fields(&text[line.clone()])?;
            Some(Entry {
                family_len: fields.family.len(),
                file_len: fields.file.len(),
                stamp: fields.stamp,
                line,
            })
        })
        .collect()
}

/// The fields of one line, borrowed from it.
struct Fields<'a> {
    family: &'a str,
    file: &'a str,
    stamp: FileStamp,
    engine_size: u64,
    fingerprint: Option<&'a str>,
    engine_sha256: &'a str,
    /// JSON, parsed on a hit.
    local_trust: Option<&'a str>,
}

impl Fields<'_> {
    fn summary(&self) -> Option<SidecarSummary> {
        let local_trust = match self.local_trust {
            None => None,
            Some(json) => Some(serde_json::from_str(json).ok()?),
        };
        Some(SidecarSummary {
            fingerprint: self.fingerprint.map(|f| Fingerprint(f.to_string())),
            engine_sha256: self.engine_sha256.to_string(),
            engine_size: self.engine_size,
            local_trust,
            build: None,
        })
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

fn fields(line: &str) -> Option<Fields<'_>> {
    let mut fields = line.split('\t');
    let mut next = || fields.next();
    let parsed = Fields {
        family: next()?,
        file: next()?,
        stamp: FileStamp {
            size: next()?.parse().ok()?,
            mtime_ns: next()?.parse().ok()?,
            ctime_ns: next()?.parse().ok()?,
            inode: next()?.parse().ok()?,
        },
        engine_size: next()?.parse().ok()?,
        fingerprint: present(next()?),
        engine_sha256: next()?,
        local_trust: present(next()?),
    };
    fields.next().is_none().then_some(parsed)
}

fn present(field: &str) -> Option<&str> {
    (field != ABSENT).then_some(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::LocalTrust;

    /// One line of the index: the engine, its sidecar's stamp, what the sidecar said.
    type Line = (EngineKey, FileStamp, SidecarSummary);

    fn decode(line: &str) -> Option<Line> {
        let fields = fields(line)?;
        let key = EngineKey {
            family: fields.family.to_string(),
            file: fields.file.to_string(),
        };
        Some((key, fields.stamp, fields.summary()?))
    }

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
        decode(std::str::from_utf8(&bytes).unwrap())
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
        assert_eq!(
            index.get(&b.0, &b.1, &mut IndexCursor::default()),
            Some(b.2.clone())
        );
        assert_eq!(
            index.get(&b.0, &a.1, &mut IndexCursor::default()),
            None,
            "another stamp"
        );
        index.forget(&a.0);
        index.record(&c.0, FileStamp { size: 9, ..c.1 }, &c.2);
        index.record(&b.0, b.1, &b.2);
        assert_eq!(
            index.get(&a.0, &a.1, &mut IndexCursor::default()),
            None,
            "forgotten"
        );
        assert_eq!(
            index.get(&c.0, &c.1, &mut IndexCursor::default()),
            None,
            "recorded anew"
        );
        index.save().unwrap();

        let index = LocalIndex::load(dir.path());
        assert_eq!(index.get(&a.0, &a.1, &mut IndexCursor::default()), None);
        assert_eq!(
            index.get(&b.0, &b.1, &mut IndexCursor::default()),
            Some(b.2.clone())
        );
        assert_eq!(
            index.get(
                &c.0,
                &FileStamp { size: 9, ..c.1 },
                &mut IndexCursor::default()
            ),
            Some(c.2.clone())
        );
    }

    #[test]
    fn a_cursor_left_anywhere_still_finds_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let lines = [keyed("a.trt", 1), keyed("b.trt", 2), keyed("c.trt", 3)];
        let mut index = LocalIndex::load(dir.path());
        for (key, stamp, sidecar) in &lines {
            index.record(key, *stamp, sidecar);
        }
        index.save().unwrap();
        let index = LocalIndex::load(dir.path());
        let mut cursor = IndexCursor::default();
        // In order (each right after the last), backwards, after a miss, past the end.
        for i in [0, 1, 2, 1, 0, 2] {
            let (key, stamp, sidecar) = &lines[i];
            assert_eq!(index.get(key, stamp, &mut cursor).as_ref(), Some(sidecar));
        }
        let (missing, stamp, _) = keyed("0.trt", 1);
        assert_eq!(index.get(&missing, &stamp, &mut cursor), None);
        let (key, stamp, sidecar) = &lines[1];
        assert_eq!(index.get(key, stamp, &mut cursor).as_ref(), Some(sidecar));
        assert_eq!(
            index.get(key, stamp, &mut IndexCursor(99)).as_ref(),
            Some(sidecar)
        );
    }

    #[test]
    fn lines_out_of_order_are_still_found_and_rewritten_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (keyed("a.trt", 1), keyed("b.trt", 2));
        let path = dir.path().join(SIDECAR_INDEX_FILE);
        let lines = [&b, &a].map(|(key, stamp, sidecar)| (key, stamp, sidecar));
        memo_file::write_lines(&path, INDEX_VERSION, INDEX_OF, lines.into_iter(), encode).unwrap();
        let index = LocalIndex::load(dir.path());
        assert_eq!(
            index.get(&a.0, &a.1, &mut IndexCursor::default()),
            Some(a.2.clone())
        );
        assert_eq!(
            index.get(&b.0, &b.1, &mut IndexCursor::default()),
            Some(b.2.clone())
        );
        assert!(index.dirty, "rewritten sorted at the next save");
    }

    #[test]
    fn a_short_or_long_or_garbled_line_is_no_entry() {
        let mut bytes = Vec::new();
        let (key, stamp, sidecar) = line(None, None);
        encode(&mut bytes, (&key, &stamp, &sidecar));
        let text = String::from_utf8(bytes).unwrap();
        let cut = &text[..text.rfind('\t').unwrap()];
        assert!(decode(cut).is_none());
        assert!(decode(&format!("{text}\t-")).is_none());
        assert!(decode(&text.replace("822", "8x2")).is_none());
        assert!(decode("").is_none());
    }
}
