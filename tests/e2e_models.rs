//! Several models in one daemon: two models on three streams, each stream's
//! predictions from its model (names and labels differ), `hello` listing which
//! stream runs which; SIGHUP swapping one stream's model and reloading a replaced
//! model file without a gap in the other streams' `seq`; config errors.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::checks;
use common::{Daemon, StreamSpec};
use serde_json::Value;

const HELLO: Duration = Duration::from_secs(5);

/// The manifest of the tiny clip model (see tests/temporal_models.py), named `name`.
fn toy_manifest(name: &str) -> String {
    format!(
        "name = \"{name}\"\nlabels = [\"r\", \"g\", \"b\"]\n[input]\nname = \"frames\"\n\
         layout = \"NTCHW\"\nframes = 2\nwidth = 8\nheight = 8\nmean = [0.0, 0.0, 0.0]\n\
         std = [1.0, 1.0, 1.0]\n[output]\nname = \"scores\"\nkind = \"probabilities\"\n"
    )
}

/// The tiny clip model in `dir` (its top label is the clip's dominant colour channel).
fn toy_model(dir: &Path) -> PathBuf {
    let onnx = dir.join("model.onnx");
    std::fs::write(dir.join("model.toml"), toy_manifest("toy-clip")).unwrap();
    common::temporal_model("clip-NTCHW", &onnx, (8, 8, 2), &[], None);
    onnx
}

/// The model named `name` in `hello`'s `models`.
fn model_of<'a>(hello: &'a Value, name: &str) -> &'a Value {
    hello["models"]
        .as_array()
        .and_then(|l| l.iter().find(|m| m["name"] == name))
        .unwrap_or_else(|| panic!("no model {name} in {hello}"))
}

