//! What people and scripts see, pinned: the summary, the make-style lines and the JSON lines
//! for one apply's worth of events.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::exec::ExecError;
use crate::exec::events::{
    ActionKind, ApplyReport, DoneElsewhere, Event, Failure, Outcome, Reporter, SkipReason,
    TimingOutcome, TimingTally,
};

/// A writer the test reads back after the reporter wrote to it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

const BUILT: &str = "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt";
const FETCHED: &str = "arcface_r100_v1.0_fp32_sm_86_10.3.0.trt";
const FAILED: &str = "scrfd_10g_v2_fp16_sm_86_10.3.0.trt";

fn failure() -> Arc<ExecError> {
    Arc::new(ExecError::NoGpu {
        arch: "sm_89".parse().unwrap(),
    })
}

fn report() -> ApplyReport {
    ApplyReport {
        local_cache: 2,
        fetched: 1,
        built: 1,
        uploaded: 1,
        already_uploaded: 1,
        cannot_build: vec!["arcface_r100_v1.0_fp16_sm_80_10.3.0.trt".into()],
        failures: vec![Failure {
            action: ActionKind::Build,
            file: FAILED.into(),
            reason: failure(),
        }],
        skipped: 1,
        bytes_fetched: 3 << 20,
        bytes_uploaded: 5 << 20,
        wall_ms: 2_500,
        interrupted: false,
        timing: TimingTally {
            fetched: 1,
            warm_builds: 2,
            uploaded: 1,
            conflicts: 1,
            rejected: 1,
            bytes_fetched: 2 << 20,
            bytes_uploaded: 3 << 20,
        },
        ..ApplyReport::default()
    }
}

const TIMING_CACHE: &str = "sm_86_10.3.0.cache";

/// What became of the shared timing cache: fetched, rejected by trtexec for one build,
/// published after a conflict, and the other outcomes a builder can see.
fn timing_outcomes() -> Vec<TimingOutcome> {
    vec![
        TimingOutcome::Fetched { bytes: 2 << 20 },
        TimingOutcome::Rejected {
            file: BUILT.into(),
            set_aside: "/cache/timing/sm_86_10.3.0.cache.rejected-1700000000".into(),
        },
        TimingOutcome::Uploaded {
            bytes: 3 << 20,
            conflicts: 1,
        },
        TimingOutcome::KeptRemote {
            conflicts: 1,
            remote_bytes: 3 << 20,
            local_bytes: 2 << 20,
        },
        TimingOutcome::Unverified,
        TimingOutcome::Unavailable { reason: failure() },
    ]
}

/// One apply: a build and its upload, a fetch, an upload another builder made first, a failure
/// and the upload it skipped.
fn replay(reporter: &dyn Reporter) {
    let outcomes = [
        (ActionKind::Build, BUILT, Outcome::Done { bytes: 5 << 20 }),
        (ActionKind::Upload, BUILT, Outcome::Done { bytes: 5 << 20 }),
        (ActionKind::Fetch, FETCHED, Outcome::Done { bytes: 3 << 20 }),
        (
            ActionKind::Upload,
            FETCHED,
            Outcome::AlreadyDone(DoneElsewhere::UploadedByAnotherBuilder),
        ),
        (ActionKind::Build, FAILED, Outcome::Failed(failure())),
        (
            ActionKind::Upload,
            FAILED,
            Outcome::Skipped(SkipReason::BuildIncomplete),
        ),
    ];
    reporter.event(&Event::Begin {
        total: outcomes.len(),
    });
    reporter.event(&Event::Waiting {
        file: FETCHED,
        host: "builder-2",
        pid: 4242,
    });
    for (ordinal, (action, file, outcome)) in outcomes.iter().enumerate() {
        reporter.event(&Event::Started {
            action: *action,
            file,
            bytes_total: None,
        });
        reporter.event(&Event::Finished {
            ordinal: ordinal + 1,
            action: *action,
            file,
            outcome,
            elapsed: Duration::from_millis(1_200),
        });
    }
    for outcome in &timing_outcomes() {
        reporter.event(&Event::TimingCache {
            cache: TIMING_CACHE,
            outcome,
        });
    }
    reporter.event(&Event::Summary(&report()));
}

#[test]
fn summary() {
    insta::assert_snapshot!(render_summary(&report(), Style { color: false }));
}

#[test]
fn plain_lines() {
    let out = Captured::default();
    replay(&PlainReporter::new(
        Style { color: false },
        false,
        Box::new(out.clone()),
    ));
    insta::assert_snapshot!(out.text());
}

#[test]
fn quiet_plain_lines_keep_only_failures() {
    let out = Captured::default();
    replay(&PlainReporter::new(
        Style { color: false },
        true,
        Box::new(out.clone()),
    ));
    insta::assert_snapshot!(out.text());
}

#[test]
fn json_lines() {
    let out = Captured::default();
    replay(&JsonReporter::new(Box::new(out.clone())));
    insta::assert_snapshot!(out.text());
}
