//! The shipped systemd unit passes `systemd-analyze verify` and stays hardened.

use std::path::{Path, PathBuf};
use std::process::Command;

fn unit_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/actiond.service"))
        .unwrap()
}

/// The unit with its paths pointed at this build, so `verify` finds the binary and config.
fn unit_for_this_build(dir: &Path) -> PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
    let text = unit_text()
        .replace("/usr/local/bin/actiond", env!("CARGO_BIN_EXE_actiond"))
        .replace("/etc/actiond/actiond.toml", demo.to_str().unwrap());
    let path = dir.join("actiond.service");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn unit_is_notify_with_watchdog_and_runtime_dir() {
    let text = unit_text();
    for line in [
        "Type=notify",
        "Restart=on-failure",
        "RuntimeDirectory=actiond",
        "ExecStart=/usr/local/bin/actiond run --config /etc/actiond/actiond.toml",
    ] {
        assert!(text.lines().any(|l| l.trim() == line), "missing `{line}`");
    }
    assert!(
        text.lines().any(|l| l.starts_with("WatchdogSec=")),
        "missing WatchdogSec="
    );
}

#[test]
fn unit_passes_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze (installed by scripts/setup.sh)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "verify failed: {stderr}"
    );
}

#[test]
fn unit_exposure_is_at_most_2_5() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze (installed by scripts/setup.sh)");
    let text = String::from_utf8_lossy(&out.stdout);
    let level: f64 = text
        .lines()
        .find_map(|l| l.split("exposure level for").nth(1))
        .and_then(|rest| rest.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(level <= 2.5, "exposure {level} > 2.5:\n{text}");
}
