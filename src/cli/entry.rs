//! The entry point shared by the native binary and the Python package's `trtctl` script:
//! parse, dispatch, render the error once.

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::{CommandFactory, Parser};

use super::args::{Cli, Command};
use super::setup::environment;
use super::{apply, cache, doctor, ensure, export, fetch, key, lock, plan, sign};

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_CHANGES: u8 = 2;
pub const EXIT_UNSATISFIABLE: u8 = 3;
pub const EXIT_INTERRUPTED: u8 = 130;

/// Runs the command line `args` (program name first) and returns the process exit code.
pub fn main<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    // Usage errors exit 1, not clap's 2: `plan --detailed-exitcode` means "changes pending" by 2.
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { EXIT_ERROR } else { 0 };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            print_error(&err);
            EXIT_ERROR
        }
    }
}

/// `error: ...` on stderr, red on a terminal.
pub(super) fn print_error(err: &anyhow::Error) {
    let no_color = std::env::var_os("NO_COLOR").is_some() || !std::io::stderr().is_terminal();
    let prefix = if no_color {
        "error:"
    } else {
        "\x1b[31;1merror:\x1b[0m"
    };
    eprintln!("{prefix} {}", render(err));
}

/// The error and its causes, each shown once: library errors already quote their cause.
pub fn render(err: &anyhow::Error) -> String {
    err.chain().fold(String::new(), |shown, cause| {
        let text = cause.to_string();
        if shown.is_empty() {
            text
        } else if shown.contains(&text) {
            shown
        } else {
            format!("{shown}: {text}")
        }
    })
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let env = environment(&cli.global);
    match cli.command {
        Command::Plan(args) => plan::run(&cli.global, &env, args),
        Command::Apply(args) => apply::run(&cli.global, &env, args),
        Command::Ensure(args) => ensure::run(&env, args),
        Command::Lock(args) => lock::run(&cli.global, &env, args),
        Command::Fetch(args) => Ok(fetch::run(&cli.global, &env, args)),
        Command::Export(command) => export::run(&cli.global, &env, command),
        Command::Cache(command) => cache::run(&cli.global, &env, command),
        Command::Key(command) => key::run(command),
        Command::Sign(args) => sign::run(&cli.global, &env, args),
        Command::Gpus(args) => doctor::run(&cli.global, &env, args),
        Command::Completions { shell } => {
            let mut command = Cli::command();
            clap_complete::generate(shell, &mut command, "trtctl", &mut std::io::stdout());
            Ok(0)
        }
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::manifest::json_schema())?
            );
            Ok(0)
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(0)
        }
    }
}
