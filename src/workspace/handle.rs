//! Reading an engine [`ensure_engine`](super::ensure_engine) handed out: the bytes are checked
//! against the digest and size it was handed out with, so a handle never yields the bytes of
//! another build committed under its name since (or of a damaged file).

use std::path::{Path, PathBuf};

use super::EnsuredEngine;
use crate::identity;

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("cannot read the engine {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is no longer the engine this handle was given (sha256 {expected_sha256}, {expected_size} bytes; now sha256 {found_sha256}, {found_size} bytes): another build replaced it or it was damaged; ask for the engine again",
        path.display()
    )]
    Changed {
        path: PathBuf,
        expected_sha256: String,
        expected_size: u64,
        found_sha256: String,
        found_size: u64,
    },
}

/// The bytes at `path`, if they are the engine of digest `sha256` and `size` bytes. The bytes
/// returned are the bytes hashed: nothing written in between can slip through.
pub fn read_handed_out(path: &Path, sha256: &str, size: u64) -> Result<Vec<u8>, HandleError> {
    let bytes = std::fs::read(path).map_err(|source| HandleError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    let found_size = bytes.len() as u64;
    let found_sha256 = identity::sha256_hex(&bytes);
    if found_size != size || found_sha256 != sha256 {
        return Err(HandleError::Changed {
            path: path.to_path_buf(),
            expected_sha256: sha256.to_string(),
            expected_size: size,
            found_sha256,
            found_size,
        });
    }
    Ok(bytes)
}

impl EnsuredEngine {
    /// The engine's bytes, checked against its sidecar as it was when handed out.
    pub fn read_bytes(&self) -> Result<Vec<u8>, HandleError> {
        read_handed_out(
            &self.path,
            &self.sidecar.engine_sha256,
            self.sidecar.engine_size,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bytes_handed_out_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.trt");
        std::fs::write(&path, b"engine one").unwrap();
        let sha256 = identity::sha256_hex(b"engine one");
        assert_eq!(read_handed_out(&path, &sha256, 10).unwrap(), b"engine one");
        // Another build of the same length under the same name.
        std::fs::write(&path, b"engine two").unwrap();
        let err = read_handed_out(&path, &sha256, 10).unwrap_err();
        assert!(matches!(err, HandleError::Changed { .. }), "{err}");
        assert!(
            err.to_string().contains("ask for the engine again"),
            "{err}"
        );
        std::fs::write(&path, b"engine").unwrap();
        assert!(matches!(
            read_handed_out(&path, &sha256, 10),
            Err(HandleError::Changed { found_size: 6, .. })
        ));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(
            read_handed_out(&path, &sha256, 10),
            Err(HandleError::Unreadable { .. })
        ));
    }
}
