//! The file format of the indexes kept in the cache dir: a header line naming the format
//! version and what the index is of, then one JSON entry a line, parsed in parallel. Written
//! atomically; anything unexpected reads as no index at all, so a damaged one is rebuilt.

use std::path::Path;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::store::{self, StoreError};

#[derive(Serialize, Deserialize)]
struct Header {
    index_version: u32,
    of: String,
}

/// The entries of the index at `path`, if it is whole and has `version` and `of` in its header.
pub(super) fn read<E: DeserializeOwned + Send>(
    path: &Path,
    version: u32,
    of: &str,
) -> Option<Vec<E>> {
    let bytes = std::fs::read(path).ok()?;
    let mut lines = bytes.split(|b| *b == b'\n');
    let header: Header = serde_json::from_slice(lines.next()?).ok()?;
    if header.index_version != version || header.of != of {
        return None;
    }
    let lines: Vec<&[u8]> = lines.collect();
    lines
        .par_iter()
        .map(|line| serde_json::from_slice(line).ok())
        .collect()
}

/// Writes `entries` under a header of `version` and `of` (temp file, fsync, rename).
pub(super) fn write<'a, E: Serialize + 'a>(
    path: &Path,
    version: u32,
    of: &str,
    entries: impl Iterator<Item = &'a E>,
) -> Result<(), StoreError> {
    let header = Header {
        index_version: version,
        of: of.to_string(),
    };
    let mut bytes = serde_json::to_vec(&header).expect("index header serializes");
    for entry in entries {
        bytes.push(b'\n');
        serde_json::to_writer(&mut bytes, entry).expect("index entry serializes");
    }
    store::write_atomic(path, &bytes)
}
