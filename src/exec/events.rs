//! What the executor tells its reporter, as data. The executor owns the [`Reporter`] trait (as
//! a searcher owns its sink); the renderers in `report` implement it and depend on this file
//! alone, never the reverse.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::error::ExecError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Fetch,
    Build,
    Upload,
    Refit,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Fetch => "fetch",
            ActionKind::Build => "build",
            ActionKind::Upload => "upload",
            ActionKind::Refit => "refit",
        }
    }
}

/// Who did the work instead of this process; the result is the same engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneElsewhere {
    /// Another process on this machine committed it to the cache first.
    BuiltByAnotherProcess,
    FetchedByAnotherProcess,
    /// Another builder published it to the remote first.
    UploadedByAnotherBuilder,
    /// The builder that held the engine's lease built and published it.
    UploadedByLeaseHolder,
}

impl fmt::Display for DoneElsewhere {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DoneElsewhere::BuiltByAnotherProcess => "built by another process",
            DoneElsewhere::FetchedByAnotherProcess => "fetched by another process",
            DoneElsewhere::UploadedByAnotherBuilder => "already uploaded by another builder",
            DoneElsewhere::UploadedByLeaseHolder => "uploaded by the builder that held the lease",
        })
    }
}

/// Why an action did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A failure elsewhere stopped the run (without `--keep-going`).
    Stopped,
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The build this upload needed did not complete.
    BuildIncomplete,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::Stopped => "stopped",
            SkipReason::Interrupted => "interrupted",
            SkipReason::BuildIncomplete => "its build did not complete",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Outcome {
    Done {
        bytes: u64,
    },
    AlreadyDone(#[serde(serialize_with = "as_text")] DoneElsewhere),
    Failed(#[serde(serialize_with = "as_text")] Arc<ExecError>),
    /// Not started: something it needs failed, or the run was stopped.
    Skipped(#[serde(serialize_with = "as_text")] SkipReason),
}

fn as_text<T: fmt::Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// What became of a shared timing cache (one per GPU arch and TensorRT version), or of a
/// timing cache a build was given.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum TimingOutcome {
    /// The remote's cache was larger than the local one: the builds start from it.
    Fetched { bytes: u64 },
    /// The remote's bytes are not what its metadata says (a write in progress, or damage):
    /// not used, and replaced by this builder's next upload.
    Unverified,
    /// Builds under simulation (no GPU) wrote the remote's cache, and this host has GPUs: not
    /// used, and replaced by this builder's next upload.
    Simulated,
    /// The grown local cache was published; `conflicts` other writers changed it first.
    Uploaded { bytes: u64, conflicts: u32 },
    /// Another builder published first, and its cache is at least as large: it stays, and
    /// this builder's local cache is kept as it is (the larger cache wins; caches do not merge).
    KeptRemote {
        conflicts: u32,
        remote_bytes: u64,
        local_bytes: u64,
    },
    /// trtexec failed with this cache and succeeded without it: the cache was moved aside.
    Rejected {
        file: String,
        #[serde(serialize_with = "as_text_path")]
        set_aside: std::path::PathBuf,
    },
    /// The remote could not be used for the timing cache; builds went on with the local one.
    Unavailable {
        #[serde(serialize_with = "as_text")]
        reason: Arc<ExecError>,
    },
}

fn as_text_path<S: Serializer>(value: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&value.display())
}

/// The shared timing caches of an apply, counted for the summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TimingTally {
    /// Remote caches copied into the local one.
    pub fetched: usize,
    /// Builds that started from a cache fetched from the remote.
    pub warm_builds: usize,
    pub uploaded: usize,
    /// Conditional writes refused because another builder wrote first.
    pub conflicts: usize,
    /// Caches trtexec failed with, set aside.
    pub rejected: usize,
    pub bytes_fetched: u64,
    pub bytes_uploaded: u64,
}

/// What an apply did; printed as the final summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    /// Engines already in the local cache.
    pub local_cache: usize,
    pub fetched: usize,
    pub built: usize,
    pub uploaded: usize,
    pub already_uploaded: usize,
    pub cannot_build: Vec<String>,
    pub failures: Vec<Failure>,
    pub skipped: usize,
    pub bytes_fetched: u64,
    pub bytes_uploaded: u64,
    pub wall_ms: u64,
    pub interrupted: bool,
    pub timing: TimingTally,
    /// `~ refit` steps done: weights-only changes refitted instead of built.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refitted: usize,
    /// Stripped plans refitted into engines, by any step (a build, a fetch or a refit).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refits: usize,
    /// The bytes of weights the stripped plans fetched or uploaded left out.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub bytes_saved: u64,
    /// Engines (file names) the remote holds now because this run published them, or fetched
    /// them from the builder that held their lease: with the plan, what the remote holds after
    /// the run, without listing it again.
    #[serde(skip)]
    pub published: std::collections::BTreeSet<String>,
    /// An upload found another builder's copy already there: what the remote holds of it is
    /// not known here.
    #[serde(skip)]
    pub published_elsewhere: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub action: ActionKind,
    pub file: String,
    #[serde(serialize_with = "as_text")]
    pub reason: Arc<ExecError>,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty() && !self.interrupted
    }
}

/// What the executor tells the reporter, as it happens.
#[derive(Debug, Clone, Copy, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event<'a> {
    Begin {
        total: usize,
    },
    Started {
        action: ActionKind,
        file: &'a str,
        bytes_total: Option<u64>,
    },
    Bytes {
        file: &'a str,
        done: u64,
    },
    Finished {
        ordinal: usize,
        action: ActionKind,
        file: &'a str,
        outcome: &'a Outcome,
        #[serde(rename = "elapsed_ms", serialize_with = "millis")]
        elapsed: Duration,
    },
    /// Another builder holds the engine's lease: this process waits to fetch its engine.
    Waiting {
        file: &'a str,
        host: &'a str,
        pid: u32,
    },
    /// A shared timing cache was fetched, published or set aside.
    TimingCache {
        cache: &'a str,
        #[serde(flatten)]
        outcome: &'a TimingOutcome,
    },
    Summary(&'a ApplyReport),
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// Receives executor events; implementations decide how (and whether) to show them.
pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event);
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}
