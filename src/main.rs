//! The `trtctl` command line: parses arguments, reads the environment once, calls the library
//! and renders what it returns.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            let no_color =
                std::env::var_os("NO_COLOR").is_some() || !std::io::stderr().is_terminal();
            let prefix = if no_color {
                "error:"
            } else {
                "\x1b[31;1merror:\x1b[0m"
            };
            eprintln!("{prefix} {err:#}");
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
