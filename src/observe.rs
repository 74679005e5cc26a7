//! Observation: everything the planner needs from the world, gathered before it runs —
//! ONNX digests (cached across runs), the local cache and the remote.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use futures::stream::{StreamExt, TryStreamExt};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::identity::{EngineKey, Fingerprint, GpuArch, Sidecar, SidecarSummary, TrtVersion};
use crate::plan::{
    BuildLease, DesiredEngine, LocalEngines, RemoteEngine, RemoteEngines, RemoteSidecar,
    RemoteState, RemoteTimingCacheState, SharedTimingCache,
};
use crate::store::remote::{
    LeaseRecord, ObjectVersion, Remote, RemoteError, SpanSize, WantedListing, retrying,
    timing_cache_name,
};
use crate::store::{self, Cache, FamilyDir, FileStamp, LocalEngine, StoreError};
use crate::trust::{SignedFacts, TrustPolicy, Untrusted};

mod line_memo;
mod local_index;
mod memo_file;
mod remote_index;
mod summary_fields;

pub use line_memo::IndexCursor;
pub use local_index::LocalIndex;
pub use remote_index::RemoteIndex;

const HASH_CACHE_FILE: &str = ".onnx-hashes.json";

/// A file's digest and the stamp it was read under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Memo {
    stamp: FileStamp,
    sha256: String,
}

/// ONNX digests keyed by path and stamp (size, mtime, ctime, inode): an unchanged file is
/// never hashed twice.
#[derive(Debug, Default)]
pub struct HashCache {
    path: Option<PathBuf>,
    entries: BTreeMap<PathBuf, Memo>,
    dirty: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxDigests {
    pub sha256: BTreeMap<PathBuf, String>,
    /// How many files were actually read this time.
    pub hashed: usize,
}

impl HashCache {
    /// Loads the hash cache kept in the cache dir; a missing or damaged one is simply empty.
    pub fn load(cache_dir: &Path) -> HashCache {
        let path = cache_dir.join(HASH_CACHE_FILE);
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        HashCache {
            path: Some(path),
            entries,
            dirty: false,
        }
    }

    /// sha256 of each file, in parallel, reading only files whose stamp changed.
    pub fn digest(&mut self, files: &[PathBuf]) -> Result<OnnxDigests, StoreError> {
        let unique: BTreeSet<&PathBuf> = files.iter().collect();
        let results: Vec<(PathBuf, Memo, bool)> = unique
            .into_par_iter()
            .map(|path| {
                let stamp = FileStamp::of(path)?;
                if let Some(known) = self.entries.get(path)
                    && known.stamp == stamp
                {
                    return Ok((path.clone(), known.clone(), false));
                }
                let (sha256, _) = store::hash_file(path)?;
                Ok((path.clone(), Memo { stamp, sha256 }, true))
            })
            .collect::<Result<_, StoreError>>()?;
        let mut digests = OnnxDigests {
            sha256: BTreeMap::new(),
            hashed: 0,
        };
        for (path, memo, fresh) in results {
            digests.sha256.insert(path.clone(), memo.sha256.clone());
            if fresh {
                digests.hashed += 1;
                self.dirty = true;
                self.entries.insert(path, memo);
            }
        }
        Ok(digests)
    }

