//! Submitting a plan's units as Ray jobs, or attaching to those a run of the same plan left,
//! and waiting on them with progress per unit.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::client::{JobRequest, JobStatus, RayClient, RayError};
use super::resource;
use crate::fleet::events::{FleetReporter, UnitEvent};
use crate::fleet::{FleetPlan, JobCommand, Unit};

/// Lines of a failed job's log shown.
const LOG_TAIL_LINES: usize = 20;

pub struct SubmitOptions {
    pub command: JobCommand,
    /// Handed to each job through its runtime_env, never its entrypoint.
    pub env_vars: BTreeMap<String, String>,
    /// How long a job may wait for a node before its unit is reported as `no capacity`.
    pub capacity_timeout: Duration,
    /// How often each job is looked at.
    pub poll: Duration,
}

/// How a unit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitResult {
    Succeeded,
    Failed,
    NoCapacity,
}

/// A unit's job, as long as it is waited on.
struct Tracked<'a> {
    unit: &'a Unit,
    job: String,
    since: Instant,
    running: bool,
}

/// Submits (or attaches to) one job per unit, then waits on all of them.
pub async fn apply(
    client: &RayClient,
    plan: &FleetPlan,
    options: &SubmitOptions,
    reporter: &dyn FleetReporter,
) -> Result<Vec<UnitResult>, RayError> {
    let mut tracked = Vec::with_capacity(plan.units.len());
    for unit in &plan.units {
        tracked.push(start(client, plan, unit, options, reporter).await?);
    }
    let mut results = vec![None; tracked.len()];
    while results.iter().any(Option::is_none) {
        for (slot, job) in results.iter_mut().zip(&mut tracked) {
            if slot.is_none() {
                *slot = look(client, job, options, reporter).await?;
            }
        }
        if results.iter().any(Option::is_none) {
            tokio::time::sleep(options.poll).await;
        }
    }
    Ok(results.into_iter().flatten().collect())
}

/// The unit's job: the one a run of the same plan left if it is still queued or running,
/// else a new one. A finished job of the same id whose unit is still planned failed or was
/// stopped; it is retried under the next attempt's id (`-2`, `-3`, ...).
async fn start<'a>(
    client: &RayClient,
    plan: &FleetPlan,
    unit: &'a Unit,
    options: &SubmitOptions,
    reporter: &dyn FleetReporter,
) -> Result<Tracked<'a>, RayError> {
    let mut attempt = 1;
    loop {
        let job = match attempt {
            1 => unit.name.clone(),
            n => format!("{}-{n}", unit.name),
        };
        let tracked = |running| Tracked {
            unit,
            job: job.clone(),
            since: Instant::now(),
            running,
        };
        match client.job(&job).await? {
            None => {
                client.submit(&request(plan, unit, &job, options)).await?;
                reporter.unit(&unit.gpu, &UnitEvent::Submitted { job: job.clone() });
                return Ok(tracked(false));
            }
            Some(found) if !found.status.is_terminal() => {
                let status = found.status.as_str().to_string();
                let event = UnitEvent::Attached {
                    job: job.clone(),
                    status,
                };
                reporter.unit(&unit.gpu, &event);
                return Ok(tracked(found.status == JobStatus::Running));
            }
            Some(_) => attempt += 1,
        }
    }
}

fn request(plan: &FleetPlan, unit: &Unit, job: &str, options: &SubmitOptions) -> JobRequest {
    JobRequest {
        entrypoint: options.command.shell_line(unit),
        submission_id: job.to_string(),
        runtime_env: serde_json::json!({ "env_vars": options.env_vars }),
        entrypoint_num_cpus: 0.0,
        entrypoint_resources: BTreeMap::from([(resource(unit.gpu.arch), 1.0)]),
        metadata: BTreeMap::from([
            ("trtctl.plan".to_string(), plan.digest.clone()),
            ("trtctl.gpu".to_string(), unit.gpu.slug()),
        ]),
    }
}

/// Looks at a job once: its result when it has one.
async fn look(
    client: &RayClient,
    tracked: &mut Tracked<'_>,
    options: &SubmitOptions,
    reporter: &dyn FleetReporter,
) -> Result<Option<UnitResult>, RayError> {
    let gpu = &tracked.unit.gpu;
    let job = tracked.job.clone();
    let Some(details) = client.job(&job).await? else {
        return Err(RayError::Vanished { job });
    };
    match details.status {
        JobStatus::Pending if tracked.since.elapsed() >= options.capacity_timeout => {
            let event = UnitEvent::NoCapacity {
                job,
                resource: resource(gpu.arch),
                waited: tracked.since.elapsed(),
            };
            reporter.unit(gpu, &event);
            Ok(Some(UnitResult::NoCapacity))
        }
        JobStatus::Pending => Ok(None),
        JobStatus::Running => {
            if !tracked.running {
                tracked.running = true;
                reporter.unit(gpu, &UnitEvent::Running { job });
            }
            Ok(None)
        }
        JobStatus::Succeeded => {
            let elapsed = tracked.since.elapsed();
            reporter.unit(gpu, &UnitEvent::Succeeded { job, elapsed });
            Ok(Some(UnitResult::Succeeded))
        }
        JobStatus::Failed | JobStatus::Stopped => {
            let log_tail = tail(&client.logs(&job).await?, LOG_TAIL_LINES);
            let event = UnitEvent::Failed {
                job,
                status: details.status.as_str().to_string(),
                message: details.message.unwrap_or_default(),
                log_tail,
            };
            reporter.unit(gpu, &event);
            Ok(Some(UnitResult::Failed))
        }
    }
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tail_is_the_last_lines() {
        assert_eq!(super::tail("a\nb\nc\n\n", 2), "b\nc");
        assert_eq!(super::tail("a", 5), "a");
        assert_eq!(super::tail("", 5), "");
    }
}
