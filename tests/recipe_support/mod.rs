//! Helpers for the recipe's integration tests: the recipe's Python environment,
//! gst-launch-1.0, and a daemon whose stdout messages are collected.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The recipe's Python interpreter (`.venv/`, made by `scripts/python-env.sh`).
pub fn python() -> PathBuf {
    let p = root().join(".venv/bin/python");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/python-env.sh first (it installs models/recipe/requirements.txt)",
        p.display()
    );
    p
}

/// Runs `models/recipe/recipe.py ARGS` and returns its stdout; panics with its output on failure.
pub fn recipe(args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(root().join("models/recipe/recipe.py"))
        .args(args)
        .env("ACTIOND", env!("CARGO_BIN_EXE_actiond"))
        .env("TF_CPP_MIN_LOG_LEVEL", "2")
        .current_dir(root())
        .output()
        .expect("running the recipe");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "recipe.py {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs a gst-launch-1.0 description (split on spaces; no quoting needed by callers).
pub fn gst_launch(description: &str) {
    let out = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(description.split_whitespace())
        .output()
        .expect("gst-launch-1.0 (gstreamer1.0-tools) must be installed");
    assert!(
        out.status.success(),
        "gst-launch-1.0 {description} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `actiond run` whose stdout (NDJSON, not a terminal) is parsed line by line.
pub struct Daemon {
    child: Child,
    rx: Receiver<Value>,
    /// Every message received so far.
    pub messages: Vec<Value>,
}

impl Daemon {
    /// Writes `config` to `dir/actiond.toml` and starts the daemon on it.
    pub fn start(dir: &Path, config: &str) -> Daemon {
        let path = dir.join("actiond.toml");
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_actiond"))
            .args(["run", "--config"])
            .arg(&path)
            .current_dir(root())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting actiond");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        });
        Daemon {
            child,
            rx,
            messages: Vec::new(),
        }
    }

    /// Collects messages until `done` says so (true) or `timeout` passes (false).
    pub fn collect_until(&mut self, timeout: Duration, done: impl Fn(&Value) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.rx.recv_timeout(left) {
                Ok(v) => {
                    let stop = done(&v);
                    self.messages.push(v);
                    if stop {
                        return true;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!(
                        "actiond exited early: {:?}",
                        self.child.try_wait().ok().flatten()
                    )
                }
            }
        }
    }

    /// Collects until the stream `name` reports `stopped` (end of its file).
    pub fn until_stream_stopped(&mut self, name: &str, timeout: Duration) {
        let ok = self.collect_until(timeout, |m| {
            m["type"] == "status" && m["stream"] == name && m["state"] == "stopped"
        });
        assert!(
            ok,
            "stream {name} did not finish within {timeout:?}; messages: {}",
            self.messages.len()
        );
    }

    /// Messages of one type, in arrival order.
    pub fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.messages.iter().filter(|m| m["type"] == kind).collect()
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "actiond exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("actiond did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `top` of a frame or prediction message as a score vector in `labels` order.
pub fn scores(msg: &Value, labels: &[String]) -> Vec<f64> {
    let top = msg["top"].as_array().expect("top");
    assert_eq!(
        top.len(),
        labels.len(),
        "top_k must equal the number of classes"
    );
    labels
        .iter()
        .map(|l| {
            top.iter()
                .find(|e| e["label"] == l.as_str())
                .unwrap_or_else(|| panic!("label {l} missing in {msg}"))["score"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

/// The `probabilities` rows of a `recipe.py reference` result.
pub fn probability_rows(reference: &Value) -> Vec<Vec<f64>> {
    reference["probabilities"]
        .as_array()
        .expect("probabilities")
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

/// A model's manifest (`model.toml` in `model_dir`) as a TOML table.
pub fn manifest_table(model_dir: &Path) -> toml::Table {
    let text = std::fs::read_to_string(model_dir.join("model.toml")).unwrap();
    text.parse().unwrap()
}

/// The labels of a model, read from its manifest (`labels = [...]` line).
pub fn manifest_labels(model_dir: &Path) -> Vec<String> {
    manifest_table(model_dir)["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Writes `frames` frames of each pattern, RGB at `size`×`size`, back to back into
/// `raw`, and the same bytes as lossless raw-RGB Matroska at 5 fps into `mkv`.
pub fn lossless_video(raw: &Path, mkv: &Path, size: usize, frames: usize) {
    let patterns = [
        "ball",
        "smpte",
        "snow",
        "pinwheel",
        "checkers-4",
        "circular",
    ];
    for (i, p) in patterns.iter().enumerate() {
        // Non-default colours for half of them, and horizontal motion.
        let colours = if i % 2 == 1 {
            "foreground-color=4294934272 background-color=4278190240"
        } else {
            ""
        };
        gst_launch(&format!(
            "videotestsrc num-buffers={frames} pattern={p} horizontal-speed=3 {colours} \
             ! video/x-raw,format=RGB,width={size},height={size},framerate=5/1 \
             ! filesink append=true location={}",
            raw.display()
        ));
    }
    assert_eq!(
        std::fs::metadata(raw).unwrap().len() as usize,
        patterns.len() * frames * size * size * 3
    );
    gst_launch(&format!(
        "filesrc location={} ! rawvideoparse format=rgb width={size} height={size} framerate=5/1 \
         ! matroskamux ! filesink location={}",
        raw.display(),
        mkv.display()
    ));
}

/// A daemon config playing `mkv` once (stream `lossless`, every frame, per-frame output,
/// `top_k` = all `labels` classes) through the model in `model_dir`, smoothing mean
/// `window`/`stride`, socket in `tmp`.
pub fn lossless_config(
    model_dir: &Path,
    labels: usize,
    tmp: &Path,
    mkv: &Path,
    window: usize,
    stride: usize,
) -> String {
    format!(
        "[model]\npath = \"{}\"\n[smoothing]\nmethod = \"mean\"\nwindow = {window}\nstride = {stride}\n\
         top_k = {labels}\n[output]\nsocket = \"{}\"\nstdout = true\nper_frame = true\n\
         [[stream]]\nname = \"lossless\"\nuri = \"{}\"\nsample_fps = 0\n",
        model_dir.join("model.onnx").display(),
        tmp.join("p.sock").display(),
        mkv.display()
    )
}
