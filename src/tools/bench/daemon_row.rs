//! A daemon row: the real `actiond run` on N copies of one input (played at their
//! own pace, like cameras), measured from outside as a user would see it.

use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;
use std::net::SocketAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::inputs::Input;
use super::measure::{http_get, peak_rss_mib, process_cpu_s, quantile};

/// What one daemon run is asked to do.
pub struct DaemonRun<'a> {
    /// The `actiond` binary.
    pub exe: &'a Path,
    /// The model.
    pub model: &'a Path,
    /// `libonnxruntime.so`, if given.
    pub onnxruntime: Option<&'a Path>,
    /// Intra-op threads.
    pub intra_threads: usize,
    /// Sessions per model (`[runtime] sessions`; 0 = auto).
    pub sessions: usize,
    /// Most frames per run.
    pub max_batch: usize,
    /// The input every stream plays.
    pub input: &'a Input,
    /// Number of streams.
    pub streams: usize,
    /// Frames per second sampled per stream (0 = every frame).
    pub sample_fps: f64,
    /// Seconds before measuring.
    pub warmup_s: f64,
    /// Seconds measured.
    pub duration_s: f64,
    /// Folder for the config and the socket.
    pub dir: &'a Path,
}

/// What a daemon run measured.
#[derive(Debug, Clone, Default)]
pub struct DaemonFigures {
    /// Frames classified in the window.
    pub analyzed: u64,
    /// Frames decoded in the window.
    pub decoded: u64,
    /// Frames that reached the sampler's output (sampled) in the window.
    pub sampled: u64,
    /// Frames dropped (replaced while waiting, flushed or unusable) in the window.
    pub dropped: u64,
    /// Seconds measured.
    pub wall_s: f64,
    /// Daemon CPU seconds in the window.
    pub cpu_s: f64,
    /// Capture → publish latencies seen in the window, ms.
    pub latencies: Vec<f64>,
    /// Peak resident memory, MiB.
    pub peak_rss_mib: f64,
    /// Top-1 label counts of the predictions in the window.
    pub labels: BTreeMap<String, u64>,
    /// Mean ONNX Runtime run inside the daemon, ms, and mean frames per run.
    pub runs: Option<(f64, f64)>,
}

