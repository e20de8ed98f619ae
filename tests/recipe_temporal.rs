//! The recipe's temporal models through the real binary: `models/tsm/` (the online TSM
//! MobileNetV2, a stateful model with ten shift buffers) and `models/clip/` (the same
//! weights as an 8-frame NTCHW clip model), both made by `recipe.py train-temporal`.
//! Parity: on lossless video, the daemon's per-frame outputs equal ONNX Runtime's Python
//! API run offline on the same frames in order (state carried by hand; for the clip
//! model, the last T frames) within 1e-4, and differ from a run without history (state
//! zeroed on every call; the newest frame T times), so a daemon that dropped the state
//! or the ring would fail.
//!
//! They need the recipe's environment: `scripts/python-env.sh` (makes `.venv/`).

mod recipe_support;

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use recipe_support::{
    lossless_config, lossless_video, manifest_labels, manifest_table, probability_rows, recipe,
    root, scores, Daemon,
};

/// One test at a time: real-time playback shares two cores.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Frames per pattern in the lossless video (six patterns, 5 fps).
const PER_PATTERN: usize = 8;

/// `recipe.py reference` on `raw`: one score vector per output, in order.
fn reference(model_dir: &Path, raw: &Path, out: &Path, history: bool) -> Vec<Vec<f64>> {
    let (model, raw_s, out_s) = (
        model_dir.join("model.onnx"),
        raw.to_str().unwrap().to_string(),
        out.to_str().unwrap().to_string(),
    );
    let mut args = vec![
        "reference",
        "--model",
        model.to_str().unwrap(),
        "--frames",
        &raw_s,
        "--out",
        &out_s,
    ];
    if !history {
        args.push("--no-history");
    }
    recipe(&args);
    probability_rows(&serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap())
}

/// Runs the daemon on `mkv` with per-frame output (smoothing stride 1, so a clip model
/// runs on every frame once its ring is full) and returns (frame index, scores) of every
/// `frame` message, the index taken from its pts on the 5 fps grid.
fn daemon_outputs(
    model_dir: &Path,
    mkv: &Path,
    tmp: &Path,
    labels: &[String],
) -> Vec<(usize, Vec<f64>)> {
    let config = lossless_config(model_dir, labels.len(), tmp, mkv, 4, 1);
    let mut daemon = Daemon::start(tmp, &config);
    daemon.until_stream_stopped("lossless", Duration::from_secs(120));
    let out = daemon
        .of_type("frame")
        .into_iter()
        .map(|f| {
            let pts = f["pts_ns"].as_u64().expect("pts_ns");
            let index = ((pts as f64) / 2e8).round() as usize;
            assert_eq!(pts, index as u64 * 200_000_000, "pts {pts} off the grid");
            (index, scores(f, labels))
        })
        .collect();
    daemon.stop();
    out
}

/// Largest |a − b| over the daemon's outputs against `want`, output at frame index i
/// compared with `want[i - first]`.
fn max_diff(got: &[(usize, Vec<f64>)], want: &[Vec<f64>], first: usize) -> f64 {
    got.iter()
        .flat_map(|(i, s)| s.iter().zip(&want[i - first]).map(|(a, b)| (a - b).abs()))
        .fold(0.0, f64::max)
}

/// The temporal parity check: every frame from `first` (T − 1 for a clip model, 0 for a
/// stateful one) has exactly one output, in order, equal to the offline reference with
/// history within 1e-4 and clearly unlike the one without.
fn temporal_parity(model_dir: &Path, first: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let tmp = tmp.path();
    let labels = manifest_labels(model_dir);
    let man = manifest_table(model_dir);
    let size = man["input"]["width"].as_integer().unwrap() as usize;
    let (raw, mkv) = (tmp.join("frames.rgb"), tmp.join("frames.mkv"));
    lossless_video(&raw, &mkv, size, PER_PATTERN);
    let n_frames = 6 * PER_PATTERN;
    let want = reference(model_dir, &raw, &tmp.join("ref.json"), true);
    let without = reference(model_dir, &raw, &tmp.join("ref0.json"), false);
    assert_eq!(want.len(), n_frames - first);

    let got = daemon_outputs(model_dir, &mkv, tmp, &labels);
    let indices: Vec<usize> = got.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        indices,
        (first..n_frames).collect::<Vec<_>>(),
        "every frame from {first} classified once, in order"
    );
    let worst = max_diff(&got, &want, first);
    // What a daemon that lost the history would be off by: the two offline runs' gap.
    let gap = want
        .iter()
        .zip(&without)
        .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
        .fold(0.0, f64::max);
    eprintln!(
        "temporal parity {}: {} outputs, max |daemon - onnxruntime| = {worst:e}; \
         without history the offline outputs move by up to {gap:e}",
        model_dir.display(),
        got.len()
    );
    assert!(
        worst < 1e-4,
        "daemon and ONNX Runtime (history carried) differ by up to {worst:e} (must be < 1e-4)"
    );
    assert!(
        gap > 1e-2,
        "without history the outputs move by only {gap:e}: the check would not notice lost history"
    );
    assert!(max_diff(&got, &without, first) > 1e-2);
}

/// The online TSM model: the daemon carries its ten shift buffers from frame to frame
/// exactly as the offline run does by hand.
#[test]
fn tsm_stateful_model_matches_offline_run_with_state_carried() {
    let _serial = serial();
    temporal_parity(&root().join("models/tsm"), 0);
}

/// The clip model: each output is the model on the last T frames, oldest first.
#[test]
fn clip_model_matches_offline_run_on_the_last_t_frames() {
    let _serial = serial();
    let dir = root().join("models/clip");
    let man = manifest_table(&dir);
    let t = man["input"]["frames"].as_integer().expect("frames = T") as usize;
    temporal_parity(&dir, t - 1);
}

/// The shipped folders are what the recipe wrote: checksums match, the ONNX metadata's
/// manifest says the same kind as model.toml (inspect-model reads both), files are small.
#[test]
fn shipped_temporal_model_folders_are_consistent() {
    for (dir, kind) in [
        (
            "models/tsm",
            "kind        stateful, shift_in_0 <- shift_out_0",
        ),
        ("models/clip", "kind        clip, T = 8 frames"),
    ] {
        let dir = root().join(dir);
        let onnx = dir.join("model.onnx");
        let bytes = std::fs::read(&onnx).unwrap();
        assert!(
            bytes.len() < 4_000_000,
            "{} is {} bytes",
            onnx.display(),
            bytes.len()
        );
        let sha = std::fs::read_to_string(dir.join("model.onnx.sha256")).unwrap();
        let out = Command::new("sha256sum").arg(&onnx).output().unwrap();
        let got = String::from_utf8_lossy(&out.stdout);
        assert_eq!(sha.split_whitespace().next(), got.split_whitespace().next());
        for f in [
            "model.toml",
            "REPORT.md",
            "report.json",
            "training_config.json",
        ] {
            assert!(dir.join(f).is_file(), "{} missing", dir.join(f).display());
        }
        let out = Command::new(env!("CARGO_BIN_EXE_actiond"))
            .arg("inspect-model")
            .arg(&onnx)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains(kind), "{text}");
    }
}
