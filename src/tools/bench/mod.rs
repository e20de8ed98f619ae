//! `actiond bench`: measures, in one run and with one model and thread setting,
//! raw inference, decode-only, the daemon at N streams and the Python baseline,
//! and prints one table (and JSON) with the targets met or missed.

pub mod daemon_row;
pub mod inputs;
pub mod measure;
pub mod python_row;
mod report;
pub mod worker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

pub use report::{render, verdicts, Verdict};

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file or folder could not be used.
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    /// An input video is unusable.
    #[error("input {0}: {1}")]
    Input(PathBuf, String),
    /// The model or its manifest is unusable.
    #[error("model {0}: {1}")]
    Model(PathBuf, String),
    /// GStreamer could not start.
    #[error("GStreamer: {0}")]
    Gst(String),
}

/// What `actiond bench` is asked to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `.onnx` model (its `model.toml` next to it).
    pub model: PathBuf,
    /// `libonnxruntime.so`, if not found the usual way.
    pub onnxruntime: Option<PathBuf>,
    /// Video files to use instead of the generated 720p30 and 1080p30 ones.
    pub inputs: Vec<PathBuf>,
    /// Length of the generated inputs, s.
    pub input_seconds: u32,
    /// Folder for generated inputs, daemon configs and logs.
    pub work_dir: PathBuf,
    /// Seconds measured per row.
    pub duration_s: f64,
    /// Seconds run before each row is measured.
    pub warmup_s: f64,
    /// Stream counts of the daemon rows.
    pub streams: Vec<usize>,
    /// Sample rates of the daemon rows (0 = every frame).
    pub sample_fps: Vec<f64>,
    /// ONNX Runtime intra-op threads for every row (0 = its default).
    pub intra_threads: usize,
    /// The configured batch (raw row and daemon `max_batch`).
    pub max_batch: usize,
    /// `[runtime] sessions` of the daemon rows, one row per value (0 = auto).
    pub sessions: Vec<usize>,
    /// Only the raw inference and daemon rows (no decode or Python rows).
    pub only_daemon: bool,
    /// Python interpreter for the baseline (default: the project's `.venv`).
    pub python: Option<PathBuf>,
    /// The baseline script (default: the project's `bench/baseline.py`).
    pub baseline: Option<PathBuf>,
    /// Leave out the Python baseline.
    pub skip_python: bool,
    /// More models (frame, clip or stateful) measured in one daemon row each, for
    /// their cost per analyzed frame beside the main model's.
    pub also_models: Vec<PathBuf>,
}

/// One measured line of the table.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Row {
    /// What was measured, for people.
    pub name: String,
    /// `raw`, `decode`, `daemon`, `model` (a daemon row with another model) or `python`.
    pub kind: String,
    /// Input name (none for raw inference).
    pub input: Option<String>,
    /// Streams (1 outside daemon rows).
    pub streams: usize,
    /// Sample rate per stream; 0 = every frame; none where it does not apply.
    pub sample_fps: Option<f64>,
    /// Frames per model run (raw rows).
    pub batch: Option<usize>,
    /// `[runtime] sessions` (daemon rows; 0 = auto).
    pub sessions: Option<usize>,
    /// Seconds measured.
    pub wall_s: f64,
    /// Frames analyzed (decode rows: decoded).
    pub frames: u64,
    /// Frames decoded in the window, where known.
    pub decoded: Option<u64>,
    /// Analyzed (decode rows: decoded) frames per second.
    pub fps: f64,
    /// CPU seconds (user + system) of the measured process.
    pub cpu_s: f64,
    /// CPU milliseconds per analyzed (decoded) frame.
    pub cpu_ms_per_frame: f64,
    /// Cores kept busy on average.
    pub cpu_cores: f64,
    /// Latency median, ms (raw: one run; daemon: capture → publish; python: read → label).
    pub latency_p50_ms: Option<f64>,
    /// Latency 99th percentile, ms.
    pub latency_p99_ms: Option<f64>,
    /// Frames dropped (daemon) or read late (python, paced like a camera).
    pub dropped: Option<u64>,
    /// Peak resident memory, MiB.
    pub peak_rss_mib: f64,
    /// CPU per analyzed frame over the unavoidable work (decode + inference); daemon rows.
    pub cpu_vs_floor: Option<f64>,
    /// Mean ONNX Runtime run inside the daemon, ms (daemon rows).
    pub run_ms: Option<f64>,
    /// Mean frames per run inside the daemon (daemon rows).
    pub mean_batch: Option<f64>,
    /// Top-1 label counts (daemon and python rows).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, u64>,
    /// Why the row has no figures, or what to know about them.
    pub note: String,
}

