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
    entries: HashMap<EngineKey, (FileStamp, SidecarSummary)>,
    dirty: bool,
}

impl LocalIndex {
    /// The index kept in `cache_dir`; empty when missing or damaged (then rebuilt).
    pub fn load(cache_dir: &Path) -> LocalIndex {
        let path = cache_dir.join(SIDECAR_INDEX_FILE);
        let lines = memo_file::read_lines(&path, INDEX_VERSION, INDEX_OF, decode);
        LocalIndex {
            path: Some(path),
            dirty: lines.is_none(),
            entries: lines
                .unwrap_or_default()
                .into_iter()
                .map(|(key, stamp, sidecar)| (key, (stamp, sidecar)))
                .collect(),
        }
    }

    /// What the sidecar of `key` said when its file had `stamp`.
    pub fn get(&self, key: &EngineKey, stamp: &FileStamp) -> Option<&SidecarSummary> {
        self.entries
            .get(key)
            .filter(|(known, _)| known == stamp)
            .map(|(_, sidecar)| sidecar)
    }

    pub fn record(&mut self, key: &EngineKey, stamp: FileStamp, sidecar: &SidecarSummary) {
        let entry = (
            stamp,
            SidecarSummary {
                build: None,
                ..sidecar.clone()
            },
        );
        // A stale engine's sidecar is read on every plan (for its build inputs): that alone
        // must not rewrite the index each time.
        if self.entries.get(key) != Some(&entry) {
            self.entries.insert(key.clone(), entry);
            self.dirty = true;
        }
    }

    pub fn forget(&mut self, key: &EngineKey) {
        self.dirty |= self.entries.remove(key).is_some();
    }

    /// Writes the index back if anything changed; losing it only costs reads next time.
    pub fn save(&self) -> Result<(), StoreError> {
        match &self.path {
            Some(path) if self.dirty => {
                let lines = self.entries.iter();
                memo_file::write_lines(path, INDEX_VERSION, INDEX_OF, lines, encode)?;
                if let Some(dir) = path.parent() {
                    let _ = std::fs::remove_file(dir.join(FORMER_INDEX_FILE));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// A line of tab-separated fields: family, file, the sidecar's size, mtime, ctime and inode,
/// the engine's size, fingerprint and sha256, then how the engine reached the cache (JSON).
/// Names hold no tabs (the manifest allows letters, digits, `.`, `-`, `_`). Parsing 10,000 of
/// these is a few milliseconds, a fifth of the same entries as JSON objects.
fn encode(
    bytes: &mut Vec<u8>,
    (key, (stamp, sidecar)): (&EngineKey, &(FileStamp, SidecarSummary)),
) {
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
        encode(&mut bytes, (key, &(*stamp, sidecar.clone())));
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

    #[test]
    fn a_short_or_long_or_garbled_line_is_no_entry() {
        let mut bytes = Vec::new();
        let (key, stamp, sidecar) = line(None, None);
        encode(&mut bytes, (&key, &(stamp, sidecar)));
        let text = String::from_utf8(bytes).unwrap();
        let cut = &text[..text.rfind('\t').unwrap()];
        assert!(decode(cut.as_bytes()).is_none());
        assert!(decode(format!("{text}\t-").as_bytes()).is_none());
        assert!(decode(text.replace("822", "8x2").as_bytes()).is_none());
        assert!(decode(b"").is_none());
    }
}
