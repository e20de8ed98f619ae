//! Shared helpers for the integration tests: a harness that runs the real
//! `actiond` binary ([`daemon`]), a socket client ([`subscriber`]), an RTSP
//! camera ([`rtsp`]), encoded test media ([`media`]) and checks of the
//! message contract ([`checks`]).
//!
//! Each test file includes this module with `mod common;` and uses only part
//! of it, hence the module-wide allows.
#![allow(dead_code, unused_imports)]

pub mod browser;
pub mod checks;
pub mod daemon;
pub mod http;
pub mod media;
pub mod mjpeg;
pub mod mqtt;
pub mod procfs;
pub mod proxy;
pub mod rtsp;
pub mod schema;
pub mod subscriber;
pub mod vlc;

pub use checks::Expect;
pub use daemon::{run_actiond, Daemon, DaemonBuilder, DaemonConfig, Finished, StreamSpec};
pub use media::{encode_h264, file_uri, Container, EncodeSpec};
pub use mqtt::{free_port, Broker, MqttSub};
pub use proxy::TcpProxy;
pub use rtsp::RtspServer;
pub use subscriber::{Received, Subscriber};

use std::path::{Path, PathBuf};
use std::sync::Once;

/// The labels of `models/provisional`, used when its manifest cannot be read.
pub const PROVISIONAL_LABELS: [&str; 5] = ["ball", "snow", "smpte", "checkers", "pinwheel"];

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The daemon binary Cargo built for these tests, or `$ACTIOND_TEST_BIN`
/// when set (to test an installed or release build).
pub fn actiond_bin() -> PathBuf {
    std::env::var_os("ACTIOND_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_actiond")))
}

/// `models/provisional/model.onnx` (absolute).
pub fn model_onnx() -> PathBuf {
    repo_root().join("models/provisional/model.onnx")
}

/// `models/provisional/model.toml` (absolute).
pub fn model_manifest() -> PathBuf {
    repo_root().join("models/provisional/model.toml")
}

/// The test model's path, or a panic that says what is missing.
pub fn require_model() -> PathBuf {
    let model = model_onnx();
    assert!(
        model.is_file(),
        "test model {} is missing: the tests that run the daemon need models/provisional \
         (model.onnx + model.toml)",
        model.display()
    );
    model
}

/// The labels the provisional manifest declares (`labels = [...]` or
/// `labels_file = "..."`), else [`PROVISIONAL_LABELS`].
pub fn manifest_labels() -> Vec<String> {
    read_manifest_labels(&model_manifest())
        .unwrap_or_else(|| PROVISIONAL_LABELS.iter().map(|s| s.to_string()).collect())
}

fn read_manifest_labels(manifest: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let table: toml::Table = text.parse().ok()?;
    if let Some(labels) = table.get("labels").and_then(|v| v.as_array()) {
        return labels
            .iter()
            .map(|l| l.as_str().map(str::to_owned))
            .collect();
    }
    let file = table.get("labels_file")?.as_str()?;
    let text = std::fs::read_to_string(manifest.parent()?.join(file)).ok()?;
    Some(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// Held by a test whose timing checks must not compete with another daemon of
/// the same test binary for the CPU (two cores): such tests run one at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Initialises GStreamer once for this test process.
pub fn gst_init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| gstreamer::init().expect("GStreamer init"));
}

/// `actiond check-config` on a file holding `text`, which it must refuse; its stderr,
/// with the file's path written as `FILE`.
pub fn check_config_refuses(text: &str) -> String {
    let dir = tempdir();
    let path = dir.path().join("actiond.toml");
    std::fs::write(&path, text).expect("writing the config");
    let out = std::process::Command::new(actiond_bin())
        .arg("check-config")
        .arg(&path)
        .output()
        .expect("running actiond check-config");
    assert!(!out.status.success(), "accepted:\n{text}");
    String::from_utf8_lossy(&out.stderr).replace(&path.display().to_string(), "FILE")
}

/// A fresh temporary directory with a short path (Unix socket paths are
/// limited to 107 bytes).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("actiond-t")
        .tempdir()
        .expect("create a temporary directory")
}

/// The manifest of tests/temporal_models.py's `stateful` model (3 labels, 8x8, state `h`).
pub const TOY_STATEFUL_MANIFEST: &str = "name = \"toy-state\"\nlabels = [\"r\", \"g\", \"b\"]\n[input]\nname = \"frame\"\nlayout = \"NCHW\"\nwidth = 8\nheight = 8\nmean = [0.0, 0.0, 0.0]\nstd = [1.0, 1.0, 1.0]\n[output]\nname = \"scores\"\nkind = \"probabilities\"\n[[state]]\ninput = \"h\"\noutput = \"h_out\"\n";

/// Builds a tiny clip or stateful test model with tests/temporal_models.py (the recipe's
/// `.venv`): `kind` as that script takes it, frames `w`×`h`, clips of `t`; `extra` flags,
/// and `metadata` (a manifest put into the ONNX file).
pub fn temporal_model(
    kind: &str,
    onnx: &Path,
    (w, h, t): (usize, usize, usize),
    extra: &[&str],
    metadata: Option<&Path>,
) {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/python-env.sh",
        python.display()
    );
    let mut cmd = std::process::Command::new(python);
    cmd.arg(repo_root().join("tests/temporal_models.py"))
        .arg(kind)
        .arg(onnx)
        .args([w.to_string(), h.to_string(), t.to_string()])
        .args(extra);
    if let Some(toml) = metadata {
        cmd.arg("--metadata").arg(toml);
    }
    let out = cmd.output().expect("running tests/temporal_models.py");
    assert!(
        out.status.success(),
        "{kind}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
