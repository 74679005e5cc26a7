//! `trtctl cache ls | clean | verify`.

use std::collections::BTreeSet;

use anyhow::Context;

use crate::identity::EngineKey;
use crate::manifest::Manifest;
use crate::plan::Selector;
use crate::report::{self, human_bytes};
use crate::store::maintenance::{self, CleanPolicy, Inventory, SidecarState, TimingCacheFile};
use crate::store::{self, Cache, StoreError};
use crate::sys::now_secs;
use crate::trust::TrustPolicy;
use crate::workspace::{Deployment, Environment, Workspace, WorkspaceError, trust_policy};

use super::args::{CacheCommand, GlobalArgs};
use super::exit::EXIT_ERROR;

/// The manifest at `-f`, if there is one, read as a deploy host reads it: a host that only
/// fetches pinned engines has none of its ONNX files, and its cache is still the manifest's.
fn manifest(global: &GlobalArgs) -> anyhow::Result<Option<Manifest>> {
    if !global.manifest.exists() {
        return Ok(None);
    }
    Ok(Some(Manifest::load_without_onnx(&global.manifest)?))
}

/// The cache the manifest names (or the environment's, without a manifest). Only `clean`
/// needs the whole workspace, to know what is still wanted; `ls` and `verify` work wherever
/// TensorRT is not installed.
fn cache_dir(manifest: Option<&Manifest>, env: &Environment) -> anyhow::Result<Cache> {
    Ok(Cache::new(store::resolve_cache_dir(
        env.cache_dir.clone(),
        manifest.and_then(|m| m.cache_dir.as_deref()),
        env.home.clone(),
    )?))
}

/// The cache, and the trust policy of the manifest (if there is one) and the environment.
fn cache_and_trust(global: &GlobalArgs, env: &Environment) -> anyhow::Result<(Cache, TrustPolicy)> {
    let manifest = manifest(global)?;
    let cache = cache_dir(manifest.as_ref(), env)?;
    let settings = manifest.map(|m| m.trust).unwrap_or_default();
    Ok((cache, trust_policy(&settings, env)?))
}

/// The engines the manifest wants, by name, and its cache: its desired engines where its ONNX
/// files are, else (a deploy host) the engines its lock names.
fn wanted(manifest: Manifest, env: &Environment) -> anyhow::Result<(Cache, BTreeSet<EngineKey>)> {
    if manifest.models.iter().all(|m| m.onnx.is_file()) {
        let workspace = Workspace::assemble(manifest, env, env.gpus())?;
        let wanted = workspace.desired()?.into_iter().map(|d| d.key).collect();
        return Ok((workspace.cache, wanted));
    }
    let deployment = Deployment::with_manifest(manifest, env)?;
    let (lock, _) = deployment.read_lock(None).context(
        "the manifest's ONNX files are not here, so its lock says which engines are wanted",
    )?;
    let wanted = lock
        .engines
        .iter()
        .map(|e| e.key.clone())
        .chain(lock.missing.iter().map(|m| m.key.clone()))
        .collect();
    Ok((deployment.cache, wanted))
}

pub fn run(global: &GlobalArgs, env: &Environment, command: CacheCommand) -> anyhow::Result<u8> {
    match command {
        CacheCommand::Ls { target, json } => {
            ls(&cache_dir(manifest(global)?.as_ref(), env)?, &target, json)
        }
        CacheCommand::Clean {
            all,
            older_than,
            max_size,
            dry_run,
        } => {
            let (cache, wanted) = match manifest(global)? {
                Some(manifest) if !all => {
                    let (cache, wanted) = wanted(manifest, env).map_err(refused_to_clean)?;
                    (cache, Some(wanted))
                }
                manifest => (
                    cache_dir(manifest.as_ref(), env).map_err(refused_to_clean)?,
                    None,
                ),
            };
            let policy = CleanPolicy {
                all,
                wanted,
                older_than,
                max_size,
            };
            clean(&cache, env, &policy, dry_run, global.quiet)
        }
        CacheCommand::Verify { fix } => {
            let (cache, trust) = cache_and_trust(global, env)?;
            verify(&cache, &trust, env.gpus().on_gpu_host(), fix)
        }
    }
}

