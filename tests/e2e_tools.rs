//! The user tools: inspect-model, print-config, subscribe filters, and the log formats.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{run_actiond, Daemon, StreamSpec};

const QUICK: Duration = Duration::from_secs(30);

/// The provisional model's parameter count as its recipe reports it; the ONNX
/// export folds most BatchNorm layers into the convolutions, so the graph's own
/// count differs slightly.
const PROVISIONAL_PARAMETERS: f64 = 2_545_989.0;

#[test]
fn inspect_model_reports_shapes_parameters_macs_and_manifest() {
    let model = common::require_model();
    let out = run_actiond(
        [
            "inspect-model".as_ref(),
            model.as_os_str(),
            "--json".as_ref(),
        ],
        QUICK,
    );
    assert!(out.success(), "{out}");
    let r: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(r["inputs"][0]["name"], "input");
    assert_eq!(r["inputs"][0]["type"], "float32");
    assert_eq!(
        r["inputs"][0]["shape"],
        serde_json::json!(["batch", 224, 224, 3])
    );
    assert_eq!(r["inputs"][0]["layout"], "NHWC");
    assert_eq!(r["outputs"][0]["name"], "probabilities");
    assert_eq!(r["outputs"][0]["shape"][1], 5);
    let params = r["parameters"].as_f64().unwrap();
    assert!(
        (params - PROVISIONAL_PARAMETERS).abs() / PROVISIONAL_PARAMETERS < 0.005,
        "parameters {params}, expected about {PROVISIONAL_PARAMETERS}"
    );
    // MobileNetV2 (width 1.0, 224x224) is about 300 M multiply-adds (Sandler et al.,
    // Table 3); this head is a little smaller than the 1000-class one.
    let macs = r["macs"]["per_frame"].as_f64().unwrap();
    assert!((290e6..310e6).contains(&macs), "multiply-adds {macs}");
    assert_eq!(r["macs"]["complete"], true, "{}", r["macs"]);
    assert_eq!(r["operators"]["Conv"], 52);
    assert_eq!(r["manifest"]["found"], true);
    assert_eq!(r["manifest"]["name"], "provisional-mobilenetv2");
    assert_eq!(
        r["manifest"]["labels"],
        serde_json::json!(common::manifest_labels())
    );
    assert_eq!(r["manifest"]["input"]["layout"], "NHWC");

    let text = run_actiond(["inspect-model".as_ref(), model.as_os_str()], QUICK);
    assert!(text.success(), "{text}");
    for needle in [
        "input         input  float32 [batch, 224, 224, 3]  (looks NHWC)",
        "output        probabilities  float32 [batch, 5]",
        "parameters    2.54 M",
        "multiply-adds 29",
        "labels      5 (ball, snow, smpte, checkers, pinwheel)",
    ] {
        assert!(
            text.stdout.contains(needle),
            "no {needle:?} in\n{}",
            text.stdout
        );
    }
}

#[test]
fn inspect_model_refuses_what_is_not_onnx() {
    let dir = common::tempdir();
    let bogus = dir.path().join("model.onnx");
    std::fs::write(&bogus, b"\xff\xff\xff not a protobuf").unwrap();
    let out = run_actiond(["inspect-model".as_ref(), bogus.as_os_str()], QUICK);
    assert!(out.failed_cleanly(), "{out}");
    assert!(out.stderr.contains("is not an ONNX model"), "{out}");
    let missing = dir.path().join("missing.onnx");
    let out = run_actiond(["inspect-model".as_ref(), missing.as_os_str()], QUICK);
    assert!(
        out.failed_cleanly() && out.stderr.contains("missing.onnx"),
        "{out}"
    );
}

#[test]
fn print_config_is_the_reference_and_it_checks() {
    let out = run_actiond(["print-config"], QUICK);
    assert!(out.success(), "{out}");
    let shipped = std::fs::read_to_string(common::repo_root().join("config/actiond.toml")).unwrap();
    assert_eq!(out.stdout, shipped);
    let dir = common::tempdir();
    let path = dir.path().join("actiond.toml");
    std::fs::write(&path, &out.stdout).unwrap();
    let check = run_actiond(["check-config".as_ref(), path.as_os_str()], QUICK);
    assert!(check.success(), "{check}");
}

/// Runs `actiond subscribe ARGS` (stdout piped: NDJSON) for `d`, returns its lines.
fn subscribe_for(socket: &std::path::Path, args: &[&str], d: Duration) -> Vec<serde_json::Value> {
    let mut child = Command::new(common::actiond_bin())
        .arg("subscribe")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    std::thread::sleep(d);
    let _ = child.kill();
    let _ = child.wait();
    reader
        .join()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn subscribe_filters_by_stream_and_type() {
    common::require_model();
    let d = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .stream(StreamSpec::test("cam2", "snow"))
        .spawn();
    let mut sub = d.subscribe();
    sub.hello(Duration::from_secs(5));
    sub.collect_predictions_per_stream(&["cam1", "cam2"], 1, QUICK);

    let got = subscribe_for(
        &d.socket_path,
        &["--stream", "cam2", "--type", "prediction"],
        Duration::from_secs(4),
    );
    assert!(got.len() >= 2, "{got:?}");
    for m in &got {
        assert_eq!(
            (m["type"].as_str(), m["stream"].as_str()),
            (Some("prediction"), Some("cam2")),
            "{m}"
        );
    }

    let got = subscribe_for(
        &d.socket_path,
        &["--type", "status", "--type", "hello", "--json"],
        Duration::from_secs(2),
    );
    assert_eq!(got[0]["type"], "hello");
    let statuses: Vec<&str> = got
        .iter()
        .filter(|m| m["type"] == "status")
        .filter_map(|m| m["stream"].as_str())
        .collect();
    assert!(
        statuses.contains(&"cam1") && statuses.contains(&"cam2"),
        "{got:?}"
    );
    assert!(got
        .iter()
        .all(|m| m["type"] == "status" || m["type"] == "hello"));

    let bad = run_actiond(["subscribe", "--type", "predictions"], QUICK);
    assert!(
        bad.failed_cleanly() && bad.stderr.contains("prediction"),
        "{bad}"
    );
}

#[test]
fn json_logs_carry_the_stream_span_and_state() {
    common::require_model();
    let mut d = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .env("ACTIOND_LOG_FORMAT", "json")
        .spawn();
    let mut sub = d.subscribe();
    sub.hello(Duration::from_secs(5));
    sub.next_of_type("prediction", QUICK);
    d.terminate();
    let err = d.stderr();
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect();
    let states: Vec<&str> = lines
        .iter()
        .filter(|l| l["span"]["stream"] == "cam1")
        .filter_map(|l| l["fields"]["state"].as_str())
        .collect();
    assert_eq!(states, ["starting", "running", "stopped"], "{err}");
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["timestamp"].is_string()));
}

#[test]
fn text_logs_name_the_stream_on_each_state_change() {
    common::require_model();
    let mut d = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .spawn();
    let start = Instant::now();
    let mut sub = d.subscribe();
    sub.hello(Duration::from_secs(5));
    sub.next_of_type("prediction", QUICK);
    d.terminate();
    let err = d.stderr();
    let changes: Vec<&str> = err.lines().filter(|l| l.contains("state=")).collect();
    assert_eq!(changes.len(), 3, "{err}");
    assert!(
        changes.iter().all(|l| l.contains("stream{stream=cam1}")),
        "{err}"
    );
    assert!(start.elapsed() < QUICK);
}