impl Row {
    fn figures(&mut self, frames: u64, wall_s: f64, cpu_s: f64) {
        self.frames = frames;
        self.wall_s = wall_s;
        self.cpu_s = cpu_s;
        self.fps = frames as f64 / wall_s.max(1e-9);
        self.cpu_ms_per_frame = if frames > 0 {
            cpu_s * 1000.0 / frames as f64
        } else {
            f64::NAN
        };
        self.cpu_cores = cpu_s / wall_s.max(1e-9);
    }

    /// True when the row was measured (not skipped or failed).
    pub fn measured(&self) -> bool {
        self.frames > 0
    }
}

/// The machine a report was measured on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// Cores this process may use.
    pub cores: usize,
    /// Memory, GiB.
    pub memory_gib: f64,
    /// Kernel release.
    pub kernel: String,
    /// GStreamer version.
    pub gstreamer: String,
}

/// A whole benchmark run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// actiond version.
    pub actiond: String,
    /// When it ran (RFC 3339).
    pub date: String,
    /// Where it ran.
    pub machine: Machine,
    /// The model.
    pub model: String,
    /// Intra-op threads (0 = ONNX Runtime's default).
    pub intra_threads: usize,
    /// The configured batch.
    pub max_batch: usize,
    /// Seconds measured per row.
    pub duration_s: f64,
    /// The rows, in table order.
    pub rows: Vec<Row>,
    /// The targets, met or not.
    pub verdicts: Vec<Verdict>,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib: (memory_gib * 10.0).round() / 10.0,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        gstreamer: gstreamer::version_string().to_string(),
    }
}

/// Runs one `bench-worker` child and reads its figures.
fn child(spec: &worker::Spec) -> Result<worker::Measured, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .arg("bench-worker")
        .arg(serde_json::to_string(spec).expect("a spec serializes"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_string());
    }
    serde_json::from_str(text.trim()).map_err(|e| format!("unreadable figures ({e}): {text}"))
}

fn failed(mut row: Row, e: String) -> Row {
    eprintln!("bench: {}: {e}", row.name);
    row.note = e;
    row
}

fn raw_row(o: &Options, batch: usize, intra_threads: usize) -> Row {
    let threads = |n: usize| match n {
        0 => String::new(),
        1 => ", 1 thread".to_string(),
        n => format!(", {n} threads"),
    };
    let row = Row {
        name: format!("raw inference, batch {batch}{}", threads(intra_threads)),
        kind: "raw".into(),
        streams: 1,
        ..Row::default()
    };
    let spec = worker::Spec::Raw {
        model: o.model.clone(),
        onnxruntime: o.onnxruntime.clone(),
        intra_threads,
        batch,
        duration_s: o.duration_s,
        warmup_s: o.warmup_s,
    };
    match child(&spec) {
        Ok(m) => {
            let mut row = row;
            row.figures(m.frames, m.wall_s, m.cpu_s);
            row.batch = m.batch;
            row.name = format!(
                "raw inference, batch {}{}",
                m.batch.unwrap_or(batch),
                threads(intra_threads)
            );
            row.latency_p50_ms = m.latency_p50_ms;
            row.latency_p99_ms = m.latency_p99_ms;
            row.peak_rss_mib = m.peak_rss_mib;
            row
        }
        Err(e) => failed(row, e),
    }
}