    /// Writes the cache back if anything was hashed. Losing it only costs a re-hash, so a
    /// failure here is not worth failing the command for; the caller decides.
    pub fn save(&self) -> Result<(), StoreError> {
        match &self.path {
            Some(path) if self.dirty => {
                let bytes = serde_json::to_vec(&self.entries).expect("hash cache serializes");
                store::write_atomic(path, &bytes)
            }
            _ => Ok(()),
        }
    }
}

/// What the local sidecar index learns from one wanted engine's lookup.
enum IndexUpdate {
    /// The index knew the sidecar.
    Keep,
    /// The sidecar was read: remembered when it parsed.
    Record(FileStamp),
    /// No engine, or no sidecar.
    Forget,
}

/// Looks up each wanted engine and its sidecar, in parallel. Each is looked up by name in its
/// family directory (no listing of the cache: with 10,000 engines that alone took 40 ms);
/// engines and sidecars that are not regular files (symlinks, directories) count as absent. A
/// sidecar whose stamp `index` knows is not read again, unless the engine is not the wanted
/// one (the index keeps no build inputs to say why); `index` learns the ones that were read.
pub fn observe_local(
    cache: &Cache,
    desired: &[DesiredEngine],
    index: &mut LocalIndex,
) -> LocalEngines {
    let families: HashMap<&str, Option<FamilyDir>> = desired
        .iter()
        .map(|wanted| wanted.key.family.as_str())
        .collect::<HashSet<_>>()
        .into_iter()
        .map(|family| (family, FamilyDir::open(&cache.root().join(family))))
        .collect();
    let memo = &*index;
    // Each thread stats through directories of its own (see `FamilyDir::reopen`), and looks
    // the index up from where its last lookup ended.
    let thread_state = || LookupThread {
        families: families
            .iter()
            .map(|(name, dir)| (*name, dir.as_ref().and_then(FamilyDir::reopen)))
            .collect(),
        cursor: IndexCursor::default(),
    };
    let (found, updates): (Vec<Option<LocalEngine>>, Vec<IndexUpdate>) = desired
        .par_iter()
        .map_init(thread_state, |thread, wanted| {
            let key = &wanted.key;
            let mut found = || {
                let family = thread.families.get(key.family.as_str())?.as_ref()?;
                let size = family.regular_file(&key.file)?.size;
                // An engine without a sidecar is an interrupted write: it does not exist.
                let stamp = family.regular_file(&key.sidecar_file())?;
                let memo = memo
                    .get(key, &stamp, &mut thread.cursor)
                    .filter(|sidecar| sidecar.suffices_for(&wanted.fingerprint));
                if let Some(sidecar) = memo {
                    let sidecar = Ok(sidecar);
                    return Some((LocalEngine { size, sidecar }, IndexUpdate::Keep));
                }
                let sidecar = cache.read_sidecar(key)?.map(SidecarSummary::from);
                Some((LocalEngine { size, sidecar }, IndexUpdate::Record(stamp)))
            };
            match found() {
                Some((engine, update)) => (Some(engine), update),
                None => (None, IndexUpdate::Forget),
            }
        })
        .unzip();
    for ((wanted, found), update) in desired.iter().zip(&found).zip(updates) {
        match (update, found) {
            (IndexUpdate::Keep, _) => {}
            (IndexUpdate::Record(stamp), Some(LocalEngine { sidecar: Ok(s), .. })) => {
                index.record(&wanted.key, stamp, s)
            }
            (IndexUpdate::Record(_) | IndexUpdate::Forget, _) => index.forget(&wanted.key),
        }
    }
    LocalEngines::new(found)
}

/// What one thread of `observe_local` keeps between lookups.
struct LookupThread<'a> {
    families: HashMap<&'a str, Option<FamilyDir>>,
    cursor: IndexCursor,
}

/// What the trust check of the remote needs: the policy, and which engines are usable from the
/// local cache already (their remote copies are not checked: only what may be fetched is).
pub struct TrustCheck<'a> {
    pub policy: &'a TrustPolicy,
    /// Position for position with the desired engines.
    pub local: &'a LocalEngines,
    /// CUDA shows real GPUs here: a local engine built under simulation is no usable copy.
    pub gpu_host: bool,
}

/// A wanted engine the remote listing shows, settled without a request or to be asked about:
/// its sidecar read, or (already `Some` from the index) its signatures checked.
enum Lookup<'a> {
    Settled(RemoteEngine),
    ToAsk(Found<'a>, Option<RemoteSidecar>),
}

/// A wanted engine the remote listing shows.
struct Found<'a> {
    key: &'a EngineKey,
    /// The fingerprint the manifest wants: a remembered sidecar with another one is read again,
    /// for the build inputs that say why it differs (the index keeps none).
    wanted: &'a Fingerprint,
    size: Option<u64>,
    /// The sidecar's version as listed; `None` when the listing shows no sidecar.
    sidecar: Option<&'a ObjectVersion>,
    /// Who signed it, when its signatures are to be checked.
    signers: Option<&'a [String]>,
}

