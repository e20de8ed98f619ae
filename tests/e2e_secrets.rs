//! Secrets out of the config: camera and MQTT credentials given through the
//! environment, a file and `$CREDENTIALS_DIRECTORY` reach real servers that ask
//! for them, and appear nowhere else: not in `print-config --effective`,
//! `/api/config`, the log, the socket messages or `/metrics`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::http::get;
use common::mqtt::Broker;
use common::rtsp::{Auth, RtspServer};
use common::{Daemon, StreamSpec, Subscriber};

const HELLO: Duration = Duration::from_secs(5);
const FIRST: Duration = Duration::from_secs(60);

/// The secret values: none may show anywhere but where they are used.
const CAM1_USER: &str = "envuser-K9w";
const CAM1_PASSWORD: &str = "cred-pa55-Xq1";
const CAM2_PASSWORD: &str = "file-pa55-Zr7";
const MQTT_USER: &str = "mqtt-user-Hb3";
const MQTT_PASSWORD: &str = "mqtt-pa55-Lv8";
/// A token in the query of a whole URI kept as a credential (not userinfo: only
/// the daemon's scrubbing of resolved values hides it).
const CAM3_TOKEN: &str = "tok-Secret-77";

/// A camera asking for `user` and `password` (basic authentication).
fn camera(user: &str, password: &str) -> RtspServer {
    RtspServer::start_with_auth(Auth {
        user: user.into(),
        password: password.into(),
        digest: false,
    })
}

/// A Mosquitto that lets in only [`MQTT_USER`] with [`MQTT_PASSWORD`].
fn broker(dir: &Path) -> Broker {
    let passwd = dir.join("passwd");
    let status = Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwd)
        .args([MQTT_USER, MQTT_PASSWORD])
        .status()
        .expect("run mosquitto_passwd");
    assert!(status.success());
    Broker::start_with(
        common::free_port(),
        &format!("password_file {}", passwd.display()),
    )
}

/// Waits for a `status` of `stream` in `state`, unless one came already.
fn seen_or_wait(sub: &mut Subscriber, stream: &str, state: &str) -> (String, String) {
    let seen = sub.statuses(stream).into_iter().find(|(s, _)| s == state);
    seen.unwrap_or_else(|| {
        let r = sub.wait_status(stream, state, FIRST);
        (
            state.to_string(),
            r.msg["reason"].as_str().unwrap_or("").to_string(),
        )
    })
}

/// Panics if `text` (named `what`) holds any secret value.
fn assert_no_secret(what: &str, text: &str) {
    for secret in [
        CAM1_USER,
        CAM1_PASSWORD,
        CAM2_PASSWORD,
        MQTT_USER,
        MQTT_PASSWORD,
        CAM3_TOKEN,
    ] {
        assert!(!text.contains(secret), "{what} shows `{secret}`:\n{text}");
    }
}

