//! `trtctl fleet`: units of work, rendered for Kubernetes or GitHub Actions, or run on Ray.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;

use super::args::GlobalArgs;
use super::exit::EXIT_ERROR;
use super::fleet_args::{
    FleetApplyArgs, FleetCommand, FleetFormat, FleetPlanArgs, JobArgs, NodeArgsArgs,
};
use super::setup::{style, workspace_and_runtime};
use crate::fleet::ray::{self, RayClient, SubmitOptions, UnitResult};
use crate::fleet::{self, FleetPlan, JobCommand, github, kubernetes, yaml};
use crate::manifest::KubernetesSettings;
use crate::plan::Force;
use crate::report::{self, FleetLines};
use crate::workspace::{Environment, Workspace};

pub(super) fn run(
    global: &GlobalArgs,
    env: &Environment,
    command: FleetCommand,
) -> anyhow::Result<u8> {
    match command {
        FleetCommand::Plan(args) => plan(global, env, args),
        FleetCommand::Apply(args) => apply(global, env, args),
        FleetCommand::NodeArgs(args) => node_args(env, args),
    }
}

/// The units of the plan the workspace makes now, and the workspace.
fn units(
    global: &GlobalArgs,
    env: &Environment,
    job: &JobArgs,
) -> anyhow::Result<(FleetPlan, Workspace, tokio::runtime::Runtime)> {
    let (workspace, runtime) = workspace_and_runtime(&global.manifest, env)?;
    let plan = runtime.block_on(workspace.plan(&job.target, &Force::Nothing))?;
    Ok((fleet::fleet_plan(&plan)?, workspace, runtime))
}

fn job_command(job: &JobArgs, manifest: String) -> JobCommand {
    JobCommand {
        program: job.trtctl.clone(),
        manifest: job.job_manifest.clone().unwrap_or(manifest),
    }
}

fn plan(global: &GlobalArgs, env: &Environment, args: FleetPlanArgs) -> anyhow::Result<u8> {
    let (plan, workspace, _runtime) = units(global, env, &args.job)?;
    let format = if args.json {
        FleetFormat::Json
    } else {
        args.format
    };
    let table = &workspace.manifest.fleet.kubernetes;
    let text = render(&plan, format, &args, global, table)?;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    let rendered = !matches!(format, FleetFormat::Text | FleetFormat::Json);
    if rendered && plan.units.is_empty() && !global.quiet {
        // On stderr: stdout stays what a pipe into kubectl or a workflow expects.
        eprint!("{}", report::render_fleet_plan(&plan, style(global)));
    }
    Ok(0)
}

fn render(
    plan: &FleetPlan,
    format: FleetFormat,
    args: &FleetPlanArgs,
    global: &GlobalArgs,
    table: &KubernetesSettings,
) -> anyhow::Result<String> {
    let as_given = global.manifest.display().to_string();
    // In the image, the manifest may live elsewhere than here.
    let in_image = || {
        job_command(
            &args.job,
            table.manifest.clone().unwrap_or(as_given.clone()),
        )
    };
    let jobs = || kubernetes::jobs(plan, &kubernetes_settings(args, table), &in_image());
    Ok(match format {
        FleetFormat::Text => report::render_fleet_plan(plan, style(global)),
        FleetFormat::Json => serde_json::to_string_pretty(plan)? + "\n",
        FleetFormat::K8s => (jobs()?.iter())
            .map(|job| format!("---\n{}", yaml::document(job)))
            .collect(),
        FleetFormat::K8sJson => serde_json::to_string_pretty(&kubernetes::list(jobs()?))? + "\n",
        FleetFormat::GithubMatrix => {
            let command = job_command(&args.job, as_given.clone());
            serde_json::to_string(&github::matrix(plan, &args.runner_label, &command)?)? + "\n"
        }
    })
}

/// `[fleet.kubernetes]`, each flag given overriding its key.
fn kubernetes_settings(args: &FleetPlanArgs, table: &KubernetesSettings) -> KubernetesSettings {
    let pick = |flag: &Option<String>, key: &Option<String>| flag.clone().or_else(|| key.clone());
    KubernetesSettings {
        image: pick(&args.image, &table.image),
        namespace: pick(&args.namespace, &table.namespace),
        secret: pick(&args.secret, &table.secret),
        service_account: pick(&args.service_account, &table.service_account),
        cache_volume_claim: pick(&args.cache_volume_claim, &table.cache_volume_claim),
        manifest: table.manifest.clone(),
    }
}

fn apply(global: &GlobalArgs, env: &Environment, args: FleetApplyArgs) -> anyhow::Result<u8> {
    let client = RayClient::new(&args.ray)?;
    let capacity_timeout = Duration::try_from_secs_f64(args.capacity_timeout)
        .context("--capacity-timeout takes a number of seconds")?;
    let (plan, _workspace, runtime) = units(global, env, &args.job)?;
    let style = style(global);
    if plan.units.is_empty() {
        print!("{}", report::render_fleet_plan(&plan, style));
        return Ok(0);
    }
    let absolute = std::path::absolute(&global.manifest)
        .with_context(|| format!("cannot resolve {}", global.manifest.display()))?;
    let options = SubmitOptions {
        command: job_command(&args.job, absolute.display().to_string()),
        env_vars: (fleet::JOB_ENV.iter())
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .chain(fleet::forwarded_credentials(|name| {
                std::env::var(name).ok()
            }))
            .collect(),
        capacity_timeout,
        poll: Duration::from_millis(500),
    };
    let reporter = FleetLines::new(style, Box::new(std::io::stdout()));
    let results = runtime.block_on(ray::apply(&client, &plan, &options, &reporter))?;
    let succeeded = results.iter().all(|r| *r == UnitResult::Succeeded);
    Ok(if succeeded { 0 } else { EXIT_ERROR })
}

fn node_args(env: &Environment, args: NodeArgsArgs) -> anyhow::Result<u8> {
    let gpus = env.gpus();
    let archs = gpus.archs();
    anyhow::ensure!(
        !archs.is_empty(),
        "no GPU here to offer to the fleet: {}; pass --gpu-arch sm_NN to name one",
        gpus.describe_build_gpus()
    );
    let resources = ray::node_resources(&archs);
    if args.json {
        println!("{}", serde_json::json!({ "resources": resources }));
    } else {
        println!("--resources={resources}");
    }
    Ok(0)
}
