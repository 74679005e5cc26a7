//! Argument definitions and the thin glue from each command to the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use trtctl::builder::Builder;
use trtctl::exec::{ApplyOptions, StopSignal, with_signals};
use trtctl::gpu;
use trtctl::identity::GpuArch;
use trtctl::plan::{Decision, Force, Plan, Selector};
use trtctl::report::{
    self, ColorChoice, JsonReporter, PlainReporter, Reporter, Style, TtyReporter,
};
use trtctl::store::maintenance;
use trtctl::store::remote::RemoteSettings;
use trtctl::workspace::{EngineRequest, Environment, Workspace, ensure_engine};

mod cache;
mod doctor;

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;
pub const EXIT_UNSATISFIABLE: u8 = 3;
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser, Debug)]
#[command(
    name = "trtctl",
    version,
    about = "Declarative build tool for NVIDIA TensorRT engines",
    long_about = "trtctl reads engines.toml (models × precisions × GPU archs), compares it with the local \
engine cache and the remote cache, and shows (plan) or does (apply) what is needed: fetch what other \
machines built, build the rest with trtexec on the local GPUs, cache and upload.",
    after_help = "Examples:\n  trtctl plan -f engines.toml\n  trtctl plan --detailed-exitcode --target arcface_r100:fp16\n  trtctl plan --gpu-arch sm_86 --json"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// The manifest to read.
    #[arg(
        short = 'f',
        long,
        global = true,
        default_value = "engines.toml",
        value_name = "FILE"
    )]
    pub manifest: PathBuf,
    /// Plan as if a GPU of this arch were here (repeat for several GPUs); skips GPU detection.
    #[arg(
        long = "gpu-arch",
        global = true,
        value_name = "sm_NN",
        env = "TRTCTL_GPU_ARCH",
        value_delimiter = ','
    )]
    pub gpu_arch: Vec<GpuArch>,
    /// When to color output.
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Say more (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Say only what went wrong.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what apply would fetch, build, upload or rebuild, and why.
    #[command(
        after_help = "Exit codes:\n  0  success (with --detailed-exitcode: nothing to do)\n  1  error\n  2  with --detailed-exitcode: changes pending, all of them doable here\n  3  with --detailed-exitcode: some engines cannot be built here and are not in the remote\n\nExamples:\n  trtctl plan\n  trtctl plan --target 'arcface_r100:fp16' --target '*:*:sm_86'\n  trtctl plan --out plan.json && trtctl apply plan.json\n  trtctl plan --graph | dot -Tsvg > plan.svg"
    )]
    Plan(PlanArgs),
    /// Make the cache match the manifest: fetch, build and upload what the plan says.
    #[command(
        after_help = "Exit codes:\n  0  every engine is in the local cache\n  1  an error, a failed action, or engines that cannot be built here (unless --allow-missing)\n  130  interrupted\n\nExamples:\n  trtctl apply\n  trtctl apply -j 8 --keep-going\n  trtctl apply --force-rebuild arcface_r100:fp16\n  trtctl plan --out plan.json && trtctl apply plan.json"
    )]
    Apply(ApplyArgs),
    /// One engine without a manifest: print its path and where it came from (local_cache, remote, built).
    #[command(
        after_help = "Examples:\n  trtctl ensure --onnx models/arcface_r100.onnx --precision fp16 --batch-size 32\n  trtctl ensure --onnx m.onnx --precision fp32 --batch-size 1 --name arcface_r100 --version v1.0 --json"
    )]
    Ensure(EnsureArgs),
    /// Inspect, prune and check the local engine cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Local GPUs, TensorRT, trtexec, the cache and the remote: what this machine can do.
    #[command(
        visible_alias = "doctor",
        after_help = "Examples:\n  trtctl gpus\n  trtctl doctor --json"
    )]
    Gpus(GpusArgs),
    /// Print shell completions.
    #[command(
        after_help = "Examples:\n  trtctl completions bash > /etc/bash_completion.d/trtctl\n  trtctl completions zsh > ~/.zfunc/_trtctl"
    )]
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    #[command(after_help = "Examples:\n  trtctl man > trtctl.1 && man ./trtctl.1")]
    Man,
    /// Print the JSON Schema of engines.toml, for editors.
    #[command(
        after_help = "Examples:\n  trtctl schema > engines.schema.json\n  # taplo / Even Better TOML: add `#:schema ./engines.schema.json` atop engines.toml"
    )]
    Schema,
}

