//! Runs the real `actiond` binary: writes its config into a temporary
//! directory, spawns `actiond run --config FILE` with stdout and stderr going
//! to files, waits for the socket, and stops it with SIGTERM (then SIGKILL) on
//! drop.

use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::subscriber::Subscriber;

/// How long `spawn` waits for the socket to accept connections.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a stopped daemon gets between SIGTERM and SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A TOML basic string holding `s` (JSON string escapes are valid TOML ones).
pub fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("string to JSON")
}

/// One `[[stream]]` table.
#[derive(Clone, Debug)]
pub struct StreamSpec {
    pub name: String,
    /// `uri = …` or, with `pipeline`, `pipeline = …`.
    source: (String, String),
    pub sample_fps: u32,
    /// Further keys, each with its value already written as TOML.
    extra: Vec<(String, String)>,
}

impl StreamSpec {
    /// A stream with `uri = uri`.
    pub fn uri(name: &str, uri: &str) -> Self {
        StreamSpec {
            name: name.to_owned(),
            source: ("uri".into(), uri.to_owned()),
            sample_fps: 5,
            extra: Vec::new(),
        }
    }

    /// `uri = "test:<pattern>"`.
    pub fn test(name: &str, pattern: &str) -> Self {
        Self::uri(name, &format!("test:{pattern}"))
    }

    /// `pipeline = fragment` (a gst-launch fragment producing raw video).
    pub fn pipeline(name: &str, fragment: &str) -> Self {
        StreamSpec {
            source: ("pipeline".into(), fragment.to_owned()),
            ..Self::uri(name, "")
        }
    }

    pub fn sample_fps(mut self, fps: u32) -> Self {
        self.sample_fps = fps;
        self
    }

    /// `loop = b` (files).
    pub fn looping(self, b: bool) -> Self {
        self.raw("loop", &b.to_string())
    }

    /// `rtsp_transport = "tcp"` etc.
    pub fn rtsp_transport(self, transport: &str) -> Self {
        self.raw("rtsp_transport", &toml_str(transport))
    }

    pub fn latency_ms(self, ms: u32) -> Self {
        self.raw("latency_ms", &ms.to_string())
    }

    pub fn stall_timeout_s(self, s: u32) -> Self {
        self.raw("stall_timeout_s", &s.to_string())
    }

    pub fn reconnect_s(self, min: u32, max: u32) -> Self {
        self.raw("reconnect_min_s", &min.to_string())
            .raw("reconnect_max_s", &max.to_string())
    }

    /// Any other key, with `value` written as TOML (`"\"x\""`, `"3"`, `"true"`).
    pub fn raw(mut self, key: &str, value: &str) -> Self {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }

    fn write_toml(&self, out: &mut String) {
        out.push_str("\n[[stream]]\n");
        writeln!(out, "name = {}", toml_str(&self.name)).unwrap();
        writeln!(out, "{} = {}", self.source.0, toml_str(&self.source.1)).unwrap();
        writeln!(out, "sample_fps = {}", self.sample_fps).unwrap();
        for (k, v) in &self.extra {
            writeln!(out, "{k} = {v}").unwrap();
        }
    }
}

/// Everything the daemon's config file says. Defaults are the ones the tests
/// want: one thread, `mean` with window 4 / stride 2, top_k 3, no stdout.
#[derive(Clone, Debug)]
pub struct DaemonConfig {
    pub onnxruntime: Option<PathBuf>,
    pub providers: Option<Vec<String>>,
    pub intra_threads: u32,
    pub max_batch: Option<u32>,
    /// `[runtime] inference_stall_s` (None: the daemon's default).
    pub inference_stall_s: Option<f64>,
    /// `[runtime] stream_nice` (None: the daemon's default).
    pub stream_nice: Option<u32>,
    /// `[runtime] sessions` (None: the daemon's default).
    pub sessions: Option<u32>,
    pub model: PathBuf,
    /// `[[model]]` tables (name, path) written instead of `[model]` when not empty.
    pub models: Vec<(String, PathBuf)>,
    pub method: String,
    pub window: u32,
    pub stride: u32,
    pub threshold: f64,
    pub confirm: u32,
    pub top_k: u32,
    /// None: `p.sock` in the daemon's temporary directory.
    pub socket: Option<PathBuf>,
    pub socket_mode: String,
    /// `[output] socket_group` (None: unset).
    pub socket_group: Option<String>,
    pub stdout: bool,
    pub per_frame: bool,
    /// `[output] subscriber_buffer` (None: the daemon's default).
    pub subscriber_buffer: Option<u32>,
    pub streams: Vec<StreamSpec>,
    /// Raw TOML appended at the end (e.g. extra tables).
    pub extra: String,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            onnxruntime: None,
            providers: None,
            intra_threads: 1,
            max_batch: None,
            inference_stall_s: None,
            stream_nice: None,
            sessions: None,
            model: super::model_onnx(),
            models: Vec::new(),
            method: "mean".into(),
            window: 4,
            stride: 2,
            threshold: 0.5,
            confirm: 2,
            top_k: 3,
            socket: None,
            socket_mode: "0660".into(),
            socket_group: None,
            stdout: false,
            per_frame: false,
            subscriber_buffer: None,
            streams: Vec::new(),
            extra: String::new(),
        }
    }
}

