//! The systemd notify protocol, checked against a test-owned `NOTIFY_SOCKET`:
//! READY after start, WATCHDOG pings at half the interval, STOPPING on SIGTERM.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::{Daemon, StreamSpec};

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

#[test]
fn ready_watchdog_and_stopping_reach_systemd() {
    common::require_model();
    let dir = common::tempdir();
    let notify_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&notify_path).unwrap();
    let mut daemon = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .env("NOTIFY_SOCKET", notify_path.to_str().unwrap())
        .env("WATCHDOG_USEC", "400000")
        .spawn_unready();
    let mut seen = Vec::new();
    assert!(
        until(&sock, "READY=1", Duration::from_secs(30), &mut seen),
        "no READY=1; got {seen:?}\n{}",
        daemon.stderr()
    );
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
    let dir = common::tempdir();
    let notify_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&notify_path).unwrap();
    let _daemon = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .env("NOTIFY_SOCKET", notify_path.to_str().unwrap())
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
