//! The file format of the indexes kept in the cache dir: a header line naming the format
//! version and what the index is of, then one entry a line in the index's own encoding.
//! Written atomically; a file whose header is not the one expected reads as no index at all, so
//! a damaged one is rebuilt.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::store::{self, StoreError};

#[derive(Serialize, Deserialize)]
struct Header {
    index_version: u32,
    of: String,
}

/// The whole file at `path` and where its first entry starts, when its header is `version` and
/// `of`: an index looked up in place keeps the text and parses only what a lookup needs.
pub(super) fn read_text(path: &Path, version: u32, of: &str) -> Option<(String, usize)> {
    let text = String::from_utf8(std::fs::read(path).ok()?).ok()?;
    let header_end = text.find('\n').unwrap_or(text.len());
    let header: Header = serde_json::from_str(&text[..header_end]).ok()?;
    if header.index_version != version || header.of != of {
        return None;
    }
    let body = (header_end + 1).min(text.len());
    Some((text, body))
}

/// The entry lines of an index's body (none when it is empty: a header alone).
pub(super) fn entry_lines(body: &str) -> impl Iterator<Item = &str> {
    (!body.is_empty())
        .then(|| body.split('\n'))
        .into_iter()
        .flatten()
}

/// Writes `entries` under a header of `version` and `of`, each encoded onto its line by
/// `encode` (temp file, fsync, rename).
pub(super) fn write_lines<E>(
    path: &Path,
    version: u32,
    of: &str,
    entries: impl Iterator<Item = E>,
    encode: impl Fn(&mut Vec<u8>, E),
) -> Result<(), StoreError> {
    let header = Header {
        index_version: version,
        of: of.to_string(),
    };
    let mut bytes = serde_json::to_vec(&header).expect("index header serializes");
    for entry in entries {
        bytes.push(b'\n');
        encode(&mut bytes, entry);
    }
    store::write_atomic(path, &bytes)
}
