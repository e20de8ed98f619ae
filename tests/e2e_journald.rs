//! Under systemd (stderr connected to the journal, JOURNAL_STREAM set) the daemon
//! logs native journal entries with fields. Uses the machine's journald when one
//! runs, else starts Debian's systemd-journald for the test (as root).

mod common;

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, StreamSpec};

const SOCKET: &str = "/run/systemd/journal/socket";

/// A journald to log to: the running one, or one this test started.
struct Journald(Option<Child>);

impl Drop for Journald {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn journald_listens() -> bool {
    UnixDatagram::unbound()
        .and_then(|s| s.send_to(b"", SOCKET))
        .is_ok()
}

fn journald() -> Option<Journald> {
    if journald_listens() {
        return Some(Journald(None));
    }
    let bin = [
        "/lib/systemd/systemd-journald",
        "/usr/lib/systemd/systemd-journald",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())?;
    let child = Command::new(bin)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let j = Journald(Some(child));
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if journald_listens() {
            return Some(j);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The journal entries of process `pid`, as JSON objects.
fn entries(pid: u32) -> Vec<serde_json::Value> {
    let out = Command::new("journalctl")
        .args(["--no-pager", "-o", "json", &format!("_PID={pid}")])
        .output()
        .expect("run journalctl");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn under_systemd_state_changes_are_journal_entries_with_the_stream() {
    common::require_model();
    let Some(_journald) = journald() else {
        eprintln!("SKIPPED: no journald is running and systemd-journald could not be started here");
        return;
    };
    let probe = Command::new("journalctl")
        .args(["--no-pager", "-n", "1"])
        .output()
        .expect("run journalctl");
    if String::from_utf8_lossy(&probe.stderr).contains("insufficient permissions") {
        eprintln!("SKIPPED: this user cannot read the system journal (run as root or in group systemd-journal)");
        return;
    }
    // What systemd does: stderr goes to the journal and JOURNAL_STREAM names it.
    let dir = common::tempdir();
    let stderr = dir.path().join("stderr.log");
    std::fs::write(&stderr, "").unwrap();
    let meta = std::fs::metadata(&stderr).unwrap();
    let mut d = Daemon::builder()
        .in_dir(dir)
        .stream(StreamSpec::test("cam1", "ball"))
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .spawn();
    let mut sub = d.subscribe();
    sub.hello(Duration::from_secs(5));
    sub.next_of_type("prediction", Duration::from_secs(30));
    let pid = d.pid();
    d.terminate();
    assert!(
        d.stderr().trim().is_empty(),
        "logs went to stderr instead of the journal:\n{}",
        d.stderr()
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let changes = loop {
        let all = entries(pid);
        let changes: Vec<serde_json::Value> =
            all.into_iter().filter(|e| e["STATE"].is_string()).collect();
        if changes.len() >= 3 || Instant::now() > deadline {
            break changes;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let states: Vec<&str> = changes.iter().filter_map(|e| e["STATE"].as_str()).collect();
    assert_eq!(states, ["starting", "running", "stopped"], "{changes:#?}");
    for e in &changes {
        assert_eq!(e["STREAM"], "cam1", "{e}");
        assert_eq!(e["SYSLOG_IDENTIFIER"], "actiond", "{e}");
        assert_eq!(e["SPAN_NAME"], "stream", "{e}");
        let msg = e["MESSAGE"].as_str().unwrap_or("");
        assert!(
            msg.starts_with("cam1 is "),
            "the line does not name the stream: {msg:?}"
        );
    }
    // info maps to journal priority 5 (notice).
    assert_eq!(changes[1]["PRIORITY"], "5");
}
