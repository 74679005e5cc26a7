//! `trtctl plan`.

use std::io::Write;

use anyhow::Context;

use super::args::{GlobalArgs, PlanArgs};
use super::exit::{EXIT_CHANGES, EXIT_UNSATISFIABLE};
use super::lock;
use super::setup::{style, workspace_and_runtime};
use crate::gpu;
use crate::plan::{Decision, Force, Plan};
use crate::report;
use crate::workspace::{Environment, Workspace, free_in_background};

pub(super) fn run(global: &GlobalArgs, env: &Environment, args: PlanArgs) -> anyhow::Result<u8> {
    let (workspace, runtime) = workspace_and_runtime(&global.manifest, env)?;
    if args.locked
        && let Some(code) = lock::gate(&runtime, &workspace, &global.manifest)?
    {
        return Ok(code);
    }
    let mut plan = runtime.block_on(workspace.plan(&args.target, &Force::Nothing))?;
    if args.no_upload {
        plan.skip_uploads();
    }
    if let Some(out) = &args.out {
        let json = serde_json::to_vec_pretty(&plan).context("cannot encode the plan")?;
        crate::store::write_atomic(out, &json)?;
    }
    let mut stdout = std::io::stdout().lock();
    if args.graph {
        stdout.write_all(plan.to_dot().as_bytes())?;
    } else if args.json {
        serde_json::to_writer_pretty(&mut stdout, &plan)?;
        writeln!(stdout)?;
    } else if !global.quiet {
        stdout.write_all(report::render_plan(&plan, style(global)).as_bytes())?;
        if let Some(out) = &args.out {
            writeln!(
                stdout,
                "Saved the plan to {}; run `trtctl apply {}` to apply it.",
                out.display(),
                out.display()
            )?;
        }
    }
    if global.verbose > 0 {
        eprintln!("GPUs: {}", describe_gpus(&workspace));
        let hashed = workspace
            .onnx_hashed
            .load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("ONNX files hashed: {hashed}");
    }
    let code = plan_exit_code(&plan, args.detailed_exitcode);
    // The process exits next: nothing waits for the plan's memory to be freed, nor for the
    // runtime's threads to stop and drop the remote's connections.
    free_in_background(plan);
    runtime.shutdown_background();
    Ok(code)
}

fn describe_gpus(workspace: &Workspace) -> String {
    let archs: Vec<String> = workspace
        .gpus
        .archs()
        .into_iter()
        .map(gpu::describe_arch)
        .collect();
    if archs.is_empty() {
        "none".into()
    } else {
        archs.join(", ")
    }
}

fn plan_exit_code(plan: &Plan, detailed: bool) -> u8 {
    if !detailed {
        return 0;
    }
    if plan.steps.iter().any(|s| {
        matches!(
            s.decision,
            Decision::CannotBuild { .. } | Decision::Untrusted { .. }
        )
    }) {
        EXIT_UNSATISFIABLE
    } else if plan.has_changes() {
        EXIT_CHANGES
    } else {
        0
    }
}
