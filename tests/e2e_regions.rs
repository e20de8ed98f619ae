//! Regions of interest through the real daemon: one camera whose left and right
//! halves differ, split into regions that are decoded once and classified apart; a
//! region's crop checked exactly on lossless frames with a tiny model; config errors.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::checks;
use common::http::get;
use common::{Daemon, StreamSpec};
use serde_json::Value;

const HELLO: Duration = Duration::from_secs(5);

/// An H.264 file, 640x240: red on the left half, blue on the right.
fn side_by_side(dir: &Path) -> PathBuf {
    common::gst_init();
    let path = dir.join("hall.mp4");
    let half = "video/x-raw,width=320,height=240,framerate=15/1";
    let desc = format!(
        "compositor name=m sink_1::xpos=320 ! video/x-raw,width=640,height=240 \
         ! x264enc speed-preset=ultrafast key-int-max=15 ! h264parse ! mp4mux ! filesink name=out \
         videotestsrc num-buffers=60 pattern=red ! {half} ! m.sink_0 \
         videotestsrc num-buffers=60 pattern=blue ! {half} ! m.sink_1"
    );
    common::media::launch_to_file(&desc, &path);
    path
}

/// The most frequent label of `preds`.
fn majority(preds: &[common::Received]) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for p in preds {
        *counts
            .entry(p.msg["label"].as_str().unwrap_or("").to_string())
            .or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(l, _)| l)
        .unwrap_or_default()
}

