//! Shared TensorRT timing caches: one object `{prefix}/timing/{arch}_{trt}.cache` per GPU arch
//! and TensorRT version, with `{…}.cache.json` beside it saying what the cache should be
//! (sha256, size, which builder wrote it, when).
//!
//! Writes are compare-and-swap on the cache object: `If-None-Match: *` for the first one,
//! `If-Match` on the version the writer started from afterwards, so two builders never
//! overwrite each other blindly; the loser is told so ([`TimingWrite::Conflict`]) and decides
//! what to do. `file://` has no conditional overwrite: there the object is read again, compared,
//! deleted and created afresh, with a window of one round trip (as for leases).
//!
//! The metadata object is written after the cache, unconditionally. A reader that finds the
//! two disagreeing (a write in progress, a writer that died between the two, bytes damaged on
//! the remote) sees an unverified cache and does not use it; the next successful write, which
//! starts from the cache object's version whatever the metadata says, repairs it.

use std::collections::BTreeMap;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::listing::{ListingSink, ObjectVersion, SpanRequest};
use super::{Remote, RemoteError};
use crate::identity::{GpuArch, TrtVersion, sha256_hex};
use crate::sys::{hostname, now_secs};

/// The directory of the timing caches under the remote prefix, as in the local cache.
pub const TIMING_PREFIX: &str = "timing";
const TIMING_META_SCHEMA_VERSION: u32 = 1;
/// A metadata object bigger than this is not one of ours.
const MAX_META_BYTES: u64 = 64 * 1024;

/// The file name of the timing cache of one arch and TensorRT version, locally and remotely.
pub fn timing_cache_name(arch: GpuArch, gpu_model: Option<&str>, trt: TrtVersion) -> String {
    match gpu_model {
        Some(model) => format!("{arch}_{model}_{trt}.cache"),
        None => format!("{arch}_{trt}.cache"),
    }
}

/// What the metadata object says about the cache beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimingCacheMeta {
    pub schema_version: u32,
    pub sha256: String,
    pub size: u64,
    /// The host of the builder that wrote it.
    pub host: String,
    /// Unix seconds.
    pub written_at: u64,
    /// Written by builds where CUDA showed no GPU: timings no GPU measured.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}

/// The version of the cache object a writer started from: the compare in compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimingVersion(UpdateVersion);

/// A timing cache as read from the remote.
#[derive(Debug, Clone)]
pub struct RemoteTimingCache {
    pub version: TimingVersion,
    pub bytes: Bytes,
    pub meta: Option<TimingCacheMeta>,
}

impl RemoteTimingCache {
    /// The bytes are the ones the writer described.
    /// Whether builds under simulation wrote it (as its metadata says).
    pub fn is_simulated(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| m.simulated)
    }

    pub fn is_verified(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| {
            m.size == self.bytes.len() as u64 && m.sha256 == sha256_hex(&self.bytes)
        })
    }
}

/// What a LIST of the remote's `timing/` says about one timing cache, for `plan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimingCacheStat {
    pub size: u64,
    /// Unix seconds of its last write.
    pub modified: u64,
}

/// The timing caches of one LIST of `timing/`, by file name; their metadata objects, rejected
/// copies and anything else there are left out.
#[derive(Default)]
struct TimingListing(BTreeMap<String, TimingCacheStat>);

impl ListingSink for TimingListing {
    fn add(&mut self, name: &str, size: u64, version: impl FnOnce() -> ObjectVersion) {
        if name.ends_with(".cache") && !name.contains('/') {
            let modified = (version().last_modified_ms / 1000).max(0) as u64;
            self.0
                .insert(name.to_string(), TimingCacheStat { size, modified });
        }
    }

    fn outside(&mut self, _location: &str) {}
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimingWrite {
    Written {
        version: TimingVersion,
    },
    /// Another builder changed the cache since `expected`: nothing was written.
    Conflict,
}

impl Remote {
    fn timing_location(&self, name: &str) -> Result<Path, RemoteError> {
        self.location(&format!("{TIMING_PREFIX}/{name}"))
    }

    fn timing_meta_location(&self, name: &str) -> Result<Path, RemoteError> {
        self.location(&format!("{TIMING_PREFIX}/{name}.json"))
    }

