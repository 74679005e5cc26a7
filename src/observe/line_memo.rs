//! The form both sidecar indexes take: a file of one line per engine, sorted by family and
//! file, the names first and then the memo's own tab-separated fields, looked up in place.
//! Loading finds where each line's names are and parses nothing else; a lookup parses the one
//! line it finds. Loading 10,000 lines so allocates nothing per line (decoded lines were a tenth
//! of a local no-op plan, most of it page faults), and the remote memo, parsed whole from JSON,
//! took one thread 16-22 ms of a warm remote plan's critical path on a 16-core host.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;

use foldhash::fast::RandomState;
use rayon::prelude::*;

use super::memo_file;
use crate::identity::EngineKey;
use crate::store::StoreError;

/// What an index remembers of one engine, written as the fields of its line after the names.
pub(super) trait MemoLine: Clone + PartialEq + Sync {
    /// Appends the fields, separated by tabs.
    fn encode(&self, bytes: &mut Vec<u8>);
    /// The memo written as `fields` (the line after its names and their tabs); `None` if they
    /// are not one, which a lookup takes for a miss: the sidecar is read and the line rewritten.
    fn decode(fields: &str) -> Option<Self>;
}

/// Where a caller's previous lookup ended (see [`LineMemo::get`]).
#[derive(Debug, Default)]
pub struct IndexCursor(usize);

/// Where a line of the index text is, and how long its names are.
#[derive(Debug)]
struct Located {
    line: Range<usize>,
    family_len: usize,
    file_len: usize,
}

/// Where an index is kept, what its header says, and the file of an earlier format it
/// replaces (removed once this one is written).
#[derive(Debug)]
struct MemoFile {
    path: PathBuf,
    version: u32,
    of: String,
    former: PathBuf,
}

#[derive(Debug)]
pub(super) struct LineMemo<M> {
    /// `None` for an index that is never saved.
    file: Option<MemoFile>,
    /// The index file as read; `loaded` points into it.
    text: String,
    /// One a line, sorted by names (as they are written): a lookup is a binary search.
    loaded: Vec<Located>,
    /// What was recorded (`Some`) or forgotten (`None`) since, looked up before `loaded`.
    /// Hashed fast: the keys are the plan's own, not a remote's.
    changed: HashMap<EngineKey, Option<M>, RandomState>,
    dirty: bool,
}

impl<M: MemoLine> LineMemo<M> {
    /// The index at `path` if its header is `version` and `of`; empty when missing or damaged
    /// (then the next save rewrites it, and removes `former`).
    pub(super) fn load(path: PathBuf, version: u32, of: &str, former: PathBuf) -> LineMemo<M> {
        let read = memo_file::read_text(&path, version, of)
            .and_then(|(text, body)| locate(&text, body).map(|loaded| (text, loaded)));
        let dirty = read.is_none();
        let (text, mut loaded) = read.unwrap_or_default();
        let key = |located: &Located| names(&text, located);
        let sorted = loaded.is_sorted_by(|a, b| key(a) < key(b));
        if !sorted {
            // Written by hand or by another tool: usable, and rewritten in order.
            loaded.par_sort_by(|a, b| key(a).cmp(&key(b)));
            loaded.dedup_by(|a, b| key(a) == key(b));
        }
        let file = MemoFile {
            path,
            version,
            of: of.to_string(),
            former,
        };
        LineMemo {
            file: Some(file),
            text,
            loaded,
            changed: HashMap::default(),
            dirty: dirty || !sorted,
        }
    }

    /// An index that starts empty and is never saved.
    pub(super) fn in_memory() -> LineMemo<M> {
        LineMemo {
            file: None,
            text: String::new(),
            loaded: Vec::new(),
            changed: HashMap::default(),
            dirty: false,
        }
    }

