//! `trtctl gpus` / `trtctl doctor`: what this machine can build and reach.

use serde::Serialize;

use crate::gpu::{self, GpuInventory, GpuSource, TrtFact};
use crate::manifest::{BuilderSettings, Manifest};
use crate::report::human_bytes;
use crate::store::remote::{Access, CredentialSource, Remote, RemoteError};
use crate::store::{self, Cache};
use crate::workspace::{Deployment, Environment, choose_backend, local_trt, resolve_trt};

use super::args::{GlobalArgs, GpusArgs};
use super::setup::runtime;

#[derive(Serialize)]
struct Doctor {
    gpus: GpuInventory,
    tensorrt: Option<TrtFact>,
    /// Why no TensorRT version is known, when none is.
    tensorrt_error: Option<String>,
    trtexec: Option<TrtexecFact>,
    builder: BuilderFact,
    cache_dir: Option<String>,
    cache_engines: usize,
    cache_bytes: u64,
    remote: Option<RemoteFact>,
}

#[derive(Serialize)]
struct TrtexecFact {
    path: String,
    version: Option<String>,
    error: Option<String>,
}

/// Which backend builds here and why, or why none can.
#[derive(Serialize)]
struct BuilderFact {
    backend: Option<&'static str>,
    /// trtexec, or the Python interpreter.
    path: Option<String>,
    why: Option<String>,
    error: Option<String>,
}

#[derive(Serialize)]
struct RemoteFact {
    url: String,
    /// Whether any credential source was found; never the credentials.
    credentials: bool,
    /// Where the credentials come from, the region and the endpoint (or the stand-in).
    access: Option<String>,
    writable: bool,
    reachable: bool,
    error: Option<String>,
    /// The error is that the endpoint did not answer (not a refusal, a missing bucket or a
    /// credential source that failed before any request).
    #[serde(skip)]
    no_answer: bool,
}

/// `Ok` and `Err` as two optional JSON fields.
fn split<T, E: ToString>(result: Result<T, E>) -> (Option<T>, Option<String>) {
    match result {
        Ok(value) => (Some(value), None),
        Err(e) => (None, Some(e.to_string())),
    }
}

