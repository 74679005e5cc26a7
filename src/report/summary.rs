//! The closing summary of an apply and the one-line text of each outcome, shared by the
//! plain and terminal reporters.

use std::fmt::Write;
use std::time::Duration;

use super::format::{human_bytes, human_duration};
use super::style::{Paint, Style};
use crate::exec::events::{ApplyReport, Outcome, TimingOutcome, TimingTally};

pub(super) fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done { .. } => "ok".to_string(),
        Outcome::AlreadyDone(why) => format!("ok ({why})"),
        Outcome::Failed(_) => "FAILED".to_string(),
        Outcome::Skipped(why) => format!("skipped ({why})"),
    }
}

pub(super) fn waiting_text(file: &str, host: &str, pid: u32) -> String {
    format!("wait  {file} ... being built by {host} (pid {pid}); fetching it when it lands")
}

/// One line for what became of a shared timing cache.
pub(super) fn timing_text(cache: &str, outcome: &TimingOutcome) -> String {
    let what = match outcome {
        TimingOutcome::Fetched { bytes } => {
            format!(
                "fetched from the remote ({}); builds start warm",
                human_bytes(*bytes)
            )
        }
        TimingOutcome::Unverified => {
            "the remote's copy does not match its metadata: not used, replaced after the builds"
                .to_string()
        }
        TimingOutcome::Simulated => {
            "the remote's copy was written under simulation, without a GPU: not used, replaced after the builds"
                .to_string()
        }
        TimingOutcome::Uploaded {
            bytes,
            conflicts: 0,
        } => {
            format!("uploaded ({})", human_bytes(*bytes))
        }
        TimingOutcome::Uploaded { bytes, conflicts } => format!(
            "uploaded ({}) over a smaller one, after {conflicts} conflicting write(s) by other builders",
            human_bytes(*bytes)
        ),
        TimingOutcome::KeptRemote {
            remote_bytes,
            local_bytes,
            ..
        } => format!(
            "another builder wrote it first; its cache ({}) is at least as large as ours ({}), so it stays",
            human_bytes(*remote_bytes),
            human_bytes(*local_bytes)
        ),
        TimingOutcome::Rejected { file, set_aside } => format!(
            "trtexec failed with it building {file}; built again without it, the cache set aside as {}",
            set_aside.display()
        ),
        TimingOutcome::Unavailable { reason } => {
            format!("not shared this time ({reason}); builds use the local cache")
        }
    };
    format!("timing cache {cache}: {what}")
}

/// The timing caches line of the summary; empty when no cache was shared or rejected.
fn timing_summary(timing: &TimingTally) -> Option<String> {
    if timing.fetched + timing.uploaded + timing.conflicts + timing.rejected == 0 {
        return None;
    }
    Some(format!(
        "Timing caches: {} fetched ({} builds started warm), {} uploaded, {} write conflicts, {} rejected by trtexec; moved {} down, {} up.",
        timing.fetched,
        timing.warm_builds,
        timing.uploaded,
        timing.conflicts,
        timing.rejected,
        human_bytes(timing.bytes_fetched),
        human_bytes(timing.bytes_uploaded),
    ))
}

/// The closing summary, the same for every output mode but JSON.
pub fn render_summary(report: &ApplyReport, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            Paint::Bold,
            &format!(
                "Apply: {} built, {} fetched from remote, {} from local_cache, {} uploaded{}; {} failed, {} skipped, {} cannot be built here.",
                report.built,
                report.fetched,
                report.local_cache,
                report.uploaded,
                // Beside, not inside, the uploads this process made: the two counts add up.
                if report.already_uploaded > 0 {
                    format!(", {} already in the remote (another builder uploaded it first)", report.already_uploaded)
                } else {
                    String::new()
                },
                report.failures.len(),
                report.skipped,
                report.cannot_build.len()
            )
        )
    );
    let _ = writeln!(
        out,
        "Moved {} down, {} up in {}.",
        human_bytes(report.bytes_fetched),
        human_bytes(report.bytes_uploaded),
        human_duration(Duration::from_millis(report.wall_ms))
    );
    if let Some(line) = timing_summary(&report.timing) {
        let _ = writeln!(out, "{line}");
    }
    if report.refits > 0 {
        let _ = writeln!(
            out,
            "Stripped weights: {} refit(s) here ({} instead of a build); the stripped plans moved {} less than the engines.",
            report.refits,
            report.refitted,
            human_bytes(report.bytes_saved)
        );
    }
    for failure in &report.failures {
        let _ = writeln!(
            out,
            "{} {} {}: {}",
            style.paint(Paint::Red, "failed:"),
            failure.action.as_str(),
            failure.file,
            failure.reason
        );
    }
    for file in &report.cannot_build {
        let _ = writeln!(
            out,
            "{} {file}: needs a builder of its arch",
            style.paint(Paint::Red, "missing:")
        );
    }
    if report.interrupted {
        let _ = writeln!(
            out,
            "Interrupted: nothing half-written was committed; run apply again to finish."
        );
    }
    out
}
