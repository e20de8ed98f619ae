//! The `actiond` command line: parse arguments, dispatch to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    actiond::cli::dispatch(actiond::cli::Cli::parse())
}
