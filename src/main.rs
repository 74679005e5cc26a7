//! The `trtctl` command line: parses arguments, reads the environment once, calls the library
//! and renders what it returns.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// The error and its causes, each shown once: library errors already quote their cause.
fn render(err: &anyhow::Error) -> String {
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

fn main() -> ExitCode {
    // Usage errors exit 1, not clap's 2: `plan --detailed-exitcode` means "changes pending" by 2.
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { cli::EXIT_ERROR } else { 0 });
        }
    };
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
            eprintln!("{prefix} {}", render(&err));
            ExitCode::from(cli::EXIT_ERROR)
        }
    }
}
