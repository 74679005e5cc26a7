//! `trtctl fetch`: install what engines.lock pins, on a host without ONNX, trtexec or TensorRT.

use serde_json::json;

use super::args::{FetchArgs, GlobalArgs};
use super::exit::{EXIT_ERROR, print_error};
use super::setup::{runtime, stderr_color};
use crate::lock::{self, Fetched, Selection};
use crate::report::human_bytes;
use crate::workspace::{Deployment, Environment};

/// The lock, the manifest or the request is wrong: nothing was fetched, retrying won't help.
const EXIT_BAD_INPUT: u8 = 2;
/// Everything pinned was fetched, but some engines wanted here are not pinned.
const EXIT_UNPINNED: u8 = 3;

pub(super) fn run(global: &GlobalArgs, env: &Environment, args: FetchArgs) -> u8 {
    let color = stderr_color(global);
    let selection = match select(global, env, &args) {
        Ok(found) => found,
        Err(err) => {
            print_error(&err, color);
            return EXIT_BAD_INPUT;
        }
    };
    let (deployment, selection, gpu_host) = selection;
    let Some(remote) = deployment.remote.as_ref() else {
        print_error(
            &anyhow::anyhow!(
                "{} has no [remote]: fetch needs one to install pinned engines from; add `[remote] url = \"s3://bucket/prefix\"`",
                global.manifest.display()
            ),
            color,
        );
        return EXIT_BAD_INPUT;
    };
    let results = match runtime() {
        Ok(runtime) => runtime.block_on(lock::fetch_pinned(
            &deployment.cache,
            remote,
            &selection.engines,
            args.jobs,
            gpu_host,
        )),
        Err(err) => {
            print_error(&err, color);
            return EXIT_ERROR;
        }
    };
    let failed = results.iter().filter(|r| r.is_err()).count();
    if args.json {
        print_json(&deployment, &selection, &results);
    } else {
        print_lines(global.quiet, color, &selection, &results);
    }
    if failed > 0 {
        EXIT_ERROR
    } else if !selection.unpinned.is_empty() {
        EXIT_UNPINNED
    } else {
        0
    }
}

/// Everything checked before the first byte is fetched: manifest, lock, archs, selectors; and
/// whether this is a GPU host.
fn select(
    global: &GlobalArgs,
    env: &Environment,
    args: &FetchArgs,
) -> anyhow::Result<(Deployment, Selection, bool)> {
    let deployment = Deployment::open(&global.manifest, env)?;
    let (lock, path) = deployment.read_lock(args.lock.as_deref())?;
    let gpus = env.gpus();
    let archs = gpus.archs();
    if archs.is_empty() {
        anyhow::bail!(
            "no local GPU found to fetch engines for; pass --gpu-arch sm_NN (or set TRTCTL_GPU_ARCH)"
        );
    }
    let selection = lock.select(&path, &archs, &args.target)?;
    Ok((deployment, selection, gpus.on_gpu_host()))
}

fn print_lines(
    quiet: bool,
    color: bool,
    selection: &Selection,
    results: &[Result<Fetched, lock::FetchError>],
) {
    let mut downloaded = 0u64;
    for (engine, result) in selection.engines.iter().zip(results) {
        match result {
            Ok(Fetched::Downloaded { bytes }) => {
                downloaded += bytes;
                if !quiet {
                    println!("↓ fetched  {} ({})", engine.key, human_bytes(*bytes));
                }
            }
            Ok(Fetched::Cached) if !quiet => println!("= cached   {}", engine.key),
            Ok(Fetched::Cached) => {}
            Err(err) => print_error(&anyhow::anyhow!("{err}"), color),
        }
    }
    for key in &selection.unpinned {
        eprintln!(
            "warning: {key} is wanted here but the lock does not pin it (it did not exist when the lock was written)"
        );
    }
    if !quiet {
        let failed = results.iter().filter(|r| r.is_err()).count();
        println!(
            "Fetch: {} pinned engines, {} downloaded ({}), {} failed.",
            selection.engines.len(),
            results
                .iter()
                .filter(|r| matches!(r, Ok(Fetched::Downloaded { .. })))
                .count(),
            human_bytes(downloaded),
            failed
        );
    }
}

fn print_json(
    deployment: &Deployment,
    selection: &Selection,
    results: &[Result<Fetched, lock::FetchError>],
) {
    let engines: Vec<serde_json::Value> = selection
        .engines
        .iter()
        .zip(results)
        .map(|(engine, result)| {
            let mut entry = json!({
                "key": engine.key.to_string(),
                "sha256": engine.sha256,
                "size": engine.size,
                "path": deployment.cache.engine_path(&engine.key),
            });
            match result {
                Ok(Fetched::Cached) => entry["status"] = json!("cached"),
                Ok(Fetched::Downloaded { .. }) => entry["status"] = json!("downloaded"),
                Err(err) => {
                    entry["status"] = json!("failed");
                    entry["error"] = json!(err.to_string());
                }
            }
            entry
        })
        .collect();
    let unpinned: Vec<String> = selection.unpinned.iter().map(|k| k.to_string()).collect();
    println!("{}", json!({ "engines": engines, "unpinned": unpinned }));
}
