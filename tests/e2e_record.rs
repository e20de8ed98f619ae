//! Evidence clips through the real daemon: an RTSP camera (H.264, a key frame a
//! second) whose first label is an event (threshold 0, confirm 1); the clip around it
//! is a playable MP4 of about pre_s + post_s, with a JPEG snapshot; retention by size
//! deletes the oldest; an unwritable directory leaves the streams running; a daemon
//! killed mid-clip leaves only a `.part` file, removed at the next start. A test
//! pattern is re-encoded into a playable clip whose URLs the event (socket and MQTT)
//! carries; `[record]` applies on SIGHUP; unknown record labels are warned about.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Daemon, RtspServer, StreamSpec};

const HELLO: Duration = Duration::from_secs(5);
/// First frames through RTSP and a cold model.
const FIRST_EVENT: Duration = Duration::from_secs(40);
const PRE_S: f64 = 2.0;
const POST_S: f64 = 3.0;
/// The camera's key-frame interval (tests/common/rtsp.rs: 15 frames at 15 fps).
const KEY_INTERVAL_S: f64 = 1.0;

/// `[record]` into `dir`, with `extra` keys. The floor is 0 unless `extra` sets it: these
/// clips take a few MB, and CI's shared disk has had less than the default 1 GB free.
fn record_toml(dir: &Path, post_s: f64, extra: &str) -> String {
    let floor = if extra.contains("min_free_bytes") {
        ""
    } else {
        "min_free_bytes = 0\n"
    };
    format!(
        "\n[record]\ndir = {}\npre_s = {PRE_S}\npost_s = {post_s}\n{floor}{extra}\n",
        common::daemon::toml_str(&dir.to_string_lossy())
    )
}

