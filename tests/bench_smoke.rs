//! `actiond bench` end to end at a tiny scale: it renders its inputs, runs every kind
//! of row (raw inference, decode-only, the real daemon through its socket, the Python
//! baseline when the project's .venv exists) and writes a report whose figures add up.
//! The figures themselves are not judged here: speed belongs to the benchmark's output.

mod common;

use std::process::Command;

#[test]
fn bench_measures_every_kind_of_row() {
    let model = common::require_model();
    let work = tempfile::tempdir().unwrap();
    let json = work.path().join("report.json");
    let python = common::repo_root().join(".venv/bin/python");
    let mut cmd = Command::new(common::actiond_bin());
    // A relative work folder, as scripts/bench.sh passes one.
    cmd.current_dir(work.path())
        .arg("bench")
        .arg("--model")
        .arg(&model)
        .args(["--work-dir", "bench"])
        .args([
            "--input-seconds",
            "2",
            "--duration",
            "1.5",
            "--warmup",
            "0.5",
        ])
        .args(["--streams", "1,2", "--sample-fps", "5", "--max-batch", "2"])
        .arg("--json")
        .arg(&json);
    let with_python = python.exists();
    if with_python {
        // A stateful model measured beside the frame model (built with the .venv's onnx),
        // at the 10 fps its manifest was trained at, not the daemon rows' 5.
        let dir = work.path().join("stateful");
        std::fs::create_dir_all(&dir).unwrap();
        let manifest =
            common::TOY_STATEFUL_MANIFEST.replace("height = 8\n", "height = 8\nsample_fps = 10\n");
        std::fs::write(dir.join("model.toml"), manifest).unwrap();
        common::temporal_model("stateful", &dir.join("model.onnx"), (8, 8, 1), &[], None);
        cmd.arg("--also-model").arg(dir.join("model.onnx"));
    } else {
        eprintln!("no .venv: the Python and stateful-model rows are left out (scripts/python-env.sh makes it)");
        cmd.arg("--no-python");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("targets:"), "{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let inputs = [
        "720p30",
        "1080p30",
        "720p30-bframes",
        "720p30-h265",
        "1080p30-h265",
    ];
    let mut want: Vec<String> = [
        "raw inference, batch 1",
        "raw inference, batch 2",
        "raw inference, batch 1, 1 thread",
        "raw inference, batch 2, 1 thread",
    ]
    .map(String::from)
    .to_vec();
    for i in inputs {
        want.push(format!("decode only, {i}"));
        want.push(format!("decode only, {i}, GStreamer 1 thread"));
        want.push(format!("decode only, {i}, ffmpeg 1 thread"));
    }
    want.push("daemon, 1 × 720p30 @ 5 fps".into());
    want.push("daemon, 2 × 720p30 @ 5 fps".into());
    for i in &inputs[1..] {
        want.push(format!("daemon, 1 × {i} @ 5 fps"));
    }
    if with_python {
        want.push("stateful, toy-state 8x8 @ 10 fps".into());
        want.push("python, 1 × 720p30 @ 5 fps, paced like a camera".into());
        want.push(
            "careful python (ffmpeg fps+scale → onnxruntime), 1 × 720p30 @ 5 fps, paced like a camera"
                .into(),
        );
        want.push(
            "careful python, tuned (1 thread, no spinning), 1 × 720p30 @ 5 fps, paced like a camera"
                .into(),
        );
    }
    assert_eq!(names, want, "{stdout}");
    for r in rows {
        let name = r["name"].as_str().unwrap();
        assert!(
            r["frames"].as_u64().unwrap() > 0,
            "{name} measured nothing: {r}"
        );
        assert!(
            r["cpu_s"].as_f64().unwrap() > 0.0,
            "{name}: no CPU time: {r}"
        );
        assert!(r["peak_rss_mib"].as_f64().unwrap() > 10.0, "{name}: {r}");
        let fps = r["fps"].as_f64().unwrap();
        let frames = r["frames"].as_f64().unwrap();
        let wall = r["wall_s"].as_f64().unwrap();
        assert!((fps - frames / wall).abs() < 1e-6, "{name}: {r}");
    }
    for r in rows.iter().filter(|r| r["kind"] == "decode") {
        // Each decoder decoded whole passes of a 2 s 30 fps file.
        let frames = r["frames"].as_u64().unwrap();
        assert!(frames >= 60 && frames % 60 == 0, "{r}");
    }
    for r in rows.iter().filter(|r| {
        matches!(
            r["kind"].as_str(),
            Some("daemon" | "model" | "careful" | "careful-tuned")
        )
    }) {
        // Every stream at its sample rate (5 fps, the stateful row 10) of a 30 fps file:
        // about that many frames/s each, each of them decoded from 30 / rate, each with
        // a latency seen on the socket.
        let streams = r["streams"].as_f64().unwrap();
        let rate = r["sample_fps"].as_f64().unwrap();
        let fps = r["fps"].as_f64().unwrap();
        assert!(
            fps > 0.4 * rate * streams && fps < 1.6 * rate * streams,
            "{r}"
        );
        let decoded = r["decoded"].as_f64().unwrap();
        // Half the B-frame file's frames are non-reference: those the sampler drops
        // are not decoded (skip_unsampled), so it decodes fewer per analyzed frame.
        let least = if r["input"] == "720p30-bframes" {
            1.0
        } else {
            0.5 * 30.0 / rate
        };
        assert!(decoded > least * r["frames"].as_f64().unwrap(), "{r}");
        assert!(r["latency_p50_ms"].as_f64().unwrap() > 0.0, "{r}");
        if r["kind"] != "model" {
            assert!(r["cpu_vs_floor"].as_f64().unwrap() > 0.0, "{r}");
        }
        if !matches!(r["kind"].as_str(), Some("careful" | "careful-tuned")) {
            assert!(r["run_ms"].as_f64().unwrap() > 0.0, "{r}");
        }
    }
    let per_frame = |input: &str| {
        let r = rows
            .iter()
            .find(|r| r["kind"] == "daemon" && r["input"] == input && r["streams"] == 1)
            .unwrap();
        r["decoded"].as_f64().unwrap() / r["frames"].as_f64().unwrap()
    };
    assert!(
        per_frame("720p30-bframes") < 0.8 * per_frame("720p30"),
        "B-frames the sampler drops are skipped: {} vs {} decoded per analyzed frame",
        per_frame("720p30-bframes"),
        per_frame("720p30")
    );
    let raw = &rows[0];
    assert!(raw["latency_p99_ms"].as_f64() >= raw["latency_p50_ms"].as_f64());
    assert_eq!(report["verdicts"].as_array().unwrap().len(), 9);
}

#[test]
fn bench_refuses_bad_arguments_clearly() {
    for (args, want) in [
        (&["--streams", "0"][..], "--streams"),
        (&["--sample-fps=-1"][..], "--sample-fps"),
        (
            &["--model", "/nonexistent/model.onnx"][..],
            "/nonexistent/model.onnx",
        ),
    ] {
        let out = Command::new(common::actiond_bin())
            .arg("bench")
            .args(args)
            .args(["--no-python", "--work-dir", "/nonexistent-bench-dir"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
