//! `actiond subscribe`: print a running daemon's messages.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;

use crate::publish::{stdout, Message};

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
    /// True when a message of type `ty` about `stream` passes: its type is wanted,
    /// and it is not of another stream.
    fn pass(&self, ty: &str, stream: Option<&str>) -> bool {
        if !self.types.is_empty() && !self.types.iter().any(|t| t == ty) {
            return false;
        }
        match stream {
            Some(s) => self.streams.is_empty() || self.streams.iter().any(|x| x == s),
            None => true,
        }
    }
}

/// One line read from the daemon.
enum Received {
    /// A message this version knows.
    Known(Message),
    /// A JSON object this version cannot read as a message (a newer daemon's):
    /// filtered by its `type` and `stream`, printed as is.
    Other(serde_json::Value),
}

impl Received {
    /// None when the line is not JSON at all.
    fn parse(line: &str) -> Option<Received> {
        match serde_json::from_str::<Message>(line) {
            Ok(msg) => Some(Received::Known(msg)),
            Err(_) => serde_json::from_str(line).ok().map(Received::Other),
        }
    }

    fn kind(&self) -> &str {
        match self {
            Received::Known(m) => m.kind(),
            Received::Other(v) => v["type"].as_str().unwrap_or(""),
        }
    }

    fn stream(&self) -> Option<&str> {
        match self {
            Received::Known(m) => m.stream(),
            Received::Other(v) => v["stream"].as_str(),
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
    let mut rows = stdout::Table::default();
    for line in std::io::BufReader::new(stream).lines() {
        let line = line.context("reading from the daemon")?;
        let Some(msg) = Received::parse(&line) else {
            continue;
        };
        if !filter.pass(msg.kind(), msg.stream()) {
            continue;
        }
        let text = match &msg {
            Received::Known(m) if a.table => {
                rows.update(m);
                // Clear the screen and home the cursor, then draw.
                format!("\x1b[2J\x1b[H{}", rows.render())
            }
            Received::Other(_) if a.table => continue,
            Received::Known(m) if human => stdout::readable(m).unwrap_or(line),
            Received::Other(_) if human => stdout::readable_line(&line).unwrap_or(line),
            _ => line,
        };
        if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
            break;
        }
    }
    Ok(())
}