/// `5s`, `3m`, `4h`, `2d`.
fn age(seconds: u64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// The status of an engine refitted here from a stripped plan says so, with the plan's size.
fn with_weights(status: String, weights: Option<&crate::identity::WeightsRecord>) -> String {
    match weights {
        Some(w) => format!(
            "{status}, {} (plan {}, {} refit(s))",
            w.mode,
            human_bytes(w.plan_size),
            w.refits
        ),
        None => status,
    }
}

fn status(state: &SidecarState) -> String {
    match state {
        SidecarState::Verified => "verified".into(),
        SidecarState::Legacy => "legacy, unverified".into(),
        SidecarState::Missing => "no sidecar (interrupted)".into(),
        SidecarState::Invalid(why) => format!("bad sidecar: {why}"),
    }
}

fn ls(cache: &Cache, targets: &[Selector], json: bool) -> anyhow::Result<u8> {
    let mut inventory = cache.inventory()?;
    inventory
        .entries
        .retain(|e| targets.is_empty() || targets.iter().any(|t| t.matches(&e.id)));
    inventory.entries.sort_by(|a, b| a.key.cmp(&b.key));
    if json {
        println!(
            "{}",
            serde_json::json!({
                "cache_dir": cache.root(),
                "engines": inventory.entries,
                "count": inventory.entries.len(),
                "total_bytes": inventory.total_bytes(),
                "timing_caches": inventory.timing_caches,
            })
        );
        return Ok(0);
    }
    let now = now_secs();
    let rows: Vec<[String; 9]> = inventory
        .entries
        .iter()
        .map(|e| {
            [
                e.id.model_name.clone(),
                e.id.model_version.clone(),
                e.id.precision.to_string(),
                e.id.gpu_arch.to_string(),
                e.id.trt_version.to_string(),
                human_bytes(e.size),
                age(now.saturating_sub(e.modified)),
                age(now.saturating_sub(e.last_used)),
                with_weights(status(&e.state), e.weights.as_ref()),
            ]
        })
        .collect();
    let header = [
        "MODEL",
        "VERSION",
        "PRECISION",
        "ARCH",
        "TRT",
        "SIZE",
        "AGE",
        "LAST USED",
        "STATUS",
    ]
    .map(String::from);
    print!("{}", report::table(&header, &rows));
    if !inventory.timing_caches.is_empty() {
        println!("\n{}", timing_table(&inventory.timing_caches, now));
    }
    println!(
        "{} engines, {} in {}",
        inventory.entries.len(),
        human_bytes(inventory.total_bytes()),
        cache.root().display()
    );
    Ok(0)
}

/// The timing caches under `timing/`: per arch and TensorRT version, and those set aside.
fn timing_table(caches: &[TimingCacheFile], now: u64) -> String {
    let rows: Vec<[String; 4]> = caches
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                human_bytes(c.size),
                age(now.saturating_sub(c.modified)),
                timing_status(c).into(),
            ]
        })
        .collect();
    let header = ["TIMING CACHE", "SIZE", "AGE", "STATUS"].map(String::from);
    report::table(&header, &rows)
}

fn timing_status(cache: &TimingCacheFile) -> &'static str {
    if cache.rejected {
        "set aside: trtexec failed with it; `cache clean` removes it"
    } else {
        "in use"
    }
}

/// A cache dir that is `/` or HOME, which no command uses, is what `clean` refuses to empty.
fn refused_to_clean(err: anyhow::Error) -> anyhow::Error {
    let store =
        err.downcast_ref::<StoreError>()
            .or_else(|| match err.downcast_ref::<WorkspaceError>() {
                Some(WorkspaceError::Store(inner)) => Some(inner),
                _ => None,
            });
    match store {
        Some(StoreError::NotACacheDir { path, what }) => maintenance::CleanError::Refused {
            path: path.clone(),
            what,
        }
        .into(),
        _ => err,
    }
}

