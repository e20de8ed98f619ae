//! Faults injected for real, through the real daemon: an RTSP camera that dies
//! and comes back on the same port, a network path that freezes without
//! closing, corrupted H.264 in a file, a camera address where nothing listens.
//! Each test bounds every wait; none touches anything but loopback.

mod common;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::checks::{self, Expect};
use common::{encode_h264, file_uri, Daemon, EncodeSpec, RtspServer, StreamSpec};
use common::{Subscriber, TcpProxy};
use serde_json::Value;

const HELLO: Duration = Duration::from_secs(5);
/// First frames through a fresh pipeline and a cold model, on a busy machine.
const FIRST_PREDICTION: Duration = Duration::from_secs(40);
/// Reconnect settings of the faulty streams: 1 s, doubling, capped at 2 s (±20 %).
const RECONNECT_MIN_S: u32 = 1;
const RECONNECT_MAX_S: u32 = 2;
const STALL_S: u32 = 3;

/// Predictions of `stream` in the subscriber's history.
fn predictions_of<'a>(sub: &'a Subscriber, stream: &str) -> Vec<&'a Value> {
    sub.seen_of_type("prediction")
        .into_iter()
        .filter(|m| m["stream"] == stream)
        .collect()
}

/// A camera stream with the short stall and backoff settings these tests use.
fn camera(name: &str, url: &str) -> StreamSpec {
    StreamSpec::uri(name, url)
        .rtsp_transport("tcp")
        .latency_ms(100)
        .stall_timeout_s(STALL_S)
        .reconnect_s(RECONNECT_MIN_S, RECONNECT_MAX_S)
}

/// The longest a reconnect may wait: the cap plus its jitter.
fn max_backoff() -> Duration {
    Duration::from_secs_f64(RECONNECT_MAX_S as f64 * 1.2)
}

/// A loopback port where nothing listens (bound, then closed again).
fn closed_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn rtsp_camera_killed_and_restarted_reconnects_and_predictions_resume() {
    let _serial = common::serial();
    common::require_model();
    let mut server = RtspServer::start();
    let port = server.port();
    let daemon = Daemon::builder()
        .stream(camera("door", &server.url()))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    sub.wait_status("door", "running", FIRST_PREDICTION);
    sub.collect_matching(2, FIRST_PREDICTION, |m| {
        m["type"] == "prediction" && m["stream"] == "door"
    })
    .unwrap_or_else(|n| panic!("{n} predictions before the fault\n{}", sub.summary()));

    // The camera dies: connections closed, port closed.
    server.stop();
    let killed = Instant::now();
    let r = sub.wait_status(
        "door",
        "reconnecting",
        Duration::from_secs(STALL_S as u64 + 5),
    );
    eprintln!(
        "reconnecting {:.1?} after the kill: {}",
        r.at - killed,
        r.msg["reason"]
    );
    // While it is down every attempt is reported (connection refused → retry n).
    std::thread::sleep(Duration::from_secs(4));
    server.restart();
    assert_eq!(server.port(), port, "the camera came back on another port");
    let restarted = Instant::now();
    let limit = max_backoff() + Duration::from_secs(5);
    let r = sub.wait_status("door", "running", limit);
    eprintln!("running again {:.1?} after the restart", r.at - restarted);

    let tries: Vec<(String, String)> = sub
        .statuses("door")
        .into_iter()
        .filter(|(s, _)| s == "reconnecting")
        .collect();
    assert!(
        tries.len() >= 2,
        "4 s down with a 1-2 s backoff: want at least 2 reported attempts, got {tries:?}"
    );
    for (i, (_, reason)) in tries.iter().enumerate() {
        assert!(
            reason.contains(&format!("retry {}", i + 1)),
            "attempt {} not numbered in {reason:?}",
            i + 1
        );
    }
    assert!(
        sub.statuses("door")
            .iter()
            .all(|(s, _)| s != "failed" && s != "stopped"),
        "a dropped camera is retried, never given up: {:?}",
        sub.statuses("door")
    );

    // Predictions resume, and seq carries on without a gap or a restart.
    let before = predictions_of(&sub, "door").len();
    sub.collect_matching(3, Duration::from_secs(20), |m| {
        m["type"] == "prediction" && m["stream"] == "door"
    })
    .unwrap_or_else(|n| panic!("only {n} predictions after the restart\n{}", sub.summary()));
    let preds = predictions_of(&sub, "door");
    assert!(preds.len() >= before + 3);
    checks::check_seq_consecutive(preds.iter().copied());
    let e = Expect::provisional();
    for r in &sub.history {
        checks::check_any(&r.msg, &e);
    }
}

