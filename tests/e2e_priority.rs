//! Thread priorities of the real daemon, read from /proc: the streams' GStreamer
//! threads run `stream_nice` lower than the inference worker.

mod common;

use std::time::Duration;

use common::{Daemon, StreamSpec};

/// (thread name, nice value) of every thread of `pid`, the main thread first.
fn threads(pid: u32) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in common::procfs::threads(pid) {
        // Fields after the parenthesised name: state is field 3, nice field 19.
        let nice: i64 = t.fields[16].parse().unwrap();
        out.insert(if t.main { 0 } else { out.len() }, (t.name, nice));
    }
    out
}

/// The daemon's threads once both streams' pipelines deliver predictions.
fn running_threads(nice: Option<u32>) -> Vec<(String, i64)> {
    common::require_model();
    let mut b = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .stream(StreamSpec::test("cam2", "snow"));
    if let Some(n) = nice {
        b = b.stream_nice(n);
    }
    let d = b.spawn();
    let mut sock = d.subscribe();
    sock.hello(Duration::from_secs(5));
    sock.collect_predictions_per_stream(&["cam1", "cam2"], 1, Duration::from_secs(30));
    threads(d.pid())
}

/// GStreamer names its streaming threads after the element pad they push from.
fn is_streaming(name: &str) -> bool {
    name.starts_with("videotestsrc") || name.contains(":src")
}

#[test]
fn streaming_threads_run_lower_than_inference_by_default() {
    let t = running_threads(None);
    // The daemon's own nice value (the test may itself run lowered).
    let base = t[0].1;
    let inference: Vec<i64> = t
        .iter()
        .filter(|(n, _)| n == "inference")
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(inference, [base], "{t:?}");
    let streaming: Vec<i64> = t
        .iter()
        .filter(|(n, _)| is_streaming(n))
        .map(|(_, v)| *v)
        .collect();
    assert!(streaming.len() >= 2, "no streaming threads found: {t:?}");
    assert!(streaming.iter().all(|&v| v == (base + 5).min(19)), "{t:?}");
}

#[test]
fn stream_nice_0_keeps_every_thread_at_the_daemon_s_priority() {
    let t = running_threads(Some(0));
    assert!(t.iter().any(|(n, _)| is_streaming(n)), "{t:?}");
    assert!(t.iter().all(|(_, v)| *v == t[0].1), "{t:?}");
}
