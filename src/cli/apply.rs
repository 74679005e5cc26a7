//! `trtctl apply`.

use std::io::IsTerminal;

use anyhow::Context;

use super::args::{ApplyArgs, GlobalArgs};
use super::exit::{EXIT_ERROR, EXIT_INTERRUPTED};
use super::lock;
use super::setup::{style, workspace_and_runtime};
use crate::exec::Reporter;
use crate::exec::{ApplyOptions, StopSignal, with_signals};
use crate::plan::{Force, Plan, Selector};
use crate::report::{self, JsonReporter, PlainReporter, TtyReporter};
use crate::workspace::Environment;

fn read_saved_plan(path: &std::path::Path) -> anyhow::Result<Plan> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read plan {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a plan saved by `trtctl plan --out`",
            path.display()
        )
    })
}

fn parse_selectors(texts: &[String]) -> anyhow::Result<Vec<Selector>> {
    texts
        .iter()
        .map(|t| t.parse().map_err(anyhow::Error::from))
        .collect()
}

/// A saved plan is applied only if planning again now gives the very same plan.
fn check_saved_plan(saved: &Plan, fresh: &Plan) -> anyhow::Result<()> {
    let why = if saved.format_version != fresh.format_version {
        "it was saved by an incompatible trtctl"
    } else if saved.manifest_sha256 != fresh.manifest_sha256 {
        "the manifest changed since"
    } else if saved.trt_version != fresh.trt_version || saved.gpu_archs != fresh.gpu_archs {
        "the TensorRT version or the local GPUs changed since"
    } else if saved.observed_digest != fresh.observed_digest || saved.settled() != fresh.settled() {
        "the local cache, the remote or an ONNX file changed since"
    } else {
        return Ok(());
    };
    anyhow::bail!("refusing the saved plan: {why}; run `trtctl plan --out FILE` again")
}

pub(super) fn run(global: &GlobalArgs, env: &Environment, args: ApplyArgs) -> anyhow::Result<u8> {
    // A saved plan carries its manifest, targets and forced rebuilds, like a terraform plan file.
    let saved = args.plan.as_deref().map(read_saved_plan).transpose()?;
    let (manifest, targets, force, no_upload) = match &saved {
        Some(saved) => (
            saved.manifest.clone(),
            parse_selectors(&saved.targets)?,
            Force::from_selectors(&parse_selectors(&saved.force_rebuild)?),
            saved.no_upload,
        ),
        None => (
            global.manifest.clone(),
            args.target.clone(),
            Force::from_selectors(&args.force_rebuild),
            args.no_upload,
        ),
    };
    let (mut workspace, runtime) = workspace_and_runtime(&manifest, env)?;
    if args.no_shared_timing_cache {
        workspace.manifest.builder.shared_timing_cache = false;
    }
    if args.locked
        && let Some(code) = lock::gate(&runtime, &workspace, &manifest)?
    {
        return Ok(code);
    }
    let (mut plan, basis) = runtime.block_on(workspace.plan_for_apply(&targets, &force))?;
    if no_upload {
        plan.skip_uploads();
    }
    if let Some(saved) = &saved {
        check_saved_plan(saved, &plan)?;
    }
    let style = style(global);
    if args.dry_run {
        print!("{}", report::render_plan(&plan, style));
        return Ok(0);
    }
    let builder = workspace.builder_for(&plan)?;
    let reporter: Box<dyn Reporter> = if args.json {
        Box::new(JsonReporter::new(Box::new(std::io::stdout())))
    } else if std::io::stdout().is_terminal() && !global.quiet {
        Box::new(TtyReporter::new(style))
    } else {
        Box::new(PlainReporter::new(
            style,
            global.quiet,
            Box::new(std::io::stdout()),
        ))
    };
    let stop = StopSignal::default();
    let options = ApplyOptions {
        jobs: args.jobs,
        keep_going: args.keep_going,
    };
    let report = runtime.block_on(with_signals(
        &stop,
        workspace.apply(&plan, builder.as_deref(), reporter.as_ref(), options, &stop),
    ));
    if report.interrupted {
        return Ok(EXIT_INTERRUPTED);
    }
    let lock_code = lock::after_apply(
        &runtime,
        &workspace,
        (basis, &report),
        &manifest,
        args.locked,
        args.allow_missing,
        global.quiet,
    )?;
    let code = if !report.succeeded() || (!report.cannot_build.is_empty() && !args.allow_missing) {
        EXIT_ERROR
    } else {
        lock_code.unwrap_or(0)
    };
    Ok(code)
}
