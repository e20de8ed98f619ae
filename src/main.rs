//! The `actiond` command line: parse arguments, call the library.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use actiond::config::Config;

/// Real-time action recognition on live video.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// Configuration file (TOML).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check a configuration file and exit (0 = valid).
    CheckConfig {
        /// Configuration file (TOML).
        file: PathBuf,
    },
    /// Print the messages of a running daemon.
    Subscribe {
        /// The daemon's socket.
        #[arg(long, default_value = "/run/actiond/predictions.sock")]
        socket: PathBuf,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn subscribe(socket: &PathBuf) -> anyhow::Result<()> {
    use anyhow::Context;
    let stream = std::os::unix::net::UnixStream::connect(socket)
        .with_context(|| format!("connecting to {}", socket.display()))?;
    let human = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    for line in std::io::BufReader::new(stream).lines() {
        let line = line.context("reading from the daemon")?;
        let text = if human {
            actiond::publish::stdout::readable(&line).unwrap_or(line)
        } else {
            line
        };
        if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
            break;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CheckConfig { file } => match Config::load(&file) {
            Ok(c) => {
                println!("{}: ok ({} stream(s))", file.display(), c.streams.len());
                Ok(())
            }
            Err(e) => Err(e.into()),
        },
        Command::Run { config } => {
            init_logging();
            Config::load(&config)
                .map_err(anyhow::Error::from)
                .and_then(actiond::daemon::run)
        }
        Command::Subscribe { socket } => subscribe(&socket),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actiond: {e:#}");
            ExitCode::FAILURE
        }
    }
}