/// A daemon recording the RTSP camera `server` into `dir`.
fn daemon(server: &RtspServer, dir: &Path, post_s: f64, extra: &str) -> Daemon {
    common::require_model();
    Daemon::builder()
        .threshold(0.0)
        .confirm(1)
        // The first clip (and event) after 16 frames at 5 fps: the ring holds pre_s by then.
        .window(16)
        .stream(StreamSpec::uri("cam", &server.url()))
        .extra_toml(&record_toml(dir, post_s, extra))
        .spawn()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Waits until `path` exists.
fn wait_file(path: &Path, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The video codec and duration in seconds `ffprobe` reads from `path`.
fn probe(path: &Path) -> (String, f64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=codec_name:format=duration"])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .output()
        .expect("ffprobe runs (scripts/setup.sh installs ffmpeg)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "ffprobe failed on {path:?}: {text}");
    eprintln!("{path:?}: {}", text.replace('\n', " "));
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in: {text}"))
            .to_string()
    };
    let secs = field("duration=").parse().unwrap_or(f64::NAN);
    (field("codec_name="), secs)
}

/// The next event of `cam`, its clip and snapshot paths.
fn event_paths(sub: &mut common::Subscriber) -> (PathBuf, PathBuf) {
    let ev = sub.next_matching(FIRST_EVENT, |m| {
        m["type"] == "event" && m["stream"] == "cam"
    });
    let ev = ev
        .unwrap_or_else(|| panic!("no event\n{}", sub.summary()))
        .msg;
    common::schema::assert_valid(&common::schema::validator(), &ev);
    let clip = ev["clip"]
        .as_str()
        .unwrap_or_else(|| panic!("no clip in {ev}"));
    let snap = ev["snapshot"]
        .as_str()
        .unwrap_or_else(|| panic!("no snapshot in {ev}"));
    (clip.into(), snap.into())
}

/// The clip of `d`'s first event, once it is complete.
fn finished_clip(d: &Daemon) -> PathBuf {
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    let (clip, _) = event_paths(&mut sub);
    let done = wait_file(&clip, Duration::from_secs(20));
    assert!(done, "no clip {clip:?}\n{}", d.stderr());
    clip
}

#[test]
fn an_event_gives_a_playable_clip_and_a_snapshot() {
    let server = RtspServer::start();
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let http = format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n");
    let d = daemon(&server, dir.path(), POST_S, &http);
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    let (clip, snap) = event_paths(&mut sub);
    assert!(clip.starts_with(dir.path().join("cam")), "{clip:?}");
    assert!(clip.to_string_lossy().ends_with(".mp4"), "{clip:?}");
    let part = PathBuf::from(format!("{}.part", clip.display()));
    assert!(
        part.exists() || clip.exists(),
        "the clip is written while the post-capture runs"
    );
    assert!(!clip.exists(), "the clip is complete only after post_s");
    assert!(
        wait_file(&clip, Duration::from_secs(20)),
        "no clip {clip:?}\n{}",
        d.stderr()
    );
    assert!(!part.exists(), "the .part file is renamed");
    let (codec, secs) = probe(&clip);
    assert_eq!(codec, "h264", "remuxed, not re-encoded");
    let want = PRE_S + POST_S;
    assert!(
        (want - KEY_INTERVAL_S - 0.5..=want + KEY_INTERVAL_S + 0.5).contains(&secs),
        "clip of {secs} s, want {want} s within a key-frame interval"
    );
    // Served over HTTP under /clips/, by its path under dir.
    let rel = clip
        .strip_prefix(dir.path())
        .unwrap()
        .to_string_lossy()
        .to_string();
    let r = common::http::get(port, &format!("/clips/{rel}"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    let size = std::fs::metadata(&clip).unwrap().len().to_string();
    assert_eq!(r.header("content-length"), Some(size.as_str()));
    let part = format!("/clips/{rel}.part");
    assert_eq!(common::http::get(port, &part).status, 404);
    assert_eq!(
        common::http::get(port, "/clips/../../etc/passwd").status,
        404
    );
    let metrics = common::http::get(port, "/metrics").body;
    assert!(
        metrics.contains("actiond_clips_total{stream=\"cam\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains(&format!(
        "actiond_clip_bytes_total{{stream=\"cam\"}} {size}"
    )));
    let jpeg = std::fs::read(&snap).expect("the snapshot is written");
    assert!(
        jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]),
        "not a JPEG"
    );
}

#[test]
fn retention_by_size_deletes_the_oldest() {
    let server = RtspServer::start();
    let dir = tempfile::tempdir().unwrap();
    let old_day = dir.path().join("cam/2020-01-01");
    std::fs::create_dir_all(&old_day).unwrap();
    let old = old_day.join("00-00-00.000_old.mp4");
    std::fs::write(&old, vec![0u8; 3_000_000]).unwrap();
    let touched = Command::new("touch")
        .args(["-d", "2020-01-01 00:00:00"])
        .arg(&old)
        .status()
        .unwrap();
    assert!(touched.success());
    // 2 MB: the old 3 MB file must go, the new clip (well under 1 MB) stays.
    let d = daemon(&server, dir.path(), 1.0, "max_bytes = 2000000");
    let clip = finished_clip(&d);
    let end = Instant::now() + Duration::from_secs(5);
    while old.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !old.exists(),
        "the oldest clip is deleted: {:?}",
        files(dir.path())
    );
    assert!(!old_day.exists(), "its empty day folder goes too");
    assert!(clip.exists(), "the new clip stays");
}

#[test]
fn an_unwritable_directory_leaves_the_streams_running() {
    let server = RtspServer::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let d = daemon(&server, &file.join("clips"), POST_S, "");
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    let ev = sub
        .next_matching(FIRST_EVENT, |m| m["type"] == "event")
        .unwrap_or_else(|| panic!("no event\n{}", sub.summary()))
        .msg;
    assert!(
        ev.get("clip").is_none(),
        "no clip without a directory: {ev}"
    );
    sub.collect_predictions(3, Duration::from_secs(20));
    let log = d.stderr();
    assert!(
        log.contains("recording off") && log.contains("not writable"),
        "the error is named: {log}"
    );
}

/// An RTSP camera recorded with 30 s of post-capture, after its first event: the
/// server, the clip directory, the daemon and the clip being written.
fn recording_long_clip() -> (RtspServer, tempfile::TempDir, Daemon, PathBuf) {
    let server = RtspServer::start();
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&server, dir.path(), 30.0, "");
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    let (clip, _) = event_paths(&mut sub);
    (server, dir, d, clip)
}