#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// List cached engines with size, age, last use and sidecar status.
    #[command(
        after_help = "Examples:\n  trtctl cache ls\n  trtctl cache ls --target '*:*:sm_86' --json"
    )]
    Ls {
        /// Only these engines (`model`, `model:precision`, `model:precision:sm_NN`).
        #[arg(long, value_name = "SELECTOR")]
        target: Vec<Selector>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove engines the manifest no longer wants and interrupted leftovers.
    #[command(
        after_help = "Without flags: engines the manifest does not want (other TensorRT versions, old model versions, unknown models) and leftovers (temp files, engines without sidecar, unused locks).\n\nExamples:\n  trtctl cache clean --dry-run\n  trtctl cache clean --older-than 30d\n  trtctl cache clean --max-size 50GiB\n  trtctl cache clean --all"
    )]
    Clean {
        /// Empty the cache entirely.
        #[arg(long)]
        all: bool,
        /// Also remove engines not used for this long (`30d`, `12h`, `2w`).
        #[arg(long, value_name = "AGE", value_parser = maintenance::parse_age)]
        older_than: Option<std::time::Duration>,
        /// Evict least recently used engines until the cache fits (`50GiB`, `500MiB`).
        #[arg(long, value_name = "SIZE", value_parser = maintenance::parse_size)]
        max_size: Option<u64>,
        /// Show what would go and the bytes freed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Re-hash every engine against its sidecar; exit 1 if any is corrupt.
    #[command(after_help = "Examples:\n  trtctl cache verify\n  trtctl cache verify --fix")]
    Verify {
        /// Remove corrupt engines so the next apply fetches or rebuilds them.
        #[arg(long)]
        fix: bool,
    },
}

#[derive(Args, Debug)]
pub struct GpusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// A plan saved by `trtctl plan --out`; refused if the manifest, cache or remote changed since.
    #[arg(value_name = "PLAN")]
    pub plan: Option<PathBuf>,
    /// Rebuild everything, or only engines matching SELECTOR (e.g. `arcface_r100:fp16`).
    #[arg(long, value_name = "SELECTOR", num_args = 0..=1, default_missing_value = "*", action = clap::ArgAction::Append, conflicts_with = "plan")]
    pub force_rebuild: Vec<Selector>,
    /// Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any).
    #[arg(long, value_name = "SELECTOR", conflicts_with = "plan")]
    pub target: Vec<Selector>,
    /// Concurrent transfers (builds run one per local GPU).
    #[arg(short = 'j', long, default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    /// Finish everything that does not depend on a failure (the exit code still says it failed).
    #[arg(long)]
    pub keep_going: bool,
    /// Succeed even if some engines cannot be built here and are not in the remote.
    #[arg(long)]
    pub allow_missing: bool,
    /// Publish nothing to the remote (fetches still happen).
    #[arg(long, conflicts_with = "plan")]
    pub no_upload: bool,
    /// Only show the plan (same as `trtctl plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON event per line instead of progress.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct EnsureArgs {
    /// The ONNX model.
    #[arg(long, value_name = "FILE")]
    pub onnx: PathBuf,
    /// fp32, fp16, bf16, int8, fp8 or best.
    #[arg(long)]
    pub precision: trtctl::identity::Precision,
    /// The largest batch the engine must take (the profile is 1..=N, optimized for N).
    #[arg(long, value_name = "N")]
    pub batch_size: u32,
    /// Model name in the engine's file name (default: the ONNX file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Model version (default: the first 8 hex digits of the ONNX sha256).
    #[arg(long)]
    pub version: Option<String>,
    /// A remote engine cache to fetch from and upload to (`s3://bucket/prefix` or `file:///dir`).
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// Print `{"path": ..., "source": ...}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Print the plan as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Exit 2 when changes are pending, 3 when some engines cannot be built here (0 = nothing to do).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any).
    #[arg(long, value_name = "SELECTOR")]
    pub target: Vec<Selector>,
    /// Save the plan as JSON, for `trtctl apply FILE` later.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the action graph in Graphviz DOT instead of text.
    #[arg(long, conflicts_with = "json")]
    pub graph: bool,
    /// Plan to publish nothing to the remote (fetches still happen).
    #[arg(long)]
    pub no_upload: bool,
}

