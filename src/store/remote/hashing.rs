//! Where downloaded bytes go: written out in order, hashed on the way, progress reported.

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::RemoteError;
use crate::identity;

pub(super) struct HashingSink<'a, W: ?Sized> {
    out: &'a mut W,
    /// Names the destination in a write error.
    label: String,
    hasher: Sha256,
    total: u64,
    on_bytes: &'a (dyn Fn(u64) + Send + Sync),
}

impl<'a, W: AsyncWrite + Unpin + ?Sized> HashingSink<'a, W> {
    pub(super) fn new(
        out: &'a mut W,
        label: String,
        on_bytes: &'a (dyn Fn(u64) + Send + Sync),
    ) -> Self {
        HashingSink {
            out,
            label,
            hasher: Sha256::new(),
            total: 0,
            on_bytes,
        }
    }

    pub(super) async fn put(&mut self, bytes: &[u8]) -> Result<(), RemoteError> {
        self.hasher.update(bytes);
        self.out
            .write_all(bytes)
            .await
            .map_err(|source| RemoteError::Io {
                path: PathBuf::from(&self.label),
                source,
            })?;
        self.total += bytes.len() as u64;
        (self.on_bytes)(self.total);
        Ok(())
    }

    /// (sha256 hex, bytes written).
    pub(super) fn finish(self) -> (String, u64) {
        (identity::hex(&self.hasher.finalize()), self.total)
    }
}
