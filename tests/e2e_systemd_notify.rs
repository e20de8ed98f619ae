//! The systemd notify protocol, checked against a test-owned `NOTIFY_SOCKET`:
//! READY after start, WATCHDOG pings at half the interval, STOPPING on SIGTERM.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::{Daemon, DaemonBuilder, StreamSpec};

/// Receives datagrams until one starts with `prefix`; returns all received so far.
fn until(
    sock: &UnixDatagram,
    prefix: &str,
    limit: Duration,
    seen: &mut Vec<(Instant, String)>,
) -> bool {
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        sock.set_read_timeout(Some(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10)),
        ))
        .unwrap();
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let hit = msg.lines().any(|l| l.starts_with(prefix));
            seen.push((Instant::now(), msg));
            if hit {
                return true;
            }
        }
    }
    false
}

/// A test-owned notify socket in a new temporary folder, and its path.
fn notify_socket() -> (tempfile::TempDir, String, UnixDatagram) {
    let dir = common::tempdir();
    let notify_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&notify_path).unwrap();
    let path = notify_path.to_str().unwrap().to_string();
    (dir, path, sock)
}

/// Starts `builder`'s daemon with a test-owned `NOTIFY_SOCKET` and a 0.4 s watchdog,
/// and waits for READY=1. The temporary folder holds the socket.
fn spawn_with_watchdog(builder: DaemonBuilder) -> (tempfile::TempDir, UnixDatagram, Daemon) {
    spawn_notified(builder.env("WATCHDOG_USEC", "400000"))
}

/// Starts `builder`'s daemon with a test-owned `NOTIFY_SOCKET` and waits for
/// READY=1. The temporary folder holds the socket.
fn spawn_notified(builder: DaemonBuilder) -> (tempfile::TempDir, UnixDatagram, Daemon) {
    let (dir, notify_path, sock) = notify_socket();
    let daemon = builder.env("NOTIFY_SOCKET", &notify_path).spawn_unready();
    let mut seen = Vec::new();
    assert!(
        until(&sock, "READY=1", Duration::from_secs(30), &mut seen),
        "no READY=1; got {seen:?}\n{}",
        daemon.stderr()
    );
    (dir, sock, daemon)
}

#[test]
fn ready_watchdog_and_stopping_reach_systemd() {
    common::require_model();
    let (_dir, sock, mut daemon) =
        spawn_with_watchdog(Daemon::builder().stream(StreamSpec::test("cam1", "ball")));
    // Pings every 0.2 s while inference makes progress: at least 5 in 2 s.
    let start = Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_secs(2) {
        let mut one = Vec::new();
        if until(&sock, "WATCHDOG=1", Duration::from_millis(500), &mut one) {
            pings += 1;
        }
    }
    assert!(pings >= 5, "only {pings} watchdog pings in 2 s");

    daemon.signal("TERM");
    let mut tail = Vec::new();
    assert!(
        until(&sock, "STOPPING=1", Duration::from_secs(5), &mut tail),
        "no STOPPING=1 after SIGTERM; got {tail:?}"
    );
    let status = daemon
        .wait_exit(Duration::from_secs(10))
        .expect("exits after SIGTERM");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn no_watchdog_pings_for_another_process() {
    common::require_model();
    let (_dir, notify_path, sock) = notify_socket();
    let _daemon = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", "200000")
        .env("WATCHDOG_PID", "1")
        .spawn_unready();
    let mut seen = Vec::new();
    assert!(until(&sock, "READY=1", Duration::from_secs(30), &mut seen));
    let mut after = Vec::new();
    until(&sock, "WATCHDOG=1", Duration::from_secs(1), &mut after);
    assert!(
        after.iter().all(|(_, m)| !m.contains("WATCHDOG=1")),
        "WATCHDOG_PID names another process, yet pings came: {after:?}"
    );
}

/// Writes a model that takes seconds per run (three chained 5376² matrix products of
/// the input, bounded by tanh, folded into constant logits) and its manifest; made
/// with the recipe's Python `onnx` package.
fn slow_model(dir: &std::path::Path) -> std::path::PathBuf {
    let python = common::repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/python-env.sh",
        python.display()
    );
    let model = dir.join("slow.onnx");
    let script = r#"
import sys, onnx
from onnx import helper, TensorProto as T
init = [
    helper.make_tensor("shape", T.INT64, [2], [224, 672]),
    helper.make_tensor("reps", T.INT64, [2], [8, 8]),
    helper.make_tensor("zero", T.FLOAT, [], [0.0]),
    helper.make_tensor("logits", T.FLOAT, [1, 5], [2.0, 1.0, 0.5, 0.2, 0.1]),
]
nodes = [
    helper.make_node("Reshape", ["input", "shape"], ["x"]),
    helper.make_node("Tile", ["x", "reps"], ["big"]),
    helper.make_node("Transpose", ["big"], ["bigT"]),
    helper.make_node("MatMul", ["bigT", "big"], ["m1"]),
    helper.make_node("Tanh", ["m1"], ["t1"]),
    helper.make_node("MatMul", ["t1", "t1"], ["m2"]),
    helper.make_node("Tanh", ["m2"], ["t2"]),
    helper.make_node("MatMul", ["t2", "t1"], ["m3"]),
    helper.make_node("Tanh", ["m3"], ["t3"]),
    helper.make_node("ReduceMean", ["t3"], ["mean"], keepdims=0),
    helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
    helper.make_node("Add", ["logits", "nothing"], ["l"]),
    helper.make_node("Softmax", ["l"], ["probabilities"], axis=1),
]
graph = helper.make_graph(
    nodes, "slow",
    [helper.make_tensor_value_info("input", T.FLOAT, [1, 224, 224, 3])],
    [helper.make_tensor_value_info("probabilities", T.FLOAT, [1, 5])],
    init,
)
m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
"#;
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "making the slow model failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(
        dir.join("model.toml"),
        r#"name = "slow"
labels = ["a", "b", "c", "d", "e"]
[input]
name = "input"
layout = "NHWC"
width = 224
height = 224
[output]
name = "probabilities"
kind = "probabilities"
"#,
    )
    .unwrap();
    model
}

