//! Clip and stateful models through the real daemon: tiny ONNX models built here
//! (tests/temporal_models.py, with the recipe's `onnx`), fed lossless frames
//! (raw RGB in Matroska plays bit-exact), every per-frame output checked against
//! numbers computed from the same frames.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Daemon, StreamSpec};
use serde_json::Value;

/// Frame size of the test video and models.
const W: usize = 8;
const H: usize = 8;
/// Frames in the test video and its rate.
const FRAMES: usize = 20;
const FPS: u64 = 10;
/// The clip models' T and the smoothing stride (a clip run every STRIDE frames).
const T: usize = 4;
const STRIDE: usize = 2;
/// The models' coefficients (see tests/temporal_models.py).
const A: [f64; 3] = [1.0, 0.5, 0.25];
const B: [f64; 3] = [0.0, 0.25, 0.5];
const K: f64 = 1.0 / 64.0;
const TOL: f64 = 2e-6;
const LIMIT: Duration = Duration::from_secs(30);

/// The uniform colour of frame `i`.
fn color(i: usize) -> [u8; 3] {
    [
        ((17 * i + 3) % 256) as u8,
        ((29 * i + 50) % 256) as u8,
        ((7 * i + 200) % 256) as u8,
    ]
}

/// Channel `c` of frame `i` as the daemon normalizes it (`x = pixel / 255`, in f32).
fn x(i: usize, c: usize) -> f64 {
    f64::from((f64::from(color(i)[c]) / 255.0) as f32)
}

/// The clip model's output for the clip ending at frame `i`.
fn clip_expected(i: usize) -> [f64; 3] {
    std::array::from_fn(|c| {
        let mean = (i + 1 - T..=i).map(|j| x(j, c)).sum::<f64>() / T as f64;
        A[c] * mean + B[c]
    })
}

/// The stateful model's output at frame `i`, its state zero at frame `since`.
fn running_sum(since: usize, i: usize) -> [f64; 3] {
    std::array::from_fn(|c| (since..=i).map(|j| K * x(j, c)).sum())
}

/// A Matroska file of [`FRAMES`] raw RGB frames, frame `i` filled with [`color`]`(i)`.
fn video(dir: &Path) -> PathBuf {
    let bytes: Vec<u8> = (0..FRAMES).flat_map(|i| color(i).repeat(W * H)).collect();
    let out = dir.join("frames.mkv");
    common::media::raw_rgb_mkv(&out, &bytes, (W, H), FPS);
    out
}

/// The manifest of a test model: `input` and its layout lines, 3 labels, probabilities.
fn manifest(input: &str, layout_lines: &str, states: &str) -> String {
    format!(
        "name = \"test\"\nlabels = [\"r\", \"g\", \"b\"]\n[input]\nname = \"{input}\"\n{layout_lines}\nwidth = {W}\nheight = {H}\nmean = [0.0, 0.0, 0.0]\nstd = [1.0, 1.0, 1.0]\n[output]\nname = \"scores\"\nkind = \"probabilities\"\n{states}"
    )
}

const STATE: &str = "[[state]]\ninput = \"h\"\noutput = \"h_out\"\n";

/// Builds model `kind` (see tests/temporal_models.py) in `dir` with `manifest`
/// beside it, or in its ONNX metadata when `in_metadata`.
fn model(dir: &Path, kind: &str, extra: &[&str], manifest: &str, in_metadata: bool) -> PathBuf {
    let sub = dir.join(format!("{kind}{}", extra.join("")));
    std::fs::create_dir_all(&sub).unwrap();
    let onnx = sub.join("model.onnx");
    let toml = if in_metadata {
        dir.join(format!("{kind}.toml"))
    } else {
        sub.join("model.toml")
    };
    std::fs::write(&toml, manifest).unwrap();
    let metadata = in_metadata.then_some(toml.as_path());
    common::temporal_model(kind, &onnx, (W, H, T), extra, metadata);
    onnx
}

/// The stateful test model (state `h` ← `h_out`) with `extra` builder flags.
fn stateful(dir: &Path, extra: &[&str], in_metadata: bool) -> PathBuf {
    let m = manifest("frame", "layout = \"NCHW\"", STATE);
    model(dir, "stateful", extra, &m, in_metadata)
}

