//! Several ONNX Runtime sessions per model (`[runtime] sessions`) in the real daemon:
//! each session runs on an inference thread of its own, and streams are spread over
//! them, so that two streams keep both threads running batches.

mod common;

use std::time::Duration;

use common::{Daemon, StreamSpec};

/// CPU clock ticks (user + system) of each thread of `pid`, by thread name.
fn thread_ticks(pid: u32) -> Vec<(String, u64)> {
    let ticks = |f: &[String]| f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    // Fields after the parenthesised name: utime and stime are fields 14 and 15.
    let threads = common::procfs::threads(pid).into_iter();
    threads.map(|t| (t.name, ticks(&t.fields))).collect()
}

/// A daemon with `sessions` sessions and two test streams, `cam1` and `cam2`, and a
/// subscriber that has read `hello` and `n` predictions of each stream.
fn two_streams(sessions: u32, n: usize) -> (Daemon, common::Subscriber) {
    common::require_model();
    let d = Daemon::builder()
        .sessions(sessions)
        .window(4)
        .stride(4)
        .stream(StreamSpec::test("cam1", "ball").sample_fps(10))
        .stream(StreamSpec::test("cam2", "snow").sample_fps(10))
        .spawn();
    let mut sub = d.subscribe();
    sub.hello(Duration::from_secs(5));
    sub.collect_predictions_per_stream(&["cam1", "cam2"], n, Duration::from_secs(60));
    (d, sub)
}

/// The inference threads' names (sorted) once both streams have published clips,
/// with their CPU ticks; and the daemon's stderr.
fn inference_threads(sessions: u32) -> (Vec<(String, u64)>, String) {
    let (d, _sub) = two_streams(sessions, 5);
    let mut t: Vec<(String, u64)> = thread_ticks(d.pid())
        .into_iter()
        .filter(|(n, _)| n.starts_with("inference"))
        .collect();
    t.sort();
    (t, d.stderr())
}

#[test]
fn two_sessions_run_two_streams_on_two_inference_threads() {
    let (threads, log) = inference_threads(2);
    let names: Vec<&str> = threads.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["inference", "inference-1"], "{threads:?}");
    // 20 frames of MobileNetV2 per stream: far more than one 10 ms tick each.
    assert!(
        threads.iter().all(|(_, t)| *t > 0),
        "both ran batches: {threads:?}"
    );
    assert!(
        log.contains("sessions=2"),
        "the log names the sessions:\n{log}"
    );
    for session in ["session=0", "session=1"] {
        assert!(log.contains(session), "{session} runs:\n{log}");
    }
}

#[test]
fn one_session_runs_both_streams_on_one_inference_thread() {
    let (threads, _) = inference_threads(1);
    let names: Vec<&str> = threads.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["inference"], "{threads:?}");
}

#[test]
fn with_two_sessions_a_reload_adds_and_removes_streams_and_the_others_go_on() {
    let (daemon, mut sub) = two_streams(2, 2);
    // cam1 (the first session's) goes, cam3 comes: it takes the freed session.
    let mut cfg = daemon.config.clone();
    cfg.streams[0] = StreamSpec::test("cam3", "smpte").sample_fps(10);
    std::fs::write(&daemon.config_path, cfg.to_toml(&daemon.socket_path)).unwrap();
    daemon.signal("HUP");
    let hello = sub.next_of_type("hello", Duration::from_secs(15));
    common::checks::check_hello(&hello, &["cam3", "cam2"]);
    sub.collect_predictions_per_stream(&["cam2", "cam3"], 3, Duration::from_secs(60));
    let cam2: Vec<_> = sub
        .history
        .iter()
        .filter(|r| r.msg["type"] == "prediction" && r.msg["stream"] == "cam2")
        .map(|r| r.msg.clone())
        .collect();
    common::checks::check_seq_consecutive(&cam2);
}
