//! Everything people see: the plan as text, and (for apply) progress and the summary. The
//! reporters implement [`crate::exec::Reporter`]; the executor never depends on them.

mod fleet;
mod format;
mod json;
mod plain;
mod plan;
mod style;
mod summary;
mod tty;

pub use fleet::{FleetLines, render_fleet_plan};
pub use format::{human_bytes, human_duration, table};
pub use json::JsonReporter;
pub use plain::PlainReporter;
pub use plan::render_plan;
pub use style::{ColorChoice, Style, use_color};
pub use summary::render_summary;
pub use tty::TtyReporter;

#[cfg(test)]
mod tests;