fn environment(global: &GlobalArgs) -> Environment {
    Environment {
        gpu_archs: global.gpu_arch.clone(),
        ..Environment::from_process()
    }
}

fn style(global: &GlobalArgs) -> Style {
    let choice = match global.color {
        ColorArg::Auto => ColorChoice::Auto,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
    };
    Style {
        color: report::use_color(
            choice,
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").is_some(),
        ),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let env = environment(&cli.global);
    match cli.command {
        Command::Plan(args) => plan_command(&cli.global, &env, args),
        Command::Apply(args) => apply_command(&cli.global, &env, args),
        Command::Ensure(args) => ensure_command(&env, args),
        Command::Cache(command) => cache::run(&cli.global, &env, command),
        Command::Gpus(args) => doctor::run(&cli.global, &env, args),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "trtctl", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&trtctl::manifest::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn plan_command(
    global: &GlobalArgs,
    env: &Environment,
    args: PlanArgs,
) -> anyhow::Result<ExitCode> {
    let workspace = Workspace::open(&global.manifest, env)?;
    let mut plan = runtime()?.block_on(workspace.plan(&args.target, &Force::Nothing))?;
    if args.no_upload {
        plan.skip_uploads();
    }
    if let Some(out) = &args.out {
        let json = serde_json::to_vec_pretty(&plan).context("cannot encode the plan")?;
        trtctl::store::write_atomic(out, &json)?;
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
    }
    Ok(ExitCode::from(plan_exit_code(
        &plan,
        args.detailed_exitcode,
    )))
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
    if plan
        .steps
        .iter()
        .any(|s| matches!(s.decision, Decision::CannotBuild { .. }))
    {
        EXIT_UNSATISFIABLE
    } else if plan.has_changes() {
        EXIT_CHANGES
    } else {
        0
    }
}

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

fn apply_command(
    global: &GlobalArgs,
    env: &Environment,
    args: ApplyArgs,
) -> anyhow::Result<ExitCode> {
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
    let workspace = Workspace::open(&manifest, env)?;
    let runtime = runtime()?;
    let mut plan = runtime.block_on(workspace.plan(&targets, &force))?;
    if no_upload {
        plan.skip_uploads();
    }
    if let Some(saved) = &saved {
        check_saved_plan(saved, &plan)?;
    }
    let style = style(global);
    if args.dry_run {
        print!("{}", report::render_plan(&plan, style));
        return Ok(ExitCode::SUCCESS);
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
        workspace.apply(
            &plan,
            builder.as_ref().map(|b| b as &dyn Builder),
            reporter.as_ref(),
            options,
            &stop,
        ),
    ));
    let code = if report.interrupted {
        EXIT_INTERRUPTED
    } else if !report.succeeded() || (!report.cannot_build.is_empty() && !args.allow_missing) {
        EXIT_ERROR
    } else {
        0
    };
    Ok(ExitCode::from(code))
}

fn ensure_command(env: &Environment, args: EnsureArgs) -> anyhow::Result<ExitCode> {
    let request = EngineRequest {
        onnx: args.onnx,
        precision: args.precision,
        batch_size: args.batch_size,
        name: args.name,
        version: args.version,
        family: None,
        remote: args.remote.map(|url| RemoteSettings {
            url,
            ..RemoteSettings::default()
        }),
        env: env.clone(),
    };
    let (path, source) = runtime()?.block_on(ensure_engine(&request))?;
    if args.json {
        println!("{}", serde_json::json!({ "path": path, "source": source }));
    } else {
        println!("{}\t{source}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
