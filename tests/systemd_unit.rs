//! The shipped systemd units (service and socket) pass `systemd-analyze verify` and
//! stay hardened.

use std::path::{Path, PathBuf};
use std::process::Command;

fn unit_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/actiond.service"))
        .unwrap()
}

fn socket_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/actiond.socket"))
        .unwrap()
}

fn has_line(text: &str, line: &str) -> bool {
    text.lines().any(|l| l.trim() == line)
}

/// The unit with its paths pointed at this build, so `verify` finds the binary and config.
fn unit_for_this_build(dir: &Path) -> PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
    let text = unit_text()
        .replace("/usr/bin/actiond", env!("CARGO_BIN_EXE_actiond"))
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
        "ExecStart=/usr/bin/actiond run --config /etc/actiond/actiond.toml",
    ] {
        assert!(text.lines().any(|l| l.trim() == line), "missing `{line}`");
    }
    assert!(
        text.lines().any(|l| l.starts_with("WatchdogSec=")),
        "missing WatchdogSec="
    );
}

#[test]
fn notify_reload_drop_in_replaces_the_kill() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/notify-reload.conf");
    let text = std::fs::read_to_string(path).unwrap();
    for line in [
        "[Service]",
        "Type=notify-reload",
        "ReloadSignal=SIGHUP",
        "ExecReload=",
    ] {
        assert!(has_line(&text, line), "missing `{line}`");
    }
    assert!(
        has_line(&unit_text(), "ExecReload=/bin/kill -HUP $MAINPID"),
        "the shipped unit (systemd 252) must signal the reload itself"
    );
}

/// Runs `systemd-analyze verify` on `units`; panics with its complaints.
fn assert_verifies(units: &[&Path]) {
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(units)
        .output()
        .expect("systemd-analyze (installed by scripts/setup.sh)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "verify failed: {stderr}"
    );
}

/// The overall exposure `systemd-analyze security --offline=yes` gives this build's
/// unit, and its full report.
fn exposure() -> (f64, String) {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze (installed by scripts/setup.sh)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let level = text
        .lines()
        .find_map(|l| l.split("exposure level for").nth(1))
        .and_then(|rest| rest.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    (level, text)
}

#[test]
fn unit_passes_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    assert_verifies(&[&unit]);
}

#[test]
fn unit_exposure_is_at_most_2_5() {
    let (level, text) = exposure();
    assert!(level <= 2.5, "exposure {level} > 2.5:\n{text}");
}

#[test]
fn unit_exposure_is_at_most_2_0() {
    let (level, text) = exposure();
    assert!(level <= 2.0, "exposure {level} > 2.0:\n{text}");
}

#[test]
fn socket_unit_passes_verify_beside_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let socket = dir.path().join("actiond.socket");
    std::fs::write(&socket, socket_text()).unwrap();
    assert_verifies(&[&unit, &socket]);
}

/// The socket systemd holds is the packaged config's, for group actiond only, and named
/// as the daemon looks for it.
#[test]
fn socket_unit_gives_the_socket_to_group_actiond() {
    let text = socket_text();
    let packaged = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/actiond.toml"),
    )
    .unwrap();
    let config: toml::Table = packaged.parse().unwrap();
    let socket = config["output"]["socket"].as_str().unwrap();
    for line in [
        format!("ListenStream={socket}"),
        "FileDescriptorName=predictions".into(),
        "SocketGroup=actiond".into(),
        "SocketMode=0660".into(),
        "WantedBy=sockets.target".into(),
    ] {
        assert!(has_line(&text, &line), "actiond.socket misses `{line}`");
    }
}

/// The service runs as the sysusers user (so the config and its own socket can be
/// group actiond) and caches GStreamer's registry in its CacheDirectory.
#[test]
fn unit_runs_as_actiond_and_caches_the_gstreamer_registry() {
    let text = unit_text();
    for line in [
        "User=actiond",
        "Group=actiond",
        "CacheDirectory=actiond",
        "Environment=GST_REGISTRY=/var/cache/actiond/gstreamer-registry.bin",
        "RuntimeDirectoryPreserve=yes",
    ] {
        assert!(has_line(&text, line), "actiond.service misses `{line}`");
    }
    assert!(!has_line(&text, "DynamicUser=yes"));
    let sysusers = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/sysusers.d/actiond.conf"),
    )
    .unwrap();
    assert!(
        sysusers
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["u", "actiond"])),
        "sysusers.d/actiond.conf must create user and group actiond:\n{sysusers}"
    );
}