#[test]
fn credentials_from_env_files_and_systemd_reach_the_servers_and_nowhere_else() {
    common::require_model();
    let secrets = common::tempdir();
    let creds = secrets.path().join("credentials");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("cam1"), format!("{CAM1_PASSWORD}\n")).unwrap();
    std::fs::write(creds.join("mqtt"), MQTT_PASSWORD).unwrap();
    // Nothing listens there: its errors name the URI, which must not show the token.
    let cam3_uri = format!(
        "http://127.0.0.1:{}/x?token={CAM3_TOKEN}",
        common::free_port()
    );
    std::fs::write(creds.join("cam3-uri"), &cam3_uri).unwrap();
    let cam2_file = secrets.path().join("cam2.pw");
    std::fs::write(&cam2_file, format!("{CAM2_PASSWORD}\n")).unwrap();
    let (cam1, cam2) = (
        camera(CAM1_USER, CAM1_PASSWORD),
        camera("viewer", CAM2_PASSWORD),
    );
    let broker = broker(secrets.path());
    let port = common::free_port();
    let prefix = format!("t/secrets-{}", std::process::id());
    let env = [
        ("CREDENTIALS_DIRECTORY", creds.display().to_string()),
        ("CAM1_USER", CAM1_USER.to_string()),
        ("MQTT_USER", MQTT_USER.to_string()),
    ];
    let cam1_uri = format!(
        "rtsp://${{CAM1_USER}}:${{credential:cam1}}@127.0.0.1:{}/test",
        cam1.port()
    );
    let cam2_uri = format!(
        "rtsp://viewer:${{file:{}}}@127.0.0.1:{}/test",
        cam2_file.display(),
        cam2.port()
    );
    let mut builder = Daemon::builder()
        .stream(StreamSpec::uri("cam1", &cam1_uri))
        .stream(StreamSpec::uri("cam2", &cam2_uri))
        .stream(StreamSpec::uri("cam3", "${credential:cam3-uri}"))
        .extra_toml(&format!(
            "[http]\nlisten = \"127.0.0.1:{port}\"\n\n[mqtt]\nurl = \"{}\"\n\
             topic_prefix = \"{prefix}\"\nusername = \"${{MQTT_USER}}\"\n\
             password = \"${{credential:mqtt}}\"\n",
            broker.url()
        ));
    for (k, v) in &env {
        builder = builder.env(k, v.clone());
    }
    let daemon = builder.spawn();
    let mut mqtt = broker.subscribe_as(
        &format!("{prefix}/#"),
        &["-u", MQTT_USER, "-P", MQTT_PASSWORD],
    );
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    for cam in ["cam1", "cam2"] {
        seen_or_wait(&mut sub, cam, "running");
    }
    sub.collect_predictions_per_stream(&["cam1", "cam2"], 2, FIRST);
    seen_or_wait(&mut sub, "cam3", "reconnecting");
    mqtt.expect(&format!("{prefix}/cam1/prediction"), FIRST);
    common::http::wait_listening(port, || daemon.describe());

    let effective = Command::new(common::actiond_bin())
        .args(["print-config", "--effective", "--config"])
        .arg(&daemon.config_path)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run print-config");
    let printed = String::from_utf8_lossy(&effective.stdout).into_owned();
    assert!(
        effective.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&effective.stderr)
    );
    let api = get(port, "/api/config");
    assert_eq!(api.status, 200, "{}", api.body);
    let json = api.json();
    assert_eq!(json["stream"][0]["uri"], cam1_uri.as_str(), "{}", api.body);
    assert_eq!(
        json["stream"][1]["uri"],
        cam2_uri.replace("viewer:", "***:").as_str(),
        "{}",
        api.body
    );
    assert_eq!(json["mqtt"]["password"], "${credential:mqtt}");
    assert_eq!(json["mqtt"]["username"], "${MQTT_USER}");
    assert!(
        printed.contains("password = \"${credential:mqtt}\""),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("uri = \"{cam1_uri}\"")),
        "{printed}"
    );
    let metrics = get(port, "/metrics").body;
    let page = get(port, "/").body;
    let streams = get(port, "/api/streams").body;
    let messages: String = sub.history.iter().map(|r| format!("{}\n", r.msg)).collect();
    assert_no_secret("print-config --effective", &printed);
    assert_no_secret("/api/config", &api.body);
    assert_no_secret("/metrics", &metrics);
    assert_no_secret("the status page", &page);
    assert_no_secret("/api/streams", &streams);
    assert_no_secret("the socket messages", &messages);
    assert_no_secret("MQTT messages", &mqtt.summary());
    assert_no_secret("the log", &daemon.stderr());
}

#[test]
fn an_unset_reference_fails_the_start_naming_file_line_and_key_only() {
    common::require_model();
    let daemon = Daemon::builder()
        .stream(StreamSpec::test("ok", "ball"))
        .stream(StreamSpec::uri(
            "cam",
            "rtsp://admin:${credential:cam}@127.0.0.1:9/x",
        ))
        .spawn_unready();
    let mut daemon = daemon;
    let status = daemon
        .wait_exit(Duration::from_secs(20))
        .expect("exits when a reference cannot be resolved");
    assert!(!status.success());
    let text = daemon.config_text();
    let line = text
        .lines()
        .position(|l| l.contains("${credential:cam}"))
        .unwrap()
        + 1;
    let err = daemon.stderr();
    let want = format!("{}:{line}:", daemon.config_path.display());
    assert!(
        err.contains(&want)
            && err.contains("stream[1].uri")
            && err.contains("`${credential:cam}`: $CREDENTIALS_DIRECTORY is not set"),
        "{err}"
    );
}

#[test]
fn a_reload_reads_a_rotated_credential_and_the_stream_reconnects_with_it() {
    common::require_model();
    let secrets = common::tempdir();
    let creds = secrets.path().join("credentials");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("cam"), "old-pa55-Wq4\n").unwrap();
    let camera = camera("viewer", CAM1_PASSWORD);
    let uri = format!(
        "rtsp://viewer:${{credential:cam}}@127.0.0.1:{}/test",
        camera.port()
    );
    let daemon = Daemon::builder()
        .stream(StreamSpec::uri("cam", &uri).reconnect_s(1, 2))
        .env("CREDENTIALS_DIRECTORY", creds.display().to_string())
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    let refused = sub.wait_status("cam", "reconnecting", FIRST);
    assert!(
        refused.msg["reason"].as_str().unwrap_or("").contains("401"),
        "the old password is refused: {}",
        refused.msg
    );
    // Rotated: the same config text now resolves to another URI, so the stream restarts.
    std::fs::write(creds.join("cam"), format!("{CAM1_PASSWORD}\n")).unwrap();
    daemon.signal("HUP");
    sub.wait_status("cam", "running", FIRST);
    sub.collect_predictions(2, FIRST);
    let messages: String = sub.history.iter().map(|r| format!("{}\n", r.msg)).collect();
    assert_no_secret("the socket messages", &messages);
    assert_no_secret("the log", &daemon.stderr());
    assert!(
        !daemon.stderr().contains("old-pa55-Wq4"),
        "{}",
        daemon.stderr()
    );
}
