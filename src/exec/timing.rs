//! Timing caches in the executor: one local cache per GPU arch and TensorRT version, shared with
//! the fleet through the remote.
//!
//! Before the first build of an arch, the remote's cache replaces the local one when it is
//! verified and larger. After the last build of that arch, a local cache that changed is
//! published with a compare-and-swap on the version this run started from. On a conflict the
//! remote is read again and the rule is: **the larger cache wins** (trtexec cannot merge two
//! caches, and a cache only grows as it times more layers). A remote cache at least as large
//! as ours stays; ours is written over a smaller one, again conditionally.
//!
//! None of this can fail a build: a remote that cannot be used is reported and the builds go
//! on with the local cache, and a cache trtexec fails with is set aside and the build retried
//! once without it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::error::ExecError;
use super::events::{Event, TimingOutcome, TimingTally};
use super::run::Run;
use super::timing_state::Start;
use crate::builder::{BuildError, BuildJob, Builder, Built};
use crate::identity::sha256_hex;
use crate::plan::DesiredEngine;
use crate::store::remote::{Remote, RemoteTimingCache, TimingWrite, retrying};
use crate::store::{self, REJECTED_TIMING_CACHE, TIMING_DIR};
use crate::sys::now_secs;

/// Compare-and-swap attempts before a builder leaves the remote cache to the others.
const MAX_CONFLICTS: u32 = 3;

/// Where the timing cache named `name` lives in the local cache.
pub fn timing_cache_file(cache_root: &Path, name: &str) -> PathBuf {
    cache_root.join(TIMING_DIR).join(name)
}

impl Run<'_> {
    /// Whether a remote cache's timings may be used here: never those of builds under
    /// simulation on a host with GPUs, whose trtexec measures real ones.
    fn usable_here(&self, theirs: &RemoteTimingCache) -> bool {
        !(theirs.is_simulated() && self.exec.gpus.on_gpu_host())
    }

    /// The remote to share timing caches through, if sharing is on.
    fn timing_remote(&self) -> Option<&Remote> {
        let exec = self.exec;
        (exec.timing_cache && exec.shared_timing_cache)
            .then_some(exec.remote)
            .flatten()
    }

    fn timing_event(&self, cache: &str, outcome: TimingOutcome) {
        self.tally_timing(&outcome);
        self.exec.reporter.event(&Event::TimingCache {
            cache,
            outcome: &outcome,
        });
    }

    fn tally_timing(&self, outcome: &TimingOutcome) {
        let mut tally = self.timing_tally.lock().expect("timing tally");
        match outcome {
            TimingOutcome::Fetched { bytes } => {
                tally.fetched += 1;
                tally.bytes_fetched += bytes;
            }
            TimingOutcome::Uploaded { bytes, conflicts } => {
                tally.uploaded += 1;
                tally.conflicts += *conflicts as usize;
                tally.bytes_uploaded += bytes;
            }
            TimingOutcome::KeptRemote { conflicts, .. } => tally.conflicts += *conflicts as usize,
            TimingOutcome::Rejected { .. } => tally.rejected += 1,
            TimingOutcome::Unverified
            | TimingOutcome::Simulated
            | TimingOutcome::Unavailable { .. } => {}
        }
    }

    pub(super) fn timing_tally(&self) -> TimingTally {
        self.timing_tally.lock().expect("timing tally").clone()
    }

    /// Before a build: the arch's cache is fetched from the remote once, by the first build.
    pub(super) async fn prepare_timing_cache(&self, path: &Path, name: &str) {
        let (Some(remote), Some(shared)) = (self.timing_remote(), self.timing.caches.get(name))
        else {
            return;
        };
        shared
            .start
            .get_or_init(|| async {
                match self.fetch_timing_cache(remote, name, path).await {
                    Ok((start, outcome)) => {
                        if let Some(outcome) = outcome {
                            shared.fetched.store(
                                matches!(outcome, TimingOutcome::Fetched { .. }),
                                Ordering::SeqCst,
                            );
                            self.timing_event(name, outcome);
                        }
                        Some(start)
                    }
                    Err(e) => {
                        self.timing_event(name, unavailable(e));
                        None
                    }
                }
            })
            .await;
        if shared.fetched.load(Ordering::SeqCst) {
            self.timing_tally.lock().expect("timing tally").warm_builds += 1;
        }
    }

    async fn fetch_timing_cache(
        &self,
        remote: &Remote,
        name: &str,
        path: &Path,
    ) -> Result<(Start, Option<TimingOutcome>), ExecError> {
        let theirs = retrying(|| remote.read_timing_cache(name)).await?;
        let ours = read_local(path)?;
        let Some(theirs) = theirs else {
            let start = Start {
                remote: None,
                local_sha256: ours.map(|b| sha256_hex(&b)),
            };
            return Ok((start, None));
        };
        let outcome = if !theirs.is_verified() {
            Some(TimingOutcome::Unverified)
        } else if !self.usable_here(&theirs) {
            Some(TimingOutcome::Simulated)
        } else if theirs.bytes.len() > ours.as_ref().map_or(0, Bytes::len) {
            write_local(path, &theirs.bytes)?;
            Some(TimingOutcome::Fetched {
                bytes: theirs.bytes.len() as u64,
            })
        } else {
            None
        };
        let local_sha256 = match outcome {
            Some(TimingOutcome::Fetched { .. }) => Some(sha256_hex(&theirs.bytes)),
            _ => ours.map(|b| sha256_hex(&b)),
        };
        let start = Start {
            remote: Some(theirs.version),
            local_sha256,
        };
        Ok((start, outcome))
    }

    /// After a build step of `arch`, whatever its outcome: the last one publishes the cache.
    pub(super) async fn after_timing_build(&self, engine: &DesiredEngine) {
        let id = &engine.id;
        let Some(name) = self
            .gpu_pool
            .timing_cache_name(&id.target(), id.trt_version)
        else {
            return;
        };
        let Some(shared) = self.timing.caches.get(&name) else {
            return;
        };
        if shared.builds_left.fetch_sub(1, Ordering::SeqCst) != 1 || self.exec.stop.is_cancelled() {
            return;
        }
        let (Some(remote), Some(Some(start))) = (self.timing_remote(), shared.start.get()) else {
            return;
        };
        if !remote.writable() || !self.timing.publish {
            return;
        }
        let path = timing_cache_file(self.exec.cache.root(), &name);
        match self.publish_timing_cache(remote, &name, &path, start).await {
            Ok(Some(outcome)) => self.timing_event(&name, outcome),
            Ok(None) => {}
            Err(e) => self.timing_event(&name, unavailable(e)),
        }
    }

    /// Publishes the local cache if it changed since `start`, by the rule in the module docs.
    async fn publish_timing_cache(
        &self,
        remote: &Remote,
        name: &str,
        path: &Path,
        start: &Start,
    ) -> Result<Option<TimingOutcome>, ExecError> {
        let Some(ours) = read_local(path)? else {
            return Ok(None);
        };
        if ours.is_empty() || start.local_sha256.as_deref() == Some(&sha256_hex(&ours)) {
            return Ok(None);
        }
        let mut expected = start.remote.clone();
        let mut conflicts = 0;
        let simulated = self.exec.gpus.builds_simulated();
        loop {
            let write = retrying(|| {
                remote.write_timing_cache(name, ours.clone(), expected.as_ref(), simulated)
            })
            .await?;
            if let TimingWrite::Written { .. } = write {
                return Ok(Some(TimingOutcome::Uploaded {
                    bytes: ours.len() as u64,
                    conflicts,
                }));
            }
            conflicts += 1;
            match settled_remote_cache(remote, name).await? {
                Some(theirs)
                    if (self.usable_here(&theirs) && keeps_theirs(&theirs, &ours))
                        || conflicts >= MAX_CONFLICTS =>
                {
                    return Ok(Some(TimingOutcome::KeptRemote {
                        conflicts,
                        remote_bytes: theirs.bytes.len() as u64,
                        local_bytes: ours.len() as u64,
                    }));
                }
                Some(theirs) => expected = Some(theirs.version),
                None => expected = None,
            }
        }
    }

    /// Runs a build; when trtexec fails while given a non-empty timing cache, the cache is set
    /// aside and the build retried once without it. A retry that fails too puts the cache back
    /// (it was not the cache) and reports the retry's failure.
    pub(super) async fn build_with_timing_fallback(
        &self,
        builder: &dyn Builder,
        job: &BuildJob,
        file: &str,
    ) -> Result<Built, ExecError> {
        let cache = job
            .timing_cache
            .as_ref()
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0));
        let first = builder.build(job).await;
        let (Some(cache), Err(BuildError::Failed { .. })) = (cache, &first) else {
            return Ok(first?);
        };
        let set_aside = cache.with_file_name(format!(
            "{}{REJECTED_TIMING_CACHE}{}",
            cache.file_name().unwrap_or_default().to_string_lossy(),
            now_secs()
        ));
        rename(cache, &set_aside)?;
        match builder.build(job).await {
            Ok(built) => {
                let name = cache.file_name().unwrap_or_default().to_string_lossy();
                self.timing_event(
                    &name,
                    TimingOutcome::Rejected {
                        file: file.to_string(),
                        set_aside,
                    },
                );
                Ok(built)
            }
            Err(e) => {
                if !cache.exists() {
                    rename(&set_aside, cache)?;
                }
                Err(e.into())
            }
        }
    }
}