#[test]
fn a_daemon_killed_mid_clip_leaves_no_complete_looking_file() {
    let (server, dir, mut d, clip) = recording_long_clip();
    let part = PathBuf::from(format!("{}.part", clip.display()));
    assert!(wait_file(&part, Duration::from_secs(5)), "no .part file");
    std::thread::sleep(Duration::from_secs(2));
    d.kill_hard();
    let mp4s: Vec<PathBuf> = files(dir.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    assert!(
        mp4s.is_empty(),
        "complete-looking files after a kill: {mp4s:?}"
    );
    assert!(part.exists());
    // The next start removes what the crash left.
    let d = daemon(&server, dir.path(), 30.0, "");
    d.subscribe().hello(HELLO);
    let end = Instant::now() + Duration::from_secs(20);
    while part.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!part.exists(), "the .part file is removed at start");
}

/// A file of `segments` (pattern, seconds) in order, H.264 at 15 fps, a key frame a second.
fn scenes(dir: &Path, segments: &[(&str, u32)]) -> PathBuf {
    let sources: String = segments
        .iter()
        .map(|(p, s)| {
            format!(
                "videotestsrc num-buffers={} pattern={p} \
                 ! video/x-raw,width=320,height=240,framerate=15/1 ! c. ",
                s * 15
            )
        })
        .collect();
    let desc = format!(
        "concat name=c ! x264enc speed-preset=ultrafast key-int-max=15 \
         ! h264parse ! mp4mux ! filesink name=out {sources}"
    );
    let path = dir.join("scenes.mp4");
    common::gst_init();
    common::media::launch_to_file(&desc, &path);
    path
}

/// post_s of the two-events test: well above the events' ~3 s spacing, which the
/// smoothing can stretch by a few hundred ms (with post_s = 3 they raced: CI saw 3.2 s).
const CLOSE_POST_S: f64 = 5.0;

/// Two events into `snow` about 3 s apart, within post_s: one clip covering both.
#[test]
fn two_close_events_give_one_longer_clip() {
    common::require_model();
    let dir = tempfile::tempdir().unwrap();
    let video = scenes(
        dir.path(),
        &[
            ("ball", 6),
            ("snow", 2),
            ("ball", 1),
            ("snow", 2),
            ("ball", 8),
        ],
    );
    let clips = dir.path().join("clips");
    // The default model tells ball from snow (the provisional one does not).
    let model = common::repo_root().join("models/default/model.onnx");
    let d = Daemon::builder()
        .model(&model)
        .threshold(0.0)
        .confirm(1)
        .stream(StreamSpec::uri("cam", &common::file_uri(&video)))
        .extra_toml(&record_toml(&clips, CLOSE_POST_S, "labels = [\"snow\"]"))
        .spawn();
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    let into_snow = |m: &serde_json::Value| m["type"] == "event" && m["to"] == "snow";
    let first = sub.next_matching(FIRST_EVENT, into_snow);
    let first = first.unwrap_or_else(|| panic!("no event into snow\n{}", sub.summary()));
    let second = sub.next_matching(Duration::from_secs(10), into_snow);
    let second = second.unwrap_or_else(|| panic!("no second event\n{}", sub.summary()));
    let gap = second.at.duration_since(first.at).as_secs_f64();
    let clip = first.msg["clip"].as_str().expect("a clip");
    assert_eq!(second.msg["clip"].as_str(), Some(clip), "one clip for both");
    let clip = PathBuf::from(clip);
    assert!(
        wait_file(&clip, Duration::from_secs(20)),
        "no clip\n{}",
        d.stderr()
    );
    let (_, secs) = probe(&clip);
    eprintln!("clip of {secs} s, events {gap:.1} s apart");
    let want = PRE_S + gap + CLOSE_POST_S;
    assert!(
        (want - 0.5..=want + KEY_INTERVAL_S + 0.5).contains(&secs),
        "clip of {secs} s, want {want} s (events {gap:.1} s apart)"
    );
    let mp4s = files(&clips)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .count();
    assert_eq!(mp4s, 1, "{:?}", files(&clips));
}