#[test]
fn watchdog_pings_stop_while_inference_is_wedged_and_resume_after() {
    common::require_model();
    let models = common::tempdir();
    let model = slow_model(models.path());
    let (_dir, sock, mut daemon) = spawn_with_watchdog(
        Daemon::builder()
            .model(&model)
            .inference_stall_s(1.0)
            .stream(StreamSpec::test("cam1", "ball").sample_fps(1)),
    );
    // The first frame starts a run of seconds: after 1 s without progress the pings
    // stop and the status says why.
    let mut log = Vec::new();
    assert!(
        until(
            &sock,
            "STATUS=inference stalled",
            Duration::from_secs(30),
            &mut log
        ),
        "the status never said inference stalled; got {log:?}\n{}",
        daemon.stderr()
    );
    let stalled_at = log.last().unwrap().0;
    // The run ends and progress resumes: so do the pings.
    let mut after = Vec::new();
    assert!(
        until(&sock, "WATCHDOG=1", Duration::from_secs(60), &mut after),
        "no watchdog ping after the run ended; got {after:?}\n{}",
        daemon.stderr()
    );
    // From the last ping before the stall to the first after it, silence: pings
    // came every 0.2 s before. The stall is declared 1 s after the run began and the
    // last ping may fall just before that, so the silence is the run's length less
    // up to 1 s; three missed pings (0.6 s) are what the check demands, whatever the
    // machine's speed.
    let last_ping = log
        .iter()
        .rev()
        .find(|(_, m)| m.contains("WATCHDOG=1"))
        .map(|(t, _)| *t)
        .expect("pings came before the first frame was classified");
    assert!(last_ping < stalled_at);
    let silent = after.last().unwrap().0.duration_since(last_ping);
    assert!(
        silent >= Duration::from_millis(600),
        "pings went on while inference was wedged: only {silent:?} without one"
    );
    assert!(
        daemon.stderr().contains("inference has made no progress"),
        "{}",
        daemon.stderr()
    );
    daemon.signal("TERM");
    let _ = daemon.wait_exit(Duration::from_secs(60));
}

/// `CLOCK_MONOTONIC` now, in microseconds (the clock of `MONOTONIC_USEC=`).
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

#[test]
fn status_counts_running_streams_and_a_reload_is_bracketed_with_monotonic_usec() {
    common::require_model();
    let closed = common::free_port();
    let (_dir, sock, mut daemon) = spawn_notified(
        Daemon::builder()
            .stream(StreamSpec::test("a", "ball"))
            .stream(StreamSpec::uri(
                "down",
                &format!("rtsp://127.0.0.1:{closed}/x"),
            )),
    );
    let mut seen = Vec::new();
    assert!(
        until(
            &sock,
            "STATUS=1 of 2 streams running",
            Duration::from_secs(30),
            &mut seen
        ),
        "the status line never counted the running stream; got {seen:?}"
    );

    // A reload that drops the stream that is down.
    let mut cfg = daemon.config.clone();
    cfg.streams.retain(|s| s.name == "a");
    std::fs::write(&daemon.config_path, cfg.to_toml(&daemon.socket_path)).unwrap();
    let before = monotonic_usec();
    daemon.signal("HUP");
    let mut reload = Vec::new();
    assert!(
        until(&sock, "RELOADING=1", Duration::from_secs(10), &mut reload),
        "no RELOADING=1; got {reload:?}"
    );
    let reloading = &reload.last().unwrap().1;
    let usec: u64 = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .unwrap_or_else(|| panic!("RELOADING=1 without MONOTONIC_USEC=: {reloading:?}"))
        .parse()
        .expect("MONOTONIC_USEC= is a number");
    assert!(
        (before..=monotonic_usec()).contains(&usec),
        "MONOTONIC_USEC={usec} is not CLOCK_MONOTONIC in µs (sent after {before})"
    );
    let mut ready = Vec::new();
    assert!(
        until(&sock, "READY=1", Duration::from_secs(20), &mut ready),
        "no READY=1 after the reload; got {ready:?}"
    );
    let msg = &ready.last().unwrap().1;
    assert!(
        msg.contains("STATUS=1 of 1 streams running") && msg.contains("removed"),
        "READY=1 after the reload: {msg:?}"
    );
    daemon.assert_running();
}
