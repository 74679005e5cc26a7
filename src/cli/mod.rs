//! The command line, as a library module so that the native binary and the Python package's
//! `trtctl` script run the same code. Output and exit codes are decided here, at the edge.

mod apply;
mod args;
mod cache;
mod doctor;
mod ensure;
mod entry;
mod exit;
mod export;
mod fetch;
mod fleet;
mod fleet_args;
mod key;
mod lock;
mod plan;
mod setup;
mod sign;

pub use args::Cli;
pub use entry::main;
pub use exit::{EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_UNSATISFIABLE, render};
