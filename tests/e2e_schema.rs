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
        seen.insert(r.ty().to_string());
    }
    let want: BTreeSet<String> = ["hello", "status", "prediction", "frame", "event"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(seen, want, "{}", sub.summary());
}

#[test]
fn the_schema_is_strict() {
    let v = schema::validator();
    let ok = serde_json::json!({"type": "status", "v": 1, "stream": "a", "state": "running", "reason": "x"});
    assert!(v.is_valid(&ok));
    for bad in [
        serde_json::json!({"type": "status", "v": 1, "stream": "a", "state": "sleeping", "reason": "x"}),
        serde_json::json!({"type": "status", "v": 1, "stream": "a b", "state": "running", "reason": "x"}),
        serde_json::json!({"type": "status", "v": 1, "stream": "a", "state": "running"}),
        serde_json::json!({"type": "status", "v": 2, "stream": "a", "state": "running", "reason": "x"}),
        serde_json::json!({"type": "chat", "v": 1}),
        serde_json::json!({"v": 1}),
        serde_json::json!({"type": "goodbye", "v": 1, "reason": "x", "extra": 1}),
    ] {
        assert!(!v.is_valid(&bad), "accepted {bad}");
    }
}
