//! What every command sets up the same way: the environment, the output style, the runtime.

use std::io::IsTerminal;

use anyhow::Context;

use super::args::{ColorArg, GlobalArgs};
use crate::report::{self, ColorChoice, Style};
use crate::workspace::{Environment, Workspace};

pub(super) fn environment(global: &GlobalArgs) -> Environment {
    Environment {
        gpu_archs: global.gpu_arch.clone(),
        gpu_model: global.gpu_model.clone(),
        ..Environment::from_process()
    }
}

pub(super) fn style(global: &GlobalArgs) -> Style {
    Style {
        color: color_for(global, std::io::stdout().is_terminal()),
    }
}

/// Whether what goes to stderr (the error line) is colored: `--color`, else a terminal
/// without `NO_COLOR`, as for stdout.
pub(super) fn stderr_color(global: &GlobalArgs) -> bool {
    color_for(global, std::io::stderr().is_terminal())
}

fn color_for(global: &GlobalArgs, is_terminal: bool) -> bool {
    let choice = match global.color {
        ColorArg::Auto => ColorChoice::Auto,
        ColorArg::Always => ColorChoice::Always,
        ColorArg::Never => ColorChoice::Never,
    };
    report::use_color(choice, is_terminal, std::env::var_os("NO_COLOR").is_some())
}

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The workspace of `manifest`, and the runtime, started on another thread meanwhile: its worker
/// threads take a millisecond or more to start on a machine of many cores, and a no-op plan
/// takes some twenty.
pub(super) fn workspace_and_runtime(
    manifest: &std::path::Path,
    env: &Environment,
) -> anyhow::Result<(Workspace, tokio::runtime::Runtime)> {
    std::thread::scope(|scope| {
        let runtime = scope.spawn(runtime);
        let workspace = Workspace::open(manifest, env);
        let runtime = runtime.join().expect("starting the runtime does not panic");
        Ok((workspace?, runtime?))
    })
}
