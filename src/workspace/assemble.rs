//! A manifest with everything around it resolved: the cache dir, the remote, GPUs, TensorRT.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;

use super::Environment;
use super::backend::local_trt;
use super::env::TRUSTED_KEYS_ENV;
use crate::gpu::{self, GpuInventory, TrtFact, TrtSource};
use crate::lock::LockError;
use crate::manifest::{Manifest, ManifestError, TrtPin, TrustSettings};
use crate::plan;
use crate::store::remote::{Remote, RemoteEnv, RemoteError, RemoteSettings};
use crate::store::{self, Cache, StoreError};
use crate::trust::{KeyError, PublicKey, SecretKey, TrustPolicy};

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("remote {url}: {source}")]
    Remote { url: String, source: RemoteError },
    #[error("{}: `trt_version = \"auto\"` needs a local TensorRT: {source}", manifest.display())]
    TrtVersion {
        manifest: PathBuf,
        source: gpu::TrtDetectError,
    },
    #[error(transparent)]
    Selector(#[from] plan::UnmatchedSelector),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot read the graph of {} (`weights` is not \"embedded\"): {source}", path.display())]
    OnnxGraph {
        path: PathBuf,
        source: crate::onnx::OnnxError,
    },
}

pub struct Workspace {
    pub manifest: Manifest,
    pub cache: Cache,
    pub remote: Option<Remote>,
    pub gpus: GpuInventory,
    pub trt: TrtFact,
    pub trust: TrustPolicy,
    /// Signs what this machine publishes.
    pub signer: Option<SecretKey>,
    /// The Python the environment names for the python builder backend ([`Environment::python`]).
    pub python: Option<PathBuf>,
    /// ONNX files read to hash them (the rest came from the hash cache), for `-v`.
    pub onnx_hashed: AtomicUsize,
}

/// Where an `s3://` remote is kept when nothing points at S3 (see
/// [`RemoteEnv::points_at_s3`]): a directory beside the cache, so a fresh checkout can plan and
/// apply the example without any account. Refused when `[remote] embedded = false` or
/// `TRTCTL_REMOTE_EMBEDDED=false`, so a misconfigured CI builder fails instead.
fn embedded_remote(
    settings: &RemoteSettings,
    env: &RemoteEnv,
    cache_dir: &Path,
) -> Result<Option<RemoteSettings>, RemoteError> {
    let Some(bucket_and_prefix) = settings.url.strip_prefix("s3://") else {
        return Ok(None);
    };
    if settings.endpoint.is_some() || settings.region.is_some() || env.points_at_s3() {
        return Ok(None);
    }
    if !env.embedded_allowed(settings.embedded)? {
        return Err(RemoteError::NothingConfigured {
            url: settings.url.clone(),
        });
    }
    let base = cache_dir.parent().unwrap_or(cache_dir).join("remote");
    Ok(Some(RemoteSettings {
        url: format!("file://{}", base.join(bucket_and_prefix).display()),
        ..settings.clone()
    }))
}

fn open_remote(
    settings: &RemoteSettings,
    env: &RemoteEnv,
    cache_dir: &Path,
) -> Result<Remote, RemoteError> {
    match embedded_remote(settings, env, cache_dir)? {
        Some(stand_in) => Ok(Remote::open(&stand_in, env)?.as_stand_in_for(&settings.url)),
        None => Remote::open(settings, env),
    }
}

/// The manifest's trusted keys and the environment's together.
pub fn trust_policy(settings: &TrustSettings, env: &Environment) -> Result<TrustPolicy, KeyError> {
    let from_env = env
        .trusted_keys
        .iter()
        .flat_map(|keys| keys.split([' ', ',', '\n', '\t']))
        .filter(|k| !k.is_empty())
        .map(|k| PublicKey::parse(k, TRUSTED_KEYS_ENV));
    let keys = settings
        .keys
        .iter()
        .cloned()
        .map(Ok)
        .chain(from_env)
        .collect::<Result<Vec<_>, _>>()?;
    TrustPolicy::new(keys, settings.require_signatures)
}

/// The environment's signing key file wins over the manifest's.
fn signer(settings: &TrustSettings, env: &Environment) -> Result<Option<SecretKey>, KeyError> {
    env.signing_key_file
        .as_deref()
        .or(settings.signing_key_file.as_deref())
        .map(SecretKey::load)
        .transpose()
}

/// The TensorRT version the manifest builds for: its pin, or the local TensorRT's (that of the
/// backend that builds here).
pub fn resolve_trt(manifest: &Manifest, env: &Environment) -> Result<TrtFact, WorkspaceError> {
    match &manifest.trt_version {
        TrtPin::Pinned(version) => {
            return Ok(TrtFact {
                version: *version,
                source: TrtSource::Pinned,
            });
        }
        TrtPin::Resolved(fact) => return Ok(fact.clone()),
        TrtPin::Auto => {}
    }
    local_trt(&manifest.builder, env).map_err(|source| WorkspaceError::TrtVersion {
        manifest: manifest.path.clone(),
        source,
    })
}

/// The local cache and the remote the manifest names, with the environment's overrides.
pub(super) fn resolve_storage(
    manifest: &Manifest,
    env: &Environment,
) -> Result<(Cache, Option<Remote>), WorkspaceError> {
    let cache_dir = store::resolve_cache_dir(
        env.cache_dir.clone(),
        manifest.cache_dir.as_deref(),
        env.home.clone(),
    )?;
    let remote = match &manifest.remote {
        Some(settings) => Some(open_remote(settings, &env.remote, &cache_dir).map_err(
            |source| WorkspaceError::Remote {
                url: settings.url.clone(),
                source,
            },
        )?),
        None => None,
    };
    Ok((Cache::new(cache_dir), remote))
}

impl Workspace {
    pub fn open(manifest_path: &Path, env: &Environment) -> Result<Workspace, WorkspaceError> {
        let manifest = Manifest::load(manifest_path)?;
        Workspace::assemble(manifest, env, env.gpus())
    }

    /// Resolves the cache dir, the remote and TensorRT around an already validated manifest.
    pub fn assemble(
        manifest: Manifest,
        env: &Environment,
        gpus: GpuInventory,
    ) -> Result<Workspace, WorkspaceError> {
        let (cache, remote) = resolve_storage(&manifest, env)?;
        let trt = resolve_trt(&manifest, env)?;
        let trust = trust_policy(&manifest.trust, env)?;
        let signer = signer(&manifest.trust, env)?;
        Ok(Workspace {
            manifest,
            cache,
            remote,
            gpus,
            trt,
            trust,
            signer,
            python: env.python.clone(),
            onnx_hashed: AtomicUsize::new(0),
        })
    }
}