    /// What is remembered of `key`. `cursor` is where the previous lookup of the caller ended:
    /// engines looked up in manifest order are mostly next to each other in the index, so most
    /// lookups compare one line, not fourteen.
    pub(super) fn get(&self, key: &EngineKey, cursor: &mut IndexCursor) -> Option<M> {
        match self.changed.get(key) {
            Some(changed) => changed.clone(),
            None => M::decode(self.fields(self.find(key, cursor)?)),
        }
    }

    /// Remembers `memo` of `key`; the index is rewritten only if that changes what it says.
    pub(super) fn record(&mut self, key: &EngineKey, memo: M) {
        if self.get(key, &mut IndexCursor::default()).as_ref() != Some(&memo) {
            self.changed.insert(key.clone(), Some(memo));
            self.dirty = true;
        }
    }

    pub(super) fn forget(&mut self, key: &EngineKey) {
        let known = match self.changed.get(key) {
            Some(changed) => changed.is_some(),
            None => self.find(key, &mut IndexCursor::default()).is_some(),
        };
        if known {
            self.changed.insert(key.clone(), None);
            self.dirty = true;
        }
    }

    /// The engines remembered whose family and file `keep` refuses, looked at in parallel.
    pub(super) fn refused_by(&self, keep: impl Fn(&str, &str) -> bool + Sync) -> Vec<EngineKey> {
        let loaded = self.loaded.par_iter().filter_map(|located| {
            let line = &self.text[located.line.clone()];
            let family = &line[..located.family_len];
            let file = &line[located.family_len + 1..][..located.file_len];
            (!keep(family, file)).then(|| EngineKey {
                family: family.to_string(),
                file: file.to_string(),
            })
        });
        let mut refused: Vec<EngineKey> = loaded.collect();
        let recorded = self
            .changed
            .iter()
            .filter(|(key, memo)| memo.is_some() && !keep(&key.family, &key.file));
        refused.extend(recorded.map(|(key, _)| key.clone()));
        refused
    }

    /// Writes the index back, sorted, if anything changed; losing it only costs reads next time.
    /// Lines kept as they were are copied as they were. Whether it was written.
    pub(super) fn save(&self) -> Result<bool, StoreError> {
        let Some(file) = self.file.as_ref().filter(|_| self.dirty) else {
            return Ok(false);
        };
        let changed: HashSet<(&[u8], &[u8])> = self
            .changed
            .keys()
            .map(|key| (key.family.as_bytes(), key.file.as_bytes()))
            .collect();
        let kept = self.loaded.iter().filter_map(|located| {
            let names = names(&self.text, located);
            let line = &self.text[located.line.clone()];
            (!changed.contains(&names)).then_some((names, Saved::Kept(line)))
        });
        let recorded = self.changed.iter().filter_map(|(key, memo)| {
            let names = (key.family.as_bytes(), key.file.as_bytes());
            Some((names, Saved::Recorded(key, memo.as_ref()?)))
        });
        let mut lines: Vec<_> = kept.chain(recorded).collect();
        lines.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let lines = lines.into_iter().map(|(_, line)| line);
        memo_file::write_lines(
            &file.path,
            file.version,
            &file.of,
            lines,
            |bytes, line| match line {
                Saved::Kept(text) => bytes.extend_from_slice(text.as_bytes()),
                Saved::Recorded(key, memo) => encode(bytes, key, memo),
            },
        )?;
        let _ = std::fs::remove_file(&file.former);
        Ok(true)
    }

    fn find(&self, key: &EngineKey, cursor: &mut IndexCursor) -> Option<&Located> {
        let wanted = (key.family.as_bytes(), key.file.as_bytes());
        let next = cursor.0;
        let at = match self.loaded.get(next) {
            Some(located) if names(&self.text, located) == wanted => next,
            _ => self
                .loaded
                .binary_search_by(|located| names(&self.text, located).cmp(&wanted))
                .ok()?,
        };
        cursor.0 = at + 1;
        Some(&self.loaded[at])
    }

