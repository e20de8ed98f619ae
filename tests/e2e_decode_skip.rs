//! Non-reference frames the sampler drops are not decoded (`skip_unsampled`), and the
//! model still sees exactly the same frames: files made by ffmpeg with B-frames
//! (libx264 / libx265 defaults) and without, played once through the real daemon with
//! skipping on and off, against `actiond extract-frames` (which never skips).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::http::get;
use common::{Daemon, StreamSpec};
use serde_json::Value;

/// 6 s of 320x240 at 30 fps: 180 frames.
const FRAMES: u64 = 180;

/// Encodes `testsrc2` with ffmpeg's `codec` and extra `args` into `dir/name.mp4`.
fn ffmpeg_file(dir: &Path, name: &str, codec: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.mp4"));
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "testsrc2=size=320x240:rate=30:duration={}",
            FRAMES / 30
        ))
        .args(["-c:v", codec, "-pix_fmt", "yuv420p"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    assert!(status.success(), "ffmpeg failed for {name}");
    out
}

/// What one play of a file through the daemon gave.
struct Played {
    /// Per-frame results by PTS: the labels and scores of `top`.
    frames: BTreeMap<u64, Vec<(String, f64)>>,
    /// The stream's counters at its end.
    counters: Value,
}

/// Plays `file` once (5 fps sampling, `skip_unsampled = skip`) and collects every frame result.
fn play(file: &Path, skip: bool) -> Played {
    common::require_model();
    let port = common::free_port();
    let stream = StreamSpec::uri("f", file.to_str().unwrap())
        .sample_fps(5)
        .raw("skip_unsampled", &skip.to_string());
    let mut d = Daemon::builder()
        .per_frame(true)
        .intra_threads(1)
        .extra_toml(&format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"))
        .stream(stream)
        .spawn();
    let mut sub = d.subscribe();
    sub.hello(Duration::from_secs(10));
    sub.wait_status("f", "stopped", Duration::from_secs(60));
    // Frames still on their way when the status was published.
    sub.collect_for(Duration::from_millis(500));
    common::http::wait_listening(port, || d.describe());
    let body = get(port, "/api/streams").json();
    let counters = body["streams"][0]["frames"].clone();
    let mut frames = BTreeMap::new();
    for m in sub.seen_of_type("frame") {
        let top = m["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["label"].as_str().unwrap().to_owned(),
                    t["score"].as_f64().unwrap(),
                )
            })
            .collect();
        frames.insert(m["pts_ns"].as_u64().unwrap(), top);
    }
    d.assert_running();
    // A skipped frame is dropped without a CRITICAL (with Drop, GStreamer 1.22 unrefs
    // the probe info's data that gstreamer-rs emptied: 71 on the H.264 file).
    let log = d.stderr();
    assert!(!log.contains("CRITICAL"), "{log}");
    Played { frames, counters }
}

/// The PTS `actiond extract-frames` samples from `file` at 5 fps (no skipping there).
fn extracted(file: &Path, out: &Path) -> Vec<u64> {
    let status = Command::new(common::actiond_bin())
        .args([
            "extract-frames",
            "--sample-fps",
            "5",
            "--size",
            "32x32",
            "--out",
        ])
        .arg(out)
        .arg(file)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let stem = file.file_stem().unwrap().to_str().unwrap();
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join(format!("{stem}.json"))).unwrap())
            .unwrap();
    meta["pts_ns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect()
}

fn counter(p: &Played, key: &str) -> u64 {
    p.counters[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {}", p.counters))
}

/// The frames inference saw are the sampler's frames: all of them unless some were
/// dropped because inference was busy (then every one seen is among them).
fn assert_sampled(p: &Played, want: &[u64], what: &str) {
    let got: Vec<u64> = p.frames.keys().copied().collect();
    assert_eq!(
        counter(p, "sampled"),
        want.len() as u64,
        "{what}: {}",
        p.counters
    );
    if counter(p, "dropped") == 0 {
        assert_eq!(
            got, want,
            "{what}: sampled frames differ from extract-frames'"
        );
    } else {
        assert!(
            got.iter().all(|t| want.contains(t)),
            "{what}: {got:?} vs {want:?}"
        );
    }
}

/// Skipping on and off give the same frames, with the same model results, for fewer decodes.
fn same_frames_fewer_decodes(file: &Path, dir: &Path, what: &str) -> (u64, u64) {
    let want = extracted(file, dir);
    assert_eq!(
        want.len() as u64,
        FRAMES / 6,
        "{what}: 5 of every 30 frames"
    );
    let on = play(file, true);
    let off = play(file, false);
    assert_sampled(&on, &want, &format!("{what}, skipping"));
    assert_sampled(&off, &want, &format!("{what}, not skipping"));
    for (pts, top) in &on.frames {
        let Some(other) = off.frames.get(pts) else {
            continue;
        };
        for ((la, sa), (lb, sb)) in top.iter().zip(other) {
            assert_eq!(la, lb, "{what}: frame {pts} classified differently");
            assert!((sa - sb).abs() < 1e-4, "{what}: frame {pts}: {sa} vs {sb}");
        }
    }
    assert_eq!(
        counter(&off, "received"),
        FRAMES,
        "{what}: every frame decoded when off"
    );
    (counter(&on, "received"), counter(&off, "received"))
}

#[test]
fn b_frames_the_sampler_drops_are_not_decoded_and_the_sampled_frames_stay_the_same() {
    let dir = common::tempdir();
    // libx264's defaults: 3 B-frames, the middle one a reference (b-pyramid).
    let h264 = ffmpeg_file(dir.path(), "h264-b", "libx264", &["-preset", "veryfast"]);
    let (on, off) = same_frames_fewer_decodes(&h264, dir.path(), "H.264 with B-frames");
    assert!(on < off * 5 / 6, "H.264: {on} of {off} frames decoded");
    let h265 = ffmpeg_file(
        dir.path(),
        "h265-b",
        "libx265",
        &["-preset", "veryfast", "-x265-params", "log-level=error"],
    );
    let (on, off) = same_frames_fewer_decodes(&h265, dir.path(), "H.265 with B-frames");
    assert!(on < off * 5 / 6, "H.265: {on} of {off} frames decoded");
}

#[test]
fn a_stream_without_b_frames_decodes_every_frame() {
    let dir = common::tempdir();
    let file = ffmpeg_file(
        dir.path(),
        "no-b",
        "libx264",
        &["-preset", "veryfast", "-bf", "0"],
    );
    let (on, off) = same_frames_fewer_decodes(&file, dir.path(), "H.264 without B-frames");
    assert_eq!(on, off);
}
