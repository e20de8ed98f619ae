//! `actiond bench`: raw inference, decode-only, the daemon at N streams and the
//! Python baseline, in one table.

use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::tools::bench;

/// `actiond bench` options.
#[derive(clap::Args)]
pub struct Args {
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
    /// `[runtime] sessions` of the daemon rows, a row per value (0 = auto), e.g. 1,2
    /// to compare one session of intra_threads against single-threaded sessions.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    sessions: Vec<usize>,
    /// Only the raw inference and daemon rows (no decode, Python or other-model rows).
    #[arg(long)]
    only_daemon: bool,
    /// Python for the baseline; default: the project's .venv/bin/python.
    #[arg(long)]
    python: Option<PathBuf>,
    /// The baseline script; default: the project's bench/baseline.py.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Leave out the Python baseline.
    #[arg(long)]
    no_python: bool,
    /// Another model (frame, clip or stateful) to measure in a daemon row of its own (repeat).
    #[arg(long = "also-model", value_name = "ONNX")]
    also_models: Vec<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// `actiond bench-worker` options.
#[derive(clap::Args)]
pub struct WorkerArgs {
    /// The row, as JSON.
    spec: String,
}

/// Checks the options, runs the benchmark and prints its table.
pub fn run(a: Args) -> anyhow::Result<()> {
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
    if a.sessions.is_empty() || a.sessions.iter().any(|&s| s > 16) {
        bail!("--sessions needs session counts of 0 (auto) to 16, like 1,2");
    }
    if a.input_seconds == 0 || !(1..=64).contains(&a.max_batch) {
        bail!("--input-seconds must be > 0 and --max-batch 1 to 64");
    }
    let options = bench::Options {
        model: std::path::absolute(&model).unwrap_or(model),
        onnxruntime: a.onnxruntime.map(|p| std::path::absolute(&p).unwrap_or(p)),
        inputs: a.inputs,
        input_seconds: a.input_seconds,
        // Absolute: the daemon's config and the decoders get paths from it.
        work_dir: {
            let dir = a.work_dir.unwrap_or_else(bench::default_work_dir);
            std::path::absolute(&dir).unwrap_or(dir)
        },
        duration_s: a.duration,
        warmup_s: a.warmup,
        streams: a.streams,
        sample_fps: a.sample_fps,
        intra_threads: a.intra_threads,
        max_batch: a.max_batch,
        sessions: a.sessions,
        only_daemon: a.only_daemon,
        python: a.python,
        baseline: a.baseline,
        skip_python: a.no_python,
        also_models: a
            .also_models
            .into_iter()
            .map(|p| std::path::absolute(&p).unwrap_or(p))
            .collect(),
    };
    let report = bench::run(&options)?;
    print!("{}", bench::render(&report));
    if let Some(path) = a.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Measures one row (the spec is JSON) and prints the measurement as JSON.
pub fn worker(a: WorkerArgs) -> anyhow::Result<()> {
    // The daemon's allocator settings, so raw rows measure what it runs.
    crate::sys::malloc::tune_malloc();
    let spec: bench::worker::Spec = serde_json::from_str(&a.spec)?;
    let m = bench::worker::measure(&spec).map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string(&m)?);
    Ok(())
}
