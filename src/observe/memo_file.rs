//! The file format of the indexes kept in the cache dir: a header line naming the format
//! version and what the index is of, then one entry a line (JSON, or an index's own compact
//! encoding), parsed in parallel. Written atomically; anything unexpected reads as no index at
//! all, so a damaged one is rebuilt.

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

/// The JSON entries of the index at `path`, if it is whole and has `version` and `of` in its
/// header.
pub(super) fn read<E: DeserializeOwned + Send>(
    path: &Path,
    version: u32,
    of: &str,
) -> Option<Vec<E>> {
    read_lines(path, version, of, |line| serde_json::from_slice(line).ok())
}

/// Writes `entries` as JSON lines under a header of `version` and `of`.
pub(super) fn write<E: Serialize>(
    path: &Path,
    version: u32,
    of: &str,
    entries: impl Iterator<Item = E>,
) -> Result<(), StoreError> {
    write_lines(path, version, of, entries, |bytes, entry| {
        serde_json::to_writer(bytes, &entry).expect("index entry serializes")
    })
}

/// The entries of the index at `path`, each line decoded by `decode`; `None` when the header
/// is not `version` and `of` or any line does not decode.
pub(super) fn read_lines<E: Send>(
    path: &Path,
    version: u32,
    of: &str,
    decode: impl Fn(&[u8]) -> Option<E> + Sync,
) -> Option<Vec<E>> {
    let bytes = std::fs::read(path).ok()?;
    let mut lines = bytes.split(|b| *b == b'\n');
    let header: Header = serde_json::from_slice(lines.next()?).ok()?;
    if header.index_version != version || header.of != of {
        return None;
    }
    let lines: Vec<&[u8]> = lines.collect();
    lines.par_iter().map(|line| decode(line)).collect()
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