/// Decode-only: GStreamer as the daemon decodes (`threads` none: the decoder's own
/// choice), GStreamer with `threads`, or `ffmpeg` with one thread (the floor's decode).
fn decode_row(o: &Options, input: &inputs::Input, how: Decoder) -> Row {
    let (name, spec) = match how {
        Decoder::Gst(threads) => (
            match threads {
                Some(1) => format!("decode only, {}, GStreamer 1 thread", input.name),
                Some(n) => format!("decode only, {}, GStreamer {n} threads", input.name),
                None => format!("decode only, {}", input.name),
            },
            worker::Spec::Decode {
                file: input.path.clone(),
                duration_s: o.duration_s,
                threads,
            },
        ),
        Decoder::Ffmpeg => (
            format!("decode only, {}, ffmpeg 1 thread", input.name),
            worker::Spec::Ffmpeg {
                file: input.path.clone(),
                duration_s: o.duration_s,
            },
        ),
    };
    let row = Row {
        name,
        kind: "decode".into(),
        input: Some(input.name.clone()),
        streams: 1,
        ..Row::default()
    };
    match child(&spec) {
        Ok(m) => {
            let mut row = row;
            row.figures(m.frames, m.wall_s, m.cpu_s);
            row.decoded = Some(m.frames);
            row.peak_rss_mib = m.peak_rss_mib;
            row
        }
        Err(e) => failed(row, e),
    }
}

/// Which decoder a decode-only row measures.
#[derive(Debug, Clone, Copy)]
enum Decoder {
    /// GStreamer's, with this many threads per libav decoder (none: its own choice).
    Gst(Option<u32>),
    /// The ffmpeg tool with one thread.
    Ffmpeg,
}

fn fps_name(fps: f64) -> String {
    if fps > 0.0 {
        format!("{fps} fps")
    } else {
        "every frame".into()
    }
}

/// The sessions setting as a row name's suffix (none for auto).
fn sessions_name(sessions: usize) -> String {
    match sessions {
        0 => String::new(),
        1 => ", 1 session".into(),
        n => format!(", {n} sessions"),
    }
}

fn daemon_row(o: &Options, input: &inputs::Input, streams: usize, fps: f64, n: usize) -> Row {
    daemon_row_with(o, input, (streams, fps, 0), n)
}

/// A daemon row of `streams` × `input` at `fps` with `[runtime] sessions` set.
fn daemon_row_with(
    o: &Options,
    input: &inputs::Input,
    (streams, fps, sessions): (usize, f64, usize),
    n: usize,
) -> Row {
    let row = Row {
        name: format!(
            "daemon, {streams} × {} @ {}{}",
            input.name,
            fps_name(fps),
            sessions_name(sessions)
        ),
        kind: "daemon".into(),
        input: Some(input.name.clone()),
        streams,
        sample_fps: Some(fps),
        sessions: Some(sessions),
        ..Row::default()
    };
    measured_daemon_row(o, &o.model, row, input, n)
}

/// A daemon row with another model (`--also-model`): one stream of `input` at the
/// manifest's `sample_fps` (the rate it was trained at), else at `fps`, named after the
/// model and its kind (a failed row if its manifest is unusable).
fn model_row(o: &Options, model: &Path, input: &inputs::Input, fps: f64, n: usize) -> Row {
    let mut row = Row {
        name: format!("model {}", model.display()),
        kind: "model".into(),
        input: Some(input.name.clone()),
        streams: 1,
        sample_fps: Some(fps),
        ..Row::default()
    };
    match crate::model::Manifest::load(&model.with_file_name("model.toml")) {
        Ok(m) => {
            let fps = m.input.sample_fps.unwrap_or(fps);
            row.sample_fps = Some(fps);
            row.name = format!(
                "{}, {} {}x{} @ {}",
                m.kind().name(),
                m.name,
                m.input.width,
                m.input.height,
                fps_name(fps)
            );
            row.note = match m.kind() {
                crate::model::ModelKind::Clip => format!(
                    "one clip of {} frames per sampled frame (smoothing stride 1)",
                    m.frames()
                ),
                _ => String::new(),
            };
            measured_daemon_row(o, model, row, input, n)
        }
        Err(e) => failed(row, e.to_string()),
    }
}

