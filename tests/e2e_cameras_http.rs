//! MJPEG-over-HTTP cameras (`multipart/x-mixed-replace`, as cheap IP cameras and ESP32
//! boards serve), through the real daemon with a config that names only the URI:
//! ffmpeg's own HTTP server; a tiny server of the test's own for a CRLF before the
//! first boundary, parts without `Content-Length`, basic and digest authentication, a
//! 404 and a web page; a video file over HTTP (decodebin, as before); a camera
//! killed and restarted. All on loopback.

mod common;

use std::time::{Duration, Instant};

use common::mjpeg::{md5_hex, FfmpegMjpeg, FixedServer, Multipart, MultipartServer};
use common::{encode_h264, Container, Daemon, EncodeSpec, StreamSpec, Subscriber};

const HELLO: Duration = Duration::from_secs(5);
/// First frames through a fresh pipeline and a cold model, on a busy machine.
const FIRST_PREDICTION: Duration = Duration::from_secs(40);

/// Waits for `n` predictions of `stream`; panics with the subscriber's summary.
fn predictions(sub: &mut Subscriber, stream: &str, n: usize, limit: Duration) {
    sub.collect_matching(n, limit, |m| {
        m["type"] == "prediction" && m["stream"] == stream
    })
    .unwrap_or_else(|got| panic!("{stream}: {got} of {n} predictions\n{}", sub.summary()));
}

/// Runs a daemon with one stream that names only `uri`; returns it and a subscriber.
fn daemon_on(uri: &str) -> (Daemon, Subscriber) {
    common::require_model();
    let daemon = Daemon::builder()
        .stream(StreamSpec::uri("cam", uri))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    (daemon, sub)
}

#[test]
fn ffmpeg_mjpeg_camera_predicts_with_only_its_uri() {
    let camera = FfmpegMjpeg::start();
    let (_daemon, mut sub) = daemon_on(&camera.url());
    sub.wait_status("cam", "running", FIRST_PREDICTION);
    predictions(&mut sub, "cam", 3, FIRST_PREDICTION);
}

/// Predictions from the tiny server shaped as `shape`.
fn multipart_predicts(shape: Multipart) {
    let camera = MultipartServer::start(shape);
    let (_daemon, mut sub) = daemon_on(&camera.url());
    predictions(&mut sub, "cam", 3, FIRST_PREDICTION);
}

#[test]
fn crlf_before_the_first_boundary_predicts() {
    multipart_predicts(Multipart {
        leading_crlf: true,
        content_length: true,
        ..Multipart::default()
    });
}

#[test]
fn parts_without_content_length_predict() {
    multipart_predicts(Multipart {
        leading_crlf: true,
        content_length: false,
        ..Multipart::default()
    });
}

const USER: &str = "admin";
const PASSWORD: &str = "s3cret-Pw";
const WRONG: &str = "wrong-Pw9";

fn basic_auth_camera() -> MultipartServer {
    MultipartServer::start(Multipart {
        content_length: true,
        basic_auth: Some((USER.into(), PASSWORD.into())),
        ..Multipart::default()
    })
}

/// Panics if `secret` appears in any message the subscriber saw or in the daemon's log.
fn assert_never_shown(daemon: &Daemon, sub: &Subscriber, secret: &str) {
    for r in &sub.history {
        assert!(
            !r.msg.to_string().contains(secret),
            "the password is in a message: {}",
            r.msg
        );
    }
    let log = daemon.stderr();
    assert!(!log.contains(secret), "the password is in the log:\n{log}");
}

#[test]
fn basic_auth_with_the_right_password_predicts() {
    let camera = basic_auth_camera();
    let (daemon, mut sub) = daemon_on(&camera.url_with(USER, PASSWORD));
    predictions(&mut sub, "cam", 3, FIRST_PREDICTION);
    assert_never_shown(&daemon, &sub, PASSWORD);
}

#[test]
fn basic_auth_with_a_wrong_password_says_401() {
    let camera = basic_auth_camera();
    let (daemon, mut sub) = daemon_on(&camera.url_with(USER, WRONG));
    let status = sub
        .wait_status("cam", "reconnecting", Duration::from_secs(20))
        .msg;
    let reason = status["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("401 unauthorized"),
        "the reason does not lead with the cause: {reason:?}"
    );
    // The second attempt says the same; GStreamer's own text is in the log.
    let again = sub
        .wait_status("cam", "reconnecting", Duration::from_secs(20))
        .msg;
    assert!(again["reason"]
        .as_str()
        .is_some_and(|r| r.starts_with("401 unauthorized")));
    assert!(
        daemon.stderr().contains("Unauthorized"),
        "GStreamer's text is not in the log:\n{}",
        daemon.stderr()
    );
    assert_never_shown(&daemon, &sub, WRONG);
}