    /// The fields of `located`'s line after its names.
    fn fields(&self, located: &Located) -> &str {
        let start = located.line.start + located.family_len + located.file_len + 2;
        &self.text[start..located.line.end]
    }
}

/// A line as it is written back.
enum Saved<'a, M> {
    Kept(&'a str),
    Recorded(&'a EngineKey, &'a M),
}

/// Writes the line of `memo` of `key`. Names hold no tabs (the manifest allows letters,
/// digits, `.`, `-`, `_`).
fn encode<M: MemoLine>(bytes: &mut Vec<u8>, key: &EngineKey, memo: &M) {
    bytes.extend_from_slice(key.family.as_bytes());
    bytes.push(b'\t');
    bytes.extend_from_slice(key.file.as_bytes());
    bytes.push(b'\t');
    memo.encode(bytes);
}

/// The family and file of `located`, as bytes of the index text (ordered as the strings are,
/// without checking character boundaries at every comparison of a search).
fn names<'a>(text: &'a str, located: &Located) -> (&'a [u8], &'a [u8]) {
    let text = text.as_bytes();
    let start = located.line.start;
    let family_end = start + located.family_len;
    let file_start = family_end + 1;
    (
        &text[start..family_end],
        &text[file_start..file_start + located.file_len],
    )
}