/// Runs the daemon with `model` on `row.streams` copies of `input` and fills `row`.
fn measured_daemon_row(
    o: &Options,
    model: &Path,
    row: Row,
    input: &inputs::Input,
    n: usize,
) -> Row {
    let (streams, fps) = (row.streams, row.sample_fps.unwrap_or(0.0));
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return failed(row, e.to_string()),
    };
    let run = daemon_row::DaemonRun {
        exe: &exe,
        model,
        onnxruntime: o.onnxruntime.as_deref(),
        intra_threads: o.intra_threads,
        sessions: row.sessions.unwrap_or(0),
        max_batch: o.max_batch,
        input,
        streams,
        sample_fps: fps,
        warmup_s: o.warmup_s,
        duration_s: o.duration_s,
        dir: &o.work_dir.join(format!("daemon-{n}")),
    };
    match daemon_row::measure(&run) {
        Ok(mut f) => {
            let mut row = row;
            row.figures(f.analyzed, f.wall_s, f.cpu_s);
            (row.latency_p50_ms, row.latency_p99_ms) = f.latency();
            row.decoded = Some(f.decoded);
            row.dropped = Some(f.dropped);
            row.peak_rss_mib = f.peak_rss_mib;
            row.labels = f.labels;
            row.run_ms = f.runs.map(|r| r.0);
            row.mean_batch = f.runs.map(|r| r.1);
            row
        }
        Err(e) => failed(row, e),
    }
}

/// A Python row: `kind` `python` (the naive baseline), `careful` (the careful peer, ONNX
/// Runtime's defaults) or `careful-tuned` (the same peer with one thread, no spinning).
fn python_row(
    o: &Options,
    baseline: &Result<python_row::Baseline, String>,
    kind: &str,
    input: &inputs::Input,
    fps: f64,
    realtime: bool,
) -> Row {
    let every = if fps > 0.0 {
        (input.fps / fps).round().max(1.0) as u32
    } else {
        1
    };
    let pace = if realtime {
        "paced like a camera"
    } else {
        "as fast as it reads"
    };
    let who = match kind {
        "careful" => "careful python (ffmpeg fps+scale → onnxruntime)",
        "careful-tuned" => "careful python, tuned (1 thread, no spinning)",
        _ => "python",
    };
    let row = Row {
        name: format!("{who}, 1 × {} @ {}, {pace}", input.name, fps_name(fps)),
        kind: kind.into(),
        input: Some(input.name.clone()),
        streams: 1,
        sample_fps: Some(fps),
        ..Row::default()
    };
    let b = match baseline {
        Ok(b) => b,
        Err(e) => return failed(row, format!("skipped: {e}")),
    };
    let manifest = o.model.with_file_name("model.toml");
    match python_row::measure(
        b,
        &o.model,
        &manifest,
        &input.path,
        every,
        o.intra_threads,
        realtime,
        o.warmup_s,
        o.duration_s,
        kind == "careful-tuned",
    ) {
        Ok(p) => {
            let mut row = row;
            row.figures(p.analyzed, p.wall_s, p.cpu_s);
            row.decoded = Some(p.decoded);
            row.latency_p50_ms = p.latency_p50_ms;
            row.latency_p99_ms = p.latency_p99_ms;
            row.dropped = realtime.then_some(p.late);
            row.peak_rss_mib = p.peak_rss_kb as f64 / 1024.0;
            row.labels = p.labels;
            if realtime {
                row.note = "dropped = frames read late".into();
            }
            row
        }
        Err(e) => failed(row, e),
    }
}

