//! Several subscribers, per-frame messages, stdout.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::checks::{self, Expect};
use common::{Daemon, StreamSpec};
use serde_json::Value;

const HELLO: Duration = Duration::from_secs(5);

fn builder() -> common::DaemonBuilder {
    common::require_model();
    Daemon::builder().stream(StreamSpec::test("cam1", "ball"))
}

/// (stream, seq) → the prediction.
fn by_key(preds: &[Value]) -> BTreeMap<(String, u64), Value> {
    preds
        .iter()
        .map(|m| {
            let key = (
                m["stream"].as_str().unwrap().to_owned(),
                m["seq"].as_u64().unwrap(),
            );
            (key, m.clone())
        })
        .collect()
}

#[test]
fn two_subscribers_receive_the_same_predictions() {
    let daemon = builder().spawn();
    let mut a = daemon.subscribe();
    let mut b = daemon.subscribe();
    let hello_a = a.hello(HELLO);
    let hello_b = b.hello(HELLO);
    checks::check_hello(&hello_a, &["cam1"]);
    assert_eq!(hello_a, hello_b, "two subscribers got different hellos");

    let preds_a = a.collect_predictions(6, Duration::from_secs(40));
    let last_a = preds_a.last().unwrap()["seq"].as_u64().unwrap();
    // b has been connected all along: its socket holds what it has not read.
    b.next_matching(Duration::from_secs(10), |m| {
        m["type"] == "prediction" && m["seq"].as_u64().is_some_and(|s| s >= last_a)
    })
    .unwrap_or_else(|| panic!("b never reached seq {last_a}\n{}", b.summary()));
    let preds_b: Vec<Value> = b.seen_of_type("prediction").into_iter().cloned().collect();

    let e = Expect::provisional();
    for m in preds_a.iter().chain(&preds_b) {
        checks::check_prediction(m, &e);
    }
    checks::check_seq_consecutive(&preds_a);
    checks::check_seq_consecutive(&preds_b);
    let (ka, kb) = (by_key(&preds_a), by_key(&preds_b));
    let common_keys: Vec<_> = ka.keys().filter(|k| kb.contains_key(k)).collect();
    assert!(
        common_keys.len() >= 4,
        "only {} predictions in common: a has {:?}, b has {:?}",
        common_keys.len(),
        ka.keys().collect::<Vec<_>>(),
        kb.keys().collect::<Vec<_>>()
    );
    for k in common_keys {
        let (pa, pb) = (&ka[k], &kb[k]);
        for field in ["label", "score", "clip_start", "clip_end", "top", "frames"] {
            assert_eq!(
                pa[field], pb[field],
                "{k:?}: {field} differs between subscribers:\n a: {pa}\n b: {pb}"
            );
        }
    }
}

#[test]
fn a_subscriber_leaving_does_not_disturb_the_others() {
    let daemon = builder().spawn();
    let mut stays = daemon.subscribe();
    stays.hello(HELLO);
    // One reads a little and hangs up, one hangs up at once, one never reads.
    let mut leaves = daemon.subscribe();
    leaves.hello(HELLO);
    leaves.next_of_type("prediction", Duration::from_secs(30));
    drop(leaves);
    drop(daemon.subscribe());
    let _idle = daemon.subscribe();

    let preds = stays.collect_of_type("prediction", 8, Duration::from_secs(40));
    checks::check_seq_consecutive(stays.seen_of_type("prediction"));
    checks::check_live_cadence(&preds[2..], &Expect::provisional());
    let mut daemon = daemon;
    daemon.assert_running();
}

#[test]
fn per_frame_publishes_frames_at_sample_fps() {
    let daemon = builder().per_frame(true).spawn();
    let mut sub = daemon.subscribe();
    checks::check_hello(&sub.hello(HELLO), &["cam1"]);
    sub.next_of_type("frame", Duration::from_secs(30));
    let got = sub.collect_for(Duration::from_secs(4));

    let e = Expect::provisional();
    let frames: Vec<_> = got.iter().filter(|r| r.msg["type"] == "frame").collect();
    assert!(
        frames.len() >= 8,
        "{} frame messages in 4 s at sample_fps 5\n{}",
        frames.len(),
        sub.summary()
    );
    let mut pts = Vec::new();
    for r in &frames {
        let (stream, p) = checks::check_frame(&r.msg, &e);
        assert_eq!(stream, "cam1");
        pts.extend(p);
    }
    let span = (frames.last().unwrap().at - frames[0].at).as_secs_f64();
    let rate = (frames.len() - 1) as f64 / span;
    checks::assert_near(
        "frame messages per second",
        rate,
        5.0,
        checks::TOL_LO,
        checks::TOL_HI,
    );
    if pts.len() == frames.len() {
        assert!(
            pts.windows(2).all(|w| w[1] > w[0]),
            "frame pts_ns not increasing: {pts:?}"
        );
        let steps: Vec<f64> = pts.windows(2).map(|w| (w[1] - w[0]) as f64 / 1e9).collect();
        checks::assert_near(
            "median frame pts step (s)",
            checks::median(steps),
            0.2,
            checks::TOL_LO,
            checks::TOL_HI,
        );
    }
    // Predictions go on beside frames.
    let preds: Vec<_> = got
        .iter()
        .filter(|r| r.msg["type"] == "prediction")
        .collect();
    assert!(preds.len() >= 4, "{} predictions in 4 s", preds.len());
    for r in &got {
        checks::check_any(&r.msg, &e);
    }
}

#[test]
fn without_per_frame_there_are_no_frame_messages() {
    let daemon = builder().spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    sub.collect_predictions(4, Duration::from_secs(30));
    assert!(
        sub.seen_of_type("frame").is_empty(),
        "frame messages with per_frame = false\n{}",
        sub.summary()
    );
}

#[test]
fn stdout_carries_the_messages_too() {
    let daemon = builder().stdout(true).spawn();
    let e = Expect::provisional();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = daemon.stdout();
        let preds: Vec<Value> = out
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["type"] == "prediction")
            .collect();
        if preds.len() >= 3 {
            for m in &preds {
                checks::check_prediction(m, &e);
            }
            checks::check_seq_consecutive(&preds);
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than 3 prediction lines on stdout within 30 s:\n{}\n{}",
            common::daemon::tail(&out, 4000),
            daemon.describe()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
