//! The arguments of `trtctl fleet`, as clap parses them.

use clap::{Args, Subcommand, ValueEnum};

use crate::plan::Selector;

#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// The builds a fleet must run, one unit per GPU kind: as text, JSON, Kubernetes Jobs or a
    /// GitHub Actions matrix.
    #[command(
        after_help = "Engines already in the remote (or in the local cache, to be uploaded by `trtctl apply`) are left out. Each unit runs `trtctl apply --target ...` on a machine with its GPU; build leases in the remote keep two builders off one engine. A plan with untrusted remote copies renders nothing (exit 1).\n\nExamples:\n  trtctl fleet plan\n  trtctl fleet plan --format k8s --image registry.example.com/trtctl:1 --secret trtctl-remote | kubectl apply -f -\n  trtctl fleet plan --format github-matrix --runner-label 'gpu-{sm}'"
    )]
    Plan(FleetPlanArgs),
    /// Submit one Ray job per unit to a running Ray cluster and wait on them.
    #[command(
        after_help = "Each unit's job asks for the custom resource `trtctl/sm_NN` (give it to nodes with `trtctl fleet node-args`) and runs `trtctl apply --target ...` there. The job's id comes from its engines: a run of the same plan waits on the jobs already submitted instead of submitting them again. Credentials (ARTIFACTS_*, AWS_*, TRTCTL_REMOTE, TRTCTL_TRUSTED_KEYS) reach the jobs through their runtime_env, never their command line.\n\nExit codes:\n  0  every unit's job succeeded (or there was nothing to build)\n  1  an error, a failed job, or a unit no node took within --capacity-timeout\n\nExamples:\n  trtctl fleet apply --ray http://ray-head:8265\n  trtctl fleet apply --ray http://ray-head:8265 --capacity-timeout 600"
    )]
    Apply(FleetApplyArgs),
    /// Print the `ray start` arguments that offer this host's GPUs to `trtctl fleet apply`.
    #[command(
        after_help = "Examples:\n  ray start --address HEAD:6379 $(trtctl fleet node-args)\n  trtctl fleet node-args --gpu-arch sm_86"
    )]
    NodeArgs(NodeArgsArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FleetFormat {
    Text,
    Json,
    /// batch/v1 Jobs as multi-document YAML.
    K8s,
    /// batch/v1 Jobs as one JSON `List`.
    K8sJson,
    /// `{"include": [...]}` for `strategy.matrix: ${{ fromJSON(...) }}`.
    GithubMatrix,
}

/// What every unit's job runs.
#[derive(Args, Debug)]
pub struct JobArgs {
    /// Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any).
    #[arg(long, value_name = "SELECTOR")]
    pub target: Vec<Selector>,
    /// The manifest's path where the jobs run (default: as given to -f; absolute for Ray).
    #[arg(long, value_name = "PATH")]
    pub job_manifest: Option<String>,
    /// The trtctl executable where the jobs run.
    #[arg(long, value_name = "PROGRAM", default_value = "trtctl")]
    pub trtctl: String,
}

#[derive(Args, Debug)]
pub struct FleetPlanArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// What to print.
    #[arg(long, value_enum, default_value_t = FleetFormat::Text)]
    pub format: FleetFormat,
    /// Same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// k8s: the container image (else `image` of `[fleet.kubernetes]`).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// k8s: the Jobs' namespace.
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// k8s: the Secret whose keys become the container's environment (ARTIFACTS_*, AWS_*).
    #[arg(long, value_name = "NAME")]
    pub secret: Option<String>,
    /// k8s: the pods' ServiceAccount.
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,
    /// k8s: a PersistentVolumeClaim mounted as the engine cache.
    #[arg(long, value_name = "NAME")]
    pub cache_volume_claim: Option<String>,
    /// github-matrix: each unit's runner label; `{sm}` is `sm86`, `{arch}` is `sm_86`.
    #[arg(long, value_name = "PATTERN", default_value = crate::fleet::github::DEFAULT_RUNNER_LABEL)]
    pub runner_label: String,
}

#[derive(Args, Debug)]
pub struct FleetApplyArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// The Ray dashboard's address, where its Jobs API is.
    #[arg(long, value_name = "URL")]
    pub ray: String,
    /// Report a unit as `no capacity` when no node has started its job after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
    pub capacity_timeout: f64,
}

#[derive(Args, Debug)]
pub struct NodeArgsArgs {
    /// Print `{"resources": {...}}` instead of the arguments.
    #[arg(long)]
    pub json: bool,
}
