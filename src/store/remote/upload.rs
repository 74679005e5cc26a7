//! Publishing an engine: engine first, sidecar last, both create-only (see the module docs of
//! [`super`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, MultipartUpload, ObjectMeta, ObjectStoreExt, PutMode,
    PutMultipartOptions, PutOptions, PutPayload,
};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::{JoinError, JoinSet};

use super::{Remote, RemoteError};
use crate::identity::{self, EngineKey, Sidecar};
use crate::task::joined;
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
                file.into_std().await,
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

    /// Uploads the file as a multipart upload (see [`Remote::send_parts`]); completes it only
    /// when the bytes hash to `expected_sha`, aborts it otherwise or on any error.
    #[allow(clippy::too_many_arguments)]
    async fn put_multipart(
        &self,
        what: &str,
        target: &Path,
        file: std::fs::File,
        source_path: &std::path::Path,
        size: u64,
        expected_sha: &str,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<String, RemoteError> {
        let mut upload = self
            .store
            .put_multipart_opts(target, PutMultipartOptions::default())
            .await
            .map_err(|e| self.classify(what, e))?;
        let parts = self
            .send_parts(what, upload.as_mut(), file, source_path, size, on_bytes)
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

    /// Sends the file's parts, `concurrency` at a time, each on its own task (the client signs
    /// each part, hashing it, before sending it), and hashes the file on a blocking thread
    /// behind them; returns the sha256 hex. A part holds its slot until it is both sent and
    /// hashed, and is read on a blocking thread into a buffer that is reused once the client
    /// lets go of it: memory stays at `concurrency × part size`. Dropping the future aborts the
    /// parts in flight.
    async fn send_parts(
        &self,
        what: &str,
        upload: &mut dyn MultipartUpload,
        file: std::fs::File,
        source_path: &std::path::Path,
        size: u64,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<String, RemoteError> {
        let part_len = self.part_len(size) as usize;
        let file = Arc::new(file);
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let buffers = Arc::new(PartBuffers::default());
        let (to_hasher, mut parts) = mpsc::channel::<(Bytes, Slot)>(self.concurrency);
        let hasher = tokio::task::spawn_blocking(move || {
            let mut hasher = Sha256::new();
            while let Some((bytes, slot)) = parts.blocking_recv() {
                hasher.update(&bytes);
                // The buffer goes back before the slot: a slot never waits for a buffer.
                drop(bytes);
                drop(slot);
            }
            identity::hex(&hasher.finalize())
        });
        let mut in_flight = JoinSet::new();
        let mut sent = 0u64;
        let mut part_sent = |done: Option<Result<object_store::Result<u64>, JoinError>>| {
            if let Some(done) = done {
                sent += joined(done).map_err(|e| self.classify(what, e))?;
                on_bytes(sent);
            }
            Ok::<(), RemoteError>(())
        };
        let mut offset = 0u64;
        while offset < size {
            let slot = loop {
                tokio::select! {
                    slot = slots.clone().acquire_owned() => {
                        break Arc::new(slot.expect("the part semaphore is never closed"));
                    }
                    done = in_flight.join_next(), if !in_flight.is_empty() => part_sent(done)?,
                }
            };
            let len = part_len.min((size - offset) as usize);
            let bytes = buffers
                .read(file.clone(), offset, len, part_len)
                .await
                .map_err(|source| match source.kind() {
                    std::io::ErrorKind::UnexpectedEof => RemoteError::LocalMismatch {
                        path: source_path.to_path_buf(),
                        detail: "the file shrank while being uploaded".into(),
                    },
                    _ => RemoteError::Io {
                        path: source_path.to_path_buf(),
                        source,
                    },
                })?;
            offset += len as u64;
            // The hasher ends only when this loop drops the sender.
            let _ = to_hasher.send((bytes.clone(), slot.clone())).await;
            let part = upload.put_part(PutPayload::from(bytes));
            in_flight.spawn(async move {
                let sent = part.await;
                drop(slot);
                sent.map(|()| len as u64)
            });
        }
        drop(to_hasher);
        while !in_flight.is_empty() {
            part_sent(in_flight.join_next().await)?;
        }
        Ok(joined(hasher.await))
    }
}

/// A part's place among the `concurrency` in flight, shared by its upload and the hasher.
type Slot = Arc<OwnedSemaphorePermit>;

/// The part buffers of one multipart upload, each back in `free` when the last reference to
/// the part it holds is gone. Reusing them keeps memory flat: buffers freed on other threads
/// would pile up in the allocator's per-thread arenas.
#[derive(Default)]
struct PartBuffers {
    free: Mutex<Vec<Vec<u8>>>,
}

/// A part's bytes in a buffer of [`PartBuffers`], as the owner behind a [`Bytes`].
struct PartBuffer {
    buf: Vec<u8>,
    len: usize,
    home: Arc<PartBuffers>,
}

impl AsRef<[u8]> for PartBuffer {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for PartBuffer {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        self.home
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(buf);
    }
}

impl PartBuffers {
    /// `len` bytes of `file` from `offset` into a free buffer (or a new one of `capacity`),
    /// read on a blocking thread.
    async fn read(
        self: &Arc<Self>,
        file: Arc<std::fs::File>,
        offset: u64,
        len: usize,
        capacity: usize,
    ) -> std::io::Result<Bytes> {
        let home = self.clone();
        let read = tokio::task::spawn_blocking(move || {
            let reused = home.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut buf = reused.unwrap_or_else(|| vec![0u8; capacity]);
            file.read_exact_at(&mut buf[..len], offset)?;
            Ok(Bytes::from_owner(PartBuffer { buf, len, home }))
        });
        joined(read.await)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use object_store::ObjectStoreExt;

    use super::*;
    use crate::store::remote::test_store::{Behaviour, TestStore, object_bytes, remote_on};

    const MIB: u64 = 1024 * 1024;

    /// A file of `len` bytes: its handle, its bytes and their sha256.
    fn local(len: u64) -> (tempfile::NamedTempFile, Vec<u8>, String) {
        let bytes = object_bytes(len);
        let temp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(temp.path(), &bytes).unwrap();
        let sha = identity::sha256_hex(&bytes);
        (temp, bytes, sha)
    }

    async fn put(
        remote: &Remote,
        file: &tempfile::NamedTempFile,
        size: u64,
        expected_sha: &str,
        progress: &AtomicU64,
    ) -> Result<String, RemoteError> {
        let on_bytes = |done: u64| {
            progress.fetch_max(done, Ordering::Relaxed);
        };
        remote
            .put_multipart(
                "uploading",
                &Path::from("fam/engine.trt"),
                file.reopen().unwrap(),
                file.path(),
                size,
                expected_sha,
                &on_bytes,
            )
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parts_go_out_concurrency_at_a_time_and_the_file_is_hashed_behind_them() {
        let store = Arc::new(TestStore::with(Behaviour {
            part_pause: Duration::from_millis(30),
            ..Behaviour::default()
        }));
        let remote = remote_on(store.clone(), MIB, 3);
        let (file, bytes, sha) = local(10 * MIB + 12_345);
        let progress = AtomicU64::new(0);
        let got = put(&remote, &file, bytes.len() as u64, &sha, &progress).await;
        assert_eq!(got.unwrap(), sha);
        assert_eq!(progress.load(Ordering::Relaxed), bytes.len() as u64);
        assert_eq!(store.parts_done.load(Ordering::SeqCst), 11);
        assert_eq!(store.most_parts_in_flight.load(Ordering::SeqCst), 3);
        let landed = store
            .get(&Path::from("fam/engine.trt"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(landed == bytes, "the object differs from the file");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn bytes_that_do_not_hash_to_the_sidecar_are_never_completed() {
        let store = Arc::new(TestStore::default());
        let remote = remote_on(store.clone(), MIB, 3);
        let (file, bytes, sha) = local(3 * MIB);
        let got = put(
            &remote,
            &file,
            bytes.len() as u64,
            "0123",
            &AtomicU64::new(0),
        )
        .await;
        assert_eq!(got.unwrap(), sha);
        assert!(store.head(&Path::from("fam/engine.trt")).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_file_shorter_than_announced_is_a_local_mismatch() {
        let store = Arc::new(TestStore::default());
        let remote = remote_on(store.clone(), MIB, 2);
        let (file, bytes, sha) = local(3 * MIB);
        let size = bytes.len() as u64 + 2 * MIB;
        let got = put(&remote, &file, size, &sha, &AtomicU64::new(0)).await;
        assert!(
            matches!(&got, Err(RemoteError::LocalMismatch { detail, .. }) if detail.contains("shrank")),
            "{got:?}"
        );
        assert!(store.head(&Path::from("fam/engine.trt")).await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_part_buffer_is_reused_once_let_go() {
        let buffers = Arc::new(PartBuffers::default());
        let (file, bytes, _) = local(2 * MIB);
        let file = Arc::new(file.reopen().unwrap());
        let part = MIB as usize;
        let first = buffers.read(file.clone(), 0, part, part).await.unwrap();
        assert!(first[..] == bytes[..part]);
        let at = first.as_ptr();
        drop(first);
        let second = buffers.read(file, MIB, part, part).await.unwrap();
        assert!(second[..] == bytes[part..]);
        assert_eq!(second.as_ptr(), at, "a new buffer instead of the free one");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn dropping_the_upload_stops_its_parts() {
        let store = Arc::new(TestStore::with(Behaviour {
            part_pause: Duration::from_millis(300),
            ..Behaviour::default()
        }));
        let remote = remote_on(store.clone(), MIB, 3);
        let (file, bytes, sha) = local(8 * MIB);
        let progress = AtomicU64::new(0);
        let upload = put(&remote, &file, bytes.len() as u64, &sha, &progress);
        let dropped = tokio::time::timeout(Duration::from_millis(100), upload).await;
        assert!(dropped.is_err(), "the upload finished before the drop");
        assert!(store.most_parts_in_flight.load(Ordering::SeqCst) > 0);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(store.parts_done.load(Ordering::SeqCst), 0);
    }
}