/// The per-frame outputs of `stream`: (frame index from pts, [r, g, b] scores).
fn outputs(msgs: &[Value], stream: &str) -> Vec<(usize, [f64; 3])> {
    msgs.iter()
        .filter(|m| m["type"] == "frame" && m["stream"] == stream)
        .map(|m| {
            let i = json_pts(&m["pts_ns"]);
            let score = |l: &str| common::checks::top_score(m, l);
            (i, [score("r"), score("g"), score("b")])
        })
        .collect()
}

fn assert_near(what: &str, got: [f64; 3], want: [f64; 3]) {
    let ok = got.iter().zip(want).all(|(g, w)| (g - w).abs() <= TOL);
    assert!(ok, "{what}: got {got:?}, expected {want:?}");
}

/// Runs a daemon on `model` with `streams` of the test video until each has
/// stopped (or `until` says enough); returns every message.
fn run(
    model: &Path,
    streams: &[StreamSpec],
    max_batch: u32,
    until: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    run_in(Daemon::builder(), model, streams, max_batch, until)
}

/// [`run`] with a builder set up by the caller (e.g. its `[runtime] sessions`).
fn run_in(
    b: common::DaemonBuilder,
    model: &Path,
    streams: &[StreamSpec],
    max_batch: u32,
    until: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut b = b
        .model(model)
        .per_frame(true)
        .top_k(3)
        .window(4)
        .stride(STRIDE as u32)
        .max_batch(max_batch);
    for s in streams {
        b = b.stream(s.clone());
    }
    let daemon = b.spawn();
    let mut sub = daemon.subscribe();
    let end = Instant::now() + LIMIT;
    let mut msgs = Vec::new();
    let stopped = |msgs: &[Value]| {
        streams.iter().all(|s| {
            msgs.iter()
                .any(|m| m["type"] == "status" && m["stream"] == s.name && m["state"] == "stopped")
        })
    };
    while !stopped(&msgs) && !until(&msgs) && Instant::now() < end {
        if let Some(m) = sub.next(Duration::from_millis(500)) {
            msgs.push(m);
        }
    }
    assert!(Instant::now() < end, "timed out; {}", sub.summary());
    msgs
}

fn file_stream(name: &str, video: &Path) -> StreamSpec {
    StreamSpec::uri(name, &video.display().to_string()).sample_fps(0)
}

#[test]
fn clip_outputs_are_the_mean_of_the_last_t_frames_in_every_layout() {
    let dir = common::tempdir();
    let video = video(dir.path());
    for layout in ["NTCHW", "NCTHW", "NTCHW_STACKED"] {
        let lines = format!("layout = \"{layout}\"\nframes = {T}");
        let m = model(
            dir.path(),
            &format!("clip-{layout}"),
            &[],
            &manifest("frames", &lines, ""),
            false,
        );
        let msgs = run(&m, &[file_stream("cam", &video)], 4, |_| false);
        let got = outputs(&msgs, "cam");
        let want: Vec<usize> = (T - 1..FRAMES).step_by(STRIDE).collect();
        let idx: Vec<usize> = got.iter().map(|g| g.0).collect();
        assert_eq!(
            idx, want,
            "{layout}: a clip every {STRIDE} frames once {T} are there"
        );
        for (i, scores) in got {
            assert_near(
                &format!("{layout} clip ending at frame {i}"),
                scores,
                clip_expected(i),
            );
        }
        // Each clip run is one smoother entry; window 4 frames at stride 2 = 2 entries.
        let preds: Vec<&Value> = msgs.iter().filter(|m| m["type"] == "prediction").collect();
        assert_eq!(
            preds.len(),
            want.len() - 1,
            "{layout}: a prediction per clip run from the 2nd"
        );
        for p in preds {
            let i = json_pts(&p["pts_end_ns"]);
            let scores = outputs(&[serde_json::json!({"type": "frame", "stream": "cam", "pts_ns": p["pts_end_ns"], "top": p["top"]})], "cam")[0].1;
            let (a, b) = (clip_expected(i), clip_expected(i - STRIDE));
            let mean = std::array::from_fn(|c| f64::from((a[c] as f32 + b[c] as f32) / 2.0));
            assert_near(&format!("{layout} prediction at frame {i}"), scores, mean);
            assert_eq!(p["frames"], 2, "{layout}: the clips averaged");
        }
    }
}

/// A pts in nanoseconds → frame index.
fn json_pts(v: &Value) -> usize {
    let pts = v.as_u64().expect("pts");
    ((pts + 500_000_000 / FPS) * FPS / 1_000_000_000) as usize
}