/// Where the lines of `text` from `body` on are, and their names; `None` if a line has no
/// family and file, which is no index of this form.
fn locate(text: &str, body: usize) -> Option<Vec<Located>> {
    let mut start = body;
    memo_file::entry_lines(&text[body..])
        .map(|line| {
            let line_start = start;
            start += line.len() + 1;
            let family_len = line.find('\t')?;
            let file_len = line[family_len + 1..].find('\t')?;
            Some(Located {
                line: line_start..line_start + line.len(),
                family_len,
                file_len,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A memo of one number.
    #[derive(Debug, Clone, PartialEq)]
    struct Number(u64);

    impl MemoLine for Number {
        fn encode(&self, bytes: &mut Vec<u8>) {
            bytes.extend_from_slice(self.0.to_string().as_bytes());
        }

        fn decode(fields: &str) -> Option<Self> {
            fields.parse().ok().map(Number)
        }
    }

    const VERSION: u32 = 7;
    const OF: &str = "numbers";

    fn key(file: &str) -> EngineKey {
        EngineKey {
            family: "arcface".into(),
            file: file.into(),
        }
    }

    fn load(dir: &Path) -> LineMemo<Number> {
        LineMemo::load(dir.join("index"), VERSION, OF, dir.join("former"))
    }

    /// Writes `lines` as the index's body, verbatim, under a header of `version`.
    fn write_raw(dir: &Path, version: u32, lines: &[&str]) {
        let path = dir.join("index");
        memo_file::write_lines(&path, version, OF, lines.iter(), |bytes, line| {
            bytes.extend_from_slice(line.as_bytes())
        })
        .unwrap();
    }

    fn written(dir: &Path) -> Vec<String> {
        let text = std::fs::read_to_string(dir.join("index")).unwrap();
        text.lines().skip(1).map(str::to_string).collect()
    }

    #[test]
    fn what_is_recorded_and_forgotten_is_saved_in_order_and_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (key("a.trt"), key("b.trt"), key("c.trt"));
        let mut index = load(dir.path());
        for (key, n) in [(&c, 3), (&a, 1), (&b, 2)] {
            index.record(key, Number(n));
        }
        assert!(index.save().unwrap());
        let lines = [
            "arcface\ta.trt\t1",
            "arcface\tb.trt\t2",
            "arcface\tc.trt\t3",
        ];
        assert_eq!(written(dir.path()), lines, "written sorted");

        let mut index = load(dir.path());
        assert!(!index.save().unwrap(), "nothing changed");
        assert_eq!(index.get(&b, &mut IndexCursor::default()), Some(Number(2)));
        index.forget(&a);
        index.record(&c, Number(9));
        index.record(&b, Number(2));
        assert_eq!(
            index.get(&a, &mut IndexCursor::default()),
            None,
            "forgotten"
        );
        assert_eq!(index.get(&c, &mut IndexCursor::default()), Some(Number(9)));
        assert!(index.save().unwrap());
        assert_eq!(
            written(dir.path()),
            ["arcface\tb.trt\t2", "arcface\tc.trt\t9"]
        );
    }

    #[test]
    fn a_cursor_left_anywhere_still_finds_every_line() {
        let dir = tempfile::tempdir().unwrap();
        let keys = [key("a.trt"), key("b.trt"), key("c.trt")];
        let mut index = load(dir.path());
        for (n, key) in (0..).zip(&keys) {
            index.record(key, Number(n));
        }
        index.save().unwrap();
        let index = load(dir.path());
        let mut cursor = IndexCursor::default();
        // In order (each right after the last), backwards, after a miss, past the end.
        for i in [0, 1, 2, 1, 0, 2] {
            assert_eq!(index.get(&keys[i], &mut cursor), Some(Number(i as u64)));
        }
        assert_eq!(index.get(&key("0.trt"), &mut cursor), None);
        assert_eq!(index.get(&keys[1], &mut cursor), Some(Number(1)));
        assert_eq!(index.get(&keys[1], &mut IndexCursor(99)), Some(Number(1)));
    }

    #[test]
    fn lines_out_of_order_are_still_found_and_rewritten_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let lines = [
            "arcface\tb.trt\t2",
            "arcface\ta.trt\t1",
            "arcface\tb.trt\t2",
        ];
        write_raw(dir.path(), VERSION, &lines);
        let index = load(dir.path());
        let cursor = &mut IndexCursor::default();
        assert_eq!(index.get(&key("a.trt"), cursor), Some(Number(1)));
        assert_eq!(index.get(&key("b.trt"), cursor), Some(Number(2)));
        assert!(index.save().unwrap(), "rewritten sorted");
        assert_eq!(
            written(dir.path()),
            ["arcface\ta.trt\t1", "arcface\tb.trt\t2"]
        );
    }

    #[test]
    fn a_garbled_line_is_a_miss_and_rewritten_when_recorded() {
        let dir = tempfile::tempdir().unwrap();
        write_raw(
            dir.path(),
            VERSION,
            &["arcface\ta.trt\tx1", "arcface\tb.trt\t2"],
        );
        let mut index = load(dir.path());
        assert_eq!(index.get(&key("a.trt"), &mut IndexCursor::default()), None);
        index.record(&key("a.trt"), Number(1));
        index.save().unwrap();
        assert_eq!(
            written(dir.path()),
            ["arcface\ta.trt\t1", "arcface\tb.trt\t2"]
        );
    }

    #[test]
    fn a_line_without_names_or_another_header_is_no_index() {
        let dir = tempfile::tempdir().unwrap();
        write_raw(dir.path(), VERSION, &["arcface-a.trt-1"]);
        assert!(load(dir.path()).loaded.is_empty());
        write_raw(dir.path(), VERSION + 1, &["arcface\ta.trt\t1"]);
        let index = load(dir.path());
        assert!(index.loaded.is_empty() && index.dirty);
        write_raw(dir.path(), VERSION, &["arcface\ta.trt\t1"]);
        assert_eq!(load(dir.path()).loaded.len(), 1);
    }

    #[test]
    fn engines_refused_are_listed_once_loaded_or_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (key("a.trt"), key("b.trt"), key("c.trt"));
        let mut index = load(dir.path());
        index.record(&a, Number(1));
        index.record(&b, Number(2));
        index.save().unwrap();
        let mut index = load(dir.path());
        index.record(&c, Number(3));
        let mut refused = index.refused_by(|family, file| family == "arcface" && file == "b.trt");
        refused.sort_by(|x, y| x.file.cmp(&y.file));
        assert_eq!(refused, [a, c]);
    }
}