/// The streams `hello` says run model `name`.
fn users(hello: &Value, name: &str) -> Vec<String> {
    let list = model_of(hello, name)["streams"].as_array().cloned();
    let names = list.unwrap_or_default().into_iter();
    names
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// The daemon: `sports` (the real model, the default) on `court`, `toy` on `red` and `blue`.
fn two_models_three_streams(toy: &Path) -> Daemon {
    Daemon::builder()
        .named_model("sports", common::require_model())
        .named_model("toy", toy)
        .max_batch(4)
        .stream(StreamSpec::test("court", "ball"))
        .stream(StreamSpec::test("red", "red").raw("model", "\"toy\""))
        .stream(StreamSpec::test("blue", "blue").raw("model", "\"toy\""))
        .spawn()
}

#[test]
fn each_stream_runs_its_model_and_hello_says_which() {
    let dir = common::tempdir();
    let toy = toy_model(dir.path());
    let daemon = two_models_three_streams(&toy);
    let mut sub = daemon.subscribe();
    let hello = sub.hello(HELLO);
    checks::check_hello(&hello, &["court", "red", "blue"]);
    assert_eq!(
        hello["model"], "provisional-mobilenetv2",
        "the default: {hello}"
    );
    assert_eq!(users(&hello, "sports"), ["court"], "{hello}");
    assert_eq!(users(&hello, "toy"), ["red", "blue"], "{hello}");
    assert_eq!(model_of(&hello, "toy")["model"], "toy-clip");
    assert_eq!(model_of(&hello, "toy")["labels"][2], "b");
    let by =
        sub.collect_predictions_per_stream(&["court", "red", "blue"], 4, Duration::from_secs(60));
    let sports_labels = common::manifest_labels();
    for p in &by["court"] {
        assert_eq!(p.msg["model"], "provisional-mobilenetv2", "{}", p.msg);
        let label = p.msg["label"].as_str().unwrap_or_default().to_string();
        assert!(sports_labels.contains(&label), "{}", p.msg);
    }
    for (stream, label) in [("red", "r"), ("blue", "b")] {
        for p in &by[stream] {
            assert_eq!(p.msg["model"], "toy-clip", "{}", p.msg);
            assert_eq!(p.msg["label"], label, "{}", p.msg);
        }
    }
    let schema = common::schema::validator();
    for r in &sub.history {
        common::schema::assert_valid(&schema, &r.msg);
    }
}

/// Predictions of `stream` in `history` from index `from` on.
fn of(history: &[common::Received], from: usize, stream: &str) -> Vec<Value> {
    history[from..]
        .iter()
        .filter(|r| r.msg["type"] == "prediction" && r.msg["stream"] == stream)
        .map(|r| r.msg.clone())
        .collect()
}

#[test]
fn a_reload_swaps_one_streams_model_and_reloads_a_replaced_model_alone() {
    let dir = common::tempdir();
    let toy = toy_model(dir.path());
    let daemon = two_models_three_streams(&toy);
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    let streams = ["court", "red", "blue"];
    sub.collect_predictions_per_stream(&streams, 3, Duration::from_secs(60));

    // `blue` moves to `sports`; `court` and `red` are not touched.
    let mut cfg = daemon.config.clone();
    cfg.streams[2] = StreamSpec::test("blue", "blue");
    std::fs::write(&daemon.config_path, cfg.to_toml(&daemon.socket_path)).unwrap();
    daemon.signal("HUP");
    let hello = sub.next_of_type("hello", Duration::from_secs(15));
    assert_eq!(users(&hello, "sports"), ["court", "blue"], "{hello}");
    assert_eq!(users(&hello, "toy"), ["red"], "{hello}");
    let after = sub.history.len();
    sub.collect_predictions_per_stream(&streams, 3, Duration::from_secs(60));
    let blue = of(&sub.history, after, "blue");
    assert!(
        blue.iter().all(|p| p["model"] == "provisional-mobilenetv2"),
        "{}",
        sub.summary()
    );
    assert_eq!(blue[0]["seq"], 1, "a new model starts the seq again");

    // `red` was not touched by the first reload: no gap in its seq.
    checks::check_seq_consecutive(&of(&sub.history, 0, "red"));
    // `toy`'s files are replaced (another manifest name): only `red` restarts.
    std::fs::write(dir.path().join("model.toml"), toy_manifest("toy-clip-2")).unwrap();
    daemon.signal("HUP");
    let hello = sub.next_of_type("hello", Duration::from_secs(20));
    assert_eq!(model_of(&hello, "toy")["model"], "toy-clip-2", "{hello}");
    let after = sub.history.len();
    sub.collect_predictions_per_stream(&streams, 3, Duration::from_secs(60));
    assert!(
        of(&sub.history, after, "red")
            .iter()
            .all(|p| p["model"] == "toy-clip-2"),
        "{}",
        sub.summary()
    );
    // `court` was touched by neither reload: no gap in its seq.
    checks::check_seq_consecutive(&of(&sub.history, 0, "court"));
}

#[test]
fn streams_sampling_at_another_rate_than_the_model_learned_are_warned_about() {
    // A manifest's `sample_fps` is the rate its model learned motion at; a stream feeding
    // it at another rate still runs, with a warning that names the stream and the fix.
    let dir = common::tempdir();
    let toy = toy_model(dir.path());
    let manifest =
        toy_manifest("toy-clip").replace("frames = 2\n", "frames = 2\nsample_fps = 10\n");
    std::fs::write(dir.path().join("model.toml"), manifest).unwrap();
    let daemon = Daemon::builder()
        .named_model("toy", &toy)
        .stream(StreamSpec::test("right", "red").sample_fps(10))
        .stream(StreamSpec::test("slow", "blue"))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    sub.collect_predictions_per_stream(&["right", "slow"], 2, Duration::from_secs(60));
    let log = daemon.stderr();
    assert!(
        log.contains("stream `slow` samples at 5 fps, but model `toy` (toy-clip) learned from frames at 10 fps")
            && log.contains("set sample_fps = 10"),
        "{log}"
    );
    assert!(!log.contains("stream `right`"), "{log}");

    // A reload that changes the rate warns again.
    let mut cfg = daemon.config.clone();
    cfg.streams[0] = StreamSpec::test("right", "red").sample_fps(4);
    std::fs::write(&daemon.config_path, cfg.to_toml(&daemon.socket_path)).unwrap();
    daemon.signal("HUP");
    // Only a rate changed: no stream or model was added, so no new hello; read the log.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !daemon
        .stderr()
        .contains("reload: stream `right` samples at 4 fps")
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = daemon.stderr();
    assert!(
        log.contains("reload: stream `right` samples at 4 fps, but model `toy`"),
        "{log}"
    );
}

#[test]
fn model_errors_name_file_line_and_key() {
    let models = "[[model]]\nname = \"sports\"\npath = \"s.onnx\"\n\n\
                  [[model]]\nname = \"falls\"\npath = \"f.onnx\"\n\n";
    let stream = "[[stream]]\nname = \"hall\"\nuri = \"test:ball\"\n";
    for (text, want) in [
        (
            format!("{models}{stream}model = \"gate\"\n"),
            "FILE:12:9: stream[0].model: unknown model `gate`; configured: sports, falls",
        ),
        (
            format!("{}{stream}", models.replace("\"falls\"", "\"sports\"")),
            "FILE:6:8: model[1].name: duplicate model name `sports`",
        ),
        (
            format!("[model]\npath = \"m.onnx\"\n{models}{stream}"),
            "FILE:3:",
        ),
    ] {
        let err = common::check_config_refuses(&text);
        assert!(err.contains(want), "want {want:?} in\n{err}");
    }
}
