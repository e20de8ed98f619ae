//! Predictions from each kind of source, through the real daemon: the
//! `test:` URI, a `pipeline` fragment, an H.264 file (looping) and an RTSP
//! camera.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::checks::{self, Expect};
use common::{encode_h264, file_uri, Daemon, EncodeSpec, Received, RtspServer, StreamSpec};

const HELLO: Duration = Duration::from_secs(5);
/// Predictions skipped before cadence is measured (model warm-up).
const WARMUP: usize = 2;

/// Runs a daemon on `streams`, collects `n` + WARMUP predictions per stream
/// and checks everything the contract says about them. Returns them by stream.
fn run_live(
    streams: Vec<StreamSpec>,
    n: usize,
    timeout: Duration,
) -> BTreeMap<String, Vec<Received>> {
    common::require_model();
    let names: Vec<String> = streams.iter().map(|s| s.name.clone()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut builder = Daemon::builder();
    for s in streams {
        builder = builder.stream(s);
    }
    let daemon = builder.spawn();
    let mut sub = daemon.subscribe();
    let hello = sub.hello(HELLO);
    checks::check_hello(&hello, &names);

    let by = sub.collect_predictions_per_stream(&names, n + WARMUP, timeout);
    let e = Expect::provisional();
    for r in &sub.history {
        checks::check_any(&r.msg, &e);
    }
    checks::check_seq_consecutive(sub.seen_of_type("prediction"));
    for name in &names {
        let preds = &by[*name];
        checks::check_live_cadence(&preds[WARMUP..], &e);
        checks::check_running_seen(&sub.history, &hello, name);
        for r in preds {
            assert_eq!(
                r.msg["model"], hello["model"],
                "prediction's model differs from hello's"
            );
        }
    }
    by
}

#[test]
fn test_uri_source_predictions_follow_the_contract() {
    run_live(
        vec![StreamSpec::test("cam1", "ball")],
        6,
        Duration::from_secs(40),
    );
}

#[test]
fn two_streams_have_independent_seq_and_cadence() {
    let by = run_live(
        vec![
            StreamSpec::test("cam1", "ball"),
            StreamSpec::pipeline("cam2", "videotestsrc is-live=true pattern=smpte"),
        ],
        5,
        Duration::from_secs(45),
    );
    // Each stream counts its own clips: neither skips numbers for the other.
    for (name, preds) in &by {
        let seqs: Vec<u64> = preds
            .iter()
            .map(|r| r.msg["seq"].as_u64().unwrap())
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "{name}: seq {seqs:?}"
        );
    }
}

#[test]
fn rtsp_camera_predictions_follow_the_contract() {
    let camera = RtspServer::start();
    run_live(
        vec![StreamSpec::uri("door", &camera.url())],
        6,
        Duration::from_secs(45),
    );
}

#[test]
fn rtsp_camera_over_tcp() {
    let camera = RtspServer::start();
    run_live(
        vec![StreamSpec::uri("door", &camera.url())
            .rtsp_transport("tcp")
            .latency_ms(100)],
        4,
        Duration::from_secs(45),
    );
}

#[test]
fn looping_h264_file_keeps_predicting() {
    common::require_model();
    let media = common::tempdir();
    // 3 s at 15 fps: 15 sampled frames a pass, at most 6 clips a pass.
    let spec = EncodeSpec {
        frames: 45,
        ..EncodeSpec::default()
    };
    let file = encode_h264(media.path(), "ball", &spec);
    let daemon = Daemon::builder()
        .stream(StreamSpec::uri("file1", &file_uri(&file)).looping(true))
        .spawn();
    let mut sub = daemon.subscribe();
    let hello = sub.hello(HELLO);
    checks::check_hello(&hello, &["file1"]);

    // More clips than one pass can give: the file looped and seq went on.
    let preds = sub.collect_predictions(12, Duration::from_secs(45));
    let e = Expect::provisional();
    for r in &sub.history {
        checks::check_any(&r.msg, &e);
    }
    checks::check_seq_consecutive(&preds);
    let decoded: Vec<_> = preds
        .iter()
        .map(|m| checks::check_prediction(m, &e))
        .collect();
    for p in &decoded {
        assert_eq!(p.stream, "file1");
        assert_eq!(p.frames, 4, "frames != window: {p:?}");
    }
    // Sampling follows media time: within a pass, clips end stride/fps apart.
    let steps: Vec<f64> = decoded
        .windows(2)
        .filter_map(|w| Some((w[1].pts_end_ns? - w[0].pts_end_ns?) as f64 / 1e9))
        .filter(|d| *d > 0.0)
        .collect();
    if steps.len() >= 3 {
        checks::assert_near(
            "median pts_end_ns step (s)",
            checks::median(steps),
            e.clip_interval_s(),
            checks::TOL_LO,
            checks::TOL_HI,
        );
    }
    daemon_still_running(daemon);
}

#[test]
fn mkv_path_without_scheme_is_a_file_source() {
    common::require_model();
    let media = common::tempdir();
    let spec = EncodeSpec {
        frames: 45,
        pattern: "snow".into(),
        container: common::Container::Matroska,
        ..EncodeSpec::default()
    };
    let file = encode_h264(media.path(), "snow", &spec);
    let daemon = Daemon::builder()
        .stream(StreamSpec::uri("plain", file.to_str().unwrap()).looping(true))
        .spawn();
    let mut sub = daemon.subscribe();
    checks::check_hello(&sub.hello(HELLO), &["plain"]);
    let preds = sub.collect_predictions(3, Duration::from_secs(30));
    let e = Expect::provisional();
    checks::check_seq_consecutive(&preds);
    for m in &preds {
        assert_eq!(checks::check_prediction(m, &e).stream, "plain");
    }
}

#[test]
fn relative_paths_resolve_against_the_config_directory() {
    let model = common::require_model();
    let dir = common::tempdir();
    let models = dir.path().join("models/p");
    std::fs::create_dir_all(&models).unwrap();
    for (src, name) in [
        (model, "model.onnx"),
        (common::model_manifest(), "model.toml"),
    ] {
        std::os::unix::fs::symlink(&src, models.join(name)).unwrap();
    }
    let socket = dir.path().join("rel.sock");
    let daemon = Daemon::builder()
        .in_dir(dir)
        .model("models/p/model.onnx")
        .socket("rel.sock")
        .stream(StreamSpec::test("cam1", "ball"))
        .spawn();
    assert_eq!(daemon.socket_path, socket);
    let mut sub = daemon.subscribe();
    checks::check_hello(&sub.hello(HELLO), &["cam1"]);
    let preds = sub.collect_predictions(2, Duration::from_secs(30));
    checks::check_prediction(&preds[0], &Expect::provisional());
}

fn daemon_still_running(mut daemon: Daemon) {
    daemon.assert_running();
}
