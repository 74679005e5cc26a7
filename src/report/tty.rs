//! Progress bars on a terminal: an overall bar and one line per running action.

use std::sync::Mutex;
use std::time::Duration;

use super::format::human_duration;
use super::plain::{first_line, indent};
use super::style::Style;
use super::summary::{outcome_text, render_summary, timing_text, waiting_text};
use crate::exec::events::{Event, Outcome, Reporter};

/// Progress bars on a terminal.
pub struct TtyReporter {
    style: Style,
    bars: indicatif::MultiProgress,
    overall: indicatif::ProgressBar,
    running: Mutex<std::collections::HashMap<String, indicatif::ProgressBar>>,
}

impl TtyReporter {
    pub fn new(style: Style) -> Self {
        let bars = indicatif::MultiProgress::new();
        let overall = bars.add(indicatif::ProgressBar::new(0));
        overall.set_style(
            indicatif::ProgressStyle::with_template("[{pos}/{len}] {elapsed} {wide_bar}")
                .expect("progress template"),
        );
        TtyReporter {
            style,
            bars,
            overall,
            running: Mutex::new(std::collections::HashMap::new()),
        }
    }
}

impl Reporter for TtyReporter {
    fn event(&self, event: &Event) {
        match event {
            Event::Begin { total } => {
                self.overall.set_length(*total as u64);
                self.overall.enable_steady_tick(Duration::from_millis(200));
            }
            Event::Started {
                action,
                file,
                bytes_total,
            } => {
                let bar = match bytes_total {
                    Some(total) => {
                        let bar = indicatif::ProgressBar::new(*total);
                        bar.set_style(
                            indicatif::ProgressStyle::with_template(
                                "  {msg} {bytes}/{total_bytes} {binary_bytes_per_sec}",
                            )
                            .expect("progress template"),
                        );
                        bar
                    }
                    None => {
                        let bar = indicatif::ProgressBar::new_spinner();
                        bar.set_style(
                            indicatif::ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
                                .expect("progress template"),
                        );
                        bar.enable_steady_tick(Duration::from_millis(120));
                        bar
                    }
                };
                let bar = self.bars.add(bar);
                bar.set_message(format!("{} {file}", action.as_str()));
                self.running
                    .lock()
                    .expect("bars")
                    .insert(format!("{}{file}", action.as_str()), bar);
            }
            Event::Bytes { file, done } => {
                for (name, bar) in self.running.lock().expect("bars").iter() {
                    if name.ends_with(file) {
                        bar.set_position(*done);
                    }
                }
            }
            Event::Finished {
                action,
                file,
                outcome,
                elapsed,
                ..
            } => {
                if let Some(bar) = self
                    .running
                    .lock()
                    .expect("bars")
                    .remove(&format!("{}{file}", action.as_str()))
                {
                    bar.finish_and_clear();
                    self.bars.remove(&bar);
                }
                self.overall.inc(1);
                let mut text = format!(
                    "{} {file} ... {} ({})",
                    action.as_str(),
                    outcome_text(outcome),
                    human_duration(*elapsed)
                );
                if let Outcome::Failed(reason) = outcome {
                    text.push('\n');
                    text.push_str(indent(first_line(&reason.to_string())).trim_end());
                }
                let _ = self.bars.println(text);
            }
            Event::Waiting { file, host, pid } => {
                let _ = self.bars.println(waiting_text(file, host, *pid));
            }
            Event::TimingCache { cache, outcome } => {
                let _ = self.bars.println(timing_text(cache, outcome));
            }
            Event::Summary(report) => {
                self.overall.finish_and_clear();
                let _ = self.bars.clear();
                print!("\n{}", render_summary(report, self.style));
            }
        }
    }
}
