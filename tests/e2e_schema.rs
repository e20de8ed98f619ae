//! Real messages from the socket validate against the published JSON Schema
//! (schema/messages.schema.json); MQTT payloads are checked in e2e_mqtt.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{schema, Daemon, StreamSpec};

#[test]
fn every_message_type_from_the_socket_matches_the_schema() {
    common::require_model();
    // per_frame for frame messages; threshold 0 and confirm 1 for events.
    let mut d = Daemon::builder()
        .stream(StreamSpec::test("cam-1", "ball"))
        .stream(StreamSpec::test("cam.2", "snow"))
        .per_frame(true)
        .threshold(0.0)
        .confirm(1)
        .spawn();
    let v = schema::validator();
    let lenient = schema::lenient_validator();
    let mut sub = d.subscribe();
    sub.hello(Duration::from_secs(5));
    sub.collect_predictions_per_stream(&["cam-1", "cam.2"], 2, Duration::from_secs(30));
    d.terminate();
    // Read what was left, up to the end of the stream.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while sub
        .recv(deadline.saturating_duration_since(std::time::Instant::now()))
        .is_ok()
    {}
    let mut seen = BTreeSet::new();
    for r in &sub.history {
        schema::assert_valid(&v, &r.msg);
        assert!(lenient.is_valid(&r.msg), "lenient refused {}", r.msg);
        seen.insert(r.ty().to_string());
    }
    let want: BTreeSet<String> = ["hello", "status", "prediction", "frame", "event"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(seen, want, "{}", sub.summary());
}

/// A publishing time as the daemon writes it.
const TS: &str = "2026-12-02T17:00:00.123456Z";

#[test]
fn the_schema_is_strict() {
    let v = schema::validator();
    let ok = serde_json::json!({"type": "status", "v": 1, "stream": "a", "state": "running", "reason": "x", "ts": TS});
    assert!(v.is_valid(&ok));
    for bad in [
        serde_json::json!({"type": "status", "v": 1, "stream": "a", "state": "sleeping", "reason": "x", "ts": TS}),
        serde_json::json!({"type": "status", "v": 1, "stream": "a b", "state": "running", "reason": "x", "ts": TS}),
        serde_json::json!({"type": "status", "v": 1, "stream": "a", "state": "running"}),
        serde_json::json!({"type": "status", "v": 2, "stream": "a", "state": "running", "reason": "x", "ts": TS}),
        serde_json::json!({"type": "chat", "v": 1, "ts": TS}),
        serde_json::json!({"v": 1, "ts": TS}),
        serde_json::json!({"type": "goodbye", "v": 1, "reason": "x", "extra": 1, "ts": TS}),
        // `ts` is required.
        serde_json::json!({"type": "status", "v": 1, "stream": "a", "state": "running", "reason": "x"}),
    ] {
        assert!(!v.is_valid(&bad), "accepted {bad}");
    }
}

/// Fleets merge messages from many boxes: each has `ts`, each event an `id`, and a
/// stream's messages carry its `tags`; new tags by SIGHUP arrive without a restart.
#[test]
fn messages_carry_ts_event_ids_and_tags_that_a_reload_changes_without_a_restart() {
    common::require_model();
    let started = std::time::SystemTime::now();
    let spec = |site: &str| {
        StreamSpec::test("cam", "ball").raw(
            "tags",
            &format!("{{ site = \"{site}\", door = \"north 2\" }}"),
        )
    };
    let d = Daemon::builder()
        .stream(spec("hall"))
        .stream(StreamSpec::test("plain", "snow"))
        .threshold(0.0)
        .confirm(1)
        .spawn();
    let mut sub = d.subscribe();
    let v = schema::validator();
    let hello = sub.hello(Duration::from_secs(5));
    assert!(hello["ts"].is_string(), "{hello}");
    let limit = Duration::from_secs(30);
    let event = sub
        .next_matching(limit, |m| m["type"] == "event" && m["stream"] == "cam")
        .expect("an event");
    schema::assert_valid(&v, &event.msg);
    let id = event.msg["id"].as_str().unwrap();
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(event.msg["tags"]["site"], "hall");
    assert_eq!(event.msg["tags"]["door"], "north 2");
    let ts = event.msg["ts"].as_str().unwrap();
    // RFC 3339 in UTC: to the second, later text is a later time.
    let since = actiond::publish::rfc3339(started - Duration::from_secs(1));
    assert!(
        ts.ends_with('Z') && ts[..19] >= since[..19],
        "{ts} before {since}"
    );
    let plain = sub
        .next_matching(limit, |m| {
            m["type"] == "prediction" && m["stream"] == "plain"
        })
        .expect("a prediction");
    assert!(
        plain.msg.get("tags").is_none(),
        "no tags configured: {}",
        plain.msg
    );
    let second = sub
        .next_matching(limit, |m| m["type"] == "event" && m["stream"] == "plain")
        .expect("plain's event");
    assert_ne!(second.msg["id"], event.msg["id"]);

    let mut cfg = d.config.clone();
    cfg.streams[0] = spec("yard");
    std::fs::write(&d.config_path, cfg.to_toml(&d.socket_path)).unwrap();
    d.signal("HUP");
    let moved = sub
        .next_matching(limit, |m| {
            m["stream"] == "cam" && m["tags"]["site"] == "yard"
        })
        .unwrap_or_else(|| panic!("no message with the new tags\n{}", sub.summary()));
    assert_eq!(moved.msg["tags"]["door"], "north 2");
    let restarted = sub.history.iter().any(|r| {
        r.msg["type"] == "status"
            && r.msg["stream"] == "cam"
            && r.msg["state"] == "starting"
            && r.msg["tags"]["site"] == "yard"
    });
    assert!(
        !restarted,
        "new tags restarted the stream\n{}",
        sub.summary()
    );
}