/// Resident memory of `pid`, MiB (from /proc/PID/statm, 4 KiB pages).
fn resident_mib(pid: u32) -> f64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).expect("the daemon runs");
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0 / (1024.0 * 1024.0)
}

/// The default model's demo (scenes changing every 5 s), looped, with `record` (TOML).
fn demo_daemon(record: &str) -> Daemon {
    let model = common::repo_root().join("models/default/model.onnx");
    let video = common::repo_root().join("models/default/demo.mp4");
    Daemon::builder()
        .model(&model)
        .window(8)
        .stride(4)
        .confirm(2)
        .stream(StreamSpec::uri("cam", video.to_str().unwrap()).looping(true))
        .extra_toml(record)
        .spawn()
}

/// Scenes changing every 5 s (the default model's demo, looped): a clip every few
/// seconds, retention deleting as many; memory stays flat over 30 s.
#[test]
fn memory_stays_flat_while_recording_and_deleting() {
    let dir = tempfile::tempdir().unwrap();
    let max_bytes = 400_000;
    let d = demo_daemon(&record_toml(
        dir.path(),
        1.0,
        &format!("max_bytes = {max_bytes}"),
    ));
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    let with_clip = |m: &serde_json::Value| m["type"] == "event" && m.get("clip").is_some();
    sub.next_matching(FIRST_EVENT, with_clip)
        .unwrap_or_else(|| panic!("no clip\n{}", sub.summary()));
    sub.collect_for(Duration::from_secs(10));
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        samples.push(resident_mib(d.pid()));
        sub.collect_for(Duration::from_secs(2));
    }
    let clips = sub
        .seen_of_type("event")
        .iter()
        .filter(|m| m.get("clip").is_some())
        .count();
    let first: f64 = samples[..4].iter().sum::<f64>() / 4.0;
    let last: f64 = samples[samples.len() - 4..].iter().sum::<f64>() / 4.0;
    eprintln!("RSS {samples:.1?} MiB; {clips} clips");
    assert!(
        last - first < 8.0,
        "RSS grew {:.1} MiB: {samples:.1?}",
        last - first
    );
    assert!(clips >= 6, "{clips} clips: {}", sub.summary());
    let total: u64 = files(dir.path())
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    // At most one clip (being written or just finished) beyond the limit.
    assert!(
        total < max_bytes + 200_000,
        "{total} bytes kept: {:?}",
        files(dir.path())
    );
}

/// SIGTERM during the post-capture: the clip is finished with what it has.
#[test]
fn a_daemon_stopped_mid_clip_finishes_it() {
    let (_server, dir, mut d, clip) = recording_long_clip();
    std::thread::sleep(Duration::from_secs(2));
    assert!(!clip.exists(), "30 s of post-capture have not passed");
    assert!(d.terminate().success(), "{}", d.stderr());
    assert!(
        clip.exists(),
        "the clip is complete at exit: {:?}",
        files(dir.path())
    );
    let (codec, secs) = probe(&clip);
    assert_eq!(codec, "h264");
    assert!(secs >= PRE_S + 1.0, "clip of {secs} s");
}

/// An H.265 camera is remuxed too (h265parse, hvc1 in MP4).
#[test]
fn an_h265_camera_is_recorded() {
    let h265 = "( videotestsrc is-live=true pattern=snow \
        ! video/x-raw,width=480,height=270,framerate=15/1 \
        ! x265enc speed-preset=ultrafast tune=zerolatency key-int-max=15 \
        ! rtph265pay name=pay0 pt=96 )";
    let server = RtspServer::start_with(h265, 0);
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&server, dir.path(), POST_S, "");
    let clip = finished_clip(&d);
    let (codec, secs) = probe(&clip);
    assert_eq!(codec, "hevc");
    let want = PRE_S + POST_S;
    assert!(
        (want - 0.5..=want + KEY_INTERVAL_S + 0.5).contains(&secs),
        "clip of {secs} s, want {want} s"
    );
}