/// Reads of the remote cache after a refused write: a writer puts the cache, then its metadata,
/// so a cache that does not match its metadata may be one mid-write. Read again a few times
/// before treating it as damaged (and so replaceable).
const SETTLE_READS: u32 = 5;
const SETTLE_PAUSE: std::time::Duration = std::time::Duration::from_millis(200);

async fn settled_remote_cache(
    remote: &Remote,
    name: &str,
) -> Result<Option<RemoteTimingCache>, ExecError> {
    let mut read = 1;
    loop {
        let theirs = retrying(|| remote.read_timing_cache(name)).await?;
        match theirs {
            Some(cache) if !cache.is_verified() && read < SETTLE_READS => {
                read += 1;
                tokio::time::sleep(SETTLE_PAUSE).await;
            }
            settled => return Ok(settled),
        }
    }
}

/// The larger cache wins; an unverified remote cache is replaced.
fn keeps_theirs(theirs: &RemoteTimingCache, ours: &[u8]) -> bool {
    theirs.is_verified() && theirs.bytes.len() >= ours.len()
}

fn unavailable(reason: ExecError) -> TimingOutcome {
    TimingOutcome::Unavailable {
        reason: Arc::new(reason),
    }
}

fn read_local(path: &Path) -> Result<Option<Bytes>, ExecError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(Bytes::from(bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ExecError::io(path)(e)),
    }
}

fn write_local(path: &Path, bytes: &[u8]) -> Result<(), ExecError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(ExecError::io(dir))?;
    }
    Ok(store::write_atomic(path, bytes)?)
}

fn rename(from: &Path, to: &Path) -> Result<(), ExecError> {
    std::fs::rename(from, to).map_err(ExecError::io(from))
}
