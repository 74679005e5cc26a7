//! `trtctl sign`: signing engines that are already in the remote (an existing bucket, a new key
//! during rotation). Only what this machine can vouch for is signed: the engine's bytes are
//! read back and must hash to its sidecar, the sidecar must describe the build inputs the
//! manifest wants, and a trusted key's signature that no longer matches stops it.

use futures::stream::{self, StreamExt};

use super::{Workspace, WorkspaceError};
use crate::identity::{EngineKey, Sidecar};
use crate::plan::{self, DesiredEngine, Selector};
use crate::store::remote::{Remote, RemoteError, retrying};
use crate::trust::{SecretKey, SignedFacts, TrustPolicy, Untrusted};

/// Engines signed at once: each reads its engine back, so a few keep the link busy.
const SIGN_CONCURRENCY: usize = 4;

/// What `sign` did with one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignOutcome {
    Signed,
    AlreadySigned,
    NotInRemote,
    /// The remote sidecar describes other build inputs than the manifest wants.
    OtherBuild,
    /// The remote bytes do not hash to their sidecar: never signed.
    Corrupt {
        sha256: String,
        size: u64,
    },
    /// A trusted key signed it and that signature no longer holds: never signed over.
    Tampered(Untrusted),
}

impl SignOutcome {
    /// Whether this is something a person must look at.
    pub fn is_refusal(&self) -> bool {
        matches!(self, SignOutcome::Corrupt { .. } | SignOutcome::Tampered(_))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error("{key}: {source}")]
    Remote { key: EngineKey, source: RemoteError },
    #[error(
        "no signing key: set TRTCTL_SIGNING_KEY_FILE or `[trust] signing_key_file` (make one with `trtctl key generate NAME --out FILE`)"
    )]
    NoSigningKey,
    #[error(
        "no remote configured: `[remote] url` in the manifest says where engines are published"
    )]
    NoRemote,
}

impl Workspace {
    /// Signs the wanted engines (those matching `targets`) found in the remote.
    pub async fn sign(
        &self,
        targets: &[Selector],
    ) -> Result<Vec<(EngineKey, SignOutcome)>, SignError> {
        let signer = self.signer.as_ref().ok_or(SignError::NoSigningKey)?;
        let remote = self.remote.as_ref().ok_or(SignError::NoRemote)?;
        let mut desired = self.desired()?;
        plan::check_selectors(&self.manifest.path, &desired, targets.iter())
            .map_err(WorkspaceError::from)?;
        if !targets.is_empty() {
            desired.retain(|d| targets.iter().any(|t| t.matches(&d.id)));
        }
        let results = stream::iter(desired.iter())
            .map(|engine| async move {
                sign_one(remote, engine, signer, &self.trust)
                    .await
                    .map(|outcome| (engine.key.clone(), outcome))
                    .map_err(|source| SignError::Remote {
                        key: engine.key.clone(),
                        source,
                    })
            })
            .buffered(SIGN_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        results.into_iter().collect()
    }
}

async fn sign_one(
    remote: &Remote,
    engine: &DesiredEngine,
    signer: &SecretKey,
    policy: &TrustPolicy,
) -> Result<SignOutcome, RemoteError> {
    let key = &engine.key;
    let Some(bytes) = retrying(|| remote.read_sidecar(key)).await? else {
        return Ok(SignOutcome::NotInRemote);
    };
    let sidecar = match Sidecar::parse_for(&bytes, key) {
        Ok(s) if s.fingerprint.as_ref() == Some(&engine.fingerprint) => s,
        _ => return Ok(SignOutcome::OtherBuild),
    };
    let facts = SignedFacts::of(&sidecar).ok_or(RemoteError::Unsignable {
        key: key.to_string(),
    })?;
    let own = signer.public();
    let interesting = |name: &str| name == own.name() || policy.trusts_name(name);
    let signatures = retrying(|| remote.signatures(key, &interesting)).await?;
    if signatures.records.iter().any(|r| own.verifies(&facts, r)) {
        return Ok(SignOutcome::AlreadySigned);
    }
    if let Err(why @ Untrusted::BadSignature { .. }) =
        policy.verify(Some(&facts), &signatures.records, &signatures.signers)
    {
        return Ok(SignOutcome::Tampered(why));
    }
    let (sha256, size) = retrying(|| remote.hash_engine(key)).await?;
    if sha256 != sidecar.engine_sha256 || size != sidecar.engine_size {
        return Ok(SignOutcome::Corrupt { sha256, size });
    }
    retrying(|| remote.put_signature(&sidecar, signer)).await?;
    Ok(SignOutcome::Signed)
}
