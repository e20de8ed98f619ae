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
    /// Measure raw inference, decode-only, the daemon at N streams and the Python baseline.
    Bench(BenchArgs),
    /// One benchmark row in a process of its own (used by `bench`).
    #[command(hide = true)]
    BenchWorker {
        /// The row, as JSON.
        spec: String,
    },
}

/// `actiond bench` options.
#[derive(clap::Args)]
struct BenchArgs {
    /// The model (.onnx, with model.toml beside it); default: the provisional MobileNetV2 224.
    #[arg(long)]
    model: Option<PathBuf>,
    /// libonnxruntime.so, if not found the usual way.
    #[arg(long)]
    onnxruntime: Option<PathBuf>,
    /// Video files to use instead of generated H.264 720p30 and 1080p30 ones (repeat).
    #[arg(long = "input", value_name = "FILE")]
    inputs: Vec<PathBuf>,
    /// Length of the generated inputs, s.
    #[arg(long, default_value_t = 60)]
    input_seconds: u32,
    /// Folder for generated inputs, configs and logs; default ~/.cache/actiond/bench.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Seconds measured per row.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Seconds run before each row is measured.
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Stream counts of the daemon rows.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,12")]
    streams: Vec<usize>,
    /// Sample rates of the daemon rows (0 = every frame).
    #[arg(long, value_delimiter = ',', default_value = "5,0")]
    sample_fps: Vec<f64>,
    /// ONNX Runtime intra-op threads for every row (0 = its default).
    #[arg(long, default_value_t = 0)]
    intra_threads: usize,
    /// The configured batch (raw row and the daemon's max_batch).
    #[arg(long, default_value_t = 4)]
    max_batch: usize,
    /// Python for the baseline; default: the project's .venv/bin/python.
    #[arg(long)]
    python: Option<PathBuf>,
    /// The baseline script; default: the project's bench/baseline.py.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Leave out the Python baseline.
    #[arg(long)]
    no_python: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
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

fn bench(a: BenchArgs) -> anyhow::Result<()> {
    use anyhow::{bail, Context};
    let model = match a.model {
        Some(m) => m,
        None => [
            "models/provisional/model.onnx",
            concat!(env!("CARGO_MANIFEST_DIR"), "/models/provisional/model.onnx"),
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .context("models/provisional/model.onnx not found; give --model")?,
    };
    if a.streams.is_empty() || a.streams.contains(&0) {
        bail!("--streams needs stream counts of at least 1, like 1,2,4,8");
    }
    if a.sample_fps.is_empty() || a.sample_fps.iter().any(|f| !(f.is_finite() && *f >= 0.0)) {
        bail!("--sample-fps needs rates >= 0, like 5,0");
    }
    if !(a.duration > 0.0 && a.warmup >= 0.0) {
        bail!("--duration must be > 0 and --warmup >= 0");
    }
    if a.input_seconds == 0 || !(1..=64).contains(&a.max_batch) {
        bail!("--input-seconds must be > 0 and --max-batch 1 to 64");
    }
    let options = actiond::bench::Options {
        model: std::path::absolute(&model).unwrap_or(model),
        onnxruntime: a.onnxruntime.map(|p| std::path::absolute(&p).unwrap_or(p)),
        inputs: a.inputs,
        input_seconds: a.input_seconds,
        // Absolute: the daemon's config and the decoders get paths from it.
        work_dir: {
            let dir = a.work_dir.unwrap_or_else(actiond::bench::default_work_dir);
            std::path::absolute(&dir).unwrap_or(dir)
        },
        duration_s: a.duration,
        warmup_s: a.warmup,
        streams: a.streams,
        sample_fps: a.sample_fps,
        intra_threads: a.intra_threads,
        max_batch: a.max_batch,
        python: a.python,
        baseline: a.baseline,
        skip_python: a.no_python,
    };
    let report = actiond::bench::run(&options)?;
    print!("{}", actiond::bench::render(&report));
    if let Some(path) = a.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn bench_worker(spec: &str) -> anyhow::Result<()> {
    let spec: actiond::bench::worker::Spec = serde_json::from_str(spec)?;
    let m = actiond::bench::worker::measure(&spec).map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string(&m)?);
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
            actiond::daemon::tune_malloc();
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
        Command::Bench(args) => bench(args),
        Command::BenchWorker { spec } => {
            // The daemon's allocator settings, so raw rows measure what it runs.
            actiond::daemon::tune_malloc();
            bench_worker(&spec)
        }
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