impl Found<'_> {
    /// The sidecar, when it takes no request to know: none listed, or remembered by `index` at
    /// the listed version (and, if valid, enough for the wanted fingerprint).
    fn known_sidecar(
        &self,
        index: &RemoteIndex,
        cursor: &mut IndexCursor,
    ) -> Option<RemoteSidecar> {
        let Some(version) = self.sidecar else {
            return Some(RemoteSidecar::Missing);
        };
        index
            .get(self.key, version, cursor)
            .filter(|known| match known {
                RemoteSidecar::Valid(summary) => summary.suffices_for(self.wanted),
                _ => true,
            })
    }
}

/// Wanted engines per listing span: with an engine and a sidecar each, one LIST page (S3
/// returns up to 1,000 names a page) with room for leases and foreign names, so a family of
/// many pages is listed in one round trip. (Smaller spans came back later, not sooner: 10,000
/// engines in 64 spans of 157 took warm plans 0.134-0.141 s against 0.123-0.132 s in 23 on 2
/// cores, and 0.051-0.071 s against 0.043-0.046 s on 16; 40 spans of 250 took 0.057-0.058 s.)
const ENGINES_PER_SPAN: usize = 450;

/// The names a span's first page has room for beside each wanted engine's object and sidecar:
/// leases, signatures, foreign names. A span with more goes on in further pages.
const KEYS_BESIDE_SPAN: usize = 16;

/// The LIST of each family of `names`, in concurrent spans where it is long: one round trip
/// however many pages. It owns its inputs, so that it can be sent before the local cache is
/// looked at and come back meanwhile.
pub async fn list_wanted(
    remote: Remote,
    names: BTreeMap<String, Vec<String>>,
) -> Result<Vec<(String, WantedListing)>, RemoteError> {
    let remote = &remote;
    let size = SpanSize {
        engines: ENGINES_PER_SPAN,
        keys: 2 * ENGINES_PER_SPAN + KEYS_BESIDE_SPAN,
    };
    futures::future::try_join_all(names.into_iter().map(|(family, names)| async move {
        let listing = remote.list_wanted(&family, names, size).await?;
        Ok((family, listing))
    }))
    .await
}

/// What the remote holds of the wanted engines, given the `listings` of their families: the
/// sidecars of those found, from `index` where the listing shows the version it recorded, by
/// GET otherwise; and, when signatures are required, the signatures of those that may be
/// fetched. Reads run at most `max_in_flight` at once; `index` learns what was read.
pub async fn resolve_remote(
    remote: &Remote,
    desired: &[DesiredEngine],
    listings: &[(String, WantedListing)],
    check: &TrustCheck<'_>,
    index: &mut RemoteIndex,
) -> Result<RemoteState, RemoteError> {
    let families: HashMap<&str, &WantedListing> = listings
        .iter()
        .map(|(family, listing)| (family.as_str(), listing))
        .collect();
    let listing_of = |key: &EngineKey| families.get(key.family.as_str()).copied();
    // What the index holds that the LIST no longer shows is found while the lookups run, not
    // before them: the join waits for the longer of the two, not for their sum.
    let (unlisted, lookups) = rayon::join(
        || {
            index.unlisted(|family, file| {
                (families.get(family)).is_none_or(|listing| listing.shows_sidecar(file))
            })
        },
        || look_up(desired, &listing_of, check, index),
    );
    index.forget_all(&unlisted);
    let mut to_ask = Vec::new();
    let mut leased = Vec::new();
    let mut observed: Vec<Option<RemoteEngine>> = lookups
        .into_iter()
        .enumerate()
        .map(|(position, (lookup, is_leased))| {
            if is_leased {
                leased.push(desired[position].key.clone());
            }
            match lookup? {
                Lookup::Settled(engine) => Some(engine),
                Lookup::ToAsk(found, known) => {
                    to_ask.push((position, found, known));
                    None
                }
            }
        })
        .collect();
    // The futures are made before the stream, so that it holds one concrete type (a closure
    // over borrowed engines there trips the compiler's check that the plan's future is Send).
    let reads: Vec<_> = to_ask
        .into_iter()
        .map(|(position, found, known)| async move {
            let key = found.key;
            let (engine, read_at) = observe_engine(remote, found, known, check.policy).await?;
            Ok::<_, RemoteError>((position, key, engine, read_at))
        })
        .collect();
    let engines: Vec<(usize, &EngineKey, RemoteEngine, Option<ObjectVersion>)> =
        futures::stream::iter(reads)
            .buffer_unordered(remote.max_in_flight())
            .try_collect()
            .await?;
    for (position, key, engine, read_at) in engines {
        if let Some(version) = read_at {
            index.record(key, &version, &engine.sidecar);
        }
        observed[position] = Some(engine);
    }
    let now = crate::sys::now_secs();
    let leases: Vec<_> = futures::stream::iter(leased)
        .map(|key| async move {
            let record = retrying(|| remote.read_lease(&key)).await?;
            Ok::<_, RemoteError>(record.map(|r| (key, build_lease(r, now))))
        })
        .buffer_unordered(remote.max_in_flight())
        .try_collect()
        .await?;
    Ok(RemoteState {
        url: remote.url().to_string(),
        writable: remote.writable(),
        access: remote.access().describe(),
        engines: RemoteEngines::new(observed),
        leases: leases.into_iter().flatten().collect(),
    })
}

