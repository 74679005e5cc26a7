//! Carrying a plan out. [`Executor::apply`] runs every step, emitting [`Event`]s to a
//! [`Reporter`] it owns the trait of; renderers live in `report` and depend on [`events`] alone.

mod build;
mod error;
pub mod events;
mod gpu_pool;
mod refit;
mod run;
mod signal;
mod timing;
mod timing_state;
mod transfer;
mod turn;

pub use error::ExecError;
pub use events::{
    ActionKind, ApplyReport, DoneElsewhere, Event, Failure, Outcome, Reporter, SkipReason,
    TimingOutcome, TimingTally,
};
pub use run::{ApplyOptions, Executor};
pub use signal::{StopSignal, with_signals};
pub use timing::timing_cache_file;

#[cfg(test)]
mod tests;
