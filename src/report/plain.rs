//! make-style lines for logs and CI.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::format::human_duration;
use super::style::Style;
use super::summary::{outcome_text, render_summary, timing_text, waiting_text};
use crate::exec::events::{Event, Outcome, Reporter, TimingOutcome};

/// make-style lines for logs and CI: `[3/12] build FILE ... ok (2m14s)`.
pub struct PlainReporter {
    style: Style,
    /// Only what went wrong: failed actions, and the summary when anything did.
    quiet: bool,
    total: AtomicUsize,
    out: Mutex<Box<dyn std::io::Write + Send>>,
}

impl PlainReporter {
    pub fn new(style: Style, quiet: bool, out: Box<dyn std::io::Write + Send>) -> Self {
        PlainReporter {
            style,
            quiet,
            total: AtomicUsize::new(0),
            out: Mutex::new(out),
        }
    }

    fn line(&self, text: &str) {
        let mut out = self.out.lock().expect("reporter output");
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

impl Reporter for PlainReporter {
    fn event(&self, event: &Event) {
        match event {
            Event::Begin { total } => self.total.store(*total, Ordering::SeqCst),
            Event::Finished {
                ordinal,
                action,
                file,
                outcome,
                elapsed,
            } => {
                if self.quiet && !matches!(outcome, Outcome::Failed(_)) {
                    return;
                }
                let mut text = format!(
                    "[{ordinal}/{}] {} {file} ... {} ({})\n",
                    self.total.load(Ordering::SeqCst),
                    action.as_str(),
                    outcome_text(outcome),
                    human_duration(*elapsed)
                );
                if let Outcome::Failed(reason) = outcome {
                    text.push_str(&indent(first_line(&reason.to_string())));
                }
                self.line(&text);
            }
            Event::Summary(report) => {
                let clean = report.failures.is_empty()
                    && report.cannot_build.is_empty()
                    && !report.interrupted;
                if !(self.quiet && clean) {
                    self.line(&format!("\n{}", render_summary(report, self.style)));
                }
            }
            Event::Waiting { file, host, pid } if !self.quiet => {
                self.line(&format!("{}\n", waiting_text(file, host, *pid)));
            }
            Event::TimingCache { cache, outcome } => {
                let failure = matches!(outcome, TimingOutcome::Rejected { .. });
                if !self.quiet || failure {
                    self.line(&format!("{}\n", timing_text(cache, outcome)));
                }
            }
            Event::Started { .. } | Event::Bytes { .. } | Event::Waiting { .. } => {}
        }
    }
}

/// The reason alone; the log tail that follows it is shown once, in the summary.
pub(super) fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

pub(super) fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}
