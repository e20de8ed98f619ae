//! Tests of the test harness itself (tests/common); none of them runs the daemon.

mod common;

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::time::{Duration, Instant};

use common::checks::{self, Expect};
use common::media::count_decoded_frames;
use common::{encode_h264, Container, DaemonConfig, EncodeSpec, RtspServer, StreamSpec};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use serde_json::json;

/// An RTSP client: `rtspsrc ! rtph264depay ! avdec_h264 ! appsink`.
struct RtspClient {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
}

impl RtspClient {
    fn open(url: &str) -> RtspClient {
        common::gst_init();
        let desc = "rtspsrc name=src latency=100 protocols=tcp ! rtph264depay ! avdec_h264 \
                    ! appsink name=sink sync=false max-buffers=4 drop=true";
        let pipeline = gst::parse::launch(desc)
            .unwrap()
            .downcast::<gst::Pipeline>()
            .unwrap();
        pipeline
            .by_name("src")
            .unwrap()
            .set_property("location", url);
        let sink = pipeline
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        pipeline.set_state(gst::State::Playing).expect("Playing");
        RtspClient { pipeline, sink }
    }

    /// Counts decoded frames until `want` or `timeout`, or until the stream
    /// ends or errors.
    fn frames(&self, want: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let bus = self.pipeline.bus().unwrap();
        let mut n = 0;
        while n < want && Instant::now() < deadline {
            if self
                .sink
                .try_pull_sample(gst::ClockTime::from_mseconds(100))
                .is_some()
            {
                n += 1;
            } else if self.sink.is_eos()
                || bus
                    .pop_filtered(&[gst::MessageType::Error, gst::MessageType::Eos])
                    .is_some()
            {
                break;
            }
        }
        n
    }
}

