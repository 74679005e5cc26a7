//! `plan` and `apply` over an `engines.toml`, as `trtctl plan` and `trtctl apply` do them.

use std::path::PathBuf;

use pyo3::prelude::*;
use trtctl::exec::{ApplyOptions, StopSignal};
use trtctl::plan::{Decision, EngineStep, Force, Plan, Selector};
use trtctl::report::{self, Style};
use trtctl::workspace::Workspace;

use crate::blocking::run_interruptible;
use crate::environment::environment;
use crate::errors;
use crate::progress::PythonReporter;

pub(crate) fn selectors(texts: &[String]) -> PyResult<Vec<Selector>> {
    texts
        .iter()
        .map(|t| t.parse::<Selector>().map_err(errors::input))
        .collect()
}

/// One step's action and why, in the words of `trtctl plan`.
fn action_and_reason(step: &EngineStep) -> (&'static str, String) {
    let stale = |s: &Option<trtctl::plan::Staleness>| s.as_ref().map(ToString::to_string);
    match &step.decision {
        Decision::UpToDate { note } => ("up_to_date", note.clone().unwrap_or_default()),
        Decision::Fetch { stale: s, .. } => (
            "fetch",
            stale(s).unwrap_or_else(|| "in the remote, not in the local cache".into()),
        ),
        Decision::Build { stale: Some(s), .. } => ("rebuild", s.to_string()),
        Decision::Build { note, .. } => (
            "build",
            note.clone()
                .unwrap_or_else(|| "in neither the local cache nor the remote".into()),
        ),
        Decision::Upload => ("upload", "not in the remote".into()),
        Decision::Refit { .. } => ("refit", "weights changed".into()),
        Decision::CannotBuild { arch, .. } => (
            "cannot_build",
            format!(
                "needs a GPU of {}; not in the remote",
                trtctl::gpu::describe_arch(*arch)
            ),
        ),
        Decision::Untrusted { why, .. } => ("untrusted", format!("{why}; not fetched")),
    }
}

/// What `plan` hands to Python: the plan as `trtctl plan --json` prints it, as the text
/// `trtctl plan` prints, and each step's action and reason.
type PlanParts = (String, String, Vec<(&'static str, String)>);

fn parts(plan: &Plan) -> PlanParts {
    let json = serde_json::to_string_pretty(plan).expect("plans serialize");
    let text = report::render_plan(plan, Style { color: false });
    let steps = plan.steps.iter().map(action_and_reason).collect();
    (json, text, steps)
}

fn planned(
    py: Python<'_>,
    manifest: &std::path::Path,
    gpu_arch: Vec<String>,
    targets: &[String],
    force_rebuild: &[String],
    no_upload: bool,
) -> PyResult<(Workspace, Plan)> {
    let env = environment(gpu_arch)?;
    let targets = selectors(targets)?;
    let force = Force::from_selectors(&selectors(force_rebuild)?);
    let workspace = Workspace::open(manifest, &env).map_err(errors::from_workspace)?;
    let stop = StopSignal::default();
    let mut plan = run_interruptible(py, &stop, workspace.plan(&targets, &force))?
        .map_err(errors::from_workspace)?;
    if no_upload {
        plan.skip_uploads();
    }
    Ok((workspace, plan))
}

#[pyfunction]
#[pyo3(signature = (manifest, *, targets=Vec::new(), gpu_arch=Vec::new(), no_upload=false))]
pub fn plan(
    py: Python<'_>,
    manifest: PathBuf,
    targets: Vec<String>,
    gpu_arch: Vec<String>,
    no_upload: bool,
) -> PyResult<PlanParts> {
    let (_, plan) = planned(py, &manifest, gpu_arch, &targets, &[], no_upload)?;
    Ok(parts(&plan))
}

/// Applies the manifest; returns the plan's parts, the `ApplyReport` as JSON and each
/// `finished` event as JSON. `progress` receives every event as a JSON object.
#[pyfunction]
#[pyo3(signature = (
    manifest, progress, *, targets=Vec::new(), force_rebuild=Vec::new(), gpu_arch=Vec::new(),
    no_upload=false, jobs=4, keep_going=false
))]
#[allow(clippy::too_many_arguments)] // each is one keyword argument of the Python API
pub fn apply(
    py: Python<'_>,
    manifest: PathBuf,
    progress: Py<PyAny>,
    targets: Vec<String>,
    force_rebuild: Vec<String>,
    gpu_arch: Vec<String>,
    no_upload: bool,
    jobs: usize,
    keep_going: bool,
) -> PyResult<(PlanParts, String, Vec<String>)> {
    let (workspace, plan) = planned(py, &manifest, gpu_arch, &targets, &force_rebuild, no_upload)?;
    let builder = workspace.builder_for(&plan).map_err(errors::build)?;
    let stop = StopSignal::default();
    let reporter = PythonReporter::new(progress, &stop);
    let options = ApplyOptions { jobs, keep_going };
    let report = run_interruptible(
        py,
        &stop,
        workspace.apply(&plan, builder.as_deref(), &reporter, options, &stop),
    )?;
    let report = serde_json::to_string(&report).expect("reports serialize");
    Ok((parts(&plan), report, reporter.into_finished()?))
}
