//! The sample subscribers the README shows (examples/) work against a real daemon.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, StreamSpec};

/// Runs `cmd` until it printed `n` lines matching `pred` (or `timeout`); returns all lines.
fn lines_of(
    mut cmd: Command,
    n: usize,
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the example");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let mut lines = Vec::new();
    while lines.iter().filter(|l: &&String| pred(l)).count() < n {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(l) => lines.push(l),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    lines
}

#[test]
fn python_sample_subscriber_prints_predictions() {
    common::require_model();
    let d = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .spawn();
    let mut cmd = Command::new("python3");
    cmd.arg(common::repo_root().join("examples/subscribe.py"))
        .arg(&d.socket_path);
    let lines = lines_of(cmd, 2, Duration::from_secs(30), |l| l.contains(" cam1 #"));
    assert!(
        lines[0].starts_with("connected: model provisional-mobilenetv2, streams cam1"),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("cam1: running")),
        "{lines:#?}"
    );
    let preds: Vec<&String> = lines.iter().filter(|l| l.contains(" cam1 #")).collect();
    assert_eq!(preds.len(), 2, "{lines:#?}");
    let seq = |l: &str| -> u64 {
        let after = l.split(" cam1 #").nth(1).unwrap();
        after.split(':').next().unwrap().parse().unwrap()
    };
    assert_eq!(seq(preds[1]), seq(preds[0]) + 1, "{lines:#?}");
    assert!(preds.iter().all(|l| l.ends_with(" ms")), "{lines:#?}");
}

#[test]
fn shell_sample_subscriber_prints_predictions() {
    common::require_model();
    for tool in ["socat", "jq"] {
        assert!(
            Command::new(tool)
                .arg("-h")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok(),
            "{tool} is not installed: run scripts/setup.sh"
        );
    }
    let d = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .spawn();
    let mut cmd = Command::new("sh");
    cmd.arg(common::repo_root().join("examples/subscribe.sh"))
        .arg(&d.socket_path);
    let lines = lines_of(cmd, 2, Duration::from_secs(30), |l| l.contains(" cam1 "));
    assert!(lines.len() >= 2, "{lines:#?}");
    for l in &lines {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f.len(), 4, "{l}");
        assert!(common::checks::rfc3339_to_unix(f[0]).is_some(), "{l}");
        assert_eq!(f[1], "cam1");
        assert!(common::manifest_labels().iter().any(|x| x == f[2]), "{l}");
        let score: f64 = f[3].parse().unwrap();
        assert!((0.0..=1.0).contains(&score), "{l}");
    }
}
