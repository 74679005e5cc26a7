//! Installing the engines a lock pins: from the remote into the local cache, verified against
//! the lock's sha256 and size (the lock wins over whatever sidecar the remote holds), never
//! built, never uploaded.

use futures::{FutureExt, StreamExt};

use super::LockedEngine;
use crate::identity::{EngineKey, PlanHeader, PlanMismatch, Sidecar, SidecarError};
use crate::store::remote::{Remote, RemoteError, retrying};
use crate::store::{self, Cache, StoreError};

/// What happened to one pinned engine that is now in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Fetched {
    /// The cache already held exactly the pinned bytes.
    Cached,
    Downloaded {
        bytes: u64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "{key} is not on the remote; rebuild and upload it on CI (`trtctl apply`), or lock what the remote holds (`trtctl lock`)"
    )]
    NotOnRemote { key: EngineKey },
    #[error("{key}: the remote sidecar is unusable ({source}); re-upload the engine from CI")]
    BadSidecar {
        key: EngineKey,
        source: SidecarError,
    },
    #[error(
        "{key}: the remote holds other bytes than the lock pins (remote sidecar: sha256 {remote_sha256}, {remote_size} bytes; lock: sha256 {lock_sha256}, {lock_size} bytes); nothing was cached. Restore the pinned engine on the remote, or run `trtctl lock` on CI to pin what is there now"
    )]
    SidecarDiffers {
        key: EngineKey,
        remote_sha256: String,
        remote_size: u64,
        lock_sha256: String,
        lock_size: u64,
    },
    #[error(
        "{key}: the downloaded bytes are not the pinned ones (sha256 {got_sha256}, {got_size} bytes; lock: sha256 {lock_sha256}, {lock_size} bytes); nothing was cached. The remote engine was replaced: restore it, or lock again on CI"
    )]
    BytesDiffer {
        key: EngineKey,
        got_sha256: String,
        got_size: u64,
        lock_sha256: String,
        lock_size: u64,
    },
    #[error(
        "{key}: the remote engine was built under simulation, without a GPU (by a test or a GPU-less CI job): no engine this host's GPUs can run; nothing was cached. Build it on a GPU builder of its arch (`trtctl apply`), then `trtctl lock` again"
    )]
    Simulated { key: EngineKey },
    #[error(
        "{key}: {source}; nothing was cached. Rebuild it on CI with the TensorRT it is named for, then `trtctl lock` again"
    )]
    Plan {
        key: EngineKey,
        source: PlanMismatch,
    },
    #[error("{key}: {source}")]
    Refit {
        key: EngineKey,
        source: super::refit::RefitError,
    },
    #[error("{key}: {source}")]
    Remote { key: EngineKey, source: RemoteError },
    #[error("{key}: {source}")]
    Store { key: EngineKey, source: StoreError },
}

/// Fetches every engine of `engines`, `jobs` at a time; one result per engine, in order. On a
/// GPU host (`gpu_host`), an engine built under simulation is refused.
pub async fn fetch_pinned(
    cache: &Cache,
    remote: &Remote,
    engines: &[LockedEngine],
    jobs: usize,
    gpu_host: bool,
) -> Vec<Result<Fetched, FetchError>> {
    // The futures are made first and boxed, so no closure sits in the stream's type: the
    // compiler can then prove the whole fetch Send, which the Python binding needs to run it
    // with the GIL released.
    // Refits of stripped plans take this host's GPU one at a time.
    let gpu = tokio::sync::Mutex::new(());
    let fetches: Vec<_> = engines
        .iter()
        .map(|engine| fetch_one(cache, remote, engine, gpu_host, &gpu).boxed())
        .collect();
    futures::stream::iter(fetches)
        .buffered(jobs.max(1))
        .collect()
        .await
}

/// Whether the cache holds exactly the pinned bytes (hashed, not taken from the sidecar's word),
/// and bytes this host may use.
fn cached_exactly(cache: &Cache, engine: &LockedEngine, gpu_host: bool) -> bool {
    if engine.refit.is_some() {
        return super::refit::refitted_exactly(cache, engine);
    }
    let sidecar_agrees = matches!(
        cache.read_sidecar(&engine.key),
        Some(Ok(s)) if s.engine_sha256 == engine.sha256 && s.engine_size == engine.size
            && !(gpu_host && s.provenance.simulated)
    );
    sidecar_agrees
        && store::hash_file(&cache.engine_path(&engine.key))
            .is_ok_and(|(sha256, size)| sha256 == engine.sha256 && size == engine.size)
}