/// Each wanted engine in the listing of its family (`listing_of`), position for position: not
/// listed, or settled there with `index` when no request is needed; and whether a lease is on
/// it. Looked up one by one, in parallel: most of a no-op plan's engines are settled so, and
/// skip the stream of requests.
fn look_up<'a>(
    desired: &'a [DesiredEngine],
    listing_of: &(impl Fn(&EngineKey) -> Option<&'a WantedListing> + Sync),
    check: &TrustCheck<'_>,
    index: &RemoteIndex,
) -> Vec<(Option<Lookup<'a>>, bool)> {
    desired
        .par_iter()
        .enumerate()
        .map_init(IndexCursor::default, |cursor, (i, wanted)| {
            let key = &wanted.key;
            let Some(listed) = listing_of(key).and_then(|l| l.get(&key.file)) else {
                return (None, false);
            };
            let (size, sidecar) = (listed.size, listed.sidecar.as_ref());
            if size.is_none() && sidecar.is_none() {
                return (None, listed.leased);
            }
            let signers = (check.policy.required()
                && !crate::plan::local_is_usable(
                    check.local.get(i),
                    wanted,
                    check.policy,
                    check.gpu_host,
                ))
            .then_some(listed.signers.as_slice());
            let found = Found {
                key,
                wanted: &wanted.fingerprint,
                size,
                sidecar,
                signers,
            };
            let lookup = match found.known_sidecar(index, cursor) {
                Some(sidecar) if found.signers.is_none() => Lookup::Settled(RemoteEngine {
                    size,
                    sidecar,
                    trust: None,
                }),
                known => Lookup::ToAsk(found, known),
            };
            (Some(lookup), listed.leased)
        })
        .collect()
}

/// One listed engine: its sidecar (`known` from the index, or read and then `Some` of the
/// version it was read at) and, when asked for, the trusted keys' verdict on it.
async fn observe_engine(
    remote: &Remote,
    found: Found<'_>,
    known: Option<RemoteSidecar>,
    policy: &TrustPolicy,
) -> Result<(RemoteEngine, Option<ObjectVersion>), RemoteError> {
    let key = found.key;
    let (sidecar, read_at) = match known {
        Some(known) => (known, None),
        None => (
            read_listed_sidecar(remote, key).await?,
            found.sidecar.cloned(),
        ),
    };
    let trust = match found.signers {
        Some(signers) => Some(verify(remote, key, &sidecar, signers, policy).await?),
        None => None,
    };
    let engine = RemoteEngine {
        size: found.size,
        sidecar,
        trust,
    };
    Ok((engine, read_at))
}

/// A sidecar the LIST just showed. Absent on the GET is an inconsistency (a server that lost
/// track under load, or a writer racing us), asked again after a pause; if it stays absent the
/// plan fails rather than calling the engine legacy.
async fn read_listed_sidecar(
    remote: &Remote,
    key: &EngineKey,
) -> Result<RemoteSidecar, RemoteError> {
    let bytes = retrying(|| async {
        remote
            .read_sidecar(key)
            .await?
            .ok_or_else(|| RemoteError::Inconsistent {
                what: format!("reading {}", key.sidecar_path()),
                detail: "the listing shows the sidecar but reading it finds none".into(),
            })
    })
    .await?;
    Ok(match Sidecar::parse_for(&bytes, key) {
        Ok(s) => RemoteSidecar::Valid(s.into()),
        Err(e) => RemoteSidecar::Invalid(e.to_string()),
    })
}