/// What the manifest says where it can be read as a deploy host reads it (its ONNX files need
/// not be here): the cache, the remote and the TensorRT pin are there either way.
fn gather(global: &GlobalArgs, env: &Environment) -> Doctor {
    let (manifest, manifest_error) = match global
        .manifest
        .exists()
        .then(|| Manifest::load_without_onnx(&global.manifest))
    {
        Some(Ok(manifest)) => (Some(manifest), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    let settings = (manifest.as_ref())
        .map(|m| m.builder.clone())
        .unwrap_or_default();
    let builder = match choose_backend(&settings, env.python.as_deref()) {
        Ok(choice) => BuilderFact {
            backend: Some(choice.backend().as_str()),
            path: Some(choice.program().display().to_string()),
            why: Some(choice.why),
            error: None,
        },
        Err(e) => BuilderFact {
            backend: None,
            path: None,
            why: None,
            error: Some(e.to_string()),
        },
    };
    let trtexec = gpu::find_trtexec(settings.trtexec.as_deref()).map(|path| {
        let (version, error) = split(gpu::trtexec_version(&path).map(|v| v.to_string()));
        TrtexecFact {
            path: path.display().to_string(),
            version,
            error,
        }
    });
    let (tensorrt, tensorrt_error) = match (&manifest, manifest_error) {
        (Some(manifest), _) => split(resolve_trt(manifest, env)),
        (None, Some(error)) => (None, Some(error)),
        (None, None) => split(local_trt(&BuilderSettings::default(), env)),
    };
    let remote_url = manifest
        .as_ref()
        .and_then(|m| m.remote.as_ref())
        .map(|r| r.url.clone());
    let (deployment, storage_error) = match manifest.map(|m| Deployment::with_manifest(m, env)) {
        Some(Ok(deployment)) => (Some(deployment), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    let cache = deployment.as_ref().map(|d| d.cache.clone()).or_else(|| {
        store::resolve_cache_dir(env.cache_dir.clone(), None, env.home.clone())
            .ok()
            .map(Cache::new)
    });
    let inventory = cache
        .as_ref()
        .and_then(|c| c.inventory().ok())
        .unwrap_or_default();
    let remote = match (&deployment, storage_error, remote_url) {
        (Some(deployment), _, _) => deployment
            .remote
            .as_ref()
            .and_then(|remote| probe_remote(remote, &deployment.manifest)),
        (None, Some(error), Some(url)) => Some(RemoteFact {
            url,
            credentials: false,
            access: None,
            writable: false,
            reachable: false,
            error: Some(error),
            no_answer: false,
        }),
        _ => None,
    };
    Doctor {
        gpus: env.gpus(),
        tensorrt,
        tensorrt_error,
        trtexec,
        builder,
        cache_dir: cache.map(|c| c.root().display().to_string()),
        cache_engines: inventory.entries.len(),
        cache_bytes: inventory.total_bytes(),
        remote,
    }
}

/// One LIST of the manifest's first family tells whether the remote answers.
fn probe_remote(remote: &Remote, manifest: &Manifest) -> Option<RemoteFact> {
    let family = manifest.models.first().map(|m| m.family.clone())?;
    let answer = runtime()
        .map_err(|e| (e.to_string(), false))
        .and_then(|rt| {
            rt.block_on(remote.list_family(&family))
                .map_err(|e| (e.to_string(), matches!(e, RemoteError::Unreachable { .. })))
        });
    let (error, no_answer) = answer.err().unzip();
    Some(RemoteFact {
        url: remote.url().to_string(),
        credentials: matches!(
            remote.access(),
            Access::S3 { credentials, .. } if *credentials != CredentialSource::Anonymous
        ),
        access: remote.access().describe(),
        writable: remote.writable(),
        reachable: error.is_none(),
        error,
        no_answer: no_answer.unwrap_or(false),
    })
}

pub fn run(global: &GlobalArgs, env: &Environment, args: GpusArgs) -> anyhow::Result<u8> {
    let doctor = gather(global, env);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&doctor)?);
    } else {
        print!("{}", render(&doctor));
    }
    Ok(0)
}

fn render_gpus(gpus: &GpuInventory) -> String {
    if let GpuSource::Unavailable { reason } = &gpus.source {
        return format!("GPUs: none ({reason})\n");
    }
    let versions: Vec<String> = [
        gpus.cuda_driver_version
            .as_ref()
            .map(|v| format!("CUDA {v}")),
        gpus.driver_version.as_ref().map(|v| format!("driver {v}")),
        (gpus.source == GpuSource::Override)
            .then(|| "simulated by --gpu-arch / TRTCTL_GPU_ARCH".to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut out = format!("GPUs ({}):\n", versions.join(", "));
    list_gpus(&mut out, &gpus.gpus);
    if !gpus.host_gpus.is_empty() {
        out.push_str("GPUs of this host (the only ones that build):\n");
        list_gpus(&mut out, &gpus.host_gpus);
    } else if gpus.source == GpuSource::Override {
        out.push_str("No real GPU here: builds are simulated, and marked so in their sidecars.\n");
    }
    out
}

fn list_gpus(out: &mut String, gpus: &[gpu::GpuInfo]) {
    for g in gpus {
        out.push_str(&format!(
            "  {}  {}  {}  {}{}\n",
            g.index,
            g.name,
            gpu::describe_arch(g.arch),
            human_bytes(g.memory_bytes),
            g.model
                .as_ref()
                .map_or(String::new(), |m| format!("  model {m}"))
        ));
    }
}

fn render(d: &Doctor) -> String {
    let mut out = render_gpus(&d.gpus);
    out.push_str(&match (&d.tensorrt, &d.tensorrt_error) {
        (Some(fact), _) => format!("TensorRT: {} ({})\n", fact.version, fact.source),
        (None, error) => format!(
            "TensorRT: not found: {}\n",
            error.as_deref().unwrap_or("unknown")
        ),
    });
    out.push_str(&match &d.trtexec {
        Some(TrtexecFact {
            path,
            version: Some(v),
            ..
        }) => format!("trtexec: {path} (TensorRT {v})\n"),
        Some(TrtexecFact { path, error, .. }) => format!(
            "trtexec: {path} ({})\n",
            error.as_deref().unwrap_or("no version")
        ),
        None => {
            "trtexec: not found (set TRTEXEC, put it on PATH, or `[builder] trtexec`)\n".to_string()
        }
    });
    out.push_str(&match &d.builder {
        BuilderFact {
            backend: Some(backend),
            path: Some(path),
            why: Some(why),
            ..
        } => format!("builder: {backend} ({path}): {why}\n"),
        BuilderFact { error, .. } => {
            format!("builder: none: {}\n", error.as_deref().unwrap_or("unknown"))
        }
    });
    out.push_str(&match &d.cache_dir {
        Some(dir) => format!(
            "cache: {dir} ({} engines, {})\n",
            d.cache_engines,
            human_bytes(d.cache_bytes)
        ),
        None => "cache: no cache dir (set TENSORRT_CACHE_DIR or HOME)\n".to_string(),
    });
    out.push_str(&match &d.remote {
        Some(r) => format!(
            "remote: {} ({}, {}, {})\n",
            r.url,
            r.access.as_deref().unwrap_or("a directory"),
            if r.writable {
                "read-write"
            } else {
                "read-only"
            },
            match &r.error {
                None => "reachable".to_string(),
                Some(e) if r.no_answer => format!("unreachable: {e}"),
                Some(e) => format!("not usable: {e}"),
            }
        ),
        None => "remote: none configured\n".to_string(),
    });
    out
}
