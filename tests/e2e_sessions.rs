//! Several ONNX Runtime sessions per model (`[runtime] sessions`) in the real daemon:
//! each session runs on an inference thread of its own, and streams are spread over
//! them, so that two streams keep both threads running batches.

mod common;

use std::time::Duration;

use common::{Daemon, StreamSpec};

/// CPU clock ticks (user + system) of each thread of `pid`, by thread name.
fn thread_ticks(pid: u32) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).expect("read /proc/PID/task") {
        let dir = entry.unwrap().path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue; // the thread ended meanwhile
        };
        // Fields after the parenthesised name: utime and stime are fields 14 and 15.
        let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks = rest[11].parse::<u64>().unwrap() + rest[12].parse::<u64>().unwrap();
        out.push((comm.trim().to_string(), ticks));
    }
    out
}

/// The inference threads' names (sorted) once both streams have published clips,
/// with their CPU ticks; and the daemon's stderr.
fn inference_threads(sessions: u32) -> (Vec<(String, u64)>, String) {
    common::require_model();
    let d = Daemon::builder()
        .sessions(sessions)
        .window(4)
        .stride(4)
        .stream(StreamSpec::test("cam1", "ball").sample_fps(10))
        .stream(StreamSpec::test("cam2", "snow").sample_fps(10))
        .spawn();
    let mut sock = d.subscribe();
    sock.hello(Duration::from_secs(5));
    sock.collect_predictions_per_stream(&["cam1", "cam2"], 5, Duration::from_secs(60));
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