impl DaemonConfig {
    /// The config file's text, with `socket` as the socket path.
    pub fn to_toml(&self, socket: &Path) -> String {
        let mut s = String::new();
        s.push_str("[runtime]\n");
        if let Some(ort) = &self.onnxruntime {
            writeln!(s, "onnxruntime = {}", toml_str(&ort.to_string_lossy())).unwrap();
        }
        if let Some(p) = &self.providers {
            let list: Vec<String> = p.iter().map(|p| toml_str(p)).collect();
            writeln!(s, "providers = [{}]", list.join(", ")).unwrap();
        }
        writeln!(s, "intra_threads = {}", self.intra_threads).unwrap();
        if let Some(b) = self.max_batch {
            writeln!(s, "max_batch = {b}").unwrap();
        }
        if let Some(t) = self.inference_stall_s {
            writeln!(s, "inference_stall_s = {t:?}").unwrap();
        }
        if let Some(n) = self.stream_nice {
            writeln!(s, "stream_nice = {n}").unwrap();
        }
        if let Some(n) = self.sessions {
            writeln!(s, "sessions = {n}").unwrap();
        }
        if self.models.is_empty() {
            s.push_str("\n[model]\n");
            writeln!(s, "path = {}", toml_str(&self.model.to_string_lossy())).unwrap();
        }
        for (name, path) in &self.models {
            s.push_str("\n[[model]]\n");
            writeln!(s, "name = {}", toml_str(name)).unwrap();
            writeln!(s, "path = {}", toml_str(&path.to_string_lossy())).unwrap();
        }
        s.push_str("\n[smoothing]\n");
        writeln!(s, "method = {}", toml_str(&self.method)).unwrap();
        writeln!(s, "window = {}", self.window).unwrap();
        writeln!(s, "stride = {}", self.stride).unwrap();
        writeln!(s, "threshold = {:?}", self.threshold).unwrap();
        writeln!(s, "confirm = {}", self.confirm).unwrap();
        writeln!(s, "top_k = {}", self.top_k).unwrap();
        s.push_str("\n[output]\n");
        writeln!(s, "socket = {}", toml_str(&socket.to_string_lossy())).unwrap();
        writeln!(s, "socket_mode = {}", toml_str(&self.socket_mode)).unwrap();
        if let Some(g) = &self.socket_group {
            writeln!(s, "socket_group = {}", toml_str(g)).unwrap();
        }
        writeln!(s, "stdout = {}", self.stdout).unwrap();
        writeln!(s, "per_frame = {}", self.per_frame).unwrap();
        if let Some(n) = self.subscriber_buffer {
            writeln!(s, "subscriber_buffer = {n}").unwrap();
        }
        for stream in &self.streams {
            stream.write_toml(&mut s);
        }
        if !self.extra.is_empty() {
            s.push('\n');
            s.push_str(&self.extra);
            s.push('\n');
        }
        s
    }
}

/// Builds a [`Daemon`]: `Daemon::builder().stream(...).spawn()`.
#[derive(Debug, Default)]
pub struct DaemonBuilder {
    pub config: DaemonConfig,
    dir: Option<tempfile::TempDir>,
    envs: Vec<(String, String)>,
}

impl DaemonBuilder {
    pub fn stream(mut self, stream: StreamSpec) -> Self {
        self.config.streams.push(stream);
        self
    }
    pub fn model(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.model = path.into();
        self
    }
    /// Adds a `[[model]]` (the first added is the default); no `[model]` then.
    pub fn named_model(mut self, name: &str, path: impl Into<PathBuf>) -> Self {
        self.config.models.push((name.to_string(), path.into()));
        self
    }