#[test]
fn stateful_outputs_are_running_sums_and_reset_when_the_file_loops() {
    let dir = common::tempdir();
    let video = video(dir.path());
    // The manifest lives in the ONNX metadata this time.
    let m = stateful(dir.path(), &[], true);
    let spec = file_stream("cam", &video).looping(true);
    let reset = |msgs: &[Value]| {
        msgs.iter().position(|m| {
            m["type"] == "status"
                && m["reason"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("model state reset"))
        })
    };
    let msgs = run(&m, &[spec], 4, |msgs| {
        reset(msgs).is_some_and(|at| outputs(&msgs[at..], "cam").len() >= 5)
    });
    let at = reset(&msgs).expect("a status says the state was reset");
    let why = msgs[at]["reason"].as_str().unwrap_or_default();
    assert_eq!(msgs[at]["state"], "running", "{}", msgs[at]);
    assert!(
        why.contains("timestamps went back") || why.contains("restarted"),
        "the status says why: {why}"
    );
    let (first, again) = (outputs(&msgs[..at], "cam"), outputs(&msgs[at..], "cam"));
    assert_eq!(first.len(), FRAMES, "every frame of the first pass");
    assert_eq!(
        again[0].0, 0,
        "the first output after the reset is of frame 0"
    );
    for (pass, outs) in [("first pass", &first), ("after the loop", &again)] {
        for &(i, scores) in outs {
            assert_near(&format!("{pass}, frame {i}"), scores, running_sum(0, i));
        }
    }
}

#[test]
fn two_streams_batched_equal_each_alone_and_batch_1_models_run_stream_by_stream() {
    let dir = common::tempdir();
    let video = video(dir.path());
    let dynamic = stateful(dir.path(), &[], false);
    let fixed = stateful(dir.path(), &["--batch1"], false);
    for (m, batch) in [(&dynamic, 2), (&fixed, 2)] {
        let msgs = run(
            m,
            &[file_stream("a", &video), file_stream("b", &video)],
            batch,
            |_| false,
        );
        for s in ["a", "b"] {
            let got = outputs(&msgs, s);
            assert_eq!(got.len(), FRAMES, "{s}: every frame");
            for (i, scores) in got {
                assert_near(
                    &format!("{} stream {s} frame {i}", m.display()),
                    scores,
                    running_sum(0, i),
                );
            }
        }
    }
}

#[test]
fn stateful_outputs_are_the_same_with_one_session_and_with_two() {
    let dir = common::tempdir();
    let video = video(dir.path());
    let m = stateful(dir.path(), &[], false);
    let names = ["a", "b", "c"];
    let streams: Vec<StreamSpec> = names.iter().map(|n| file_stream(n, &video)).collect();
    let mut per_sessions = Vec::new();
    for sessions in [1, 2] {
        let b = Daemon::builder().sessions(sessions);
        let msgs = run_in(b, &m, &streams, 2, |_| false);
        let got: Vec<_> = names.iter().map(|s| outputs(&msgs, s)).collect();
        for (s, outs) in names.iter().zip(&got) {
            assert_eq!(
                outs.len(),
                FRAMES,
                "{sessions} session(s), {s}: every frame"
            );
            for &(i, scores) in outs {
                let what = format!("{sessions} session(s), stream {s} frame {i}");
                assert_near(&what, scores, running_sum(0, i));
            }
        }
        per_sessions.push(got);
    }
    for (s, (one, two)) in names
        .iter()
        .zip(per_sessions[0].iter().zip(&per_sessions[1]))
    {
        for (&(i, a), &(j, b)) in one.iter().zip(two) {
            assert_eq!(i, j, "stream {s}: the same frames in the same order");
            assert_near(&format!("stream {s} frame {i}, 2 sessions vs 1"), b, a);
        }
    }
}

/// Starts a daemon on `model` and returns its stderr once it has exited.
fn refusal(model: &Path) -> String {
    let mut daemon = Daemon::builder()
        .model(model)
        .stream(StreamSpec::test("cam", "ball"))
        .spawn_unready();
    let status = daemon
        .wait_exit(Duration::from_secs(20))
        .expect("the daemon exits");
    assert!(!status.success());
    daemon.stderr()
}

