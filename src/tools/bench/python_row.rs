//! The Python rows: `bench/baseline.py`, an OpenCV + onnxruntime loop written the way
//! people write it, and `bench/careful.py`, the careful peer (ffmpeg samples and scales
//! in its own filter graph, onnxruntime classifies), run on the same file, model and
//! threads. Both take the same arguments and print the same JSON line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

/// Where the script and its interpreter are.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The Python interpreter (with opencv-python-headless, onnxruntime, numpy).
    pub python: PathBuf,
    /// `bench/baseline.py` or `bench/careful.py`.
    pub script: PathBuf,
}

/// The script's one JSON line.
#[derive(Debug, Clone, Deserialize)]
pub struct PythonFigures {
    /// Frames run through the model in the window.
    pub analyzed: u64,
    /// Frames decoded (`read()`) in the window.
    pub decoded: u64,
    /// Seconds measured.
    pub wall_s: f64,
    /// CPU seconds (user + system) in the window.
    pub cpu_s: f64,
    /// `read()` → label, median, ms.
    pub latency_p50_ms: Option<f64>,
    /// `read()` → label, 99th percentile, ms.
    pub latency_p99_ms: Option<f64>,
    /// Frames read more than one frame period behind a camera's schedule (`--realtime`).
    pub late: u64,
    /// `ru_maxrss`, KiB.
    pub peak_rss_kb: u64,
    /// Top-1 label counts in the window.
    pub labels: std::collections::BTreeMap<String, u64>,
}

/// Finds the script and a Python with its packages: the given paths, else the
/// project's `bench/<default_script>` and `.venv/bin/python` (current folder, then the
/// source tree this binary was built from).
pub fn locate(
    python: Option<&Path>,
    script: Option<&Path>,
    default_script: &str,
) -> Result<Baseline, String> {
    let roots = [
        std::env::current_dir().unwrap_or_default(),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    ];
    let find = |given: Option<&Path>, rel: &str| -> Option<PathBuf> {
        if let Some(p) = given {
            return p.exists().then(|| p.to_path_buf());
        }
        roots.iter().map(|r| r.join(rel)).find(|p| p.exists())
    };
    let rel = format!("bench/{default_script}");
    let script = find(script, &rel).ok_or(format!("{rel} not found"))?;
    let python = find(python, ".venv/bin/python")
        .ok_or("no .venv/bin/python (run scripts/python-env.sh, or give --python)")?;
    Ok(Baseline { python, script })
}

/// Runs the script once; `every` = analyze every N-th frame; `realtime` paces reads like a
/// camera; `tuned` passes `--tuned` (careful.py only).
#[allow(clippy::too_many_arguments)]
pub fn measure(
    b: &Baseline,
    model: &Path,
    manifest: &Path,
    input: &Path,
    every: u32,
    threads: usize,
    realtime: bool,
    warmup_s: f64,
    duration_s: f64,
    tuned: bool,
) -> Result<PythonFigures, String> {
    let mut cmd = Command::new(&b.python);
    cmd.arg(&b.script)
        .arg("--model")
        .arg(model)
        .arg("--manifest")
        .arg(manifest)
        .arg("--input")
        .arg(input)
        .args(["--every", &every.to_string()])
        .args(["--threads", &threads.to_string()])
        .args(["--warmup", &warmup_s.to_string()])
        .args(["--duration", &duration_s.to_string()]);
    if realtime {
        cmd.arg("--realtime");
    }
    if tuned {
        cmd.arg("--tuned");
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("starting {}: {e}", b.python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{} failed ({}): {}",
            b.script.display(),
            out.status,
            err.lines().last().unwrap_or("")
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("");
    serde_json::from_str(line).map_err(|e| format!("unreadable baseline output ({e}): {text}"))
}
