//! Engine signatures in the remote: one object per signer, `{family}/{file}.sig/{NAME}`.
//!
//! One object per signer means a second signer (key rotation, a release key) adds its
//! signature without rewriting the engine, its sidecar or anyone else's signature, and two
//! signers never race on one object. The objects sit under the engine's name, so the one LIST
//! per family that `plan` makes already tells who signed what.

use futures::stream::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};

use super::{Remote, RemoteError};
use crate::identity::{EngineKey, Sidecar};
use crate::trust::{SIGNATURE_SUFFIX, SecretKey, SignatureRecord, SignedFacts, validate_key_name};

/// Records are one short line; a bigger object is not one and is not read into memory.
const MAX_SIGNATURE_BYTES: u64 = 1024;

/// The signatures of one engine, as found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signatures {
    /// Every name that has a signature object, readable or not.
    pub signers: Vec<String>,
    /// The records that were read (of the names asked for) and parsed.
    pub records: Vec<SignatureRecord>,
}

/// `{family}/{file}.sig/{NAME}` → (`{family}/{file}`, `NAME`), for names a key could have.
pub(super) fn split_signature_path(relative: &str) -> Option<(&str, &str)> {
    let (engine, name) = relative.rsplit_once('/')?;
    let engine = engine.strip_suffix(SIGNATURE_SUFFIX)?;
    validate_key_name(name).ok()?;
    Some((engine, name))
}

impl Remote {
    fn signature_location(
        &self,
        key: &EngineKey,
        name: &str,
    ) -> Result<object_store::path::Path, RemoteError> {
        validate_key_name(name).map_err(|e| RemoteError::InvalidName {
            name: name.to_string(),
            kind: "key name",
            why: e.to_string(),
        })?;
        self.location(&format!("{}{SIGNATURE_SUFFIX}/{name}", key.path()))
    }

    /// Who signed `key` (one LIST of its signature directory), and the records of the `wanted`
    /// names among them.
    pub async fn signatures(
        &self,
        key: &EngineKey,
        wanted: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Signatures, RemoteError> {
        self.checked(key)?;
        let dir = self.location(&format!("{}{SIGNATURE_SUFFIX}", key.path()))?;
        let what = format!("listing the signatures of {key}");
        let mut signers: Vec<String> = self
            .store
            .list(Some(&dir))
            .map_err(|e| self.classify(&what, e))
            .try_filter_map(|meta| {
                let name = meta.location.filename().map(str::to_string);
                async move { Ok(name.filter(|n| validate_key_name(n).is_ok())) }
            })
            .try_collect()
            .await?;
        signers.sort();
        let wanted_names: Vec<String> = signers.iter().filter(|n| wanted(n)).cloned().collect();
        let records = self.read_signatures(key, &wanted_names).await?;
        Ok(Signatures { signers, records })
    }

    /// The records stored under `names`; missing, oversized or unparseable ones are left out
    /// (their names still count as signers, so a damaged signature of a trusted key is a bad
    /// signature, never a pass).
    pub async fn read_signatures(
        &self,
        key: &EngineKey,
        names: &[String],
    ) -> Result<Vec<SignatureRecord>, RemoteError> {
        let reads = names.iter().map(|name| async move {
            let location = self.signature_location(key, name)?;
            let what = format!("reading {}{SIGNATURE_SUFFIX}/{name}", key.path());
            let result = match self.store.get(&location).await {
                Ok(result) => result,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(self.classify(&what, e)),
            };
            if result.meta.size > MAX_SIGNATURE_BYTES {
                return Ok(None);
            }
            let bytes = result.bytes().await.map_err(|e| self.classify(&what, e))?;
            Ok(SignatureRecord::parse(&bytes, Some(name)).ok())
        });
        let records = futures::future::try_join_all(reads).await?;
        Ok(records.into_iter().flatten().collect())
    }

    /// Signs the engine `sidecar` describes and stores the signature under the key's name,
    /// replacing an older one by the same name (ed25519 signatures are deterministic, so signing
    /// the same facts again writes the same bytes).
    pub async fn put_signature(
        &self,
        sidecar: &Sidecar,
        signer: &SecretKey,
    ) -> Result<SignatureRecord, RemoteError> {
        let key = sidecar.key();
        self.checked(&key)?;
        let facts = SignedFacts::of(sidecar).ok_or_else(|| RemoteError::Unsignable {
            key: key.to_string(),
        })?;
        if !self.writable {
            return Err(RemoteError::Credentials {
                detail: format!(
                    "no credentials are set, so {} is read-only and cannot take the signature of {key}",
                    self.display
                ),
            });
        }
        let record = signer.sign(&facts);
        let location = self.signature_location(&key, signer.name())?;
        let what = format!("uploading the signature of {key}");
        self.store
            .put(&location, PutPayload::from(record.to_bytes()))
            .await
            .map_err(|e| self.classify(&what, e))?;
        Ok(record)
    }

    /// sha256 and size of the remote engine, streamed and dropped (for signing what is there).
    pub async fn hash_engine(&self, key: &EngineKey) -> Result<(String, u64), RemoteError> {
        self.checked(key)?;
        let location = self.location(&key.path())?;
        self.download(key, &location, &mut tokio::io::sink(), &|_| {})
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_paths_split_into_engine_and_signer() {
        assert_eq!(
            split_signature_path("fam/m_v1_fp16_sm_86_10.3.0.trt.sig/ci-2026"),
            Some(("fam/m_v1_fp16_sm_86_10.3.0.trt", "ci-2026"))
        );
        assert_eq!(
            split_signature_path("fam/m_v1_fp16_sm_86_10.3.0.trt.json"),
            None
        );
        assert_eq!(split_signature_path("fam/x.trt.sig/.hidden"), None);
        assert_eq!(split_signature_path("fam/x.trt.sig/a/b"), None);
    }
}