#[test]
fn bad_state_pairs_and_clip_shapes_are_refused_naming_tensor_and_shapes() {
    let dir = common::tempdir();
    let bad = model(
        dir.path(),
        "bad-state",
        &[],
        &manifest("frame", "layout = \"NCHW\"", STATE),
        false,
    );
    let e = refusal(&bad);
    assert!(
        e.contains("`h`") && e.contains("`h_out`") && e.contains("[?, 3]") && e.contains("[?, 4]"),
        "{e}"
    );
    let no_t = model(
        dir.path(),
        "clip-NTCHW",
        &[],
        &manifest("frames", "layout = \"NTCHW\"", ""),
        false,
    );
    let e = refusal(&no_t);
    assert!(
        e.contains("`frames`")
            && e.contains("needs `frames = T`")
            && e.contains(&format!("[?, {T}, 3, {H}, {W}]")),
        "{e}"
    );
    let lines = format!("layout = \"NTCHW_STACKED\"\nframes = {T}");
    std::fs::write(
        no_t.with_file_name("model.toml"),
        manifest("frames", &lines, ""),
    )
    .unwrap();
    let e = refusal(&no_t);
    assert!(
        e.contains(&format!("[?, {}, {H}, {W}]", 3 * T))
            && e.contains(&format!("[?, {T}, 3, {H}, {W}]"))
            && e.contains("rank 5"),
        "{e}"
    );
}

#[test]
fn inspect_model_shows_the_kind_t_and_state_pairs() {
    let dir = common::tempdir();
    let lines = format!("layout = \"NCTHW\"\nframes = {T}\nframe_stride = 2");
    let clip = model(
        dir.path(),
        "clip-NCTHW",
        &[],
        &manifest("frames", &lines, ""),
        false,
    );
    let online = stateful(dir.path(), &[], false);
    let quick = Duration::from_secs(20);
    for (m, want) in [
        (
            &clip,
            format!("clip, T = {T} frames, every 2 sampled frame(s)"),
        ),
        (&online, "stateful, h <- h_out".to_string()),
    ] {
        let text = common::daemon::run_actiond(["inspect-model".as_ref(), m.as_os_str()], quick);
        assert!(text.success(), "{text}");
        assert!(
            text.stdout.contains(&want),
            "no {want:?} in\n{}",
            text.stdout
        );
        let json = common::daemon::run_actiond(
            ["inspect-model".as_ref(), "--json".as_ref(), m.as_os_str()],
            quick,
        );
        let v: Value = serde_json::from_str(&json.stdout).expect("inspect-model --json");
        assert_eq!(
            v["manifest"]["kind"],
            if m == &clip { "clip" } else { "stateful" },
            "{v}"
        );
    }
}

/// A live RTSP camera showing one uniform colour, H.264 like a real camera, with a key
/// frame every `key_int` frames (10 a second).
fn solid_camera(key_int: u32) -> String {
    format!(
        "( videotestsrc is-live=true pattern=solid-color foreground-color=0xff4080c0 \
        ! video/x-raw,width=64,height=64,framerate=10/1 \
        ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={key_int} \
        ! rtph264pay name=pay0 pt=96 )"
    )
}

#[test]
fn stateful_state_resets_when_an_rtsp_camera_reconnects() {
    let _serial = common::serial();
    let dir = common::tempdir();
    let m = stateful(dir.path(), &[], false);
    let mut camera = common::rtsp::RtspServer::start_with(&solid_camera(10), 0);
    let daemon = Daemon::builder()
        .model(&m)
        .per_frame(true)
        .top_k(3)
        .stream(StreamSpec::uri("cam", &camera.url()).sample_fps(5))
        .spawn();
    let mut sub = daemon.subscribe();
    // `n` outputs in a row with no state reset among them (a reset, e.g. a frame lost
    // at start, starts the row again); the first of them is a fresh stream's first.
    let sums = |sub: &mut common::Subscriber, n: usize| -> Vec<f64> {
        let end = Instant::now() + LIMIT;
        let mut got = Vec::new();
        while got.len() < n && Instant::now() < end {
            match sub.next(Duration::from_millis(500)) {
                Some(m) if m["type"] == "frame" => got.push(red(&m)),
                Some(m) if is_reset(&m) => got.clear(),
                _ => {}
            }
        }
        assert_eq!(got.len(), n, "{}", sub.summary());
        got
    };
    let before = sums(&mut sub, 6);
    let unit = before[0];
    assert!(
        unit > 0.0,
        "the first output is one frame's sum: {before:?}"
    );
    for (k, v) in before.iter().enumerate() {
        // H.264 keeps a uniform colour within a level or two.
        assert!(
            (v - unit * (k + 1) as f64).abs() < 0.05 * unit * (k + 1) as f64,
            "output {k} is the sum of {} frames: {before:?}; {}",
            k + 1,
            sub.summary()
        );
    }
    camera.stop();
    sub.wait_status("cam", "reconnecting", LIMIT);
    camera.restart();
    // The first output after the reconnect: a status says why, the sum starts again.
    let end = Instant::now() + Duration::from_secs(60);
    let mut reason = None;
    let first_after = loop {
        assert!(
            Instant::now() < end,
            "no output after the reconnect; {}",
            sub.summary()
        );
        let Some(m) = sub.next(Duration::from_millis(500)) else {
            continue;
        };
        if is_reset(&m) {
            reason = m["reason"].as_str().map(str::to_owned);
        }
        if m["type"] == "frame" && reason.is_some() {
            break red(&m);
        }
    };
    let reason = reason.unwrap_or_default();
    assert!(
        reason.contains("restarted"),
        "the status says why: {reason}"
    );
    assert!(
        (first_after - unit).abs() < 0.05 * unit,
        "the first output after the reconnect ({first_after}) equals a fresh stream's first ({unit}), not a sum carried over ({before:?})"
    );
}

