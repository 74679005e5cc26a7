//! Build leases: one small object `{prefix}/{family}/{file}.lease` per engine being built, so a
//! fleet of builders builds each engine once. The builder that creates the object
//! (`If-None-Match: *`) builds, renews it while it builds and uploads, and deletes it after the
//! upload; the others wait for the engine to land and fetch it. A lease whose holder stopped
//! renewing (a crash, a lost machine) expires and is taken over.
//!
//! Takeover and renewal are compare-and-swap on S3 (`If-Match` on the ETag), so two takers
//! never both win. `file://` has no conditional overwrite: there the expired lease is read
//! again, deleted and created afresh, which leaves a window of one round trip in which two
//! takers of the same expired lease could both build. The cost of losing that race is one
//! duplicate build, never a wrong engine: uploads stay create-only and fetches verified.
//! Expiry compares the holder's clock with the reader's: builders need synchronised clocks
//! (NTP) to within a small part of the lease time.

use std::time::Duration;

use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::{Remote, RemoteError, nonce};
use crate::identity::EngineKey;
use crate::sys::{hostname, now_secs};

pub const LEASE_SUFFIX: &str = ".lease";
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(300);
const LEASE_SCHEMA_VERSION: u32 = 1;
/// A lease bigger than this is not one of ours.
const MAX_LEASE_BYTES: u64 = 64 * 1024;

/// What a lease object says: who builds the engine, since when, until when unless renewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub schema_version: u32,
    /// Unique per process and claim: tells two processes of one host apart.
    pub holder: String,
    pub host: String,
    pub pid: u32,
    /// Unix seconds.
    pub started_at: u64,
    /// Unix seconds; renewed while the build runs.
    pub expires_at: u64,
}

impl LeaseRecord {
    /// Past its expiry, or held by a process of this host that is gone (killed, crashed): no
    /// need to wait out the lease time for that.
    pub fn is_stale(&self, now: u64) -> bool {
        now >= self.expires_at || self.holder_is_gone()
    }

    /// Held by a process of this host that no longer runs.
    pub fn holder_is_gone(&self) -> bool {
        hostname().as_ref() == Some(&self.host)
            && self.pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// A lease this process holds.
#[derive(Debug, Clone)]
pub struct HeldLease {
    key: EngineKey,
    record: LeaseRecord,
    /// The object's version as we last wrote it: the compare in compare-and-swap.
    version: UpdateVersion,
}

impl HeldLease {
    pub fn key(&self) -> &EngineKey {
        &self.key
    }
}

#[derive(Debug)]
pub enum LeaseClaim {
    Acquired(HeldLease),
    /// Another live builder holds it.
    HeldBy(LeaseRecord),
}

fn is_taken(err: &object_store::Error) -> bool {
    matches!(
        err,
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }
    )
}

/// A lease object as read: parsed, or `None` when it is not a lease of ours (then it counts as
/// expired once it is older than the default lease time).
struct Observed {
    record: Option<LeaseRecord>,
    modified: u64,
    version: UpdateVersion,
}

impl Observed {
    fn is_stale(&self, now: u64) -> bool {
        match &self.record {
            Some(record) => record.is_stale(now),
            None => now >= self.modified + DEFAULT_LEASE_TTL.as_secs(),
        }
    }
}

impl Remote {
    fn lease_location(&self, key: &EngineKey) -> Result<Path, RemoteError> {
        self.checked(key)?;
        self.location(&format!("{}{LEASE_SUFFIX}", key.path()))
    }

    /// The lease on `key`, if any and if it is one of ours.
    pub async fn read_lease(&self, key: &EngineKey) -> Result<Option<LeaseRecord>, RemoteError> {
        Ok(self.observe_lease(key).await?.and_then(|o| o.record))
    }

