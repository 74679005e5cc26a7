//! The `trtctl` command line; everything it does lives in [`trtctl::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(trtctl::cli::main(std::env::args_os()))
}
