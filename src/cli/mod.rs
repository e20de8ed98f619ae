//! The `actiond` command line: one file per subcommand; `main.rs` parses and
//! calls [`dispatch`].

pub mod assets;
pub mod bench;
pub mod check_config;
pub mod extract_frames;
pub mod inspect_model;
pub mod print_config;
pub mod run;
pub mod schema;
pub mod subscribe;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Real-time action recognition on live video.
#[derive(Parser)]
#[command(name = "actiond", version, about)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Run the daemon.
    Run(run::Args),
    /// Check a configuration file and exit (0 = valid).
    CheckConfig(check_config::Args),
    /// Decode videos into the frames the daemon would classify (for training).
    ExtractFrames(extract_frames::Args),
    /// Print the messages of a running daemon.
    Subscribe(subscribe::Args),
    /// Describe an ONNX model: inputs, outputs, shapes, parameters, multiply-adds, manifest.
    InspectModel(inspect_model::Args),
    /// Print the reference configuration: every key with its default and a comment
    /// (with `--effective --config FILE`: that file's configuration, secrets hidden).
    PrintConfig(print_config::Args),
    /// Print the JSON Schema of the messages (strict, or `--lenient` for consumers).
    Schema(schema::Args),
    /// Measure raw inference, decode-only, the daemon at N streams and the Python baseline.
    Bench(bench::Args),
    /// One benchmark row in a process of its own (used by `bench`).
    #[command(hide = true)]
    BenchWorker(bench::WorkerArgs),
    /// Write the man pages and shell completions (for the package).
    #[command(hide = true)]
    Assets(assets::Args),
}

/// Runs a parsed command line; errors are printed with their causes.
pub fn dispatch(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Run(a) => run::run(a),
        Command::CheckConfig(a) => check_config::run(a),
        Command::ExtractFrames(a) => extract_frames::run(a),
        Command::Subscribe(a) => subscribe::run(a),
        Command::InspectModel(a) => inspect_model::run(a),
        Command::PrintConfig(a) => print_config::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Bench(a) => bench::run(a),
        Command::BenchWorker(a) => bench::worker(a),
        Command::Assets(a) => assets::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actiond: {e:#}");
            ExitCode::FAILURE
        }
    }
}
