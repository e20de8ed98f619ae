//! Smoothing settings seen from outside: `ema`, and label-change events.

mod common;

use std::time::Duration;

use common::checks::{self, Expect};
use common::{Daemon, StreamSpec};

const HELLO: Duration = Duration::from_secs(5);

#[test]
fn ema_predicts_every_stride_frames() {
    common::require_model();
    let daemon = Daemon::builder()
        .method("ema")
        .window(4)
        .stride(3)
        .stream(StreamSpec::test("cam1", "ball"))
        .spawn();
    let mut sub = daemon.subscribe();
    checks::check_hello(&sub.hello(HELLO), &["cam1"]);
    let preds = sub.collect_of_type("prediction", 7, Duration::from_secs(40));
    let e = Expect {
        stride: 3,
        ..Expect::provisional()
    };
    let msgs: Vec<_> = preds.iter().map(|r| r.msg.clone()).collect();
    checks::check_seq_consecutive(&msgs);
    let decoded: Vec<_> = msgs
        .iter()
        .map(|m| checks::check_prediction(m, &e))
        .collect();
    let steps: Vec<f64> = decoded[1..]
        .windows(2)
        .map(|w| w[1].clip_end - w[0].clip_end)
        .collect();
    checks::assert_near(
        "median interval between clip_end (s)",
        checks::median(steps),
        e.clip_interval_s(),
        checks::TOL_LO,
        checks::TOL_HI,
    );
}

/// With threshold 0 and confirm 1 every label the smoother settles on is
/// an event: events form a chain (each `from` is the previous `to`), never
/// repeat a label, and name labels that predictions carried.
#[test]
fn label_changed_events_form_a_chain() {
    common::require_model();
    let daemon = Daemon::builder()
        .threshold(0.0)
        .confirm(1)
        .stream(StreamSpec::test("cam1", "ball"))
        .spawn();
    let mut sub = daemon.subscribe();
    checks::check_hello(&sub.hello(HELLO), &["cam1"]);
    sub.next_of_type("event", Duration::from_secs(30));
    sub.collect_predictions(6, Duration::from_secs(30));

    let e = Expect::provisional();
    for r in &sub.history {
        checks::check_any(&r.msg, &e);
    }
    let events = sub.seen_of_type("event");
    let preds = sub.seen_of_type("prediction");
    let labels: Vec<&str> = preds.iter().filter_map(|p| p["label"].as_str()).collect();
    let first_seq = preds.first().and_then(|p| p["seq"].as_u64());
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(ev["stream"], "cam1");
        assert_ne!(ev["from"], ev["to"], "an event that changes nothing: {ev}");
        if i > 0 {
            assert_eq!(
                ev["from"],
                events[i - 1]["to"],
                "event chain broken:\n {}\n {ev}",
                events[i - 1]
            );
        } else if first_seq == Some(1) {
            assert!(
                ev["from"].is_null(),
                "the first label of a stream comes from null: {ev}"
            );
        }
        let to = ev["to"].as_str().unwrap();
        assert!(
            labels.contains(&to),
            "event to {to:?}, but no prediction had that label: {labels:?}"
        );
    }
}