/// True for a `status` saying the model state was reset.
fn is_reset(m: &Value) -> bool {
    m["type"] == "status"
        && m["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("model state reset"))
}

/// The `r` score of a `frame` message.
fn red(m: &Value) -> f64 {
    score(m, "r")
}

/// The score of `label` in a `frame` message.
fn score(m: &Value, label: &str) -> f64 {
    m["top"]
        .as_array()
        .and_then(|t| t.iter().find(|s| s["label"] == label))
        .and_then(|s| s["score"].as_f64())
        .unwrap_or_else(|| panic!("no score for {label}: {m}"))
}

/// A camera already streaming when the daemon joins it between key frames (its media is
/// shared with a first client): the decoder's grey frames (no reference frame yet; libav
/// marks them corrupted) are dropped and counted, never summed into the model's state:
/// every output of the summing model has the camera's colour (green / red = 128 / 64),
/// none of grey's (1).
#[test]
fn a_camera_joined_between_key_frames_feeds_no_grey_frames() {
    let _serial = common::serial();
    let dir = common::tempdir();
    let m = stateful(dir.path(), &[], false);
    // A key frame every 8 s: a client joining it lands between key frames.
    let camera = common::rtsp::RtspServer::start_with(&solid_camera(80), 0);
    let mut first = std::process::Command::new("gst-launch-1.0")
        .args(["-q", "rtspsrc", &format!("location={}", camera.url())])
        .args(["protocols=tcp", "!", "fakesink"])
        .spawn()
        .expect("gst-launch-1.0 runs (scripts/setup.sh installs it)");
    std::thread::sleep(Duration::from_millis(1500));
    let mut daemon = Daemon::builder()
        .model(&m)
        .per_frame(true)
        .top_k(3)
        .stream(StreamSpec::uri("cam", &camera.url()).sample_fps(0))
        .spawn();
    let mut sub = daemon.subscribe();
    let end = Instant::now() + LIMIT;
    let mut ratios = Vec::new();
    while ratios.len() < 6 && Instant::now() < end {
        if let Some(m) = sub.next(Duration::from_millis(500)) {
            if m["type"] == "frame" {
                ratios.push(score(&m, "g") / score(&m, "r"));
            }
        }
    }
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(ratios.len(), 6, "{}", sub.summary());
    for (k, ratio) in ratios.iter().enumerate() {
        assert!(
            (1.8..2.2).contains(ratio),
            "output {k}: green / red {ratio:.2} (colour 2, grey 1): {ratios:?}"
        );
    }
    // The daemon did join between key frames: its decoder's corrupt frames were counted.
    daemon.signal("USR1");
    let deadline = Instant::now() + Duration::from_secs(5);
    let corrupt = loop {
        let log = daemon.stderr();
        let counted = log
            .lines()
            .rev()
            .filter_map(|l| l.split_once(" corrupt (dropped at the decoder)"))
            .find_map(|(l, _)| l.rsplit(", ").next()?.parse::<u64>().ok());
        if let Some(n) = counted {
            break n;
        }
        assert!(Instant::now() < deadline, "SIGUSR1 logged no stats\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        corrupt > 0,
        "joined at a key frame: nothing tested\n{}",
        daemon.stderr()
    );
    daemon.assert_running();
}