#[test]
fn frozen_network_is_detected_as_stalled_and_recovers_when_it_flows() {
    let _serial = common::serial();
    common::require_model();
    let server = RtspServer::start();
    let proxy = TcpProxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, server.port())));
    let url = format!("rtsp://127.0.0.1:{}{}", proxy.port(), common::rtsp::MOUNT);
    let daemon = Daemon::builder()
        .stream(camera("gate", &url))
        .stream(StreamSpec::test("control", "smpte"))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    sub.wait_status("gate", "running", FIRST_PREDICTION);
    sub.collect_matching(2, FIRST_PREDICTION, |m| {
        m["type"] == "prediction" && m["stream"] == "gate"
    })
    .unwrap_or_else(|n| panic!("{n} predictions before the fault\n{}", sub.summary()));

    proxy.freeze();
    let frozen = Instant::now();
    let frozen_bytes = proxy.bytes();
    let r = sub.wait_status("gate", "stalled", Duration::from_secs(STALL_S as u64 + 2));
    eprintln!(
        "stalled {:.1?} after the freeze: {}",
        r.at - frozen,
        r.msg["reason"]
    );
    assert!(
        r.msg["reason"].as_str().unwrap_or("").contains("no frame"),
        "stall reason: {}",
        r.msg
    );
    // Still frozen for a while: the retries are stuck behind the same network.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(proxy.bytes(), frozen_bytes, "the proxy let bytes through");
    assert!(
        proxy.accepted() >= 2,
        "the daemon did not try a new connection while frozen ({} accepted)",
        proxy.accepted()
    );
    let preds_frozen = predictions_of(&sub, "gate").len();

    proxy.thaw();
    let thawed = Instant::now();
    // The attempt in flight may itself stall once more before a new one gets through.
    let limit = Duration::from_secs(STALL_S as u64) + max_backoff() + Duration::from_secs(5);
    let r = sub.wait_status("gate", "running", limit);
    eprintln!("running again {:.1?} after the thaw", r.at - thawed);
    sub.collect_matching(3, Duration::from_secs(20), |m| {
        m["type"] == "prediction" && m["stream"] == "gate"
    })
    .unwrap_or_else(|n| panic!("only {n} predictions after the thaw\n{}", sub.summary()));
    let preds = predictions_of(&sub, "gate");
    assert!(preds.len() >= preds_frozen + 3);
    checks::check_seq_consecutive(preds.iter().copied());
    checks::check_seq_consecutive(predictions_of(&sub, "control"));
    // The control stream never noticed.
    assert_eq!(
        sub.statuses("control")
            .iter()
            .filter(|(s, _)| s != "running" && s != "starting")
            .count(),
        0,
        "control stream: {:?}",
        sub.statuses("control")
    );
}

/// Top-level MP4 boxes: (type, start, end) with `start` at the box header.
fn mp4_boxes(data: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let size32 = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = data[at + 4..at + 8].try_into().unwrap();
        let size = match size32 {
            0 => data.len() - at,
            1 => u64::from_be_bytes(data[at + 8..at + 16].try_into().unwrap()) as usize,
            n => n,
        };
        if size < 8 || at + size > data.len() {
            break;
        }
        out.push((kind, at, at + size));
        at += size;
    }
    out
}

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Overwrites `chunks` random runs of 8..=512 random bytes inside the mdat box
/// (the coded H.264 slices and their length prefixes), past its first 1 KiB;
/// the container's index (moov) stays intact. Returns the bytes changed.
fn corrupt_mdat(path: &std::path::Path, chunks: usize, seed: u64) -> usize {
    let mut data = std::fs::read(path).unwrap();
    let (_, start, end) = mp4_boxes(&data)
        .into_iter()
        .find(|(k, _, _)| k == b"mdat")
        .expect("an mdat box");
    let (lo, hi) = (start + 16 + 1024, end);
    assert!(
        hi > lo + 4096,
        "mdat too small to corrupt: {} bytes",
        end - start
    );
    let original = data.clone();
    let mut rng = Rng(seed);
    for _ in 0..chunks {
        let len = 8 + rng.below(505);
        let at = lo + rng.below(hi - lo - len);
        for b in &mut data[at..at + len] {
            *b = rng.next() as u8;
        }
    }
    std::fs::write(path, &data).unwrap();
    data.iter().zip(&original).filter(|(a, b)| a != b).count()
}

