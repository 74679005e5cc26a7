//! Listing a family and reading sidecars: what `plan` asks of a remote.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::TryStreamExt;
use object_store::ObjectStoreExt;

use super::lease::LEASE_SUFFIX;
use super::signatures::split_signature_path;
use super::{Remote, RemoteError};
use crate::identity::{self, EngineKey, SIDECAR_SUFFIX};

/// Sidecars are small JSON; anything bigger is not one of ours and is not read into memory.
const MAX_SIDECAR_BYTES: u64 = 1024 * 1024;

/// What one LIST under `{prefix}/{family}/` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteListing {
    /// Engine objects and their sizes.
    pub engines: BTreeMap<EngineKey, u64>,
    pub sidecars: BTreeSet<EngineKey>,
    /// Engines with a build lease on them (a builder is at work, or crashed).
    pub leases: BTreeSet<EngineKey>,
    /// The names that have signed each engine (`{file}.sig/{NAME}` objects).
    pub signers: BTreeMap<EngineKey, Vec<String>>,
    /// Names under the family (relative to the prefix) that are neither an engine nor a sidecar:
    /// foreign or hostile. Shown to people, never used as paths.
    pub rejected: Vec<String>,
}

enum ObjectKind {
    Engine,
    Sidecar,
    Lease,
}

impl Remote {
    /// ONE list call (paginated by the server as needed) under `{prefix}/{family}/`.
    pub async fn list_family(&self, family: &str) -> Result<RemoteListing, RemoteError> {
        identity::validate_family(family).map_err(|e| RemoteError::InvalidName {
            name: family.to_string(),
            kind: "family",
            why: e.to_string(),
        })?;
        let dir = self.location(family)?;
        let base = format!("{}/", dir.as_ref());
        let mut listing = RemoteListing::default();
        let mut stream = self.store.list(Some(&dir));
        let what = format!("listing {family}/");
        while let Some(meta) = stream
            .try_next()
            .await
            .map_err(|e| self.classify(&what, e))?
        {
            let location = meta.location.as_ref();
            let Some(name) = location.strip_prefix(&base) else {
                listing.rejected.push(location.to_string());
                continue;
            };
            let relative = format!("{family}/{name}");
            if let Some((engine, signer)) = split_signature_path(&relative) {
                match EngineKey::parse(engine) {
                    Ok((key, _)) if key.family == family => {
                        listing
                            .signers
                            .entry(key)
                            .or_default()
                            .push(signer.to_string());
                    }
                    _ => listing.rejected.push(relative),
                }
                continue;
            }
            let (engine_name, kind) = if let Some(e) = relative.strip_suffix(SIDECAR_SUFFIX) {
                (e, ObjectKind::Sidecar)
            } else if let Some(e) = relative.strip_suffix(LEASE_SUFFIX) {
                (e, ObjectKind::Lease)
            } else {
                (relative.as_str(), ObjectKind::Engine)
            };
            match EngineKey::parse(engine_name) {
                Ok((key, _)) if key.family == family => match kind {
                    ObjectKind::Sidecar => {
                        listing.sidecars.insert(key);
                    }
                    ObjectKind::Lease => {
                        listing.leases.insert(key);
                    }
                    ObjectKind::Engine => {
                        listing.engines.insert(key, meta.size);
                    }
                },
                _ => listing.rejected.push(relative),
            }
        }
        Ok(listing)
    }

    /// The sidecar's bytes, or `None` when there is none.
    pub async fn read_sidecar(&self, key: &EngineKey) -> Result<Option<Vec<u8>>, RemoteError> {
        self.checked(key)?;
        let location = self.location(&key.sidecar_path())?;
        let what = format!("reading {}", key.sidecar_path());
        let result = match self.store.get(&location).await {
            Ok(result) => result,
            Err(e @ object_store::Error::NotFound { .. }) => {
                return match self.classify(&what, e) {
                    no_bucket @ RemoteError::NoBucket { .. } => Err(no_bucket),
                    _ => Ok(None),
                };
            }
            Err(e) => return Err(self.classify(&what, e)),
        };
        if result.meta.size > MAX_SIDECAR_BYTES {
            return Err(RemoteError::Foreign {
                what: key.sidecar_path(),
                detail: format!(
                    "the remote sidecar is {} bytes, not a trtctl sidecar",
                    result.meta.size
                ),
            });
        }
        let bytes = result.bytes().await.map_err(|e| self.classify(&what, e))?;
        Ok(Some(bytes.to_vec()))
    }
}