impl Drop for RtspClient {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[test]
fn rtsp_server_serves_decodable_h264() {
    let server = RtspServer::start();
    assert!(server.port() > 0);
    assert_eq!(
        server.url(),
        format!("rtsp://127.0.0.1:{}/test", server.port())
    );
    let client = RtspClient::open(&server.url());
    let n = client.frames(30, Duration::from_secs(20));
    assert_eq!(n, 30, "decoded only {n} frames from {}", server.url());
}

#[test]
fn rtsp_server_stops_and_restarts_on_the_same_port() {
    let mut server = RtspServer::start();
    let port = server.port();
    let client = RtspClient::open(&server.url());
    assert_eq!(client.frames(10, Duration::from_secs(20)), 10);

    server.stop();
    assert!(!server.is_running());
    // The port is closed…
    let refused = std::net::TcpStream::connect(("127.0.0.1", port));
    assert!(refused.is_err(), "port {port} still accepts connections");
    // …and the old client gets no more than what was in flight.
    let after = client.frames(100, Duration::from_secs(3));
    assert!(after < 15, "{after} frames arrived after stop");
    drop(client);

    server.restart();
    assert_eq!(server.port(), port);
    let client = RtspClient::open(&server.url());
    assert_eq!(client.frames(10, Duration::from_secs(20)), 10);
}

#[test]
fn two_rtsp_servers_get_different_ports() {
    let a = RtspServer::start();
    let b = RtspServer::start();
    assert_ne!(a.port(), b.port());
}

#[test]
fn encoded_mp4_decodes_to_n_frames() {
    let dir = common::tempdir();
    let spec = EncodeSpec {
        frames: 30,
        ..EncodeSpec::default()
    };
    let path = encode_h264(dir.path(), "ball", &spec);
    assert!(path.ends_with("ball.mp4"));
    assert_eq!(count_decoded_frames(&path), 30);
}

#[test]
fn encoded_mkv_decodes_to_n_frames() {
    let dir = common::tempdir();
    let spec = EncodeSpec {
        frames: 20,
        pattern: "smpte".into(),
        container: Container::Matroska,
        ..EncodeSpec::default()
    };
    let path = encode_h264(dir.path(), "smpte", &spec);
    assert_eq!(count_decoded_frames(&path), 20);
    assert!(common::file_uri(&path).starts_with("file:///"));
}

#[test]
fn config_renders_as_the_contract_toml() {
    let cfg = DaemonConfig {
        per_frame: true,
        streams: vec![
            StreamSpec::test("cam1", "ball"),
            StreamSpec::uri("cam2", "rtsp://127.0.0.1:1/test")
                .rtsp_transport("tcp")
                .latency_ms(200)
                .stall_timeout_s(3)
                .reconnect_s(1, 4),
            StreamSpec::pipeline("cam3", "videotestsrc is-live=true").sample_fps(0),
            StreamSpec::uri("cam4", "/x \"quoted\".mkv").looping(true),
        ],
        ..DaemonConfig::default()
    };
    let text = cfg.to_toml(std::path::Path::new("/tmp/x/p.sock"));
    let t: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(t["runtime"]["intra_threads"].as_integer(), Some(1));
    assert_eq!(
        t["model"]["path"].as_str(),
        Some(common::model_onnx().to_str().unwrap())
    );
    let s = &t["smoothing"];
    assert_eq!(s["method"].as_str(), Some("mean"));
    assert_eq!(s["window"].as_integer(), Some(4));
    assert_eq!(s["stride"].as_integer(), Some(2));
    assert_eq!(s["threshold"].as_float(), Some(0.5));
    assert_eq!(s["confirm"].as_integer(), Some(2));
    assert_eq!(s["top_k"].as_integer(), Some(3));
    let o = &t["output"];
    assert_eq!(o["socket"].as_str(), Some("/tmp/x/p.sock"));
    assert_eq!(o["socket_mode"].as_str(), Some("0660"));
    assert_eq!(o["stdout"].as_bool(), Some(false));
    assert_eq!(o["per_frame"].as_bool(), Some(true));
    let streams = t["stream"].as_array().unwrap();
    assert_eq!(streams.len(), 4);
    assert_eq!(streams[0]["uri"].as_str(), Some("test:ball"));
    assert_eq!(streams[0]["sample_fps"].as_integer(), Some(5));
    assert_eq!(streams[1]["rtsp_transport"].as_str(), Some("tcp"));
    assert_eq!(streams[1]["latency_ms"].as_integer(), Some(200));
    assert_eq!(streams[1]["reconnect_max_s"].as_integer(), Some(4));
    assert_eq!(
        streams[2]["pipeline"].as_str(),
        Some("videotestsrc is-live=true")
    );
    assert!(streams[2].get("uri").is_none());
    assert_eq!(streams[2]["sample_fps"].as_integer(), Some(0));
    assert_eq!(streams[3]["uri"].as_str(), Some("/x \"quoted\".mkv"));
    assert_eq!(streams[3]["loop"].as_bool(), Some(true));
}

#[test]
fn manifest_labels_are_the_provisional_ones() {
    let labels = common::manifest_labels();
    assert_eq!(labels, common::PROVISIONAL_LABELS);
}

#[test]
fn rfc3339_parser() {
    use checks::rfc3339_to_unix as p;
    assert_eq!(p("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(p("2000-03-01T00:00:00Z"), Some(951_868_800.0));
    assert_eq!(p("2024-05-01T12:00:00.250+02:00"), Some(1_714_557_600.25));
    assert_eq!(p("2024-05-01 12:00:00z"), Some(1_714_564_800.0));
    assert_eq!(p("2024-05-01T12:00:00-01:30"), Some(1_714_570_200.0));
    assert_eq!(p("2024-05-01T12:00:00"), None);
    assert_eq!(p("2024-13-01T12:00:00Z"), None);
    assert_eq!(p("2024-05-01T12:00:00.Z"), None);
    assert_eq!(p("2024-05-01T12:00:00Zjunk"), None);
}

/// A well-formed prediction, as the contract describes it.
fn sample_prediction() -> serde_json::Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let secs = now % 86400;
    let days = now / 86400;
    // Only the time of day matters for plausibility; compute the date too.
    let date = civil_from_days(days as i64);
    let t = |s: u64| {
        format!(
            "{}T{:02}:{:02}:{:02}.000Z",
            date,
            s / 3600,
            (s / 60) % 60,
            s % 60
        )
    };
    json!({
        "type": "prediction", "v": 1, "stream": "cam1", "seq": 7,
        "label": "ball", "score": 0.5,
        "top": [{"label": "ball", "score": 0.5}, {"label": "snow", "score": 0.3}],
        "frames": 4, "clip_start": t(secs.saturating_sub(1)), "clip_end": t(secs),
        "pts_start_ns": 0, "pts_end_ns": 600_000_000, "latency_ms": 12.5,
        "model": "provisional"
    })
}

fn civil_from_days(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn rejects(m: serde_json::Value) -> bool {
    let e = Expect::provisional();
    std::panic::catch_unwind(move || {
        checks::check_prediction(&m, &e);
    })
    .is_err()
}

#[test]
fn prediction_checks_accept_good_and_reject_bad_messages() {
    let e = Expect::provisional();
    let p = checks::check_prediction(&sample_prediction(), &e);
    assert_eq!(p.seq, 7);
    assert_eq!(p.frames, 4);

    let bad: Vec<(&str, serde_json::Value)> = vec![
        ("v", json!(2)),
        ("label", json!("dog")),
        ("score", json!(0.4)),
        ("score", json!(1.5)),
        ("seq", json!(-1)),
        ("clip_end", json!("yesterday")),
        ("clip_start", json!("2001-01-01T00:00:00Z")),
        ("latency_ms", json!(-1)),
        ("pts_end_ns", json!("0")),
        (
            "top",
            json!([{"label": "snow", "score": 0.3}, {"label": "ball", "score": 0.5}]),
        ),
        (
            "top",
            json!([{"label": "ball", "score": 0.5}, {"label": "snow", "score": 0.2},
                   {"label": "smpte", "score": 0.1}, {"label": "checkers", "score": 0.1}]),
        ),
    ];
    for (key, value) in bad {
        let mut m = sample_prediction();
        m[key] = value.clone();
        assert!(rejects(m), "accepted {key} = {value}");
    }
    let mut m = sample_prediction();
    m.as_object_mut().unwrap().remove("pts_start_ns");
    assert!(rejects(m), "accepted a prediction without pts_start_ns");
}

#[test]
fn seq_check_wants_steps_of_one_per_stream() {
    let p = |s: &str, n: u64| json!({"stream": s, "seq": n});
    let good = [p("a", 3), p("b", 1), p("a", 4), p("b", 2)];
    checks::check_seq_consecutive(&good);
    let bad = [p("a", 3), p("a", 5)];
    assert!(std::panic::catch_unwind(|| checks::check_seq_consecutive(&bad)).is_err());
}

/// The subscriber against a real Unix socket served by this test: lines
/// split across reads and timeouts, then EOF.
#[test]
fn subscriber_reads_ndjson_split_across_writes() {
    let dir = common::tempdir();
    let path = dir.path().join("s.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let writer = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(b"{\"type\":\"hello\",\"v\":1,\"version\":\"0\",\"model\":\"m\",\"streams\":[\"cam1\"]}\n{\"type\":\"sta")
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        conn.write_all(
            b"tus\",\"v\":1,\"stream\":\"cam1\",\"state\":\"running\",\"reason\":\"\"}\n",
        )
        .unwrap();
        for seq in 1..=3 {
            writeln!(
                conn,
                "{{\"type\":\"prediction\",\"v\":1,\"stream\":\"cam1\",\"seq\":{seq}}}"
            )
            .unwrap();
        }
    });
    let mut sub = common::Subscriber::connect(&path).unwrap();
    let hello = sub.hello(Duration::from_secs(5));
    checks::check_hello(&hello, &["cam1"]);
    // The status line is split by a 300 ms pause; a 100 ms timeout expires
    // in the middle of it without losing the first half.
    assert!(sub.next(Duration::from_millis(100)).is_none());
    let status = sub.next_of_type("status", Duration::from_secs(5));
    assert_eq!(
        checks::check_status(&status),
        ("cam1".into(), "running".into())
    );
    let preds = sub.collect_predictions(3, Duration::from_secs(5));
    checks::check_seq_consecutive(&preds);
    writer.join().unwrap();
    assert!(matches!(
        sub.recv(Duration::from_secs(5)),
        Err(common::subscriber::RecvError::Closed)
    ));
    assert_eq!(sub.history.len(), 5);
}
