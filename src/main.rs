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
        Command::Run { config } => {
            init_logging();
            Config::load(&config)
                .map_err(anyhow::Error::from)
                .and_then(actiond::daemon::run)
        }
        Command::Subscribe { socket } => subscribe(&socket),
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
