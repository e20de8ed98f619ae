//! RTSP cameras nobody here wrote, through the real daemon on the default config: VLC
//! (which refuses RTP over TCP) serving H.264 and H.265, killed and restarted; and the
//! failures a user must be told about by name: a camera that accepts the connection and
//! never answers, a wrong path (404), nothing listening (connection refused).

mod common;

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::vlc::{self, VlcCamera};
use common::{encode_h264, Daemon, EncodeSpec, Received, RtspServer, StreamSpec, Subscriber};

const HELLO: Duration = Duration::from_secs(5);
/// First frames through a fresh pipeline (after one refused transport) and a cold model.
const FIRST_PREDICTION: Duration = Duration::from_secs(40);

fn reason(r: &Received) -> String {
    r.msg["reason"].as_str().unwrap_or_default().to_owned()
}

/// Waits for `n` predictions of `stream`.
fn predictions(sub: &mut Subscriber, stream: &str, n: usize, limit: Duration) {
    sub.collect_matching(n, limit, |m| {
        m["type"] == "prediction" && m["stream"] == stream
    })
    .unwrap_or_else(|got| panic!("{stream}: {got} of {n} predictions\n{}", sub.summary()));
}

/// Panics unless VLC is installed (it is part of the test setup).
fn require_vlc() {
    assert!(
        vlc::available(),
        "cvlc is not installed: scripts/setup.sh installs vlc-bin and vlc-plugin-base"
    );
}

/// A VLC camera serving 10 s of H.264, looped.
fn vlc_h264(dir: &std::path::Path) -> VlcCamera {
    require_vlc();
    let spec = EncodeSpec {
        frames: 150,
        ..EncodeSpec::default()
    };
    VlcCamera::start(&encode_h264(dir, "cam", &spec))
}

/// Plays `cam` with a config naming only its URI: frames over UDP after TCP was refused.
fn plays_on_the_default_config(cam: &VlcCamera) {
    let daemon = Daemon::builder()
        .stream(StreamSpec::uri("vlc", &cam.url()))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    let running = sub.wait_status("vlc", "running", FIRST_PREDICTION);
    assert_eq!(
        reason(&running),
        "frames flowing (RTP over UDP)",
        "{:?}",
        sub.statuses("vlc")
    );
    let refused = sub.statuses("vlc");
    assert!(
        refused.iter().any(|(s, r)| s == "reconnecting"
            && r.starts_with(
                "transport refused: the camera refused RTP over TCP; trying RTP over UDP next"
            )),
        "VLC refuses TCP; the fallback should say so: {refused:?}"
    );
    predictions(&mut sub, "vlc", 2, FIRST_PREDICTION);
    let log = daemon.stderr();
    assert!(
        log.contains("transport refused") && log.contains("gst_rtspsrc_setup_streams_start"),
        "the log line keeps GStreamer's text:\n{log}"
    );
}

#[test]
fn vlc_h264_camera_plays_on_the_default_config_over_udp() {
    let _serial = common::serial();
    common::require_model();
    let dir = common::tempdir();
    let cam = vlc_h264(dir.path());
    plays_on_the_default_config(&cam);
}

#[test]
fn vlc_h265_camera_plays_on_the_default_config_over_udp() {
    let _serial = common::serial();
    common::require_model();
    require_vlc();
    let dir = common::tempdir();
    let Some(media) = vlc::encode_h265(dir.path(), "cam265", 150) else {
        eprintln!("SKIPPED: no H.265 encoder (x265enc) to make the camera's media");
        return;
    };
    let cam = VlcCamera::start(&media);
    plays_on_the_default_config(&cam);
}

#[test]
fn vlc_camera_killed_and_restarted_recovers_within_the_backoff() {
    let _serial = common::serial();
    common::require_model();
    let dir = common::tempdir();
    let mut cam = vlc_h264(dir.path());
    let port = cam.port();
    // Retries need a short backoff and stall to fit a short test.
    let daemon = Daemon::builder()
        .stream(
            StreamSpec::uri("vlc", &cam.url())
                .stall_timeout_s(3)
                .reconnect_s(1, 2),
        )
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    sub.wait_status("vlc", "running", FIRST_PREDICTION);
    predictions(&mut sub, "vlc", 1, FIRST_PREDICTION);

    cam.kill();
    let killed = Instant::now();
    let r = sub.wait_status("vlc", "reconnecting", Duration::from_secs(10));
    eprintln!(
        "reconnecting {:.1?} after the kill: {}",
        r.at - killed,
        reason(&r)
    );
    std::thread::sleep(Duration::from_secs(3));
    cam.restart();
    assert_eq!(cam.port(), port);
    let restarted = Instant::now();
    // Backoff cap 2 s with +20 % jitter, plus 5 s.
    let limit = Duration::from_secs_f64(2.4 + 5.0);
    let r = sub.wait_status("vlc", "running", limit);
    eprintln!(
        "running again {:.1?} after the restart: {}",
        r.at - restarted,
        reason(&r)
    );
    assert_eq!(reason(&r), "frames flowing (RTP over UDP)");
    predictions(&mut sub, "vlc", 1, Duration::from_secs(20));
    assert!(
        sub.statuses("vlc")
            .iter()
            .all(|(s, _)| s != "failed" && s != "stopped"),
        "{:?}",
        sub.statuses("vlc")
    );
}