async fn fetch_one(
    cache: &Cache,
    remote: &Remote,
    engine: &LockedEngine,
    gpu_host: bool,
    gpu: &tokio::sync::Mutex<()>,
) -> Result<Fetched, FetchError> {
    let key = &engine.key;
    let refit_err = |source| FetchError::Refit {
        key: key.clone(),
        source,
    };
    let store_err = |source| FetchError::Store {
        key: key.clone(),
        source,
    };
    let remote_err = |source| FetchError::Remote {
        key: key.clone(),
        source,
    };
    // Another trtctl on this host (a second init container) fetches each engine once.
    let _lock = blocking(cache, engine, |cache, engine| cache.lock(&engine.key))
        .await
        .map_err(store_err)?;
    if blocking(cache, engine, move |cache, engine| {
        cached_exactly(cache, engine, gpu_host)
    })
    .await
    {
        return Ok(Fetched::Cached);
    }
    let onnx = match &engine.refit {
        Some(refit) => Some(refit.checked_onnx().map_err(refit_err)?),
        None => None,
    };
    let sidecar = remote_sidecar(remote, engine).await?;
    if gpu_host && sidecar.provenance.simulated {
        return Err(FetchError::Simulated { key: key.clone() });
    }
    let temp = cache.temp_engine(key).map_err(store_err)?;
    // Each attempt reopens the temp file; `fetch_engine` truncates it before writing.
    let (sha256, size) = retrying(|| async {
        let io_err = |source| RemoteError::Io {
            path: temp.path().to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::from_std(temp.reopen().map_err(io_err)?);
        let digest = remote.fetch_engine(key, &mut file, &|_| {}).await?;
        file.sync_all().await.map_err(io_err)?;
        Ok(digest)
    })
    .await
    .map_err(|source| match source {
        // The sidecar is there and the engine is not: as much not on the remote as no sidecar.
        RemoteError::EngineGone { .. } => FetchError::NotOnRemote { key: key.clone() },
        source => remote_err(source),
    })?;
    if sha256 != engine.sha256 || size != engine.size {
        return Err(FetchError::BytesDiffer {
            key: key.clone(),
            got_sha256: sha256,
            got_size: size,
            lock_sha256: engine.sha256.clone(),
            lock_size: engine.size,
        });
    }
    let mut sidecar = sidecar;
    sidecar.provenance.trt_build = PlanHeader::check_file(
        temp.path(),
        engine.id.trt_version,
        sidecar.provenance.trt_build,
    )
    .map_err(|source| {
        store_err(StoreError::Io {
            path: temp.path().to_path_buf(),
            source,
        })
    })?
    .map_err(|source| FetchError::Plan {
        key: key.clone(),
        source,
    })?;
    if let Some(onnx) = onnx {
        super::refit::refit_fetched(cache, engine, onnx, temp, sidecar, gpu)
            .await
            .map_err(refit_err)?;
        return Ok(Fetched::Downloaded { bytes: size });
    }
    blocking(cache, engine, move |cache, engine| {
        cache.commit(&engine.key, temp, &sidecar)
    })
    .await
    .map_err(store_err)?;
    Ok(Fetched::Downloaded { bytes: size })
}

/// Runs file-system work (locking, hashing, the commit's fsyncs) off the async workers.
async fn blocking<T: Send + 'static>(
    cache: &Cache,
    engine: &LockedEngine,
    work: impl FnOnce(&Cache, &LockedEngine) -> T + Send + 'static,
) -> T {
    let (cache, engine) = (cache.clone(), engine.clone());
    crate::task::joined(tokio::task::spawn_blocking(move || work(&cache, &engine)).await)
}

/// The remote's sidecar, which must describe the pinned engine: it is what the cache keeps
/// beside it. A sidecar that disagrees with the lock is refused before any byte is fetched.
async fn remote_sidecar(remote: &Remote, engine: &LockedEngine) -> Result<Sidecar, FetchError> {
    let key = &engine.key;
    let bytes = retrying(|| remote.read_sidecar(key))
        .await
        .map_err(|source| FetchError::Remote {
            key: key.clone(),
            source,
        })?
        .ok_or_else(|| FetchError::NotOnRemote { key: key.clone() })?;
    let sidecar = Sidecar::parse_for(&bytes, key).map_err(|source| FetchError::BadSidecar {
        key: key.clone(),
        source,
    })?;
    // A refittable plan pinned for other weights of its graph is described by its plan identity.
    let plan_agrees = |refit: &super::LockedRefit| {
        (sidecar.weights.as_ref()).is_some_and(|w| w.plan_fingerprint == refit.plan_fingerprint)
    };
    let agrees = sidecar.engine_sha256 == engine.sha256
        && sidecar.engine_size == engine.size
        && (sidecar.fingerprint.as_ref() == Some(&engine.fingerprint)
            || engine.refit.as_ref().is_some_and(plan_agrees));
    if !agrees {
        return Err(FetchError::SidecarDiffers {
            key: key.clone(),
            remote_sha256: sidecar.engine_sha256,
            remote_size: sidecar.engine_size,
            lock_sha256: engine.sha256.clone(),
            lock_size: engine.size,
        });
    }
    Ok(sidecar)
}