fn digest_auth_camera() -> MultipartServer {
    MultipartServer::start(Multipart {
        content_length: true,
        digest_auth: Some((USER.into(), PASSWORD.into())),
        ..Multipart::default()
    })
}

#[test]
fn digest_auth_with_the_right_password_predicts() {
    // The test server's own MD5 (RFC 1321 test vectors).
    assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    let camera = digest_auth_camera();
    let (daemon, mut sub) = daemon_on(&camera.url_with(USER, PASSWORD));
    predictions(&mut sub, "cam", 3, FIRST_PREDICTION);
    assert_never_shown(&daemon, &sub, PASSWORD);
}

#[test]
fn digest_auth_with_a_wrong_password_says_401() {
    let camera = digest_auth_camera();
    let (daemon, mut sub) = daemon_on(&camera.url_with(USER, WRONG));
    let status = sub
        .wait_status("cam", "reconnecting", Duration::from_secs(20))
        .msg;
    let reason = status["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("401 unauthorized"), "{reason:?}");
    assert_never_shown(&daemon, &sub, WRONG);
}

#[test]
fn nothing_listening_says_connection_refused() {
    let port = common::free_port();
    let (_daemon, mut sub) = daemon_on(&format!("http://127.0.0.1:{port}/video.mjpg"));
    let status = sub
        .wait_status("cam", "reconnecting", Duration::from_secs(20))
        .msg;
    let reason = status["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("connection refused"),
        "the reason does not lead with the cause: {reason:?}"
    );
}

/// The reason of the first `reconnecting` status of a daemon on `uri`.
fn first_reason(uri: &str) -> String {
    let (_daemon, mut sub) = daemon_on(uri);
    let status = sub
        .wait_status("cam", "reconnecting", Duration::from_secs(20))
        .msg;
    status["reason"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn no_such_path_says_404() {
    let server = FixedServer::start("404 Not Found", "text/html", b"<h1>nope</h1>".to_vec());
    let reason = first_reason(&server.url("video.mjpg"));
    assert!(reason.starts_with("404 not found"), "{reason:?}");
}

#[test]
fn a_web_page_says_not_video() {
    let page = b"<!DOCTYPE html><html><body>Camera settings</body></html>\n".repeat(20);
    let server = FixedServer::start("200 OK", "text/html", page);
    let reason = first_reason(&server.url("index.html"));
    assert!(
        reason.starts_with("not video: the server sent text/html"),
        "{reason:?}"
    );
}

#[test]
fn a_video_file_over_http_still_plays() {
    let dir = common::tempdir();
    let spec = EncodeSpec {
        frames: 150,
        container: Container::Matroska,
        ..EncodeSpec::default()
    };
    let file = encode_h264(dir.path(), "clip", &spec);
    let body = std::fs::read(&file).expect("reading the clip");
    let server = FixedServer::start("200 OK", "video/x-matroska", body);
    let (_daemon, mut sub) = daemon_on(&server.url("clip.mkv"));
    predictions(&mut sub, "cam", 3, FIRST_PREDICTION);
}

#[test]
fn camera_killed_and_restarted_predictions_resume() {
    let mut camera = FfmpegMjpeg::start();
    let (_daemon, mut sub) = daemon_on(&camera.url());
    predictions(&mut sub, "cam", 2, FIRST_PREDICTION);

    camera.stop();
    let killed = Instant::now();
    let r = sub
        .wait_status("cam", "reconnecting", Duration::from_secs(15))
        .msg;
    eprintln!(
        "reconnecting {:.1?} after the kill: {}",
        killed.elapsed(),
        r["reason"]
    );
    std::thread::sleep(Duration::from_secs(2));
    camera.restart();
    let restarted = Instant::now();
    // Default backoff: attempts 1, 2, 4 s … (±20 %): back within a few attempts.
    sub.wait_status("cam", "running", Duration::from_secs(30));
    eprintln!(
        "running again {:.1?} after the restart",
        restarted.elapsed()
    );
    predictions(&mut sub, "cam", 2, FIRST_PREDICTION);
}