impl DaemonFigures {
    /// Latency median and 99th percentile, ms.
    pub fn latency(&mut self) -> (Option<f64>, Option<f64>) {
        (
            quantile(&mut self.latencies, 0.5),
            quantile(&mut self.latencies, 0.99),
        )
    }
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn toml_str(p: &Path) -> String {
    serde_json::to_string(&p.to_string_lossy()).expect("a string serializes")
}

fn config(run: &DaemonRun, socket: &Path, http: SocketAddr) -> String {
    let mut c = String::new();
    c.push_str("[runtime]\n");
    if let Some(ort) = run.onnxruntime {
        c.push_str(&format!("onnxruntime = {}\n", toml_str(ort)));
    }
    c.push_str(&format!(
        "intra_threads = {}\nsessions = {}\nmax_batch = {}\n\n[model]\npath = {}\n\n",
        run.intra_threads,
        run.sessions,
        run.max_batch,
        toml_str(run.model)
    ));
    // One prediction per analyzed frame, so every frame's latency is seen.
    c.push_str("[smoothing]\nwindow = 1\nstride = 1\n\n");
    c.push_str(&format!(
        "[output]\nsocket = {}\nsubscriber_buffer = 65536\n\n[http]\nlisten = \"{http}\"\n\n",
        toml_str(socket)
    ));
    for i in 0..run.streams {
        c.push_str(&format!(
            "[[stream]]\nname = \"s{i}\"\nuri = {}\nloop = true\nsample_fps = {}\n\n",
            toml_str(&run.input.path),
            run.sample_fps
        ));
    }
    c
}

fn free_port() -> std::io::Result<SocketAddr> {
    std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// Frame counters summed over the streams: (received, sampled, dropped, classified).
fn counters(http: SocketAddr) -> Result<[u64; 4], String> {
    let body = http_get(http, "/api/streams").map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    let mut sum = [0u64; 4];
    for s in v["streams"].as_array().into_iter().flatten() {
        for (i, k) in ["received", "sampled", "dropped", "classified"]
            .iter()
            .enumerate()
        {
            sum[i] += s["frames"][k].as_u64().unwrap_or(0);
        }
    }
    Ok(sum)
}

/// Sums and counts of the daemon's inference histograms: (seconds sum, runs, frames sum).
fn inference_totals(http: SocketAddr) -> Option<[f64; 3]> {
    let text = http_get(http, "/metrics").ok()?;
    let value = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some([
        value("actiond_inference_seconds_sum")?,
        value("actiond_inference_seconds_count")?,
        value("actiond_inference_batch_frames_sum")?,
    ])
}

/// Starts the daemon, waits for predictions on every stream, measures, stops it.
pub fn measure(run: &DaemonRun) -> Result<DaemonFigures, String> {
    let (mut daemon, socket, http) = start(run)?;
    let pid = daemon.0.id();
    let started = Instant::now();
    let conn = connect(&mut daemon, &socket, run, started)?;
    let feed = Feed::start(conn);
    // Warm-up: every stream has published, and the warm-up time has passed.
    let warm = Instant::now() + Duration::from_secs_f64(run.warmup_s);
    while feed.streams() < run.streams || Instant::now() < warm {
        if started.elapsed() > Duration::from_secs(120) {
            return Err(format!(
                "only {} of {} streams published within 120 s; see {}",
                feed.streams(),
                run.streams,
                run.dir.join("daemon.log").display()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut figures = window(run, http, pid, &feed)?;
    figures.peak_rss_mib = peak_rss_mib(pid).unwrap_or(0.0);
    drop(daemon);
    (figures.latencies, figures.labels) = feed.finish();
    Ok(figures)
}

/// Writes the config and starts the daemon; returns it with its socket and HTTP address.
fn start(run: &DaemonRun) -> Result<(Guard, PathBuf, SocketAddr), String> {
    std::fs::create_dir_all(run.dir).map_err(|e| format!("{}: {e}", run.dir.display()))?;
    let socket = run.dir.join("predictions.sock");
    let http = free_port().map_err(|e| format!("no free port: {e}"))?;
    let cfg_path: PathBuf = run.dir.join("actiond.toml");
    std::fs::write(&cfg_path, config(run, &socket, http))
        .map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let log = std::fs::File::create(run.dir.join("daemon.log"))
        .map_err(|e| format!("daemon.log: {e}"))?;
    let child = Command::new(run.exe)
        .args(["run", "--log-format", "text", "--config"])
        .arg(&cfg_path)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", run.exe.display()))?;
    Ok((Guard(child), socket, http))
}

/// Connects to the daemon's socket once it appears (within 60 s of `started`).
fn connect(
    daemon: &mut Guard,
    socket: &Path,
    run: &DaemonRun,
    started: Instant,
) -> Result<UnixStream, String> {
    loop {
        if let Ok(c) = UnixStream::connect(socket) {
            return Ok(c);
        }
        if let Ok(Some(st)) = daemon.0.try_wait() {
            return Err(format!(
                "the daemon exited ({st}) at start; see {}",
                run.dir.join("daemon.log").display()
            ));
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err("the daemon's socket did not appear within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Measures for `run.duration_s`: counters, CPU and inference runs (latencies,
/// labels and peak memory are filled in by the caller).
fn window(
    run: &DaemonRun,
    http: SocketAddr,
    pid: u32,
    feed: &Feed,
) -> Result<DaemonFigures, String> {
    let c0 = counters(http)?;
    let i0 = inference_totals(http);
    let cpu0 = process_cpu_s(pid).ok_or("the daemon's /proc entry is gone")?;
    feed.measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(run.duration_s));
    feed.measuring.store(false, Ordering::Relaxed);
    let cpu1 = process_cpu_s(pid).ok_or("the daemon's /proc entry is gone")?;
    let wall_s = t0.elapsed().as_secs_f64();
    let c1 = counters(http)?;
    let runs = match (i0, inference_totals(http)) {
        (Some(a), Some(b)) if b[1] > a[1] => {
            let n = b[1] - a[1];
            Some(((b[0] - a[0]) * 1000.0 / n, (b[2] - a[2]) / n))
        }
        _ => None,
    };
    Ok(DaemonFigures {
        decoded: c1[0] - c0[0],
        sampled: c1[1] - c0[1],
        dropped: c1[2] - c0[2],
        analyzed: c1[3] - c0[3],
        wall_s,
        cpu_s: cpu1 - cpu0,
        runs,
        ..DaemonFigures::default()
    })
}

/// What the prediction feed showed so far.
#[derive(Default)]
struct Seen {
    /// Streams that published a prediction.
    streams: HashSet<String>,
    /// Latencies of the predictions while measuring, ms.
    latencies: Vec<f64>,
    /// Top-1 labels of the predictions while measuring.
    labels: BTreeMap<String, u64>,
}

/// The prediction feed, read like any client on a thread of its own.
struct Feed {
    measuring: Arc<AtomicBool>,
    seen: Arc<Mutex<Seen>>,
    reader: std::thread::JoinHandle<()>,
}

impl Feed {
    fn start(conn: UnixStream) -> Self {
        let measuring = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (m, s) = (measuring.clone(), seen.clone());
        let reader = std::thread::spawn(move || read_feed(conn, &m, &s));
        Feed {
            measuring,
            seen,
            reader,
        }
    }

    /// Number of streams that published so far.
    fn streams(&self) -> usize {
        self.seen.lock().unwrap().streams.len()
    }

    /// Waits for the feed to end (the daemon stopped); returns the latencies and labels.
    fn finish(self) -> (Vec<f64>, BTreeMap<String, u64>) {
        let _ = self.reader.join();
        let mut seen = self.seen.lock().unwrap();
        (
            std::mem::take(&mut seen.latencies),
            std::mem::take(&mut seen.labels),
        )
    }
}

fn read_feed(conn: UnixStream, measuring: &AtomicBool, seen: &Mutex<Seen>) {
    for line in std::io::BufReader::new(conn).lines() {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if msg["type"] != "prediction" {
            continue;
        }
        let mut seen = seen.lock().unwrap();
        if let Some(s) = msg["stream"].as_str() {
            seen.streams.insert(s.to_string());
        }
        if measuring.load(Ordering::Relaxed) {
            if let Some(ms) = msg["latency_ms"].as_f64() {
                seen.latencies.push(ms);
            }
            if let Some(l) = msg["label"].as_str() {
                *seen.labels.entry(l.to_string()).or_insert(0) += 1;
            }
        }
    }
}