/// A TCP server that accepts connections and never says a word, until dropped.
struct SilentServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !s2.load(Ordering::Relaxed) {
                if let Ok((conn, _)) = listener.accept() {
                    held.push(conn);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        SilentServer { port, stop }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_camera_that_never_answers_is_named_and_other_streams_keep_going() {
    let _serial = common::serial();
    common::require_model();
    let silent = SilentServer::start();
    let url = format!("rtsp://127.0.0.1:{}/cam", silent.port);
    let daemon = Daemon::builder()
        .stream(StreamSpec::uri("mute", &url))
        .stream(StreamSpec::test("ok", "ball"))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    let opened = Instant::now();
    let r = sub.wait_status("mute", "reconnecting", Duration::from_secs(20));
    let why = reason(&r);
    eprintln!("{:.1?} after the start: {why}", r.at - opened);
    // Default stall_timeout_s = 10: rtspsrc waits half of it for an answer.
    assert!(
        why.starts_with(
            "no answer from the camera within 5 s: it accepted the connection but did not \
             answer the RTSP request"
        ),
        "{why}"
    );
    assert!(
        !sub.statuses("mute").iter().any(|(s, _)| s == "stalled"),
        "named before the stall timeout: {:?}",
        sub.statuses("mute")
    );
    // The other stream was never disturbed.
    predictions(&mut sub, "ok", 3, Duration::from_secs(20));
    assert!(
        sub.statuses("ok")
            .iter()
            .all(|(s, _)| s == "starting" || s == "running"),
        "{:?}",
        sub.statuses("ok")
    );
}

#[test]
fn a_wrong_path_is_no_such_stream() {
    let _serial = common::serial();
    common::require_model();
    let server = RtspServer::start();
    let url = format!("rtsp://127.0.0.1:{}/nope", server.port());
    let daemon = Daemon::builder()
        .stream(StreamSpec::uri("lost", &url))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    let r = sub.wait_status("lost", "reconnecting", Duration::from_secs(20));
    let why = reason(&r);
    assert!(
        why.starts_with(
            "no such stream (RTSP 404 Not Found): the camera has no stream at this path"
        ),
        "{why}"
    );
}

#[test]
fn nothing_listening_is_connection_refused_and_credentials_stay_hidden() {
    let _serial = common::serial();
    common::require_model();
    let port = vlc::free_port();
    let url = format!("rtsp://admin:s3cret-pw@127.0.0.1:{port}/cam");
    let daemon = Daemon::builder()
        .stream(StreamSpec::uri("off", &url))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    let r = sub.wait_status("off", "reconnecting", Duration::from_secs(20));
    let why = reason(&r);
    assert!(
        why.starts_with("cannot connect to the camera (connection refused"),
        "{why}"
    );
    for (_, why) in sub.statuses("off") {
        assert!(!why.contains("s3cret"), "{why}");
    }
    assert!(!daemon.stderr().contains("s3cret"), "{}", daemon.stderr());
}

/// A camera that asks for credentials, served by gst-rtsp-server with `digest` or basic auth.
fn camera_with_auth(digest: bool) -> RtspServer {
    RtspServer::start_with_auth(common::rtsp::Auth {
        user: "viewer".into(),
        password: "pa55-word".into(),
        digest,
    })
}

#[test]
fn rtsp_credentials_in_the_uri_answer_basic_and_digest_auth() {
    let _serial = common::serial();
    common::require_model();
    for digest in [false, true] {
        let camera = camera_with_auth(digest);
        let url = format!("rtsp://viewer:pa55-word@127.0.0.1:{}/test", camera.port());
        let daemon = Daemon::builder()
            .stream(StreamSpec::uri("cam", &url))
            .spawn();
        let mut sub = daemon.subscribe();
        sub.hello(HELLO);
        sub.wait_status("cam", "running", FIRST_PREDICTION);
        predictions(&mut sub, "cam", 2, FIRST_PREDICTION);
        let log = daemon.stderr();
        assert!(!log.contains("pa55-word"), "digest={digest}: {log}");
    }
}

#[test]
fn a_wrong_rtsp_password_is_unauthorized_and_stays_hidden() {
    let _serial = common::serial();
    common::require_model();
    let camera = camera_with_auth(false);
    let url = format!("rtsp://viewer:wrong-pw@127.0.0.1:{}/test", camera.port());
    let daemon = Daemon::builder()
        .stream(StreamSpec::uri("cam", &url))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    let r = sub.wait_status("cam", "reconnecting", Duration::from_secs(20));
    let why = reason(&r);
    assert!(why.starts_with("unauthorized (RTSP 401"), "{why}");
    for (_, why) in sub.statuses("cam") {
        assert!(!why.contains("wrong-pw"), "{why}");
    }
    assert!(!daemon.stderr().contains("wrong-pw"), "{}", daemon.stderr());
}

#[test]
fn a_camera_that_comes_back_with_another_codec_and_size_plays_again() {
    let _serial = common::serial();
    common::require_model();
    let mut camera = RtspServer::start();
    let port = camera.port();
    let daemon = Daemon::builder()
        .stream(
            StreamSpec::uri("cam", &camera.url())
                .stall_timeout_s(3)
                .reconnect_s(1, 2),
        )
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    sub.wait_status("cam", "running", FIRST_PREDICTION);
    predictions(&mut sub, "cam", 1, FIRST_PREDICTION);

    // The camera reboots into H.265 at another resolution, on the same address.
    camera.stop();
    sub.wait_status("cam", "reconnecting", Duration::from_secs(15));
    let h265 = "( videotestsrc is-live=true pattern=snow \
        ! video/x-raw,width=480,height=270,framerate=15/1 \
        ! x265enc speed-preset=ultrafast tune=zerolatency key-int-max=15 \
        ! rtph265pay name=pay0 pt=96 )";
    let _camera = RtspServer::start_with(h265, port);
    sub.wait_status("cam", "running", Duration::from_secs(30));
    predictions(&mut sub, "cam", 2, Duration::from_secs(30));
}
