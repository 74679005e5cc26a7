//! `--format github-matrix`: the `include` list of a `strategy.matrix`, one job per unit, for
//! `fromJSON` in a workflow.

use serde_json::{Value, json};

use super::{FleetPlan, JobCommand, Unit};

/// GitHub Actions runs at most this many jobs from one matrix.
pub const MAX_JOBS: usize = 256;

/// The runner label of each unit: `gpu-{sm}` gives `gpu-sm86`.
pub const DEFAULT_RUNNER_LABEL: &str = "gpu-{sm}";

#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error(
        "the plan needs {units} jobs, more than the {MAX_JOBS} GitHub Actions runs from one matrix\n  = help: split it with `--target` (e.g. one workflow per model) and render each part"
    )]
    TooManyJobs { units: usize },
    #[error(
        "runner label pattern `{pattern}` has no `{{sm}}` or `{{arch}}`: every unit would run on the same runners\n  = help: e.g. `--runner-label gpu-{{sm}}`"
    )]
    SameLabel { pattern: String },
}

/// `{"include": [...]}`: each entry names its unit, runner label and `trtctl` arguments.
pub fn matrix(
    plan: &FleetPlan,
    runner_label: &str,
    command: &JobCommand,
) -> Result<Value, MatrixError> {
    if !runner_label.contains("{sm}") && !runner_label.contains("{arch}") {
        return Err(MatrixError::SameLabel {
            pattern: runner_label.to_string(),
        });
    }
    if plan.units.len() > MAX_JOBS {
        return Err(MatrixError::TooManyJobs {
            units: plan.units.len(),
        });
    }
    let include: Vec<Value> = (plan.units.iter())
        .map(|unit| {
            json!({
                "unit": unit.name,
                "arch": unit.gpu.arch.to_string(),
                "runner": label(runner_label, unit),
                "count": unit.count,
                "command": command.shell_line(unit),
            })
        })
        .collect();
    Ok(json!({ "include": include }))
}

fn label(pattern: &str, unit: &Unit) -> String {
    pattern
        .replace("{sm}", &unit.gpu.slug())
        .replace("{arch}", &unit.gpu.arch.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{Unit, UnitKey};

    fn plan_of(units: usize) -> FleetPlan {
        let unit = Unit {
            gpu: UnitKey {
                arch: "sm_86".parse().unwrap(),
                gpu_model: None,
            },
            name: "trtctl-sm86-0123456789".into(),
            count: 1,
            selectors: vec!["m:fp16:sm_86".into()],
            engines: vec!["m/m_v1_fp16_sm_86_10.3.0.trt".into()],
        };
        FleetPlan {
            digest: "0123456789".into(),
            manifest: "engines.toml".into(),
            remote: "file://remote".into(),
            units: vec![unit; units],
        }
    }

    #[test]
    fn more_jobs_than_github_runs_from_one_matrix_are_refused() {
        let command = JobCommand {
            program: "trtctl".into(),
            manifest: "engines.toml".into(),
        };
        let full = matrix(&plan_of(MAX_JOBS), DEFAULT_RUNNER_LABEL, &command).unwrap();
        assert_eq!(full["include"].as_array().unwrap().len(), MAX_JOBS);
        let err = matrix(&plan_of(MAX_JOBS + 1), DEFAULT_RUNNER_LABEL, &command).unwrap_err();
        assert!(
            err.to_string().starts_with("the plan needs 257 jobs"),
            "{err}"
        );
    }
}
