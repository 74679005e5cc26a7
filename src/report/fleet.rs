//! A fleet's units, as text: the units a plan needs, and each unit's job as it goes.

use std::io::Write;
use std::sync::Mutex;

use super::format::human_duration;
use super::style::{Paint, Style};
use crate::fleet::events::{FleetReporter, UnitEvent};
use crate::fleet::{FleetPlan, UnitKey};

/// `trtctl fleet plan`: one line per unit, its selectors below it.
pub fn render_fleet_plan(plan: &FleetPlan, style: Style) -> String {
    if plan.units.is_empty() {
        return format!(
            "Nothing to build: every engine of {} is in the remote or on its way there.\n",
            plan.manifest.display()
        );
    }
    let mut text = format!(
        "Fleet: {} engine(s) to build in {} unit(s), one job per GPU kind (plan {}):\n",
        plan.engine_count(),
        plan.units.len(),
        plan.digest
    );
    for unit in &plan.units {
        text.push_str(&format!(
            "  {}  {} engine(s)  {}\n",
            style.paint(Paint::Bold, &unit.gpu.to_string()),
            unit.count,
            unit.name
        ));
        for selector in &unit.selectors {
            text.push_str(&format!("      --target {selector}\n"));
        }
    }
    text
}

/// Lines as each unit's job moves on, for terminals and logs alike.
pub struct FleetLines {
    style: Style,
    out: Mutex<Box<dyn Write + Send>>,
}

impl FleetLines {
    pub fn new(style: Style, out: Box<dyn Write + Send>) -> Self {
        FleetLines {
            style,
            out: Mutex::new(out),
        }
    }
}

impl FleetReporter for FleetLines {
    fn unit(&self, gpu: &UnitKey, event: &UnitEvent) {
        let text = match event {
            UnitEvent::Submitted { job } => format!("submitted {job}"),
            UnitEvent::Attached { job, status } => {
                format!("{job} was already submitted ({status}): waiting on it")
            }
            UnitEvent::Running { job } => format!("{job} running"),
            UnitEvent::Succeeded { job, elapsed } => {
                format!(
                    "{job} {} ({})",
                    self.style.paint(Paint::Green, "ok"),
                    human_duration(*elapsed)
                )
            }
            UnitEvent::Failed {
                job,
                status,
                message,
                log_tail,
            } => {
                // Ray's message repeats the log's end after its first line: shown once, below.
                let message = message.lines().next().unwrap_or("").trim_end_matches(':');
                let mut text = format!(
                    "{job} {} ({status}): {message}",
                    self.style.paint(Paint::Red, "failed")
                );
                for line in log_tail.lines() {
                    text.push_str(&format!("\n    | {line}"));
                }
                text
            }
            UnitEvent::NoCapacity {
                job,
                resource,
                waited,
            } => format!(
                "{}: no node took {job} in {} (none offers `{resource}`, or all that do are busy); it stays queued: `ray job stop {job}` drops it, `trtctl fleet node-args` on a GPU host gives `ray start` what it needs",
                self.style.paint(Paint::Red, "no capacity"),
                human_duration(*waited)
            ),
        };
        let mut out = self.out.lock().expect("reporter output");
        let _ = writeln!(out, "{gpu}  {text}");
        let _ = out.flush();
    }
}
