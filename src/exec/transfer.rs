//! The fetch and upload actions: `-j` transfer slots, verified downloads committed engine
//! first and sidecar last, create-only uploads.

use std::sync::atomic::Ordering;

use super::build::checked_plan;
use super::error::ExecError;
use super::events::{ActionKind, DoneElsewhere, Outcome};
use super::refit::{bytes_saved, refittable_from};
use super::run::Run;
use crate::identity::{LocalTrust, Provenance, SIDECAR_SCHEMA_VERSION, Sidecar};
use crate::plan::DesiredEngine;
use crate::store::remote::{Remote, UploadOutcome, retrying};
use crate::sys::{hostname, now_secs};
use crate::trust::{SignedFacts, Verified};

impl Run<'_> {
    fn remote(&self) -> Result<&Remote, ExecError> {
        self.exec.remote.ok_or(ExecError::NoRemote)
    }

    async fn transfer_slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.transfers
            .acquire()
            .await
            .expect("the transfer semaphore is never closed")
    }

    /// `after_lease_wait`: this process waited for the builder that held the engine's lease, so
    /// an engine found in the cache was built by another process here, not fetched.
    pub(super) async fn fetch(
        &self,
        engine: &DesiredEngine,
        legacy: bool,
        after_lease_wait: bool,
    ) -> Result<Outcome, ExecError> {
        let family_dir = self.exec.cache.root().join(&engine.key.family);
        self.fetch_into_cache(engine, legacy, after_lease_wait)
            .await
            .map_err(|e| e.or_disk_full(&family_dir))
    }

    async fn fetch_into_cache(
        &self,
        engine: &DesiredEngine,
        legacy: bool,
        after_lease_wait: bool,
    ) -> Result<Outcome, ExecError> {
        let remote = self.remote()?;
        let _permit = self.transfer_slot().await;
        let _lock = self.lock(&engine.key).await?;
        if let Some(stopped) = self.stopped() {
            return Ok(stopped);
        }
        if self.already_current(engine) {
            return Ok(Outcome::AlreadyDone(if after_lease_wait {
                DoneElsewhere::BuiltByAnotherProcess
            } else {
                DoneElsewhere::FetchedByAnotherProcess
            }));
        }
        let key = &engine.key;
        let expected = match legacy {
            true => None,
            false => Some(self.expected_sidecar(engine, remote).await?),
        };
        let verified = self.verify(engine, remote, expected.as_ref()).await?;
        self.started(
            ActionKind::Fetch,
            &key.file,
            expected.as_ref().map(|s| s.engine_size),
        );
        let on_bytes = |done: u64| self.progress(&key.file, done);
        // Each attempt starts a fresh temp file: a body cut off half-way is never resumed blindly.
        let (temp, file, sha256, size) = retrying(|| async {
            let temp = self.exec.cache.temp_engine(key)?;
            let reopened = temp.reopen().map_err(ExecError::io(temp.path()))?;
            let mut file = tokio::fs::File::from_std(reopened);
            let (sha256, size) = remote.fetch_engine(key, &mut file, &on_bytes).await?;
            Ok::<_, ExecError>((temp, file, sha256, size))
        })
        .await?;
        let mut sidecar = match expected {
            Some(sidecar) if sidecar.engine_sha256 != sha256 || sidecar.engine_size != size => {
                return Err(ExecError::Integrity {
                    key: key.clone(),
                    got_sha256: sha256,
                    got_size: size,
                    want_sha256: sidecar.engine_sha256,
                    want_size: sidecar.engine_size,
                });
            }
            Some(sidecar) => sidecar,
            None => legacy_sidecar(engine, sha256, size),
        };
        sidecar.local_trust = Some(LocalTrust::Fetched {
            signer: verified.as_ref().map(|v| v.signer.to_string()),
            signature: verified.map(|v| v.record.to_line()),
        });
        file.sync_all().await.map_err(ExecError::io(temp.path()))?;
        drop(file);
        let trt_build = sidecar.provenance.trt_build;
        sidecar.provenance.trt_build = checked_plan(temp.path(), engine, trt_build)?;
        self.bytes_fetched.fetch_add(size, Ordering::Relaxed);
        if sidecar.weights.is_some() {
            let bytes = self.refit_fetched(engine, temp, sidecar).await?;
            return Ok(Outcome::Done { bytes });
        }
        let cache = self.exec.cache.clone();
        let key_owned = key.clone();
        tokio::task::spawn_blocking(move || cache.commit(&key_owned, temp, &sidecar)).await??;
        Ok(Outcome::Done { bytes: size })
    }

    /// The remote sidecar the download is checked against: still there, valid, and still the
    /// engine the plan chose.
    async fn expected_sidecar(
        &self,
        engine: &DesiredEngine,
        remote: &Remote,
    ) -> Result<Sidecar, ExecError> {
        let key = &engine.key;
        let bytes = retrying(|| remote.read_sidecar(key))
            .await?
            .ok_or_else(|| ExecError::RemoteSidecarGone { key: key.clone() })?;
        let sidecar =
            Sidecar::parse_for(&bytes, key).map_err(|source| ExecError::RemoteSidecar {
                key: key.clone(),
                source,
            })?;
        if sidecar.fingerprint.as_ref() != Some(&engine.fingerprint)
            && !refittable_from(&sidecar, engine)
        {
            return Err(ExecError::RemoteChanged { key: key.clone() });
        }
        Ok(sidecar)
    }

    /// When signatures are required: the trusted signature of the engine about to be fetched,
    /// checked before a byte of it is downloaded (the download is then checked against the
    /// sidecar the signature covers). `None` when signatures are not required.
    async fn verify(
        &self,
        engine: &DesiredEngine,
        remote: &Remote,
        sidecar: Option<&Sidecar>,
    ) -> Result<Option<Verified>, ExecError> {
        let policy = self.exec.trust;
        if !policy.required() {
            return Ok(None);
        }
        let key = &engine.key;
        let trusted = |name: &str| policy.trusts_name(name);
        let signatures = retrying(|| remote.signatures(key, &trusted)).await?;
        policy
            .verify(
                sidecar.and_then(SignedFacts::of).as_ref(),
                &signatures.records,
                &signatures.signers,
            )
            .map(Some)
            .map_err(|why| ExecError::Untrusted {
                key: key.clone(),
                why,
            })
    }

    pub(super) async fn upload(
        &self,
        engine: &DesiredEngine,
        under_lease: bool,
    ) -> Result<Outcome, ExecError> {
        let remote = self.remote()?;
        if let Some(signer) = self.exec.signer {
            self.exec
                .trust
                .check_signer(signer)
                .map_err(|source| ExecError::UntrustedSigner {
                    key: engine.key.clone(),
                    source,
                })?;
        }
        let _permit = self.transfer_slot().await;
        if let Some(stopped) = self.stopped() {
            return Ok(stopped);
        }
        let key = &engine.key;
        let sidecar = match self.exec.cache.read_sidecar(key) {
            Some(Ok(s)) => s,
            Some(Err(source)) => {
                return Err(ExecError::LocalSidecar {
                    key: key.clone(),
                    source,
                });
            }
            None => return Err(ExecError::NotCached { key: key.clone() }),
        };
        // Only what this cache may vouch for is signed: its own builds and verified fetches.
        let vouched = self.exec.trust.vouches_for(sidecar.local_trust.as_ref());
        // An engine whose weights are stripped is published as its stripped plan.
        let (path, sidecar, saved) = match &sidecar.weights {
            Some(weights) => (
                self.exec.cache.stripped_path(key),
                sidecar.published(),
                bytes_saved(sidecar.engine_size, weights.plan_size),
            ),
            None => (self.exec.cache.engine_path(key), sidecar, 0),
        };
        self.started(ActionKind::Upload, &key.file, Some(sidecar.engine_size));
        let on_bytes = |done: u64| self.progress(&key.file, done);
        // Uploads are create-only and resume from what landed, so trying again is always safe.
        let signer = self.exec.signer.filter(|_| vouched);
        match retrying(|| remote.upload(key, &path, &sidecar, under_lease, signer, &on_bytes))
            .await?
        {
            UploadOutcome::Uploaded { bytes } => {
                self.bytes_uploaded.fetch_add(bytes, Ordering::Relaxed);
                self.bytes_saved.fetch_add(saved, Ordering::Relaxed);
                Ok(Outcome::Done { bytes })
            }
            UploadOutcome::AlreadyPresent => Ok(Outcome::AlreadyDone(
                DoneElsewhere::UploadedByAnotherBuilder,
            )),
        }
    }
}

/// The sidecar recorded for an engine adopted from a bucket that kept none.
fn legacy_sidecar(engine: &DesiredEngine, engine_sha256: String, engine_size: u64) -> Sidecar {
    Sidecar {
        schema_version: SIDECAR_SCHEMA_VERSION,
        family: engine.key.family.clone(),
        id: engine.id.clone(),
        fingerprint: None,
        engine_sha256,
        engine_size,
        build: None,
        provenance: Provenance {
            trtctl_version: env!("CARGO_PKG_VERSION").to_string(),
            host: hostname(),
            created_at: now_secs(),
            legacy: true,
            ..Provenance::default()
        },
        local_trust: None,
        weights: None,
    }
}
