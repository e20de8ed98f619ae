//! The socket's life cycle: stale sockets, a second instance, signals, mode.

mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::time::Duration;

use common::checks::{self, Expect};
use common::{Daemon, StreamSpec};

const HELLO: Duration = Duration::from_secs(5);
const FIRST_PREDICTION: Duration = Duration::from_secs(30);

fn builder() -> common::DaemonBuilder {
    common::require_model();
    Daemon::builder().stream(StreamSpec::test("cam1", "ball"))
}

/// Connects, reads hello and one prediction.
fn assert_serves(daemon: &Daemon) {
    let mut sub = daemon.subscribe();
    checks::check_hello(&sub.hello(HELLO), &["cam1"]);
    let p = sub.next_of_type("prediction", FIRST_PREDICTION);
    checks::check_prediction(&p, &Expect::provisional());
}

#[test]
fn a_dead_socket_left_at_the_path_is_replaced() {
    let dir = common::tempdir();
    let path = dir.path().join("stale.sock");
    drop(UnixListener::bind(&path).unwrap());
    assert!(std::fs::metadata(&path).unwrap().file_type().is_socket());

    let daemon = builder().socket(&path).spawn();
    assert_serves(&daemon);
}

#[test]
fn the_socket_of_a_killed_daemon_is_replaced() {
    let dir = common::tempdir();
    let path = dir.path().join("p.sock");
    let mut first = builder().socket(&path).spawn();
    first.kill_hard();
    assert!(
        path.exists(),
        "SIGKILL cannot clean up, yet {} is gone",
        path.display()
    );

    let second = builder().socket(&path).spawn();
    assert_serves(&second);
}

#[test]
fn a_second_daemon_on_a_live_socket_refuses_and_leaves_the_first_alone() {
    let dir = common::tempdir();
    let path = dir.path().join("p.sock");
    let mut first = builder().socket(&path).spawn();
    let mut sub = first.subscribe();
    checks::check_hello(&sub.hello(HELLO), &["cam1"]);
    sub.next_of_type("prediction", FIRST_PREDICTION);

    let mut second = builder().socket(&path).spawn_unready();
    let status = second
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("second daemon kept running\n{}", second.describe()));
    assert!(
        status.code().is_some_and(|c| c != 0),
        "second daemon exited with {status}\n{}",
        second.describe()
    );
    let stderr = second.stderr();
    assert!(
        stderr.to_lowercase().contains("socket"),
        "the second daemon's message does not mention the socket:\n{stderr}"
    );

    // The first one goes on: the old subscriber keeps getting consecutive
    // clips, and new subscribers still reach it.
    first.assert_running();
    assert!(std::fs::metadata(&path).unwrap().file_type().is_socket());
    sub.collect_predictions(3, Duration::from_secs(10));
    checks::check_seq_consecutive(sub.seen_of_type("prediction"));
    assert_serves(&first);
}

fn exits_zero_on(sig: &str) {
    let mut daemon = builder().spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    sub.next_of_type("prediction", FIRST_PREDICTION);
    let (status, in_time) = daemon.stop_with(sig, Duration::from_secs(10));
    assert!(
        in_time,
        "no exit within 10 s of SIG{sig}\n{}",
        daemon.describe()
    );
    assert_eq!(
        status.code(),
        Some(0),
        "SIG{sig} gave {status}\n{}",
        daemon.describe()
    );
}

#[test]
fn sigterm_exits_zero() {
    exits_zero_on("TERM");
}

#[test]
fn sigint_exits_zero() {
    exits_zero_on("INT");
}

#[test]
fn socket_gets_the_configured_mode() {
    let daemon = builder().socket_mode("0600").spawn();
    let mode = std::fs::metadata(&daemon.socket_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "socket mode is {:o}", mode & 0o777);
}

#[test]
fn a_regular_file_at_the_socket_path_is_never_deleted() {
    let dir = common::tempdir();
    let path = dir.path().join("data.txt");
    std::fs::write(&path, "precious").unwrap();
    let mut daemon = builder().socket(&path).spawn_unready();
    let status = daemon
        .wait_exit(Duration::from_secs(20))
        .expect("the daemon must refuse to start");
    assert!(!status.success());
    let err = daemon.stderr();
    assert!(
        err.contains("not a socket") && err.contains("data.txt"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
}