    async fn observe_lease(&self, key: &EngineKey) -> Result<Option<Observed>, RemoteError> {
        let location = self.lease_location(key)?;
        let what = format!("reading the lease on {key}");
        let result = match self.store.get(&location).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.classify(&what, e)),
        };
        let meta = result.meta.clone();
        let record = if meta.size > MAX_LEASE_BYTES {
            None
        } else {
            let bytes = result.bytes().await.map_err(|e| self.classify(&what, e))?;
            serde_json::from_slice::<LeaseRecord>(&bytes)
                .ok()
                .filter(|r| r.schema_version == LEASE_SCHEMA_VERSION)
        };
        Ok(Some(Observed {
            record,
            modified: meta.last_modified.timestamp().max(0) as u64,
            version: UpdateVersion {
                e_tag: meta.e_tag,
                version: meta.version,
            },
        }))
    }

    /// Writes `record` under `mode`; `Ok(None)` when the precondition failed.
    async fn put_lease(
        &self,
        key: &EngineKey,
        record: &LeaseRecord,
        mode: PutMode,
    ) -> Result<Option<UpdateVersion>, RemoteError> {
        let location = self.lease_location(key)?;
        let body = serde_json::to_vec(record).expect("a lease serialises");
        match self
            .store
            .put_opts(&location, PutPayload::from(body), PutOptions::from(mode))
            .await
        {
            Ok(put) => Ok(Some(UpdateVersion {
                e_tag: put.e_tag,
                version: put.version,
            })),
            Err(e) if is_taken(&e) => Ok(None),
            Err(e) => Err(self.classify(&format!("writing the lease on {key}"), e)),
        }
    }

    /// Replaces the lease object last seen as `seen` with `record`; `Ok(None)` when someone
    /// else changed it first.
    async fn swap_lease(
        &self,
        key: &EngineKey,
        seen: &Observed,
        record: &LeaseRecord,
    ) -> Result<Option<UpdateVersion>, RemoteError> {
        if self.backend.has_conditional_update() {
            return self
                .put_lease(key, record, PutMode::Update(seen.version.clone()))
                .await;
        }
        // Read again right before the delete: the window is one round trip (module docs).
        match self.observe_lease(key).await? {
            Some(now) if now.record == seen.record && now.modified == seen.modified => {
                let location = self.lease_location(key)?;
                match self.store.delete(&location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => {
                        return Err(self.classify(&format!("replacing the lease on {key}"), e));
                    }
                }
                self.put_lease(key, record, PutMode::Create).await
            }
            _ => Ok(None),
        }
    }

    fn new_lease(&self) -> LeaseRecord {
        let now = now_secs();
        LeaseRecord {
            schema_version: LEASE_SCHEMA_VERSION,
            holder: nonce(),
            host: hostname().unwrap_or_else(|| "unknown host".into()),
            pid: std::process::id(),
            started_at: now,
            expires_at: now + self.lease_ttl.as_secs(),
        }
    }

    /// Takes the lease on `key` for the lease time: creates it, or takes over an expired one.
    pub async fn claim_lease(&self, key: &EngineKey) -> Result<LeaseClaim, RemoteError> {
        let record = self.new_lease();
        // A claim can lose to a holder that releases at that instant: then the object is gone
        // when read back, and trying again settles it.
        for _ in 0..3 {
            if let Some(version) = self.put_lease(key, &record, PutMode::Create).await? {
                return Ok(LeaseClaim::Acquired(HeldLease {
                    key: key.clone(),
                    record,
                    version,
                }));
            }
            let Some(seen) = self.observe_lease(key).await? else {
                continue;
            };
            match &seen.record {
                // Our own create, retried by the client after the response was lost.
                Some(theirs) if theirs.holder == record.holder => {
                    return Ok(LeaseClaim::Acquired(HeldLease {
                        key: key.clone(),
                        record,
                        version: seen.version,
                    }));
                }
                Some(theirs) if !seen.is_stale(now_secs()) => {
                    return Ok(LeaseClaim::HeldBy(theirs.clone()));
                }
                None if !seen.is_stale(now_secs()) => {
                    return Err(RemoteError::Foreign {
                        what: format!("{key}{LEASE_SUFFIX}"),
                        detail: "the object on the remote is not a trtctl lease".into(),
                    });
                }
                _ => {}
            }
            if let Some(version) = self.swap_lease(key, &seen, &record).await? {
                return Ok(LeaseClaim::Acquired(HeldLease {
                    key: key.clone(),
                    record,
                    version,
                }));
            }
        }
        match self.read_lease(key).await? {
            Some(theirs) => Ok(LeaseClaim::HeldBy(theirs)),
            None => Err(RemoteError::Inconsistent {
                what: format!("claiming the lease on {key}"),
                detail: "it changed hands too often to claim".into(),
            }),
        }
    }

    /// Pushes the expiry one lease time from now. `Ok(false)`: the lease was taken over (this holder
    /// stalled past its expiry); the build goes on, but the lease is no longer ours.
    pub async fn renew_lease(&self, lease: &mut HeldLease) -> Result<bool, RemoteError> {
        let Some(seen) = self.observe_lease(&lease.key).await? else {
            return Ok(false);
        };
        if seen.record.as_ref().map(|r| &r.holder) != Some(&lease.record.holder) {
            return Ok(false);
        }
        let mut record = lease.record.clone();
        record.expires_at = now_secs() + self.lease_ttl.as_secs();
        match self.swap_lease(&lease.key, &seen, &record).await? {
            Some(version) => {
                lease.record = record;
                lease.version = version;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Deletes the lease if it is still ours.
    pub async fn release_lease(&self, lease: HeldLease) -> Result<(), RemoteError> {
        let Some(seen) = self.observe_lease(&lease.key).await? else {
            return Ok(());
        };
        if seen.record.as_ref().map(|r| &r.holder) == Some(&lease.record.holder) {
            let location = self.lease_location(&lease.key)?;
            match self.store.delete(&location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    return Err(self.classify(&format!("releasing the lease on {}", lease.key), e));
                }
            }
        }
        Ok(())
    }
}
