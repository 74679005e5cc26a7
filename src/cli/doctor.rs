//! `trtctl gpus` / `trtctl doctor`: what this machine can build and reach.

use std::path::Path;

use serde::Serialize;

use crate::gpu::{self, GpuInventory, GpuSource, TrtFact};
use crate::report::human_bytes;
use crate::store::remote::{Access, CredentialSource};
use crate::store::{self, Cache};
use crate::workspace::{Environment, Workspace};

use super::args::{GlobalArgs, GpusArgs};
use super::setup::runtime;

#[derive(Serialize)]
struct Doctor {
    gpus: GpuInventory,
    tensorrt: Option<TrtFact>,
    /// Why no TensorRT version is known, when none is.
    tensorrt_error: Option<String>,
    trtexec: Option<TrtexecFact>,
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
}

/// `Ok` and `Err` as two optional JSON fields.
fn split<T, E: ToString>(result: Result<T, E>) -> (Option<T>, Option<String>) {
    match result {
        Ok(value) => (Some(value), None),
        Err(e) => (None, Some(e.to_string())),
    }
}

fn gather(global: &GlobalArgs, env: &Environment) -> Doctor {
    let opened = global
        .manifest
        .exists()
        .then(|| Workspace::open(&global.manifest, env));
    let workspace = opened.as_ref().and_then(|w| w.as_ref().ok());
    let configured = workspace.and_then(|w| w.manifest.builder.trtexec.clone());
    let trtexec = gpu::find_trtexec(configured.as_deref()).map(|path| {
        let (version, error) = split(gpu::trtexec_version(&path).map(|v| v.to_string()));
        TrtexecFact {
            path: path.display().to_string(),
            version,
            error,
        }
    });
    let (tensorrt, tensorrt_error) = match (workspace, &opened) {
        (Some(w), _) => (Some(w.trt.clone()), None),
        (None, Some(Err(e))) => (None, Some(e.to_string())),
        (None, _) => split(gpu::detect_trt(
            env.trt_version.as_deref(),
            trtexec.as_ref().map(|t| Path::new(&t.path)),
        )),
    };
    let cache = workspace.map(|w| w.cache.clone()).or_else(|| {
        store::resolve_cache_dir(env.cache_dir.clone(), None, env.home.clone())
            .ok()
            .map(Cache::new)
    });
    let inventory = cache
        .as_ref()
        .and_then(|c| c.inventory().ok())
        .unwrap_or_default();
    let remote = workspace.and_then(|w| {
        let remote = w.remote.as_ref()?;
        // One LIST of the manifest's first family tells whether the remote answers.
        let family = w.manifest.models.first().map(|m| m.family.clone())?;
        let answer = runtime().map_err(|e| e.to_string()).and_then(|rt| {
            rt.block_on(remote.list_family(&family))
                .map_err(|e| e.to_string())
        });
        Some(RemoteFact {
            url: remote.url().to_string(),
            credentials: matches!(
                remote.access(),
                Access::S3 { credentials, .. } if *credentials != CredentialSource::Anonymous
            ),
            access: remote.access().describe(),
            writable: remote.writable(),
            reachable: answer.is_ok(),
            error: answer.err(),
        })
    });
    Doctor {
        gpus: env.gpus(),
        tensorrt,
        tensorrt_error,
        trtexec,
        cache_dir: cache.map(|c| c.root().display().to_string()),
        cache_engines: inventory.entries.len(),
        cache_bytes: inventory.total_bytes(),
        remote,
    }
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
            "  {}  {}  {}  {}\n",
            g.index,
            g.name,
            gpu::describe_arch(g.arch),
            human_bytes(g.memory_bytes)
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
                Some(e) => format!("unreachable: {e}"),
            }
        ),
        None => "remote: none configured\n".to_string(),
    });
    out
}
