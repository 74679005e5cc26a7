//! The command line's arguments, as clap parses them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::identity::GpuArch;
use crate::plan::Selector;
use crate::store::maintenance;

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
    /// Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build.
    #[arg(
        long = "gpu-arch",
        global = true,
        value_name = "sm_NN",
        env = "TRTCTL_GPU_ARCH",
        value_delimiter = ',',
        value_parser = crate::gpu::parse_gpu_arch
    )]
    pub gpu_arch: Vec<GpuArch>,
    /// The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`).
    #[arg(
        long = "gpu-model",
        global = true,
        value_name = "MODEL",
        env = "TRTCTL_GPU_MODEL"
    )]
    pub gpu_model: Option<String>,
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
        after_help = "Exit codes:\n  0  success (with --detailed-exitcode: nothing to do)\n  1  error\n  2  with --detailed-exitcode: changes pending, all of them doable here\n  3  with --detailed-exitcode: some engines cannot be built here and are not in the remote (or only untrusted)\n\nExamples:\n  trtctl plan\n  trtctl plan --target 'arcface_r100:fp16' --target '*:*:sm_86'\n  trtctl plan --out plan.json && trtctl apply plan.json\n  trtctl plan --graph | dot -Tsvg > plan.svg"
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
    /// Pin the engines of the manifest that exist (local cache or remote) in engines.lock.
    #[command(
        after_help = "engines.lock sits beside the manifest. It lists, per engine, its key, sha256, size, fingerprint, TensorRT version, arch and precision, and a digest of the desired set (identities and fingerprints). `trtctl apply` keeps it current; `plan --locked` / `apply --locked` fail if it would change.\n\nExit codes:\n  0  the lock is written (or already current)\n  1  an error, or engines that do not exist yet (unless --allow-missing)\n\nExamples:\n  trtctl lock\n  trtctl lock --allow-missing"
    )]
    Lock(LockArgs),
    /// Install the engines engines.lock pins for this host's GPUs: no ONNX, trtexec or TensorRT needed.
    #[command(
        after_help = "Fetches exactly the pinned bytes (sha256 and size from the lock, whatever the remote's sidecar says) into the local cache; never builds, never uploads. The archs are the local GPUs', or --gpu-arch / TRTCTL_GPU_ARCH.\n\nExit codes (for init containers):\n  0  every pinned engine for these archs is in the cache\n  1  an engine could not be fetched: missing or different on the remote, or a transfer failed (retrying may help)\n  2  the lock, the manifest or the request is wrong (another manifest's lock, a hand-edited lock, an arch the lock does not pin, no remote); nothing was fetched, retrying will not help\n  3  everything pinned was fetched, but the lock leaves some engines wanted here unpinned (written with --allow-missing)\n\nExamples:\n  trtctl fetch\n  trtctl fetch --lock engines.lock --gpu-arch sm_86 --json\n  trtctl fetch --target arcface_r100:fp16"
    )]
    Fetch(FetchArgs),
    /// Fan builds out to a fleet: Kubernetes Jobs, a GitHub Actions matrix, or Ray jobs.
    #[command(subcommand)]
    Fleet(super::fleet_args::FleetCommand),
    /// Lay out pinned engines for a model server.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Inspect, prune and check the local engine cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Signing keys: make one, print its public key.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign the engines already in the remote with this machine's key (TRTCTL_SIGNING_KEY_FILE).
    #[command(
        after_help = "Each engine's bytes are read back and must match its sidecar, and its sidecar must describe what the manifest wants; engines whose trusted signature no longer holds are refused (exit 1).\n\nExamples:\n  TRTCTL_SIGNING_KEY_FILE=ci-2027.key trtctl sign\n  trtctl sign --target arcface_r100:fp16"
    )]
    Sign(SignArgs),
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

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Make an ed25519 key pair: the secret key goes to FILE (mode 0600), the public key
    /// (`NAME:base64`) to stdout.
    #[command(
        after_help = "Examples:\n  trtctl key generate ci-2026 --out ci-2026.key\n  # then trust it on every host: [trust] keys = [\"ci-2026:…\"] or TRTCTL_TRUSTED_KEYS"
    )]
    Generate {
        /// The key's name, e.g. `ci-2026` (A-Z a-z 0-9 . _ -).
        name: String,
        /// Where the secret key goes; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print the public key (`NAME:base64`) of a secret key file.
    #[command(after_help = "Examples:\n  trtctl key public ci-2026.key")]
    Public {
        /// The secret key file.
        file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any).
    #[arg(long, value_name = "SELECTOR")]
    pub target: Vec<Selector>,
}

