//! Fetching an engine: streamed, hashed on the way, in concurrent ranges where the backend
//! prefers them. Memory stays bounded: the object is never held whole.

use std::io::SeekFrom;
use std::path::PathBuf;

use futures::stream::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetResultPayload, ObjectMeta, ObjectStoreExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWrite, AsyncWriteExt};

use super::hashing::HashingSink;
use super::ranged::{self, RangedError, Source};
use super::{Remote, RemoteError};
use crate::identity::EngineKey;

const READ_CHUNK: usize = 1024 * 1024;
/// Objects over this size are fetched in concurrent ranges; a destination that is not a file
/// gets ranges of this size, held whole in memory until their turn.
const RANGE_SIZE: u64 = 4 * 1024 * 1024;

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
        let label = PathBuf::from(format!("temp file for {key}"));
        let temp_err = |source| RemoteError::Io {
            path: label.clone(),
            source,
        };
        dest.seek(SeekFrom::Start(0)).await.map_err(temp_err)?;
        dest.set_len(0).await.map_err(temp_err)?;
        let location = self.location(&key.path())?;
        let what = format!("fetching {key}");
        let digest = match self.ranged(key, &location, &what).await? {
            Some(meta) => {
                let file = dest.try_clone().await.map_err(temp_err)?.into_std().await;
                let source = self.source(&meta);
                let sha256 =
                    ranged::fetch_into_file(source, file, meta.size, self.concurrency, on_bytes)
                        .await
                        .map_err(|e| match e {
                            RangedError::Store(e) => self.classify(&what, e),
                            RangedError::Io(source) => temp_err(source),
                        })?;
                (sha256, meta.size)
            }
            None => {
                self.download_stream(key, &what, &location, dest, on_bytes)
                    .await?
            }
        };
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
        match self.ranged(key, location, &what).await? {
            Some(meta) => self.download_ranges(&what, &meta, out, on_bytes).await,
            None => {
                self.download_stream(key, &what, location, out, on_bytes)
                    .await
            }
        }
    }

    /// The object's metadata when it is better fetched in ranges: large, over a network.
    async fn ranged(
        &self,
        key: &EngineKey,
        location: &Path,
        what: &str,
    ) -> Result<Option<ObjectMeta>, RemoteError> {
        if !self.backend.prefers_ranged_reads() {
            return Ok(None);
        }
        let meta = self
            .store
            .head(location)
            .await
            .map_err(|e| self.missing_engine(key, what, e))?;
        Ok(Some(meta).filter(|meta| meta.size > RANGE_SIZE))
    }

    /// Where ranges of the object `meta` describes are read from, pinned to its ETag.
    fn source(&self, meta: &ObjectMeta) -> Source {
        Source {
            store: self.store.clone(),
            location: meta.location.clone(),
            e_tag: meta.e_tag.clone(),
        }
    }

    /// One GET, streamed into `out` and hashed on the way.
    async fn download_stream<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        key: &EngineKey,
        what: &str,
        location: &Path,
        out: &mut W,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(String, u64), RemoteError> {
        let result = match self.store.get(location).await {
            Ok(result) => result,
            Err(e) => return Err(self.missing_engine(key, what, e)),
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
                    .map_err(|e| self.classify(what, e))?
                {
                    sink.put(&chunk).await?;
                }
            }
        }
        let (sha256, total) = sink.finish();
        if total != expected {
            return Err(RemoteError::Truncated {
                what: what.to_string(),
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

    /// A large object as concurrent ranged GETs of [`RANGE_SIZE`], hashed and written in order,
    /// for a destination that is not a file (hashing only): `concurrency` ranges in flight, held
    /// whole until their turn, so memory stays at `concurrency × RANGE_SIZE`.
    async fn download_ranges<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        what: &str,
        meta: &ObjectMeta,
        out: &mut W,
        on_bytes: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(String, u64), RemoteError> {
        let source = self.source(meta);
        let size = meta.size;
        let ranges = (0..size)
            .step_by(RANGE_SIZE as usize)
            .map(|start| start..(start + RANGE_SIZE).min(size));
        let mut parts = futures::stream::iter(ranges)
            .map(|range| ranged::get_range(&source, range))
            .buffered(self.concurrency);
        let mut sink = HashingSink::new(out, format!("download of {}", meta.location), on_bytes);
        while let Some(part) = parts.next().await {
            sink.put(&part.map_err(|e| self.classify(what, e))?).await?;
        }
        Ok(sink.finish())
    }
}
