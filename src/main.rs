//! The `actiond` command line: parse arguments, call the library.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use actiond::config::Config;
use actiond::model::{ChannelOrder, Manifest, Resize};
use actiond::source::Target;

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
        /// Log format; default: $ACTIOND_LOG_FORMAT, else `auto` (the journal under systemd, else text).
        #[arg(long, value_enum)]
        log_format: Option<actiond::logging::LogFormat>,
    },
    /// Check a configuration file and exit (0 = valid).
    CheckConfig {
        /// Configuration file (TOML).
        file: PathBuf,
    },
    /// Decode videos into the frames the daemon would classify (for training).
    ExtractFrames {
        /// Take size, resize mode and channel order from this model manifest (model.toml).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Frame size WIDTHxHEIGHT (without --manifest).
        #[arg(long, default_value = "224x224")]
        size: String,
        /// Resize mode: stretch, center_crop or letterbox (without --manifest).
        #[arg(long, default_value = "stretch")]
        resize: String,
        /// Channel order: RGB or BGR (without --manifest).
        #[arg(long, default_value = "RGB")]
        channel_order: String,
        /// Frames per second to keep; 0 = every frame.
        #[arg(long, default_value_t = 5.0)]
        sample_fps: f64,
        /// Output folder: <stem>.rgb and <stem>.json per input.
        #[arg(long)]
        out: PathBuf,
        /// Video files.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Print the messages of a running daemon.
    Subscribe {
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
    },
    /// Describe an ONNX model: inputs, outputs, shapes, parameters, multiply-adds, manifest.
    InspectModel {
        /// The .onnx file.
        path: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the reference configuration: every key with its default and a comment.
    PrintConfig,
}

/// The reference configuration, as shipped in config/actiond.toml.
const REFERENCE_CONFIG: &str = include_str!("../config/actiond.toml");

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

fn subscribe(socket: &PathBuf, filter: &Filter, json: bool, table: bool) -> anyhow::Result<()> {
    use anyhow::Context;
    let stream = std::os::unix::net::UnixStream::connect(socket)
        .with_context(|| format!("connecting to {}", socket.display()))?;
    let human = !json && std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let mut rows = actiond::publish::stdout::Table::default();
    for line in std::io::BufReader::new(stream).lines() {
        let line = line.context("reading from the daemon")?;
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if !filter.pass(&msg) {
            continue;
        }
        let text = if table {
            rows.update(&msg);
            // Clear the screen and home the cursor, then draw.
            format!("\x1b[2J\x1b[H{}", rows.render())
        } else if human {
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

fn inspect_model(path: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let report = actiond::inspect::inspect(path)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", actiond::inspect::render(&report));
    }
    Ok(())
}

fn extract_target(
    manifest: Option<PathBuf>,
    size: &str,
    resize: &str,
    order: &str,
) -> anyhow::Result<Target> {
    use anyhow::{anyhow, bail};
    if let Some(path) = manifest {
        let m = Manifest::load(&path)?;
        return Ok(Target {
            width: m.input.width,
            height: m.input.height,
            channel_order: m.input.channel_order,
            resize: m.input.resize,
        });
    }
    let (w, h) = size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .filter(|&(w, h): &(usize, usize)| w > 0 && h > 0)
        .ok_or_else(|| anyhow!("--size must look like 224x224, got `{size}`"))?;
    let resize = match resize {
        "stretch" => Resize::Stretch,
        "center_crop" => Resize::CenterCrop,
        "letterbox" => Resize::Letterbox,
        other => bail!("--resize must be stretch, center_crop or letterbox, got `{other}`"),
    };
    let channel_order = match order {
        "RGB" => ChannelOrder::Rgb,
        "BGR" => ChannelOrder::Bgr,
        other => bail!("--channel-order must be RGB or BGR, got `{other}`"),
    };
    Ok(Target {
        width: w,
        height: h,
        channel_order,
        resize,
    })
}

fn extract_frames(
    manifest: Option<PathBuf>,
    size: &str,
    resize: &str,
    order: &str,
    sample_fps: f64,
    out: &std::path::Path,
    inputs: &[PathBuf],
) -> anyhow::Result<()> {
    if !(sample_fps.is_finite() && sample_fps >= 0.0) {
        anyhow::bail!("--sample-fps must be >= 0, got {sample_fps}");
    }
    let target = extract_target(manifest, size, resize, order)?;
    gstreamer::init()?;
    for input in inputs {
        let got = actiond::extract::extract(input, out, &target, sample_fps)?;
        println!(
            "{}",
            serde_json::json!({"source": got.source, "frames_file": got.frames_file, "frames": got.frames})
        );
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
        Command::Run { config, log_format } => {
            actiond::logging::init(log_format);
            Config::load(&config)
                .map_err(anyhow::Error::from)
                .and_then(actiond::daemon::run)
        }
        Command::Subscribe {
            socket,
            streams,
            types,
            json,
            table,
        } => subscribe(&socket, &Filter { streams, types }, json, table),
        Command::InspectModel { path, json } => inspect_model(&path, json),
        Command::PrintConfig => {
            print!("{REFERENCE_CONFIG}");
            Ok(())
        }
        Command::ExtractFrames {
            manifest,
            size,
            resize,
            channel_order,
            sample_fps,
            out,
            inputs,
        } => extract_frames(
            manifest,
            &size,
            &resize,
            &channel_order,
            sample_fps,
            &out,
            &inputs,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("actiond: {e:#}");
            ExitCode::FAILURE
        }
    }
}
