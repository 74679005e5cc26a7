//! Publishing an engine: engine first, sidecar last, both create-only (see the module docs of
//! [`super`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, ObjectMeta, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions,
    PutPayload,
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{Remote, RemoteError};
use crate::identity::{self, EngineKey, Sidecar};
use crate::trust::SecretKey;

/// Staging area for multipart uploads, beside the families; `.` is never a family's first char.
const STAGING_DIR: &str = ".uploads";
/// How long a builder that lost the race on the engine waits for the winner's sidecar.
const SIDECAR_WAIT: [u64; 6] = [0, 100, 250, 500, 1000, 2000];
/// An engine without a sidecar younger than this may be a commit in progress.
const FRESH_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadOutcome {
    /// This call published the engine; `bytes` is what it sent.
    Uploaded { bytes: u64 },
    /// Another builder published the same engine (same fingerprint and sha256) first.
    AlreadyPresent,
}

impl Remote {
    /// Publishes `engine` and its sidecar: engine first, sidecar last, both create-only (see the
    /// module docs). Losing the race to an identical engine is [`UploadOutcome::AlreadyPresent`].
    /// `under_lease`: the caller holds the engine's build lease, so no other trtctl writes this
    /// name and a large engine goes multipart straight to it instead of through staging and a
    /// server-side copy. `signer`: sign the engine once its bytes are ours, before its sidecar.
    pub async fn upload(
        &self,
        key: &EngineKey,
        engine: &std::path::Path,
        sidecar: &Sidecar,
        under_lease: bool,
        signer: Option<&SecretKey>,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<UploadOutcome, RemoteError> {
        self.checked(key)?;
        if &sidecar.key() != key {
            return Err(RemoteError::LocalMismatch {
                path: engine.to_path_buf(),
                detail: format!(
                    "refusing to upload it as {key} with a sidecar that describes `{}`",
                    sidecar.key()
                ),
            });
        }
        if !self.writable {
            return Err(RemoteError::Credentials {
                detail: format!(
                    "no credentials are set, so {} is read-only and cannot take the upload of {key}",
                    self.display
                ),
            });
        }
        // Already published (the common case when another builder was faster): no bytes sent.
        if let Some(theirs) = self.read_sidecar(key).await? {
            return compare(key, sidecar, &theirs);
        }
        let engine_location = self.location(&key.path())?;
        match self.store.head(&engine_location).await {
            Ok(meta) => return self.settle(key, sidecar, meta, signer).await,
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(self.classify(&format!("checking {key}"), e)),
        }
        let sent = match self
            .put_engine(
                key,
                &engine_location,
                engine,
                sidecar,
                under_lease,
                on_bytes,
            )
            .await?
        {
            Some(sent) => sent,
            None => {
                let meta = self
                    .store
                    .head(&engine_location)
                    .await
                    .map_err(|e| self.classify(&format!("checking {key}"), e))?;
                return self.settle(key, sidecar, meta, signer).await;
            }
        };
        self.sign_landed(sidecar, signer).await?;
        match self.commit_sidecar(key, sidecar).await? {
            None => Ok(UploadOutcome::Uploaded { bytes: sent }),
            Some(theirs) => compare(key, sidecar, &theirs),
        }
    }

    /// The engine's bytes under its name are ours: sign them before the sidecar commits them.
    async fn sign_landed(
        &self,
        sidecar: &Sidecar,
        signer: Option<&SecretKey>,
    ) -> Result<(), RemoteError> {
        match signer {
            Some(signer) => self.put_signature(sidecar, signer).await.map(drop),
            None => Ok(()),
        }
    }

    /// Writes the sidecar create-only. `Some(theirs)` when one was there already.
    async fn commit_sidecar(
        &self,
        key: &EngineKey,
        sidecar: &Sidecar,
    ) -> Result<Option<Vec<u8>>, RemoteError> {
        let location = self.location(&key.sidecar_path())?;
        let what = format!("uploading {}", key.sidecar_path());
        match self
            .store
            .put_opts(
                &location,
                PutPayload::from(sidecar.to_remote_json()),
                PutOptions::from(PutMode::Create),
            )
            .await
        {
            Ok(_) => Ok(None),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => match self.read_sidecar(key).await? {
                Some(theirs) => Ok(Some(theirs)),
                None => Err(RemoteError::Inconsistent {
                    what,
                    detail: "the remote reported it present, then absent".into(),
                }),
            },
            Err(e) => Err(self.classify(&what, e)),
        }
    }

    /// The engine object exists already. Waits briefly for its writer's sidecar; when none comes,
    /// hashes it: our bytes get our sidecar (an interrupted upload finished), others' are a conflict.
    async fn settle(
        &self,
        key: &EngineKey,
        ours: &Sidecar,
        meta: ObjectMeta,
        signer: Option<&SecretKey>,
    ) -> Result<UploadOutcome, RemoteError> {
        let now = crate::sys::now_secs() as i64;
        let fresh = (now - meta.last_modified.timestamp()).abs() < FRESH_SECS;
        let waits: &[u64] = if fresh {
            &SIDECAR_WAIT
        } else {
            &SIDECAR_WAIT[..1]
        };
        for &ms in waits {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            if let Some(theirs) = self.read_sidecar(key).await? {
                return compare(key, ours, &theirs);
            }
        }
        let theirs = if meta.size == ours.engine_size {
            let (sha, size) = self
                .download(key, &meta.location, &mut tokio::io::sink(), &|_| {})
                .await?;
            if sha == ours.engine_sha256 {
                self.sign_landed(ours, signer).await?;
                return match self.commit_sidecar(key, ours).await? {
                    None => Ok(UploadOutcome::Uploaded {
                        bytes: ours.to_remote_json().len() as u64,
                    }),
                    Some(theirs) => compare(key, ours, &theirs),
                };
            }
            format!("an engine without a sidecar: sha256 {sha}, {size} bytes")
        } else {
            format!("an engine without a sidecar: {} bytes", meta.size)
        };
        Err(RemoteError::Conflict {
            key: key.to_string(),
            ours: describe(ours),
            theirs: format!("{theirs} (an interrupted upload or a legacy copy)"),
        })
    }

    /// Uploads the engine bytes create-only. `Some(bytes sent)`, or `None` when the name was
    /// taken by the time the engine landed.
    async fn put_engine(
        &self,
        key: &EngineKey,
        location: &Path,
        engine: &std::path::Path,
        sidecar: &Sidecar,
        under_lease: bool,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<Option<u64>, RemoteError> {
        let io_err = |source| RemoteError::Io {
            path: engine.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::open(engine).await.map_err(io_err)?;
        let size = file.metadata().await.map_err(io_err)?.len();
        let mismatch = |sha: &str, size: u64| RemoteError::LocalMismatch {
            path: engine.to_path_buf(),
            detail: format!(
                "the local engine (sha256 {sha}, {size} bytes) does not match its sidecar (sha256 {}, {} bytes); run `trtctl cache verify`",
                sidecar.engine_sha256, sidecar.engine_size
            ),
        };
        if size != sidecar.engine_size {
            return Err(mismatch("unknown", size));
        }
        let what = format!("uploading {key}");

        if size <= self.part_size {
            let mut bytes = Vec::with_capacity(size as usize);
            (&mut file)
                .take(size)
                .read_to_end(&mut bytes)
                .await
                .map_err(io_err)?;
            let sha = identity::sha256_hex(&bytes);
            if sha != sidecar.engine_sha256 || bytes.len() as u64 != size {
                return Err(mismatch(&sha, bytes.len() as u64));
            }
            return match self
                .store
                .put_opts(
                    location,
                    PutPayload::from(bytes),
                    PutOptions::from(PutMode::Create),
                )
                .await
            {
                Ok(_) => {
                    on_bytes(size);
                    Ok(Some(size))
                }
                Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                ) => Ok(None),
                Err(e) => Err(self.classify(&what, e)),
            };
        }

        // Multipart. Under the lease nobody else writes this name: straight to it. Without one,
        // through staging, except that S3 copies at most 5 GiB in one part: bigger engines go
        // straight to their name after the HEAD check in `upload` (the residual race in the
        // module docs).
        let direct = under_lease || !self.backend.can_copy_whole(size);
        let target = if direct {
            location.clone()
        } else {
            self.location(&format!("{STAGING_DIR}/{}.{}", key.path(), nonce()))?
        };
        let sha = self
            .put_multipart(
                &what,
                &target,
                &mut file,
                engine,
                size,
                &sidecar.engine_sha256,
                on_bytes,
            )
            .await?;
        if sha != sidecar.engine_sha256 {
            return Err(mismatch(&sha, size));
        }
        if direct {
            return Ok(Some(size));
        }
        // Create-only copy to the real name, then the staging object goes whatever happened:
        // a failed delete leaves garbage under `.uploads/`, never a wrong engine.
        let copied = self
            .store
            .copy_opts(
                &target,
                location,
                CopyOptions::new().with_mode(CopyMode::Create),
            )
            .await;
        let _ = self.store.delete(&target).await;
        match copied {
            Ok(()) => Ok(Some(size)),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(None),
            Err(e) => Err(self.classify(&what, e)),
        }
    }

    pub(super) fn part_len(&self, size: u64) -> u64 {
        self.backend.part_len(self.part_size, size)
    }

    /// Streams the file into a multipart upload with at most `concurrency` parts in flight
    /// (memory: `concurrency × part size`), hashing on the way; completes it only when the bytes
    /// hash to `expected_sha`, aborts it otherwise or on any error.
    #[allow(clippy::too_many_arguments)]
    async fn put_multipart<R: AsyncRead + Unpin>(
        &self,
        what: &str,
        target: &Path,
        file: &mut R,
        source_path: &std::path::Path,
        size: u64,
        expected_sha: &str,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<String, RemoteError> {
        let part_len = self.part_len(size);
        let mut upload = self
            .store
            .put_multipart_opts(target, PutMultipartOptions::default())
            .await
            .map_err(|e| self.classify(what, e))?;
        let parts = async {
            let mut hasher = Sha256::new();
            let mut in_flight: FuturesUnordered<BoxFuture<'static, object_store::Result<u64>>> =
                FuturesUnordered::new();
            let (mut read, mut done) = (0u64, 0u64);
            while read < size {
                while in_flight.len() >= self.concurrency {
                    if let Some(finished) = in_flight.next().await {
                        done += finished.map_err(|e| self.classify(what, e))?;
                        on_bytes(done);
                    }
                }
                let want = part_len.min(size - read);
                let mut buf = Vec::with_capacity(want as usize);
                (&mut *file)
                    .take(want)
                    .read_to_end(&mut buf)
                    .await
                    .map_err(|source| RemoteError::Io {
                        path: source_path.to_path_buf(),
                        source,
                    })?;
                if buf.len() as u64 != want {
                    return Err(RemoteError::LocalMismatch {
                        path: source_path.to_path_buf(),
                        detail: "the file shrank while being uploaded".into(),
                    });
                }
                hasher.update(&buf);
                read += want;
                let part = upload.put_part(PutPayload::from(buf));
                in_flight.push(Box::pin(async move { part.await.map(|()| want) }));
            }
            while let Some(finished) = in_flight.next().await {
                done += finished.map_err(|e| self.classify(what, e))?;
                on_bytes(done);
            }
            Ok::<String, RemoteError>(identity::hex(&hasher.finalize()))
        }
        .await;
        match parts {
            Ok(sha) if sha == expected_sha => match upload.complete().await {
                Ok(_) => Ok(sha),
                Err(e) => {
                    let _ = upload.abort().await;
                    Err(self.classify(what, e))
                }
            },
            Ok(sha) => {
                let _ = upload.abort().await;
                Ok(sha)
            }
            Err(e) => {
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }
}

/// Same build inputs: the engine is there. TensorRT builds are not bit-reproducible, so two
/// builders racing on one engine upload different bytes of equal worth; the first one stands.
/// Other inputs under the same name (or a legacy copy): a conflict to resolve.
fn compare(key: &EngineKey, ours: &Sidecar, theirs: &[u8]) -> Result<UploadOutcome, RemoteError> {
    match Sidecar::parse_for(theirs, key) {
        Ok(theirs) if theirs.fingerprint.is_some() && theirs.fingerprint == ours.fingerprint => {
            Ok(UploadOutcome::AlreadyPresent)
        }
        Ok(theirs) => Err(RemoteError::Conflict {
            key: key.to_string(),
            ours: describe(ours),
            theirs: describe(&theirs),
        }),
        Err(e) => Err(RemoteError::Conflict {
            key: key.to_string(),
            ours: describe(ours),
            theirs: format!("an unreadable sidecar: {e}"),
        }),
    }
}

fn describe(sidecar: &Sidecar) -> String {
    let fingerprint = sidecar
        .fingerprint
        .as_ref()
        .map_or_else(|| "none".to_string(), |f| f.short().to_string());
    format!(
        "sha256 {}, fingerprint {fingerprint}",
        sidecar.engine_sha256
    )
}

/// Unique per process and call: staging names never collide between racing builders.
pub(super) fn nonce() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let local = &count as *const u64 as usize;
    let digest = Sha256::digest(format!("{}:{nanos}:{count}:{local}", std::process::id()));
    identity::hex(&digest[..12])
}