    pub fn onnxruntime(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.onnxruntime = Some(path.into());
        self
    }
    pub fn providers(mut self, providers: &[&str]) -> Self {
        self.config.providers = Some(providers.iter().map(|s| s.to_string()).collect());
        self
    }
    pub fn intra_threads(mut self, n: u32) -> Self {
        self.config.intra_threads = n;
        self
    }
    pub fn max_batch(mut self, n: u32) -> Self {
        self.config.max_batch = Some(n);
        self
    }
    pub fn inference_stall_s(mut self, s: f64) -> Self {
        self.config.inference_stall_s = Some(s);
        self
    }
    pub fn sessions(mut self, n: u32) -> Self {
        self.config.sessions = Some(n);
        self
    }
    pub fn stream_nice(mut self, n: u32) -> Self {
        self.config.stream_nice = Some(n);
        self
    }
    pub fn method(mut self, method: &str) -> Self {
        self.config.method = method.into();
        self
    }
    pub fn window(mut self, n: u32) -> Self {
        self.config.window = n;
        self
    }
    pub fn stride(mut self, n: u32) -> Self {
        self.config.stride = n;
        self
    }
    pub fn threshold(mut self, t: f64) -> Self {
        self.config.threshold = t;
        self
    }
    pub fn confirm(mut self, n: u32) -> Self {
        self.config.confirm = n;
        self
    }
    pub fn top_k(mut self, n: u32) -> Self {
        self.config.top_k = n;
        self
    }
    /// Use this socket path instead of one in the daemon's own directory.
    pub fn socket(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.socket = Some(path.into());
        self
    }
    pub fn socket_mode(mut self, mode: &str) -> Self {
        self.config.socket_mode = mode.into();
        self
    }
    pub fn socket_group(mut self, group: &str) -> Self {
        self.config.socket_group = Some(group.into());
        self
    }
    pub fn stdout(mut self, b: bool) -> Self {
        self.config.stdout = b;
        self
    }
    pub fn per_frame(mut self, b: bool) -> Self {
        self.config.per_frame = b;
        self
    }
    pub fn subscriber_buffer(mut self, n: u32) -> Self {
        self.config.subscriber_buffer = Some(n);
        self
    }
    /// Write the config (and logs) into `dir` instead of a new temporary
    /// directory: relative paths in the config resolve against it.
    pub fn in_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.dir = Some(dir);
        self
    }
    /// An environment variable for the daemon process.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.envs.push((key.to_string(), value.into()));
        self
    }
    /// Raw TOML appended to the config.
    pub fn extra_toml(mut self, toml: &str) -> Self {
        self.config.extra.push_str(toml);
        self
    }

    /// Starts the daemon and waits (up to [`READY_TIMEOUT`]) until its socket
    /// accepts connections; panics with its stderr if it does not.
    pub fn spawn(self) -> Daemon {
        let mut daemon = self.spawn_unready();
        daemon.wait_ready(READY_TIMEOUT);
        daemon
    }

    /// Starts the daemon without waiting for anything (for runs expected to fail).
    pub fn spawn_unready(self) -> Daemon {
        let dir = self.dir.unwrap_or_else(super::tempdir);
        let socket = self
            .config
            .socket
            .clone()
            .unwrap_or_else(|| dir.path().join("p.sock"));
        let config_path = dir.path().join("actiond.toml");
        std::fs::write(&config_path, self.config.to_toml(&socket)).expect("write config");
        // A relative socket path is relative to the config file's directory.
        let socket = dir.path().join(socket);
        let stdout_path = dir.path().join("stdout.log");
        let stderr_path = dir.path().join("stderr.log");
        let child = Command::new(super::actiond_bin())
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).expect("create stdout.log"))
            .stderr(File::create(&stderr_path).expect("create stderr.log"))
            .env("RUST_BACKTRACE", "1")
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", super::actiond_bin().display()));
        Daemon {
            child,
            exit: None,
            started: Instant::now(),
            dir,
            config_path,
            socket_path: socket,
            stdout_path,
            stderr_path,
            config: self.config,
        }
    }
}

/// A running `actiond run` process. Dropping it sends SIGTERM, then SIGKILL
/// after [`STOP_TIMEOUT`]; when the test is panicking the daemon's stderr is
/// printed (libtest shows it with the failure).
pub struct Daemon {
    child: Child,
    exit: Option<ExitStatus>,
    started: Instant,
    /// Holds the config, the logs and (by default) the socket.
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub socket_path: PathBuf,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    pub config: DaemonConfig,
}

