//! `trtctl export triton`.

use serde_json::json;

use super::args::{ExportCommand, GlobalArgs, ModelNameArg, TritonArgs};
use crate::export::triton::{self, ExportEngine, ModelNameFrom, TritonOptions};
use crate::lock::LockedEngine;
use crate::workspace::{Deployment, Environment};

pub(super) fn run(
    global: &GlobalArgs,
    env: &Environment,
    command: ExportCommand,
) -> anyhow::Result<u8> {
    match command {
        ExportCommand::Triton(args) => triton_repo(global, env, args),
    }
}

fn triton_repo(global: &GlobalArgs, env: &Environment, args: TritonArgs) -> anyhow::Result<u8> {
    let deployment = Deployment::open(&global.manifest, env)?;
    let (lock, path) = deployment.read_lock(args.lock.as_deref())?;
    // Every arch the lock pins, unless the command line names some.
    let archs = if env.gpu_archs.is_empty() {
        let mut all: Vec<_> = lock.engines.iter().flat_map(|e| e.serves()).collect();
        all.sort();
        all.dedup();
        all
    } else {
        env.gpu_archs.clone()
    };
    let selection = lock.select(&path, &archs, &args.target)?;
    let engines = selection
        .engines
        .iter()
        .map(|engine| cached(&deployment, engine))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let options = TritonOptions {
        repo: args.repo,
        name_from: match args.model_name_from {
            ModelNameArg::Model => ModelNameFrom::Model,
            ModelNameArg::Family => ModelNameFrom::Family,
        },
        repo_version: args.repo_version,
    };
    let models = triton::export_triton(&engines, &options)?;
    if !global.quiet {
        for model in &models {
            if let Some(removed) = &model.removed {
                eprintln!(
                    "removed {}: Triton would load it on a GPU whose arch has no engine here",
                    removed.display()
                );
            }
            println!(
                "{}: {} (max_batch_size {})",
                model.dir.display(),
                json!(model.cc_model_filenames),
                model.max_batch_size
            );
        }
    }
    Ok(0)
}

/// The cached engine the lock pins, with the profile its sidecar records.
fn cached(deployment: &Deployment, engine: &LockedEngine) -> anyhow::Result<ExportEngine> {
    let pinned = match deployment.cache.read_sidecar(&engine.key) {
        Some(Ok(sidecar))
            if sidecar.engine_sha256 == engine.sha256 && sidecar.engine_size == engine.size =>
        {
            Some(sidecar)
        }
        _ => None,
    };
    let Some(sidecar) = pinned else {
        anyhow::bail!(
            "{} is not in the local cache as pinned; run `trtctl fetch --lock` first",
            engine.key
        );
    };
    let Some(build) = sidecar.build else {
        anyhow::bail!(
            "{}: its sidecar records no build profile (an engine adopted from a legacy bucket), so max_batch_size is unknown; rebuild it with trtctl",
            engine.key
        );
    };
    Ok(ExportEngine {
        key: engine.key.clone(),
        id: engine.id.clone(),
        path: deployment.cache.engine_path(&engine.key),
        profile: build.profile,
        serves: engine.serves(),
    })
}