#[derive(Args, Debug)]
pub struct LockArgs {
    /// Lock the engines that exist and list the others as missing, instead of failing.
    #[arg(long)]
    pub allow_missing: bool,
}

#[derive(Args, Debug)]
pub struct FetchArgs {
    /// The lock to install (default: engines.lock beside the manifest).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any).
    #[arg(long, value_name = "SELECTOR")]
    pub target: Vec<Selector>,
    /// Concurrent downloads.
    #[arg(short = 'j', long, default_value_t = 8, value_name = "N")]
    pub jobs: usize,
    /// Print one JSON object (per-engine status) instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// A Triton model repository: `REPO/{model}/{N}/model_sm_NN.plan` and config.pbtxt with cc_model_filenames.
    #[command(
        after_help = "Exports the engines engines.lock pins (all archs, or --gpu-arch), which must be in the local cache (`trtctl fetch --lock` first). In an existing config.pbtxt, trtctl rewrites name, platform, max_batch_size and cc_model_filenames, removes backend and default_model_filename, and keeps every other field.\n\nExamples:\n  trtctl export triton --repo /models\n  trtctl export triton --repo /models --target '*:fp16' --repo-version 3"
    )]
    Triton(TritonArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelNameArg {
    Model,
    Family,
}

#[derive(Args, Debug)]
pub struct TritonArgs {
    /// The model repository directory.
    #[arg(long, value_name = "DIR")]
    pub repo: PathBuf,
    /// Name each Triton model after the engine's model name or its family.
    #[arg(long, value_enum, default_value_t = ModelNameArg::Model)]
    pub model_name_from: ModelNameArg,
    /// Triton's version directory: a positive number without leading zeros.
    #[arg(long, default_value = "1", value_name = "N")]
    pub repo_version: crate::export::triton::RepoVersion,
    /// The lock whose engines to export (default: engines.lock beside the manifest).
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any).
    #[arg(long, value_name = "SELECTOR")]
    pub target: Vec<Selector>,
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
    /// Neither fetch nor publish timing caches through the remote (the local one is still used).
    #[arg(long)]
    pub no_shared_timing_cache: bool,
    /// Only show the plan (same as `trtctl plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON event per line instead of progress.
    #[arg(long)]
    pub json: bool,
    /// Fail (exit 1, showing the difference) if engines.lock would change, like `cargo --locked`.
    #[arg(long)]
    pub locked: bool,
}

#[derive(Args, Debug)]
pub struct EnsureArgs {
    /// The ONNX model.
    #[arg(long, value_name = "FILE")]
    pub onnx: PathBuf,
    /// fp32, fp16, bf16, int8, fp8 or best.
    #[arg(long)]
    pub precision: crate::identity::Precision,
    /// The largest batch the engine must take (the profile is 1..=N, optimized for N).
    #[arg(long, value_name = "N")]
    pub batch_size: u32,
    /// Model name in the engine's file name (default: the ONNX file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Model version (default: the first 8 hex digits of the ONNX sha256).
    #[arg(long)]
    pub version: Option<String>,
    /// A remote engine cache to fetch from and upload to (`s3://bucket/prefix` or `file:///dir`);
    /// default: TRTCTL_REMOTE, else s3://screenalytics-artifacts/engines at ARTIFACTS_ENDPOINT, else none.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,
    /// Only the local cache and the local GPU, whatever the environment says.
    #[arg(long, conflicts_with = "remote")]
    pub no_remote: bool,
    /// Build on this GPU (device index; default: the first).
    #[arg(long, value_name = "INDEX")]
    pub gpu: Option<u32>,
    /// Build again even if a current engine is cached locally or remotely.
    #[arg(long)]
    pub force_rebuild: bool,
    /// Publish nothing to the remote (fetches still happen).
    #[arg(long)]
    pub no_upload: bool,
    /// Give up after this many seconds; nothing half-written is committed.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// TensorRT's hardware compatibility level (`ampere+`: one engine for every GPU of sm_80 or later).
    #[arg(long, value_name = "LEVEL")]
    pub hardware_compatibility: Option<String>,
    /// Build version-compatible (a newer TensorRT may load it).
    #[arg(long)]
    pub version_compatible: bool,
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
    /// Fail (exit 1, showing the difference) if engines.lock would change, like `cargo --locked`.
    #[arg(long)]
    pub locked: bool,
}