impl Daemon {
    pub fn builder() -> DaemonBuilder {
        DaemonBuilder::default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the daemon wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// What the daemon wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// The config file's text.
    pub fn config_text(&self) -> String {
        std::fs::read_to_string(&self.config_path).unwrap_or_default()
    }

    /// Time since spawn.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The exit status if the process has ended.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().expect("try_wait");
        }
        self.exit
    }

    /// Waits up to `timeout` for the process to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_exit() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Panics (with stderr) if the daemon has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.try_exit() {
            panic!(
                "actiond exited unexpectedly ({status}) after {:.1?}\n{}",
                self.uptime(),
                self.describe()
            );
        }
    }

    /// Waits until a connection to the socket succeeds (the probe connection is
    /// closed at once). Panics with the daemon's stderr if it exits first or
    /// `timeout` passes.
    pub fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut last_err;
        loop {
            if let Some(status) = self.try_exit() {
                panic!(
                    "actiond exited ({status}) before its socket {} accepted connections\n{}",
                    self.socket_path.display(),
                    self.describe()
                );
            }
            match UnixStream::connect(&self.socket_path) {
                Ok(_) => return,
                Err(e) => last_err = e.to_string(),
            }
            if Instant::now() >= deadline {
                panic!(
                    "actiond's socket {} did not accept connections within {timeout:?} \
                     (last error: {last_err})\n{}",
                    self.socket_path.display(),
                    self.describe()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// A new subscriber on the daemon's socket (hello not yet read).
    pub fn subscribe(&self) -> Subscriber {
        Subscriber::connect(&self.socket_path).unwrap_or_else(|e| {
            panic!(
                "connect to {}: {e}\n{}",
                self.socket_path.display(),
                self.describe()
            )
        })
    }

    /// Sends a signal by name ("TERM", "INT", "KILL", "HUP", …) with kill(1).
    pub fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .stderr(Stdio::null())
            .status()
            .expect("run kill");
        // kill fails when the process is already gone; callers check exit status.
        let _ = status;
    }

    /// Sends `sig`, waits up to `timeout`, then SIGKILLs. Returns the exit
    /// status and whether it ended within `timeout` on its own.
    pub fn stop_with(&mut self, sig: &str, timeout: Duration) -> (ExitStatus, bool) {
        if let Some(status) = self.try_exit() {
            return (status, true);
        }
        self.signal(sig);
        if let Some(status) = self.wait_exit(timeout) {
            return (status, true);
        }
        self.signal("KILL");
        let status = self.child.wait().expect("wait after SIGKILL");
        self.exit = Some(status);
        (status, false)
    }

    /// SIGTERM; asserts the daemon exits with 0 within [`STOP_TIMEOUT`].
    pub fn terminate(&mut self) -> ExitStatus {
        let (status, in_time) = self.stop_with("TERM", STOP_TIMEOUT);
        assert!(
            in_time,
            "actiond did not exit within {STOP_TIMEOUT:?} of SIGTERM\n{}",
            self.describe()
        );
        status
    }

    /// SIGKILL, as a crash would: nothing gets cleaned up.
    pub fn kill_hard(&mut self) -> ExitStatus {
        self.signal("KILL");
        let status = self.child.wait().expect("wait after SIGKILL");
        self.exit = Some(status);
        status
    }

    /// Config and stderr, for panic messages.
    pub fn describe(&self) -> String {
        format!(
            "--- config {} ---\n{}--- actiond stderr ---\n{}--- end ---",
            self.config_path.display(),
            self.config_text(),
            tail(&self.stderr(), 8000)
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop_with("TERM", STOP_TIMEOUT);
        if std::thread::panicking() {
            eprintln!(
                "actiond (pid {}) exit: {:?}\n{}",
                self.pid(),
                self.exit,
                self.describe()
            );
        }
    }
}

/// The last `max` bytes of `s` (at a char boundary).
pub fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// How a short-lived `actiond` command ended.
#[derive(Debug)]
pub struct Finished {
    /// None when it was killed for running past its time limit.
    pub status: Option<ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Finished {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
    /// Exited on its own with a non-zero code (not killed by a signal, not timed out).
    pub fn failed_cleanly(&self) -> bool {
        self.status
            .is_some_and(|s| s.code().is_some_and(|c| c != 0))
    }
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "exit: {s}")?,
            None => write!(f, "exit: killed after timeout")?,
        }
        write!(
            f,
            " after {:.1?}\n--- stdout ---\n{}--- stderr ---\n{}--- end ---",
            self.elapsed,
            tail(&self.stdout, 4000),
            tail(&self.stderr, 8000)
        )
    }
}

/// Runs `actiond ARGS…` to completion, killing it after `timeout`.
pub fn run_actiond<I, S>(args: I, timeout: Duration) -> Finished
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let dir = super::tempdir();
    let out = dir.path().join("stdout");
    let err = dir.path().join("stderr");
    let started = Instant::now();
    let mut child = Command::new(super::actiond_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .env("RUST_BACKTRACE", "1")
        .spawn()
        .expect("spawn actiond");
    let deadline = started + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Finished {
        status,
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
        elapsed: started.elapsed(),
    }
}