#[test]
fn corrupted_h264_file_is_survived_and_other_streams_keep_their_cadence() {
    let _serial = common::serial();
    common::require_model();
    let media = common::tempdir();
    // 6 s of H.264 at 15 fps; key frame every second.
    let file = encode_h264(
        media.path(),
        "corrupt",
        &EncodeSpec {
            frames: 90,
            ..EncodeSpec::default()
        },
    );
    let changed = corrupt_mdat(&file, 60, 0x5EED_1234_ABCD_0001);
    assert!(changed > 5_000, "only {changed} bytes corrupted");

    let daemon = Daemon::builder()
        .stream(
            StreamSpec::uri("broken", &file_uri(&file))
                .looping(true)
                .stall_timeout_s(STALL_S)
                .reconnect_s(RECONNECT_MIN_S, RECONNECT_MAX_S),
        )
        .stream(StreamSpec::test("control", "ball"))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    // Warm-up, then 10 clips of the control stream (4 s at stride 2 / 5 fps).
    let warm = sub.collect_matching(2, FIRST_PREDICTION, |m| {
        m["type"] == "prediction" && m["stream"] == "control"
    });
    warm.unwrap_or_else(|n| panic!("{n} control predictions\n{}", sub.summary()));
    let control = sub
        .collect_matching(10, Duration::from_secs(30), |m| {
            m["type"] == "prediction" && m["stream"] == "control"
        })
        .unwrap_or_else(|n| panic!("{n} control predictions\n{}", sub.summary()));
    let e = Expect::provisional();
    checks::check_live_cadence(&control, &e);
    checks::check_seq_consecutive(predictions_of(&sub, "control"));
    for r in &sub.history {
        checks::check_any(&r.msg, &e);
    }
    let mut daemon = daemon;
    daemon.assert_running();
    let broken = sub.statuses("broken");
    eprintln!(
        "corrupted file ({changed} bytes changed): {} predictions, statuses {broken:?}",
        predictions_of(&sub, "broken").len()
    );
    assert!(
        broken.iter().all(|(s, _)| s != "failed"),
        "corrupt data is retried, never a permanent failure: {broken:?}"
    );
}

#[test]
fn a_dead_camera_address_does_not_slow_the_other_streams() {
    let _serial = common::serial();
    common::require_model();
    // With credentials: the reconnect reasons quote GStreamer's errors, which name the URI.
    let dead = format!("rtsp://admin:s3cret-pw@127.0.0.1:{}/nothing", closed_port());
    let daemon = Daemon::builder()
        .stream(StreamSpec::test("a", "ball"))
        .stream(camera("dead", &dead))
        .stream(StreamSpec::pipeline(
            "b",
            "videotestsrc is-live=true pattern=smpte",
        ))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    let by = sub.collect_predictions_per_stream(&["a", "b"], 10, Duration::from_secs(60));
    let e = Expect::provisional();
    for (name, preds) in &by {
        // Skip the warm-up clips, then the full cadence.
        checks::check_live_cadence(&preds[2..], &e);
        checks::check_seq_consecutive(preds.iter().map(|r| &r.msg));
        eprintln!("{name}: {} predictions at full cadence", preds.len());
    }
    let dead_statuses = sub.statuses("dead");
    let tries = dead_statuses
        .iter()
        .filter(|(s, _)| s == "reconnecting")
        .count();
    assert!(
        tries >= 2,
        "the dead camera's attempts are reported: {dead_statuses:?}"
    );
    assert!(
        dead_statuses.iter().all(|(s, _)| s != "running"),
        "{dead_statuses:?}"
    );
    assert!(predictions_of(&sub, "dead").is_empty());
    for r in &sub.history {
        assert!(
            !r.msg.to_string().contains("s3cret"),
            "a message leaks the camera password: {}",
            r.msg
        );
    }
    assert!(
        !daemon.stderr().contains("s3cret"),
        "the log leaks the camera password:\n{}",
        daemon.stderr()
    );
}
