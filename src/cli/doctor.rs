//! `trtctl gpus` / `trtctl doctor`: what this machine can build and reach.

use std::process::ExitCode;

use serde::Serialize;

use trtctl::gpu::{self, GpuInventory, GpuSource};
use trtctl::report::human_bytes;
use trtctl::store::{self, Cache};
use trtctl::workspace::{Environment, Workspace};

use super::{GlobalArgs, GpusArgs, runtime};

#[derive(Serialize)]
struct Doctor {
    gpus: GpuInventory,
    tensorrt: Result<String, String>,
    tensorrt_source: Option<String>,
    trtexec: Option<TrtexecFact>,
    cache_dir: Option<String>,
    cache_engines: usize,
    cache_bytes: u64,
    remote: Option<RemoteFact>,
}

#[derive(Serialize)]
struct TrtexecFact {
    path: String,
    version: Result<String, String>,
}

#[derive(Serialize)]
struct RemoteFact {
    url: String,
    /// Whether keys are set; never their values.
    credentials: bool,
    writable: bool,
    reachable: Result<(), String>,
}

fn gather(global: &GlobalArgs, env: &Environment) -> Doctor {
    let gpus = env.gpus();
    let opened = global
        .manifest
        .exists()
        .then(|| Workspace::open(&global.manifest, env).map_err(|e| e.to_string()));
    let workspace = opened.as_ref().and_then(|w| w.as_ref().ok());
    let configured = workspace.and_then(|w| w.manifest.builder.trtexec.clone());
    let trtexec = gpu::find_trtexec(configured.as_deref()).map(|path| TrtexecFact {
        version: gpu::trtexec_version(&path)
            .map(|v| v.to_string())
            .map_err(|e| e.to_string()),
        path: path.display().to_string(),
    });
    let (tensorrt, tensorrt_source) = match (workspace, &opened) {
        (Some(w), _) => (
            Ok(w.trt.version.to_string()),
            Some(format!("{:?}", w.trt.source)),
        ),
        (None, Some(Err(e))) => (Err(e.clone()), None),
        (None, _) => match gpu::detect_trt(
            env.trt_version.as_deref(),
            trtexec.as_ref().map(|t| std::path::Path::new(&t.path)),
        ) {
            Ok(fact) => (
                Ok(fact.version.to_string()),
                Some(format!("{:?}", fact.source)),
            ),
            Err(e) => (Err(e.to_string()), None),
        },
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
    let remote = workspace.and_then(|w| w.remote.as_ref()).map(|remote| {
        let family = probe_family(workspace);
        let reachable = runtime().map_err(|e| e.to_string()).and_then(|rt| {
            rt.block_on(remote.list_family(&family))
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        RemoteFact {
            url: remote.url().to_string(),
            credentials: env.remote.has_credentials(),
            writable: remote.writable(),
            reachable,
        }
    });
    Doctor {
        gpus,
        tensorrt,
        tensorrt_source,
        trtexec,
        cache_dir: cache.map(|c| c.root().display().to_string()),
        cache_engines: inventory.entries.len(),
        cache_bytes: inventory.total_bytes(),
        remote,
    }
}

/// A family to LIST when checking the remote answers: the manifest's first.
fn probe_family(workspace: Option<&Workspace>) -> String {
    workspace
        .and_then(|w| w.manifest.models.first())
        .map_or_else(|| "trtctl-doctor".to_string(), |m| m.family.clone())
}

pub fn run(global: &GlobalArgs, env: &Environment, args: GpusArgs) -> anyhow::Result<ExitCode> {
    let doctor = gather(global, env);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&doctor)?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render(&doctor));
    Ok(ExitCode::SUCCESS)
}

fn render(d: &Doctor) -> String {
    let mut out = String::new();
    let versions = [
        d.gpus
            .cuda_driver_version
            .as_ref()
            .map(|v| format!("CUDA {v}")),
        d.gpus
            .driver_version
            .as_ref()
            .map(|v| format!("driver {v}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    match &d.gpus.source {
        GpuSource::Unavailable { reason } => out.push_str(&format!("GPUs: none ({reason})\n")),
        source => {
            let origin = if *source == GpuSource::Override {
                " (simulated: --gpu-arch / TRTCTL_GPU_ARCH)"
            } else {
                ""
            };
            out.push_str(&format!(
                "GPUs{origin}{}:\n",
                if versions.is_empty() {
                    String::new()
                } else {
                    format!(" ({versions})")
                }
            ));
            for g in &d.gpus.gpus {
                out.push_str(&format!(
                    "  {}  {}  {}  {}\n",
                    g.index,
                    g.name,
                    gpu::describe_arch(g.arch),
                    human_bytes(g.memory_bytes)
                ));
            }
        }
    }
    match &d.tensorrt {
        Ok(v) => out.push_str(&format!(
            "TensorRT: {v} ({})\n",
            d.tensorrt_source.as_deref().unwrap_or("detected")
        )),
        Err(e) => out.push_str(&format!("TensorRT: not found: {e}\n")),
    }
    match &d.trtexec {
        Some(t) => out.push_str(&format!(
            "trtexec: {} ({})\n",
            t.path,
            t.version
                .as_ref()
                .map_or_else(|e| e.clone(), |v| format!("TensorRT {v}"))
        )),
        None => out
            .push_str("trtexec: not found (set TRTEXEC, put it on PATH, or `[builder] trtexec`)\n"),
    }
    match &d.cache_dir {
        Some(dir) => out.push_str(&format!(
            "cache: {dir} ({} engines, {})\n",
            d.cache_engines,
            human_bytes(d.cache_bytes)
        )),
        None => out.push_str("cache: no cache dir (set TENSORRT_CACHE_DIR or HOME)\n"),
    }
    match &d.remote {
        Some(r) => out.push_str(&format!(
            "remote: {} (credentials {}, {}, {})\n",
            r.url,
            if r.credentials { "set" } else { "not set" },
            if r.writable {
                "read-write"
            } else {
                "read-only"
            },
            match &r.reachable {
                Ok(()) => "reachable".to_string(),
                Err(e) => format!("unreachable: {e}"),
            }
        )),
        None => out.push_str("remote: none configured\n"),
    }
    out
}
