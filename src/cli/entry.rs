//! The entry point shared by the native binary and the Python package's `trtctl` script:
//! parse, dispatch, render the error once.

use std::ffi::OsString;

use clap::{CommandFactory, Parser};

use super::args::{Cli, Command};
use super::exit::{EXIT_ERROR, print_error};
use super::setup::{environment, stderr_color};
use super::{apply, cache, doctor, ensure, export, fetch, fleet, key, lock, plan, sign};

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
    let color = stderr_color(&cli.global);
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            print_error(&err, color);
            EXIT_ERROR
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let env = environment(&cli.global);
    match cli.command {
        Command::Plan(args) => plan::run(&cli.global, &env, args),
        Command::Apply(args) => apply::run(&cli.global, &env, args),
        Command::Ensure(args) => ensure::run(&env, args),
        Command::Lock(args) => lock::run(&cli.global, &env, args),
        Command::Fetch(args) => Ok(fetch::run(&cli.global, &env, args)),
        Command::Fleet(command) => fleet::run(&cli.global, &env, command),
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
