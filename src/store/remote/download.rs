//! Fetching an engine: streamed, hashed on the way, in concurrent ranges where the backend
//! prefers them. Memory stays bounded: the object is never held whole.

use std::io::SeekFrom;
use std::path::PathBuf;

use futures::stream::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectMeta, ObjectStoreExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};

use super::hashing::HashingSink;
use super::{Remote, RemoteError};
use crate::identity::EngineKey;

const READ_CHUNK: usize = 1024 * 1024;
/// Ranged downloads fetch this much per request: small enough that many are in flight in
/// little memory, large enough that request overhead does not show (measured in
/// docs/benchmarks.md).
const RANGE_SIZE: u64 = 4 * 1024 * 1024;
/// Tries per range of a ranged download; then the whole transfer is retried from the start.
const RANGE_ATTEMPTS: u32 = 3;

impl Remote {
    /// Streams the engine into `dest` (an already created temp file), hashing on the way;
    /// `on_bytes(total_so_far)` as bytes arrive. Returns (sha256 hex, size). Memory stays
    /// bounded: the object is never held whole.
    pub async fn fetch_engine(
        &self,
        key: &EngineKey,
        dest: &mut tokio::fs::File,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(String, u64), RemoteError> {
        self.checked(key)?;
        let temp_err = |source| RemoteError::Io {
            path: PathBuf::from(format!("temp file for {key}")),
            source,
        };
        dest.seek(SeekFrom::Start(0)).await.map_err(temp_err)?;
        dest.set_len(0).await.map_err(temp_err)?;
        let location = self.location(&key.path())?;
        let digest = self.download(key, &location, dest, on_bytes).await?;
        dest.flush().await.map_err(temp_err)?;
        Ok(digest)
    }

    /// Streams an object into `out`, hashing it; the size must match the object's.
    pub(super) async fn download<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        key: &EngineKey,
        location: &Path,
        out: &mut W,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(String, u64), RemoteError> {
        let what = format!("fetching {key}");
        if self.backend.prefers_ranged_reads() {
            let meta = self
                .store
                .head(location)
                .await
                .map_err(|e| self.missing_engine(key, &what, e))?;
            if meta.size > RANGE_SIZE {
                return self.download_ranges(&what, &meta, out, on_bytes).await;
            }
        }
        let result = match self.store.get(location).await {
            Ok(result) => result,
            Err(e) => return Err(self.missing_engine(key, &what, e)),
        };
        let expected = result.meta.size;
        let mut sink = HashingSink::new(out, format!("download of {key}"), on_bytes);
        match result.payload {
            GetResultPayload::File(file, path) => {
                // file://: read the opened file in large chunks rather than object_store's 8 KiB.
                let mut file = tokio::fs::File::from_std(file).take(expected);
                let mut buf = vec![0u8; READ_CHUNK];
                loop {
                    let n = file
                        .read(&mut buf)
                        .await
                        .map_err(|source| RemoteError::Io {
                            path: path.clone(),
                            source,
                        })?;
                    if n == 0 {
                        break;
                    }
                    sink.put(&buf[..n]).await?;
                }
            }
            GetResultPayload::Stream(mut stream) => {
                while let Some(chunk) = stream
                    .try_next()
                    .await
                    .map_err(|e| self.classify(&what, e))?
                {
                    sink.put(&chunk).await?;
                }
            }
        }
        let (sha256, total) = sink.finish();
        if total != expected {
            return Err(RemoteError::Truncated {
                what,
                got: total,
                expected,
            });
        }
        Ok((sha256, total))
    }

    fn missing_engine(&self, key: &EngineKey, what: &str, err: object_store::Error) -> RemoteError {
        let not_found = matches!(err, object_store::Error::NotFound { .. });
        match self.classify(what, err) {
            no_bucket @ RemoteError::NoBucket { .. } => no_bucket,
            _ if not_found => RemoteError::EngineGone {
                key: key.to_string(),
                remote: self.display.clone(),
            },
            other => other,
        }
    }

    /// A large object as concurrent ranged GETs of [`RANGE_SIZE`] (`concurrency` in flight, so
    /// memory stays at `concurrency × RANGE_SIZE`), hashed and written in order. Every range is
    /// pinned to the object's ETag: an object replaced half-way fails rather than mixing.
    async fn download_ranges<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        what: &str,
        meta: &ObjectMeta,
        out: &mut W,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(String, u64), RemoteError> {
        let size = meta.size;
        let ranges = (0..size)
            .step_by(RANGE_SIZE as usize)
            .map(|start| start..(start + RANGE_SIZE).min(size));
        let mut parts = futures::stream::iter(ranges)
            .map(|range| self.get_range(&meta.location, range, meta.e_tag.clone()))
            .buffered(self.concurrency);
        let mut sink = HashingSink::new(out, format!("download of {}", meta.location), on_bytes);
        while let Some(part) = parts.next().await {
            sink.put(&part.map_err(|e| self.classify(what, e))?).await?;
        }
        Ok(sink.finish())
    }

    /// One range, whole. A body cut off half-way is asked for again (a GET is idempotent), a
    /// few times, before the error goes up.
    async fn get_range(
        &self,
        location: &Path,
        range: std::ops::Range<u64>,
        e_tag: Option<String>,
    ) -> object_store::Result<bytes::Bytes> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(range.clone())),
            if_match: e_tag,
            ..GetOptions::default()
        };
        let mut attempt = 1;
        loop {
            let result = async {
                let bytes = self.store.get_opts(location, options.clone()).await?.bytes().await?;
                if bytes.len() as u64 == range.end - range.start {
                    Ok(bytes)
                } else {
                    Err(object_store::Error::Generic {
                        store: "S3",
                        source: format!(
                            "got {} bytes for the range {range:?}; the object changed or the transfer was cut",
                            bytes.len()
                        )
                        .into(),
                    })
                }
            }
            .await;
            match result {
                Err(object_store::Error::Generic { .. }) if attempt < RANGE_ATTEMPTS => {
                    attempt += 1;
                }
                done => return done,
            }
        }
    }
}