/// Free space below the floor: no clip, a `status` saying recording paused, and the
/// skipped event counted; the stream keeps running.
#[test]
fn recording_pauses_below_the_free_space_floor() {
    let server = RtspServer::start();
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let extra =
        format!("min_free_bytes = 9000000000000000000\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n");
    let d = daemon(&server, dir.path(), POST_S, &extra);
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    let paused = sub.next_matching(FIRST_EVENT, |m| {
        m["type"] == "status"
            && m["state"] == "running"
            && m["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("recording paused: less than"))
    });
    assert!(paused.is_some(), "no pause status\n{}", sub.summary());
    let ev = sub.next_matching(FIRST_EVENT, |m| m["type"] == "event");
    let ev = ev
        .unwrap_or_else(|| panic!("no event\n{}", sub.summary()))
        .msg;
    assert!(ev.get("clip").is_none(), "no clip while paused: {ev}");
    let metrics = common::http::get(port, "/metrics").body;
    assert!(
        metrics.contains("actiond_clips_skipped_total{stream=\"cam\"} 1"),
        "{metrics}"
    );
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
    sub.collect_predictions(2, Duration::from_secs(20));
    // The log says it too: at start, and when the event finds recording paused.
    let log = d.stderr();
    let start = "below record.min_free_bytes): events are not recorded until there is room";
    assert!(log.contains(start), "{log}");
    let paused = "recording paused: less than 9000000000000000000 bytes free";
    let warned = log
        .lines()
        .any(|l| l.contains(" WARN ") && l.contains(paused));
    assert!(warned, "{log}");
}

/// How many video frames `ffmpeg` decodes from `path` without an error.
fn decoded_frames(path: &Path) -> usize {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-xerror", "-i"])
        .arg(path)
        .args(["-f", "framemd5", "-"])
        .output()
        .expect("ffmpeg runs (scripts/setup.sh installs it)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "{path:?}: {err}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().filter(|l| !l.starts_with('#')).count()
}

/// A test pattern has no compressed stream: it is re-encoded (H.264, a key frame a
/// second) into the same ring, and its first label (an event) gives a playable clip
/// of about pre_s + post_s and a JPEG; with `[http]` the event carries their URLs,
/// served by the daemon, linked from the status page's history, and on MQTT.
#[test]
fn a_test_pattern_is_re_encoded_into_a_playable_clip() {
    common::require_model();
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let broker = common::Broker::start();
    let topic = format!("t/rec-{}/cam/event", std::process::id());
    let mut mqtt = broker.subscribe_ready(&topic, &topic);
    let services = format!(
        "\n[http]\nlisten = \"127.0.0.1:{port}\"\n\n[mqtt]\nurl = \"{}\"\n\
         topic_prefix = \"t/rec-{}\"\n",
        broker.url(),
        std::process::id()
    );
    let d = Daemon::builder()
        .threshold(0.0)
        .confirm(1)
        .window(16)
        .stream(StreamSpec::test("cam", "ball"))
        .extra_toml(&record_toml(dir.path(), POST_S, &services))
        .spawn();
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    let ev = sub.next_matching(FIRST_EVENT, |m| m["type"] == "event");
    let ev = ev
        .unwrap_or_else(|| panic!("no event\n{}", sub.summary()))
        .msg;
    common::schema::assert_valid(&common::schema::validator(), &ev);
    let (clip, snap) = (ev["clip"].as_str(), ev["snapshot"].as_str());
    let (clip, snap) = (PathBuf::from(clip.unwrap()), PathBuf::from(snap.unwrap()));
    assert!(
        wait_file(&clip, Duration::from_secs(20)),
        "no clip {clip:?}\n{}",
        d.stderr()
    );
    let (codec, secs) = probe(&clip);
    let frames = decoded_frames(&clip);
    assert!(
        frames as f64 >= secs * 8.0,
        "{frames} frames decoded in {secs} s"
    );
    assert_eq!(codec, "h264", "re-encoded as H.264");
    assert!(
        d.stderr().contains("clips re-encode this source"),
        "{}",
        d.stderr()
    );
    let want = PRE_S + POST_S;
    assert!(
        (want - KEY_INTERVAL_S - 0.5..=want + KEY_INTERVAL_S + 0.5).contains(&secs),
        "clip of {secs} s, want {want} s within a key-frame interval"
    );
    let jpeg = std::fs::read(&snap).expect("the snapshot is written");
    assert!(jpeg.starts_with(&[0xFF, 0xD8]), "not a JPEG");
    // The URLs: this daemon's address, /clips/ and the path under dir.
    let base = format!("http://127.0.0.1:{port}/clips/");
    for (key, path, kind) in [
        ("clip_url", &clip, "video/mp4"),
        ("snapshot_url", &snap, "image/jpeg"),
    ] {
        let rel = path.strip_prefix(dir.path()).unwrap().to_string_lossy();
        let url = ev[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {ev}"));
        assert_eq!(url, format!("{base}{rel}"));
        let r = common::http::get(port, &url[url.find("/clips/").unwrap()..]);
        assert_eq!((r.status, r.header("content-type")), (200, Some(kind)));
    }
    for bad in ["/clips/cam/../../../etc/passwd", "/clips/cam/%2e%2e/x.mp4"] {
        assert_eq!(common::http::get(port, bad).status, 404, "{bad}");
    }
    let on_mqtt = mqtt.next_matching(FIRST_EVENT, |m| m.topic == topic && m.payload != "probe");
    let on_mqtt = on_mqtt.unwrap_or_else(|| panic!("no event on MQTT\n{}", mqtt.summary()));
    assert_eq!(
        on_mqtt.json()["clip_url"],
        ev["clip_url"],
        "MQTT carries the URLs"
    );
    assert_eq!(on_mqtt.json()["snapshot_url"], ev["snapshot_url"]);
    let history = common::http::get(port, "/api/history").body;
    assert!(
        history.contains(ev["clip_url"].as_str().unwrap()),
        "the status page's history links the clip: {history}"
    );
}

/// Waits until `d`'s log contains `needle`.
fn wait_log(d: &Daemon, needle: &str, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if d.stderr().contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// `[record]` applies on SIGHUP: a label the model lacks is warned about at start
/// (and its events go unrecorded); the reloaded section (another directory, every
/// label and one more unknown, warned about again) records the next events there.
#[test]
fn record_changes_apply_on_sighup_and_unknown_labels_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let before = record_toml(&first, 1.0, "labels = [\"nobody\"]");
    let d = demo_daemon(&before);
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    let warned = "record.labels names [\"nobody\"], which the model does not have";
    assert!(wait_log(&d, warned, HELLO), "{}", d.stderr());
    let ev = sub.next_matching(FIRST_EVENT, |m| m["type"] == "event");
    let ev = ev
        .unwrap_or_else(|| panic!("no event\n{}", sub.summary()))
        .msg;
    assert!(ev.get("clip").is_none(), "not a recorded label: {ev}");
    let all =
        "[\"ball\", \"checkers\", \"circular\", \"pinwheel\", \"smpte\", \"snow\", \"ghost\"]";
    let after = record_toml(&second, 1.0, &format!("labels = {all}"));
    let text = d.config_text().replace(&before, &after);
    assert!(text.contains(&after));
    std::fs::write(&d.config_path, text).unwrap();
    d.signal("HUP");
    let warned = "reload: record.labels names [\"ghost\"], which the model does not have";
    assert!(
        wait_log(&d, warned, Duration::from_secs(10)),
        "{}",
        d.stderr()
    );
    let with_clip = |m: &serde_json::Value| m["type"] == "event" && m.get("clip").is_some();
    let ev = sub.next_matching(FIRST_EVENT, with_clip);
    let ev = ev
        .unwrap_or_else(|| panic!("no recorded event\n{}", sub.summary()))
        .msg;
    let clip = PathBuf::from(ev["clip"].as_str().unwrap());
    assert!(clip.starts_with(second.join("cam")), "{clip:?}");
    assert!(
        wait_file(&clip, Duration::from_secs(20)),
        "no clip {clip:?}\n{}",
        d.stderr()
    );
    assert!(files(&first).is_empty(), "{:?}", files(&first));
}