/// Runs every row and returns the report; progress goes to stderr.
pub fn run(o: &Options) -> Result<Report, BenchError> {
    gstreamer::init().map_err(|e| BenchError::Gst(e.to_string()))?;
    if !o.model.is_file() {
        return Err(BenchError::Model(o.model.clone(), "no such file".into()));
    }
    let manifest = crate::model::Manifest::load(&o.model.with_file_name("model.toml"))
        .map_err(|e| BenchError::Model(o.model.clone(), e.to_string()))?;
    let inputs = if o.inputs.is_empty() {
        inputs::generated(&o.work_dir, o.input_seconds)?
    } else {
        inputs::given(&o.inputs)?
    };
    let mut rows = Vec::new();
    let mut push = |row: Row| {
        eprintln!(
            "bench: {:<48} {:>8.1} frames/s  {:>6.2} ms CPU/frame",
            row.name, row.fps, row.cpu_ms_per_frame
        );
        rows.push(row);
    };
    // As configured, and with one thread (ONNX Runtime's most CPU-efficient setting).
    let mut threads = vec![o.intra_threads];
    if o.intra_threads != 1 {
        threads.push(1);
    }
    for &t in &threads {
        push(raw_row(o, 1, t));
        if o.max_batch > 1 {
            push(raw_row(o, o.max_batch, t));
        }
    }
    for input in inputs.iter().filter(|_| !o.only_daemon) {
        push(decode_row(o, input, Decoder::Gst(None)));
        push(decode_row(o, input, Decoder::Gst(Some(1))));
        push(decode_row(o, input, Decoder::Ffmpeg));
    }
    let mut n = 0;
    let first = &inputs[0];
    for &fps in &o.sample_fps {
        for &streams in &o.streams {
            for &sessions in &o.sessions {
                n += 1;
                push(daemon_row_with(o, first, (streams, fps, sessions), n));
            }
        }
    }
    if o.only_daemon {
        return Ok(report(o, &manifest, rows, first.fps));
    }
    for input in &inputs[1..] {
        n += 1;
        push(daemon_row(o, input, 1, o.sample_fps[0], n));
    }
    for model in &o.also_models {
        n += 1;
        push(model_row(o, model, first, o.sample_fps[0], n));
    }
    if !o.skip_python {
        let baseline =
            python_row::locate(o.python.as_deref(), o.baseline.as_deref(), "baseline.py");
        let careful = python_row::locate(o.python.as_deref(), None, "careful.py");
        // Paced like cameras, like the daemon rows, at each daemon sample rate; the
        // careful peer samples in ffmpeg, so only where there is sampling.
        for &fps in &o.sample_fps {
            push(python_row(o, &baseline, "python", first, fps, true));
            if fps > 0.0 {
                push(python_row(o, &careful, "careful", first, fps, true));
                push(python_row(o, &careful, "careful-tuned", first, fps, true));
            }
        }
    }
    Ok(report(o, &manifest, rows, first.fps))
}

/// The report of `rows` (floors filled in, targets judged) for inputs of `input_fps`.
fn report(
    o: &Options,
    manifest: &crate::model::Manifest,
    mut rows: Vec<Row>,
    input_fps: f64,
) -> Report {
    report::fill_floors(&mut rows);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let verdicts = verdicts(&rows, input_fps, cores);
    Report {
        actiond: env!("CARGO_PKG_VERSION").into(),
        date: crate::publish::rfc3339(std::time::SystemTime::now()),
        machine: machine(),
        model: format!(
            "{} ({}, {}x{} {:?})",
            manifest.name,
            o.model.display(),
            manifest.input.width,
            manifest.input.height,
            manifest.input.layout
        ),
        intra_threads: o.intra_threads,
        max_batch: o.max_batch,
        duration_s: o.duration_s,
        rows,
        verdicts,
    }
}

/// The default work folder: `$XDG_CACHE_HOME/actiond/bench`, else `~/.cache/actiond/bench`.
pub fn default_work_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("actiond").join("bench")
}