    /// The timing cache `name` and its metadata, if the remote holds one.
    pub async fn read_timing_cache(
        &self,
        name: &str,
    ) -> Result<Option<RemoteTimingCache>, RemoteError> {
        let what = format!("reading the timing cache {name}");
        let result = match self.store.get(&self.timing_location(name)?).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.classify(&what, e)),
        };
        let version = TimingVersion(UpdateVersion {
            e_tag: result.meta.e_tag.clone(),
            version: result.meta.version.clone(),
        });
        let bytes = result.bytes().await.map_err(|e| self.classify(&what, e))?;
        let meta = self.read_timing_meta(name).await?;
        Ok(Some(RemoteTimingCache {
            version,
            bytes,
            meta,
        }))
    }

    /// Size and age of every timing cache the remote holds, by file name: one LIST of
    /// `timing/`, whatever the number of archs, and no byte of any cache.
    pub async fn list_timing_caches(
        &self,
    ) -> Result<BTreeMap<String, TimingCacheStat>, RemoteError> {
        let listed = self
            .list_span(TIMING_PREFIX, SpanRequest::WHOLE, TimingListing::default)
            .await?;
        Ok(listed.0)
    }

    async fn read_timing_meta(&self, name: &str) -> Result<Option<TimingCacheMeta>, RemoteError> {
        let what = format!("reading the metadata of the timing cache {name}");
        let result = match self.store.get(&self.timing_meta_location(name)?).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.classify(&what, e)),
        };
        if result.meta.size > MAX_META_BYTES {
            return Ok(None);
        }
        let bytes = result.bytes().await.map_err(|e| self.classify(&what, e))?;
        Ok(serde_json::from_slice::<TimingCacheMeta>(&bytes)
            .ok()
            .filter(|m| m.schema_version == TIMING_META_SCHEMA_VERSION))
    }

    /// Writes `bytes` as the timing cache `name` if the remote still holds `expected` (`None`:
    /// if it holds none), then its metadata.
    pub async fn write_timing_cache(
        &self,
        name: &str,
        bytes: Bytes,
        expected: Option<&TimingVersion>,
        simulated: bool,
    ) -> Result<TimingWrite, RemoteError> {
        let meta = TimingCacheMeta {
            simulated,
            schema_version: TIMING_META_SCHEMA_VERSION,
            sha256: sha256_hex(&bytes),
            size: bytes.len() as u64,
            host: hostname().unwrap_or_else(|| "unknown host".into()),
            written_at: now_secs(),
        };
        let version = match self.swap_timing_cache(name, bytes, expected).await? {
            Some(version) => version,
            None => return Ok(TimingWrite::Conflict),
        };
        let body = serde_json::to_vec(&meta).expect("timing cache metadata serialises");
        self.store
            .put_opts(
                &self.timing_meta_location(name)?,
                PutPayload::from(body),
                PutOptions::from(PutMode::Overwrite),
            )
            .await
            .map_err(|e| {
                self.classify(
                    &format!("writing the metadata of the timing cache {name}"),
                    e,
                )
            })?;
        Ok(TimingWrite::Written { version })
    }

    /// The compare-and-swap itself; `Ok(None)` when the precondition failed.
    async fn swap_timing_cache(
        &self,
        name: &str,
        bytes: Bytes,
        expected: Option<&TimingVersion>,
    ) -> Result<Option<TimingVersion>, RemoteError> {
        let location = self.timing_location(name)?;
        let what = format!("writing the timing cache {name}");
        let mode = match expected {
            None => PutMode::Create,
            Some(TimingVersion(version)) if self.backend.has_conditional_update() => {
                PutMode::Update(version.clone())
            }
            Some(TimingVersion(version)) => {
                // Read again right before the delete: the window is one round trip (module docs).
                let current = match self.store.head(&location).await {
                    Ok(head) => head,
                    Err(object_store::Error::NotFound { .. }) => return Ok(None),
                    Err(e) => return Err(self.classify(&what, e)),
                };
                if current.e_tag != version.e_tag || current.version != version.version {
                    return Ok(None);
                }
                match self.store.delete(&location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.classify(&what, e)),
                }
                PutMode::Create
            }
        };
        match self
            .store
            .put_opts(&location, PutPayload::from(bytes), PutOptions::from(mode))
            .await
        {
            Ok(put) => Ok(Some(TimingVersion(UpdateVersion {
                e_tag: put.e_tag,
                version: put.version,
            }))),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(None),
            Err(e) => Err(self.classify(&what, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::remote::{RemoteEnv, RemoteSettings};

    fn file_remote(dir: &std::path::Path) -> Remote {
        let settings = RemoteSettings {
            url: format!("file://{}", dir.display()),
            ..RemoteSettings::default()
        };
        Remote::open(&settings, &RemoteEnv::default()).unwrap()
    }

    #[tokio::test]
    async fn writes_are_compare_and_swap_and_verified_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let remote = file_remote(dir.path());
        let name = timing_cache_name(GpuArch::new(8, 6), None, TrtVersion::new(10, 3, 0));
        assert_eq!(name, "sm_86_10.3.0.cache");
        assert!(remote.read_timing_cache(&name).await.unwrap().is_none());

        let TimingWrite::Written { version: first } = remote
            .write_timing_cache(&name, Bytes::from_static(b"one"), None, false)
            .await
            .unwrap()
        else {
            panic!("the first write creates the cache");
        };
        // A second creator loses, and so does a writer that started from a stale version.
        let again = remote
            .write_timing_cache(&name, Bytes::from_static(b"other"), None, false)
            .await
            .unwrap();
        assert_eq!(again, TimingWrite::Conflict);
        let read = remote.read_timing_cache(&name).await.unwrap().unwrap();
        assert!(read.is_verified());
        assert_eq!(&read.bytes[..], b"one");
        assert_eq!(read.version, first);
        assert!(matches!(
            remote
                .write_timing_cache(&name, Bytes::from_static(b"two"), Some(&first), false)
                .await
                .unwrap(),
            TimingWrite::Written { .. }
        ));
        let stale = remote
            .write_timing_cache(&name, Bytes::from_static(b"three"), Some(&first), false)
            .await
            .unwrap();
        assert_eq!(stale, TimingWrite::Conflict);

        // Bytes that are not what the metadata says are never verified.
        std::fs::write(dir.path().join("timing").join(&name), b"tw0").unwrap();
        let damaged = remote.read_timing_cache(&name).await.unwrap().unwrap();
        assert!(!damaged.is_verified());
        // One LIST says what is there: the cache, not its metadata or anything else.
        std::fs::write(dir.path().join("timing").join("notes.txt"), b"x").unwrap();
        let listed = remote.list_timing_caches().await.unwrap();
        assert_eq!(listed.keys().collect::<Vec<_>>(), [&name]);
        assert_eq!(listed[&name].size, 3);
    }
}
