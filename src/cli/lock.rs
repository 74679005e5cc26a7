//! `trtctl lock`, and the lock checks and updates of `plan` / `apply`.

use std::path::Path;

use super::args::{GlobalArgs, LockArgs};
use super::exit::EXIT_ERROR;
use super::setup::runtime;
use tokio::runtime::Runtime;

use crate::exec::ApplyReport;
use crate::lock::{self, Lock, LockError};
use crate::workspace::{Environment, PlanBasis, Workspace};

/// How many missing engines an error lists before counting the rest.
const LISTED: usize = 20;

pub(super) fn run(global: &GlobalArgs, env: &Environment, args: LockArgs) -> anyhow::Result<u8> {
    let workspace = Workspace::open(&global.manifest, env)?;
    let current = runtime()?.block_on(workspace.current_lock())?;
    let path = lock::lock_path(&global.manifest);
    if !current.missing.is_empty() && !args.allow_missing {
        anyhow::bail!(
            "{} of the manifest's engines do not exist yet, so {} was not written:\n{}run `trtctl apply` to build them, or `trtctl lock --allow-missing` to lock what exists",
            current.missing.len(),
            path.display(),
            list_missing(&current)
        );
    }
    let written = update(&path, &current)?;
    if !global.quiet {
        println!("{}", summary(&path, &current, written));
    }
    Ok(0)
}

fn list_missing(lock: &Lock) -> String {
    let mut out: String = lock
        .missing
        .iter()
        .take(LISTED)
        .map(|m| format!("  {}\n", m.key))
        .collect();
    if lock.missing.len() > LISTED {
        out.push_str(&format!("  … and {} more\n", lock.missing.len() - LISTED));
    }
    out
}

fn summary(path: &Path, lock: &Lock, written: bool) -> String {
    let missing = match lock.missing.len() {
        0 => String::new(),
        n => format!(", {n} missing"),
    };
    let state = if written { "written" } else { "unchanged" };
    format!(
        "{}: {} engines pinned{missing} ({state})",
        path.display(),
        lock.engines.len()
    )
}

/// Writes `lock` at `path` unless the file already holds exactly these bytes; whether it wrote.
fn update(path: &Path, lock: &Lock) -> Result<bool, LockError> {
    if std::fs::read(path).is_ok_and(|bytes| bytes == lock.render().as_bytes()) {
        return Ok(false);
    }
    lock.write(path)?;
    Ok(true)
}

/// `--locked`: whether the lock at `path` already says what `current` says; if not, the
/// difference goes to stderr.
pub(super) fn check_locked(path: &Path, current: &Lock) -> anyhow::Result<bool> {
    let locked = Lock::read(path)?;
    let changes = lock::diff(&locked, current);
    if changes.is_empty() {
        return Ok(true);
    }
    eprintln!(
        "error: {} would change ({} engines), and --locked forbids it:\n{}run `trtctl lock` (or `trtctl apply`) without --locked and commit {}",
        path.display(),
        changes.len(),
        lock::render_diff(&changes),
        path.display()
    );
    Ok(false)
}

/// `plan --locked` / `apply --locked` before doing anything: exit 1 if the lock would change.
pub(super) fn gate(
    runtime: &Runtime,
    workspace: &Workspace,
    manifest: &Path,
) -> anyhow::Result<Option<u8>> {
    let current = runtime.block_on(workspace.current_lock())?;
    let ok = check_locked(&lock::lock_path(manifest), &current)?;
    Ok((!ok).then_some(EXIT_ERROR))
}

/// After `apply`: the lock follows what exists, with `lock`'s rule (every engine exists, or
/// `--allow-missing`); under `--locked` it must not change. Returns the exit code it forces.
pub(super) fn after_apply(
    runtime: &Runtime,
    workspace: &Workspace,
    (basis, report): (PlanBasis, &ApplyReport),
    manifest: &Path,
    locked: bool,
    allow_missing: bool,
    quiet: bool,
) -> anyhow::Result<Option<u8>> {
    let current = runtime.block_on(workspace.lock_after_apply(basis, report))?;
    let path = lock::lock_path(manifest);
    if locked {
        return Ok((!check_locked(&path, &current)?).then_some(EXIT_ERROR));
    }
    if !current.missing.is_empty() && !allow_missing {
        if !quiet {
            eprintln!(
                "{} not updated: {} engines do not exist yet (`--allow-missing` locks what exists)",
                path.display(),
                current.missing.len()
            );
        }
        return Ok(None);
    }
    let written = update(&path, &current)?;
    if !quiet {
        eprintln!("{}", summary(&path, &current, written));
    }
    Ok(None)
}