/// The value of the metric line that starts with `series ` in `body`.
fn metric(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn two_regions_of_one_camera_are_decoded_once_and_classified_apart() {
    let media = common::tempdir();
    let file = side_by_side(media.path());
    let model = clip_model(media.path());
    let port = common::free_port();
    let regions = "[{ name = \"left\", rect = [0.0, 0.0, 0.5, 1.0] }, \
                   { name = \"right\", rect = [320, 0, 320, 240] }]";
    let daemon = Daemon::builder()
        .model(&model)
        .stream(
            StreamSpec::uri("hall", &common::file_uri(&file))
                .looping(true)
                .raw("region", regions),
        )
        .extra_toml(&format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"))
        .spawn();
    common::http::wait_listening(port, || daemon.describe());
    let mut sub = daemon.subscribe();
    checks::check_hello(&sub.hello(HELLO), &["hall", "hall/left", "hall/right"]);
    let by = sub.collect_predictions_per_stream(
        &["hall/left", "hall/right"],
        6,
        Duration::from_secs(60),
    );
    // The clip model's top label is the region's dominant channel (see `expected`).
    assert_eq!(majority(&by["hall/left"]), "r", "{}", sub.summary());
    assert_eq!(majority(&by["hall/right"]), "b", "{}", sub.summary());
    for region in ["hall/left", "hall/right"] {
        let msgs: Vec<Value> = by[region].iter().map(|r| r.msg.clone()).collect();
        checks::check_seq_consecutive(&msgs);
    }
    // The camera itself reports its state but is not classified as a whole.
    sub.wait_status("hall/right", "running", Duration::from_secs(10));
    assert!(
        sub.seen_of_type("prediction")
            .iter()
            .all(|p| p["stream"] != "hall"),
        "the camera with regions was classified as a whole: {}",
        sub.summary()
    );
    assert!(
        sub.statuses("hall").iter().any(|(s, _)| s == "running"),
        "{}",
        sub.summary()
    );
    // One decoder for the camera, none for its regions; each region converts its frames.
    let body = get(port, "/metrics").body;
    let series = |s: &str| metric(&body, s).unwrap_or_else(|| panic!("no {s} in\n{body}"));
    assert_eq!(
        series("actiond_stream_decoders_total{stream=\"hall\"}"),
        1.0
    );
    for r in ["hall/left", "hall/right"] {
        assert_eq!(
            series(&format!("actiond_stream_decoders_total{{stream=\"{r}\"}}")),
            0.0
        );
        assert!(
            series(&format!(
                "actiond_stream_frames_classified_total{{stream=\"{r}\"}}"
            )) > 0.0
        );
    }
    assert_eq!(
        series("actiond_stream_frames_classified_total{stream=\"hall\"}"),
        0.0
    );
    // Region names (with their `/`) are valid stream names of the message schema.
    let schema = common::schema::validator();
    for r in &sub.history {
        common::schema::assert_valid(&schema, &r.msg);
    }
    let streams = get(port, "/api/streams").body;
    assert!(streams.contains("\"hall/left\""), "{streams}");
    let health = get(port, "/healthz");
    assert_eq!(health.status, 200, "{}", health.body);
}

/// Lossless test frames: 16x8 raw RGB in Matroska, left 8 columns [`LEFT`], right [`RIGHT`].
const LEFT: [u8; 3] = [40, 120, 200];
const RIGHT: [u8; 3] = [220, 60, 10];
const FRAMES: usize = 20;

/// The lossless video: [`FRAMES`] identical frames at 10 fps.
fn halves_video(dir: &Path) -> PathBuf {
    let row: Vec<u8> = (0..16)
        .flat_map(|x| if x < 8 { LEFT } else { RIGHT })
        .collect();
    let out = dir.join("halves.mkv");
    common::media::raw_rgb_mkv(&out, &row.repeat(8 * FRAMES), (16, 8), 10);
    out
}

/// The clip test model (scores = A · mean of the clip's pixels + B per channel, see
/// tests/temporal_models.py) on 8x8 frames, T = 2.
fn clip_model(dir: &Path) -> PathBuf {
    let onnx = dir.join("model.onnx");
    std::fs::write(
        dir.join("model.toml"),
        "name = \"test\"\nlabels = [\"r\", \"g\", \"b\"]\n[input]\nname = \"frames\"\n\
         layout = \"NTCHW\"\nframes = 2\nwidth = 8\nheight = 8\nmean = [0.0, 0.0, 0.0]\n\
         std = [1.0, 1.0, 1.0]\n[output]\nname = \"scores\"\nkind = \"probabilities\"\n",
    )
    .unwrap();
    common::temporal_model("clip-NTCHW", &onnx, (8, 8, 2), &[], None);
    onnx
}

/// What the clip model gives for a region of mean colour `rgb` (as the daemon
/// normalizes: `pixel / 255` in f32).
fn expected(rgb: [f64; 3]) -> [f64; 3] {
    const A: [f64; 3] = [1.0, 0.5, 0.25];
    const B: [f64; 3] = [0.0, 0.25, 0.5];
    std::array::from_fn(|c| A[c] * f64::from((rgb[c] / 255.0) as f32) + B[c])
}

#[test]
fn a_region_crop_is_exact_on_lossless_frames() {
    let dir = common::tempdir();
    let video = halves_video(dir.path());
    let model = clip_model(dir.path());
    let regions = "[{ name = \"l\", rect = [0, 0, 8, 8] }, \
                   { name = \"r\", rect = [0.5, 0.0, 0.5, 1.0] }, \
                   { name = \"mid\", rect = [4, 0, 8, 8] }]";
    let daemon = Daemon::builder()
        .model(&model)
        .per_frame(true)
        .stream(
            StreamSpec::uri("cam", &video.display().to_string())
                .sample_fps(0)
                .raw("region", regions),
        )
        .spawn();
    let mut sub = daemon.subscribe();
    let end = Instant::now() + Duration::from_secs(30);
    let (mut frames, mut predictions): (Vec<Value>, Vec<Value>) = (Vec::new(), Vec::new());
    while !sub.statuses("cam").iter().any(|(s, _)| s == "stopped") && Instant::now() < end {
        match sub.next(Duration::from_millis(500)) {
            Some(m) if m["type"] == "frame" => frames.push(m),
            Some(m) if m["type"] == "prediction" => predictions.push(m),
            _ => {}
        }
    }
    let f = |c: usize| f64::from(LEFT[c]);
    let g = |c: usize| f64::from(RIGHT[c]);
    // Left: blue dominates the scores; right: red; straddling the middle: blue.
    for (region, rgb, label) in [
        ("cam/l", [f(0), f(1), f(2)], "b"),
        ("cam/r", [g(0), g(1), g(2)], "r"),
        ("cam/mid", std::array::from_fn(|c| (f(c) + g(c)) / 2.0), "b"),
    ] {
        let outs: Vec<&Value> = frames.iter().filter(|m| m["stream"] == region).collect();
        assert!(
            // A clip every stride (2) frames once T (2) are there.
            outs.len() >= FRAMES / 2 - 1,
            "{region}: {} frame outputs; {}",
            outs.len(),
            sub.summary()
        );
        let want = expected(rgb);
        let preds: Vec<&Value> = predictions
            .iter()
            .filter(|m| m["stream"] == region)
            .collect();
        assert!(
            !preds.is_empty(),
            "{region}: no prediction; {}",
            sub.summary()
        );
        for p in preds {
            assert_eq!(p["label"], label, "{region}: {p}");
        }
        for m in outs {
            let score = |l: &str| checks::top_score(m, l);
            let got = [score("r"), score("g"), score("b")];
            let ok = got.iter().zip(want).all(|(g, w)| (g - w).abs() <= 2e-6);
            assert!(ok, "{region}: got {got:?}, expected {want:?}");
        }
    }
}

/// `check-config` on a config with `region` lines after a stream; its stderr.
fn check_config(region_lines: &str) -> String {
    common::check_config_refuses(&format!(
        "[model]\npath = \"{}\"\n\n[[stream]]\nname = \"hall\"\nuri = \"test:ball\"\n{region_lines}",
        common::model_onnx().display()
    ))
}

#[test]
fn region_errors_name_file_line_and_key() {
    for (lines, want) in [
        (
            "[[stream.region]]\nname = \"c1\"\nrect = [0.5, 0.0, 0.75, 1.0]\n",
            "FILE:9:8: stream[0].region[0].rect: outside the frame",
        ),
        (
            "[[stream.region]]\nname = \"c1\"\nrect = [600, 0, 100, 100]\n",
            "FILE:9:8: stream[0].region[0].rect: outside the frame: region [600, 0, 100, 100] does not fit the 640x480 frame",
        ),
        (
            "[[stream.region]]\nname = \"c1\"\nrect = [0, 0, 0, 240]\n",
            "FILE:9:8: stream[0].region[0].rect: zero size",
        ),
        (
            "[[stream.region]]\nname = \"c1\"\nrect = [0, 0, 5, 5]\n\
             [[stream.region]]\nname = \"c1\"\nrect = [5, 0, 5, 5]\n",
            "FILE:11:8: stream[0].region[1].name: duplicate region name `c1`",
        ),
        (
            "[[stream.region]]\nname = \"court 1\"\nrect = [0, 0, 5, 5]\n",
            "FILE:8:8: stream[0].region[0].name: invalid stream name",
        ),
    ] {
        let err = check_config(lines);
        assert!(err.contains(want), "wanted {want:?} in {err:?}");
    }
}

#[test]
fn a_pixel_region_outside_the_frame_reports_failed_and_the_others_run() {
    common::require_model();
    // A 640x480 camera whose size the config cannot know; `big` reaches x = 700.
    let regions = "[{ name = \"fit\", rect = [0, 0, 320, 240] }, \
                   { name = \"big\", rect = [600, 0, 100, 100] }]";
    let camera =
        "videotestsrc is-live=true pattern=ball ! capsfilter caps=video/x-raw,width=640,height=480";
    let daemon = Daemon::builder()
        .stream(StreamSpec::pipeline("cam", camera).raw("region", regions))
        .spawn();
    let mut sub = daemon.subscribe();
    checks::check_hello(&sub.hello(HELLO), &["cam", "cam/fit", "cam/big"]);
    let failed = sub.wait_status("cam/big", "failed", Duration::from_secs(20));
    let reason = failed.msg["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("[600, 0, 100, 100] does not fit the 640x480 frame"),
        "{reason}"
    );
    sub.collect_predictions_per_stream(&["cam/fit"], 3, Duration::from_secs(30));
    assert!(
        sub.statuses("cam").iter().any(|(s, _)| s == "running"),
        "{}",
        sub.summary()
    );
    let big = sub.statuses("cam/big");
    assert_eq!(
        big.last().map(|(s, _)| s.as_str()),
        Some("failed"),
        "the camera's running must not hide the region's failure: {big:?}"
    );
    // Its frames are dropped without a GStreamer-CRITICAL (as Drop would give on 1.22).
    let log = daemon.stderr();
    assert!(!log.contains("CRITICAL"), "{log}");
    assert!(
        sub.seen_of_type("prediction")
            .iter()
            .all(|p| p["stream"] != "cam/big"),
        "{}",
        sub.summary()
    );
}

#[test]
fn a_reload_keeps_an_unchanged_region_seq_adds_and_removes_regions() {
    common::require_model();
    let spec = |regions: &str| StreamSpec::test("cam", "ball").raw("region", regions);
    let daemon = Daemon::builder()
        .stream(spec(
            "[{ name = \"a\", rect = [0.0, 0.0, 0.5, 1.0] }, { name = \"b\", rect = [0.5, 0.0, 0.5, 1.0] }]",
        ))
        .spawn();
    let mut sub = daemon.subscribe();
    checks::check_hello(&sub.hello(HELLO), &["cam", "cam/a", "cam/b"]);
    sub.collect_predictions_per_stream(&["cam/a", "cam/b"], 3, Duration::from_secs(40));

    let mut cfg = daemon.config.clone();
    cfg.streams = vec![spec(
        "[{ name = \"a\", rect = [0.0, 0.0, 0.5, 1.0] }, { name = \"c\", rect = [0, 0, 64, 64] }]",
    )];
    std::fs::write(&daemon.config_path, cfg.to_toml(&daemon.socket_path)).unwrap();
    daemon.signal("HUP");
    let hello = sub.next_of_type("hello", Duration::from_secs(15));
    checks::check_hello(&hello, &["cam", "cam/a", "cam/c"]);
    assert!(
        !hello["streams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "cam/b"),
        "{hello}"
    );
    let after = sub.history.len();
    sub.collect_predictions_per_stream(&["cam/a", "cam/c"], 3, Duration::from_secs(40));
    let of = |stream: &str| -> Vec<Value> {
        sub.history
            .iter()
            .filter(|r| r.msg["type"] == "prediction" && r.msg["stream"] == stream)
            .map(|r| r.msg.clone())
            .collect()
    };
    // `a` kept its slot: its seq carries on across the restart of its camera.
    checks::check_seq_consecutive(&of("cam/a"));
    assert_eq!(of("cam/c")[0]["seq"], 1, "{}", sub.summary());
    assert!(
        sub.history[after..]
            .iter()
            .all(|r| r.msg["stream"] != "cam/b"),
        "cam/b after its removal: {}",
        sub.summary()
    );
}