fn clean(
    cache: &Cache,
    env: &Environment,
    policy: &CleanPolicy,
    dry_run: bool,
    quiet: bool,
) -> anyhow::Result<u8> {
    maintenance::check_cleanable(cache.root(), env.home.as_deref())?;
    let inventory: Inventory = cache.inventory()?;
    let removals = maintenance::plan_clean(&inventory, policy, now_secs());
    let say = |line: String| {
        if !quiet {
            println!("{line}");
        }
    };
    let describe = |verb: &str, removal: &maintenance::Removal| {
        format!(
            "{verb} {} ({}, {})",
            removal.target,
            human_bytes(removal.bytes),
            removal.why
        )
    };
    if dry_run {
        for removal in &removals {
            say(describe("would remove", removal));
        }
        let planned_bytes: u64 = removals.iter().map(|r| r.bytes).sum();
        say(format!(
            "Would free {} ({} items); nothing was removed.",
            human_bytes(planned_bytes),
            removals.len()
        ));
        return Ok(0);
    }
    let report = cache.clean(&removals)?;
    for removal in &report.removed {
        say(describe("removed", removal));
    }
    let locks = cache.clean_locks()?;
    // Logs and timing caches may be in use by the builds that hold those locks.
    if policy.all && report.locked.is_empty() {
        cache.remove_auxiliary()?;
    }
    for key in &report.locked {
        say(format!("kept {key}: another trtctl holds its lock"));
    }
    say(format!(
        "Freed {} ({} items removed, {} unused locks, {} kept because in use).",
        human_bytes(report.bytes_freed),
        report.removed.len(),
        locks,
        report.locked.len()
    ));
    Ok(0)
}

/// Cached engines whose recorded trust does not hold: (engine, problem).
/// Engines whose sidecar vouches for them but that this host must not use: labelled
/// `untrusted` (no trusted key signed them) or `simulated` (built without a GPU, on a GPU host).
fn unusable(
    cache: &Cache,
    inventory: &Inventory,
    trust: &TrustPolicy,
    gpu_host: bool,
) -> Vec<(&'static str, (EngineKey, String))> {
    inventory
        .entries
        .iter()
        .filter_map(|e| match cache.read_sidecar(&e.key)? {
            Ok(sidecar) if gpu_host && sidecar.provenance.simulated => Some((
                "simulated",
                (
                    e.key.clone(),
                    "built under simulation, without a GPU: no engine this host's GPUs can run"
                        .to_string(),
                ),
            )),
            Ok(sidecar) => trust
                .check_cached(&sidecar)
                .err()
                .map(|why| ("untrusted", (e.key.clone(), why.to_string()))),
            Err(_) => None,
        })
        .collect()
}

fn verify(cache: &Cache, trust: &TrustPolicy, gpu_host: bool, fix: bool) -> anyhow::Result<u8> {
    let inventory = cache.inventory()?;
    let corrupt: Vec<(EngineKey, String)> = cache
        .verify(&inventory)
        .into_iter()
        .map(|c| (c.key, c.problem))
        .collect();
    let unusable: Vec<(&str, (EngineKey, String))> = unusable(cache, &inventory, trust, gpu_host)
        .into_iter()
        .filter(|(_, (key, _))| !corrupt.iter().any(|(k, _)| k == key))
        .collect();
    let labelled = corrupt
        .iter()
        .map(|p| ("corrupt", p))
        .chain(unusable.iter().map(|(label, p)| (*label, p)));
    for (label, (key, problem)) in labelled {
        println!("{label}: {key}: {problem}");
        if fix {
            if cache.remove_unlocked(key)? {
                println!("removed {key}: the next apply fetches or rebuilds it");
            } else {
                println!("kept {key}: another trtctl holds its lock");
            }
        }
    }
    let checked = inventory
        .entries
        .iter()
        .filter(|e| e.state != SidecarState::Missing)
        .count();
    let count_of = |wanted: &str| unusable.iter().filter(|(l, _)| *l == wanted).count();
    let notes: String = ["untrusted", "simulated"]
        .into_iter()
        .filter_map(|label| match count_of(label) {
            0 => None,
            n => Some(format!(", {n} {label}")),
        })
        .collect();
    println!(
        "{checked} engines checked, {} corrupt{notes}.",
        corrupt.len()
    );
    // Timing caches have no sidecar to check against: trtexec is their judge, and apply sets
    // aside those it fails with. Those are named here; they never fail verify.
    let rejected: Vec<&TimingCacheFile> = inventory
        .timing_caches
        .iter()
        .filter(|c| c.rejected)
        .collect();
    for cache in &rejected {
        println!("timing cache {}: {}", cache.name, timing_status(cache));
    }
    println!(
        "{} timing caches, {} set aside.",
        inventory.timing_caches.len() - rejected.len(),
        rejected.len()
    );
    Ok(if corrupt.is_empty() && unusable.is_empty() {
        0
    } else {
        EXIT_ERROR
    })
}