fn build_lease(record: LeaseRecord, now: u64) -> BuildLease {
    BuildLease {
        expired: record.is_stale(now),
        holder_gone: record.holder_is_gone(),
        host: record.host,
        pid: record.pid,
        started_at: record.started_at,
        expires_at: record.expires_at,
    }
}

/// The remote's shared timing cache of each of `archs` for TensorRT `trt`: size, age, writer.
pub async fn observe_timing_caches(
    remote: &Remote,
    targets: &[(GpuArch, Option<String>)],
    trt: TrtVersion,
) -> Result<Vec<SharedTimingCache>, RemoteError> {
    let now = crate::sys::now_secs();
    let mut listed = retrying(|| remote.list_timing_caches()).await?;
    Ok(targets
        .iter()
        .map(|(arch, gpu_model)| {
            let name = timing_cache_name(*arch, gpu_model.as_deref(), trt);
            SharedTimingCache {
                arch: *arch,
                gpu_model: gpu_model.clone(),
                remote: listed.remove(&name).map(|stat| RemoteTimingCacheState {
                    size: stat.size,
                    age_secs: now.saturating_sub(stat.modified),
                }),
                name,
            }
        })
        .collect())
}

/// The verdict of the trusted keys on one remote engine: the signer's name, or why none.
/// Only the records of trusted names are read; the listing already named every signer.
async fn verify(
    remote: &Remote,
    key: &EngineKey,
    sidecar: &RemoteSidecar,
    signers: &[String],
    policy: &TrustPolicy,
) -> Result<Result<String, Untrusted>, RemoteError> {
    let RemoteSidecar::Valid(sidecar) = sidecar else {
        return Ok(policy
            .verify(None, &[], signers)
            .map(|v| v.signer.name().to_string()));
    };
    let facts = SignedFacts::of_summary(key, sidecar);
    let trusted: Vec<String> = signers
        .iter()
        .filter(|n| policy.trusts_name(n))
        .cloned()
        .collect();
    let records = match trusted.is_empty() {
        true => Vec::new(),
        false => retrying(|| remote.read_signatures(key, &trusted)).await?,
    };
    Ok(policy
        .verify(facts.as_ref(), &records, signers)
        .map(|v| v.signer.name().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_files_are_not_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let onnx = dir.path().join("a.onnx");
        std::fs::write(&onnx, b"abc").unwrap();
        let files = vec![onnx.clone(), onnx.clone()];
        let mut cache = HashCache::load(dir.path());
        let first = cache.digest(&files).unwrap();
        assert_eq!(first.hashed, 1);
        assert_eq!(
            first.sha256[&onnx],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        cache.save().unwrap();
        let mut again = HashCache::load(dir.path());
        let second = again.digest(&files).unwrap();
        assert_eq!(second.hashed, 0);
        assert_eq!(second.sha256, first.sha256);
        std::fs::write(&onnx, b"abd").unwrap();
        let third = HashCache::load(dir.path()).digest(&files).unwrap();
        assert_eq!(third.hashed, 1);
        assert_ne!(third.sha256, first.sha256);
    }

    #[test]
    fn a_rewrite_that_keeps_size_and_mtime_is_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let onnx = dir.path().join("a.onnx");
        std::fs::write(&onnx, b"abc").unwrap();
        let mtime = std::fs::metadata(&onnx).unwrap().modified().unwrap();
        let files = vec![onnx.clone()];
        let mut cache = HashCache::load(dir.path());
        let first = cache.digest(&files).unwrap();
        // Past the kernel's timestamp granularity, so the ctime of the rewrite differs.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let file = std::fs::OpenOptions::new().write(true).open(&onnx).unwrap();
        std::io::Write::write_all(&mut &file, b"abd").unwrap();
        file.set_times(std::fs::FileTimes::new().set_modified(mtime))
            .unwrap();
        let again = cache.digest(&files).unwrap();
        assert_eq!(again.hashed, 1, "same size, mtime and inode, new ctime");
        assert_ne!(again.sha256, first.sha256);
    }
}
