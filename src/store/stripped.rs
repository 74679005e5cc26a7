//! The stripped plans of engines whose weights are stripped: `stripped/{family}/{file}` beside
//! the families, the bytes the remote holds under the engine's name. The engine in the family
//! directory is the plan refitted with this host's ONNX; its sidecar records both digests.
//! Each plan is committed before the engine refitted from it, so a sidecar never names a plan
//! that is not there.

use std::path::PathBuf;

use tempfile::NamedTempFile;

use super::{Cache, StoreError, io_err, persist, remove_if_present};
use crate::identity::EngineKey;

/// The directory of the stripped plans, reserved like the others.
pub const STRIPPED_DIR: &str = "stripped";

impl Cache {
    pub fn stripped_path(&self, key: &EngineKey) -> PathBuf {
        self.root.join(STRIPPED_DIR).join(key.path())
    }

    /// Moves a stripped plan written to `temp` (a temp file of this cache) into place.
    pub fn commit_stripped(
        &self,
        key: &EngineKey,
        temp: NamedTempFile,
    ) -> Result<PathBuf, StoreError> {
        let dest = self.stripped_path(key);
        let dir = dest.parent().expect("a plan's path has a family directory");
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        persist(temp, &dest)?;
        Ok(dest)
    }

    /// Removes `key`'s stripped plan, if it has one.
    pub fn remove_stripped(&self, key: &EngineKey) -> Result<(), StoreError> {
        remove_if_present(&self.stripped_path(key))
    }
}
