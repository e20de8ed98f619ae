//! "Never let anyone in": nothing listens on the network, the socket gets its
//! group, and a frozen camera network cannot hold up SIGTERM.

mod common;

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::subscriber::RecvError;
use common::{Daemon, RtspServer, StreamSpec, TcpProxy};

/// Socket inodes the process holds open.
fn socket_inodes(pid: u32) -> HashSet<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| {
            let target = std::fs::read_link(e.ok()?.path()).ok()?;
            let t = target.to_str()?;
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// Rows of /proc/net/{tcp,tcp6,udp,udp6} whose inode the process holds:
/// (table, local address, state).
fn inet_sockets(pid: u32) -> Vec<(String, String, String)> {
    let mine = socket_inodes(pid);
    let mut out = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[9].parse::<u64>().is_ok_and(|i| mine.contains(&i)) {
                out.push((table.to_owned(), f[1].to_owned(), f[3].to_owned()));
            }
        }
    }
    out
}

#[test]
fn nothing_listens_on_the_network() {
    common::require_model();
    let camera = RtspServer::start();
    let daemon = Daemon::builder()
        .stream(StreamSpec::test("a", "ball"))
        .stream(StreamSpec::uri("cam", &camera.url()).rtsp_transport("tcp"))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(Duration::from_secs(5));
    sub.collect_predictions_per_stream(&["a", "cam"], 1, Duration::from_secs(40));
    let sockets = inet_sockets(daemon.pid());
    // The RTSP client connection is there (so the check sees the daemon's
    // sockets), but nothing listens: TCP state 0A is LISTEN; a bound UDP socket
    // would accept datagrams from anyone.
    assert!(
        sockets
            .iter()
            .any(|(t, _, state)| t.starts_with("tcp") && state == "01"),
        "the camera connection is not visible: {sockets:?}"
    );
    let open: Vec<_> = sockets
        .iter()
        .filter(|(t, _, state)| t.starts_with("udp") || state == "0A")
        .collect();
    assert!(
        open.is_empty(),
        "the daemon listens on the network: {open:?}"
    );
}

/// The name of a group in /etc/group other than `not`, if any.
fn another_group(not: u32) -> Option<(String, u32)> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        let gid: u32 = f.get(2)?.parse().ok()?;
        (gid != not && gid != 0).then(|| (f[0].to_owned(), gid))
    })
}

#[test]
fn the_socket_gets_the_configured_group() {
    common::require_model();
    let probe = common::tempdir();
    let meta = std::fs::metadata(probe.path()).unwrap();
    if meta.uid() != 0 {
        eprintln!("skipped: only root may give a file any group");
        return;
    }
    let (group, gid) = another_group(meta.gid()).expect("a group in /etc/group");
    let daemon = Daemon::builder()
        .stream(StreamSpec::test("a", "ball"))
        .socket_group(&group)
        .spawn();
    let m = std::fs::metadata(&daemon.socket_path).unwrap();
    assert_eq!(m.gid(), gid, "socket group, want {group}");
    assert_eq!(m.mode() & 0o777, 0o660);
}

#[test]
fn sigterm_while_the_camera_network_is_frozen_exits_within_5_s() {
    common::require_model();
    let server = RtspServer::start();
    let proxy = TcpProxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, server.port())));
    let url = format!("rtsp://127.0.0.1:{}{}", proxy.port(), common::rtsp::MOUNT);
    let mut daemon = Daemon::builder()
        .stream(StreamSpec::uri("gate", &url).rtsp_transport("tcp"))
        .stream(StreamSpec::test("control", "ball"))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(Duration::from_secs(5));
    sub.collect_predictions_per_stream(&["gate", "control"], 1, Duration::from_secs(40));

    // The camera's network goes silent; the daemon has not noticed yet (stall
    // timeout 10 s) when it is told to stop: its RTSP TEARDOWN cannot get through.
    proxy.freeze();
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let (status, in_time) = daemon.stop_with("TERM", Duration::from_secs(5));
    let took = t.elapsed();
    assert!(
        in_time,
        "no exit within 5 s of SIGTERM\n{}",
        daemon.describe()
    );
    assert_eq!(status.code(), Some(0), "{}", daemon.describe());
    eprintln!("exit 0 after {took:.1?} with the camera network frozen");
    // Every stream's final status reached the subscriber, then the daemon hung up.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sub.recv(deadline.saturating_duration_since(Instant::now())) {
            Ok(_) => {}
            Err(RecvError::Closed) => break,
            Err(e) => panic!(
                "{e:?} before the daemon closed the socket\n{}",
                sub.summary()
            ),
        }
    }
    for stream in ["gate", "control"] {
        assert!(
            sub.history.iter().any(|r| r.msg["type"] == "status"
                && r.msg["stream"] == stream
                && r.msg["state"] == "stopped"),
            "no final status for {stream}\n{}",
            sub.summary()
        );
    }
    assert!(!daemon.socket_path.exists(), "socket file left behind");
}
