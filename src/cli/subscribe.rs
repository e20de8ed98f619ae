//! `actiond subscribe`: print a running daemon's messages.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;

/// `actiond subscribe` options.
#[derive(clap::Args)]
pub struct Args {
    /// The daemon's socket.
    #[arg(long, default_value = "/run/actiond/predictions.sock")]
    socket: PathBuf,
    /// Only messages of this stream (repeat for several).
    #[arg(long = "stream", value_name = "NAME")]
    streams: Vec<String>,
    /// Only messages of this type: hello, prediction, frame, event, status, goodbye (repeat for several).
    #[arg(long = "type", value_name = "TYPE", value_parser = ["hello", "prediction", "frame", "event", "status", "goodbye"])]
    types: Vec<String>,
    /// Print the JSON lines as received, even on a terminal.
    #[arg(long, conflicts_with = "table")]
    json: bool,
    /// A live table: one row per stream with its state and latest prediction.
    #[arg(long)]
    table: bool,
}

/// Which messages `subscribe` prints.
struct Filter {
    streams: Vec<String>,
    types: Vec<String>,
}

impl Filter {
    /// True when `msg` passes: its type is wanted, and it is not of another stream.
    fn pass(&self, msg: &serde_json::Value) -> bool {
        let ty = msg["type"].as_str().unwrap_or("");
        if !self.types.is_empty() && !self.types.iter().any(|t| t == ty) {
            return false;
        }
        match msg["stream"].as_str() {
            Some(s) => self.streams.is_empty() || self.streams.iter().any(|x| x == s),
            None => true,
        }
    }
}

/// Connects and prints each message that passes the filter until the daemon closes.
pub fn run(a: Args) -> anyhow::Result<()> {
    let filter = Filter {
        streams: a.streams,
        types: a.types,
    };
    let stream = std::os::unix::net::UnixStream::connect(&a.socket)
        .with_context(|| format!("connecting to {}", a.socket.display()))?;
    let human = !a.json && std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let mut rows = crate::publish::stdout::Table::default();
    for line in std::io::BufReader::new(stream).lines() {
        let line = line.context("reading from the daemon")?;
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if !filter.pass(&msg) {
            continue;
        }
        let text = if a.table {
            rows.update(&msg);
            // Clear the screen and home the cursor, then draw.
            format!("\x1b[2J\x1b[H{}", rows.render())
        } else if human {
            crate::publish::stdout::readable(&line).unwrap_or(line)
        } else {
            line
        };
        if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
            break;
        }
    }
    Ok(())
}
