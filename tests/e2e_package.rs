//! The Debian package, installed on this machine as a user would: files and modes,
//! `check-config`, the installed binary running the packaged config (as user actiond,
//! as the unit runs it) with predictions read by a user in group actiond and refused to
//! one outside it, then `dpkg -r` / `--purge` removing it.
//!
//! It installs a system package and creates users, so it runs only with
//! `ACTIOND_PACKAGE_TEST=1`, as root (scripts/test.sh sets it when it runs as root);
//! otherwise it says so and passes. The package is built from the debug binary Cargo
//! already built for the tests (`scripts/package.sh --profile dev --fast`, seconds)
//! rather than a release build (minutes on two cores).

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ENABLE: &str = "ACTIOND_PACKAGE_TEST";
const CONFIG: &str = "/etc/actiond/actiond.toml";
const SOCKET: &str = "/run/actiond/predictions.sock";
/// The unit's CacheDirectory= (`--purge` removes it).
const CACHE: &str = "/var/cache/actiond";
const USER_IN: &str = "actiond-t-in";
const USER_OUT: &str = "actiond-t-out";

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn run_ok(program: &str, args: &[&str]) -> Output {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A command run as `user` with its groups, as systemd's User= would.
fn as_user(user: &str, program: &str) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        &format!("--reuid={user}"),
        &format!("--regid={user}"),
        "--init-groups",
        "--",
        program,
    ]);
    cmd
}

fn gid_of(group: &str) -> u32 {
    let out = run_ok("getent", &["group", group]);
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    line.split(':').nth(2).unwrap().trim().parse().unwrap()
}

/// Removes the package, the test users and what the test run made, whatever happened.
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = run("dpkg", &["--purge", "actiond"]);
        for user in [USER_IN, USER_OUT, "actiond"] {
            let _ = run("userdel", &[user]);
        }
        let _ = run("groupdel", &["actiond"]);
        let _ = std::fs::remove_dir_all("/run/actiond");
    }
}

fn build_package(out: &Path) -> PathBuf {
    let script = common::repo_root().join("scripts/package.sh");
    let out_arg = out.to_str().unwrap();
    let args = [
        "--profile",
        "dev",
        "--no-build",
        "--fast",
        "--output",
        out_arg,
    ];
    run_ok(script.to_str().unwrap(), &args);
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .expect("scripts/package.sh made no .deb")
}

fn check_mode(path: &str, mode: u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(meta.permissions().mode() & 0o7777, mode, "{path} mode");
}

/// The installed files, their modes and owners, and the conffile.
fn check_files() {
    for (path, mode) in [
        ("/usr/bin/actiond", 0o755),
        ("/usr/lib/actiond/libonnxruntime.so.1.32.0", 0o644),
        ("/usr/lib/actiond/libonnxruntime_providers_shared.so", 0o644),
        ("/usr/lib/systemd/system/actiond.service", 0o644),
        ("/usr/lib/systemd/system/actiond.socket", 0o644),
        ("/usr/lib/sysusers.d/actiond.conf", 0o644),
        ("/usr/share/actiond/models/people/model.onnx", 0o644),
        ("/usr/share/actiond/models/people/model.toml", 0o644),
        ("/usr/share/actiond/models/people/demo.mp4", 0o644),
        ("/usr/share/actiond/models/default/model.onnx", 0o644),
        ("/usr/share/actiond/models/default/model.toml", 0o644),
        ("/usr/share/actiond/models/default-int8/model.onnx", 0o644),
        ("/usr/share/actiond/models/default-int8/model.toml", 0o644),
        ("/usr/share/doc/actiond/messages.schema.json", 0o644),
        ("/usr/share/doc/actiond/messages.lenient.schema.json", 0o644),
        ("/usr/share/doc/actiond/notify-reload.conf", 0o644),
        ("/usr/share/doc/actiond/README.md", 0o644),
        ("/usr/share/doc/actiond/actiond.toml.reference", 0o644),
        ("/usr/share/doc/actiond/LICENSE-MIT", 0o644),
        ("/usr/share/doc/actiond/LICENSE-APACHE", 0o644),
        ("/usr/share/doc/actiond/LICENSE-onnxruntime", 0o644),
        ("/usr/share/man/man1/actiond.1.gz", 0o644),
        ("/usr/share/man/man1/actiond-run.1.gz", 0o644),
        ("/usr/share/bash-completion/completions/actiond", 0o644),
        ("/usr/share/zsh/vendor-completions/_actiond", 0o644),
        ("/usr/share/fish/vendor_completions.d/actiond.fish", 0o644),
        (CONFIG, 0o640),
    ] {
        check_mode(path, mode);
    }
    let link = std::fs::read_link("/usr/lib/actiond/libonnxruntime.so").unwrap();
    assert_eq!(link, Path::new("libonnxruntime.so.1.32.0"));
    let config = std::fs::metadata(CONFIG).unwrap();
    assert_eq!(
        (config.uid(), config.gid()),
        (0, gid_of("actiond")),
        "{CONFIG} owner"
    );
    let conffiles = std::fs::read_to_string("/var/lib/dpkg/info/actiond.conffiles").unwrap();
    assert!(conffiles.lines().any(|l| l.trim() == CONFIG), "{conffiles}");
}

/// `check-config` passes as root and as the service user; a user outside group actiond
/// cannot read the config.
fn check_config_access() {
    run_ok("/usr/bin/actiond", &["check-config", CONFIG]);
    let out = as_user("actiond", "/usr/bin/actiond")
        .args(["check-config", CONFIG])
        .output();
    assert!(
        out.unwrap().status.success(),
        "user actiond cannot check the config"
    );
    let out = as_user(USER_OUT, "/usr/bin/actiond")
        .args(["check-config", CONFIG])
        .output();
    let out = out.unwrap();
    assert!(
        !out.status.success(),
        "a user outside group actiond read {CONFIG}"
    );
}

/// The installed daemon as the unit runs it: user actiond, UMask=0027, the runtime and
/// cache folders systemd would make, GST_REGISTRY in the cache folder.
fn start_daemon(cache: &Path, log: &Path) -> Child {
    for dir in ["/run/actiond", cache.to_str().unwrap()] {
        std::fs::create_dir_all(dir).unwrap();
        run_ok("chown", &["actiond:actiond", dir]);
    }
    let registry = cache.join("gstreamer-registry.bin");
    Command::new("sh")
        .args(["-c", "umask 0027; exec \"$@\"", "sh", "setpriv"])
        .args(["--reuid=actiond", "--regid=actiond", "--init-groups", "--"])
        .args(["/usr/bin/actiond", "run", "--config", CONFIG])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("GST_REGISTRY", &registry)
        .env("GST_DEBUG", "GST_REGISTRY:4")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start the installed actiond")
}

/// The first prediction `user` reads with `actiond subscribe`, or what went wrong.
fn first_prediction_as(user: &str, limit: Duration) -> Result<String, String> {
    let mut child = as_user(user, "/usr/bin/actiond")
        .args([
            "subscribe",
            "--json",
            "--type",
            "prediction",
            "--socket",
            SOCKET,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let line = BufReader::new(stdout).lines().next();
        let _ = tx.send(line);
    });
    let got = rx.recv_timeout(limit);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    match got {
        Ok(Some(Ok(line))) if line.contains("\"prediction\"") => Ok(line),
        other => Err(format!(
            "{other:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

fn wait_for_socket(daemon: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Path::new(SOCKET).exists() {
        let log = std::fs::read_to_string(log).unwrap_or_default();
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "actiond exited:\n{log}"
        );
        assert!(Instant::now() < deadline, "no socket after 30 s:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Predictions for group actiond, nothing for others; the GStreamer registry is cached.
fn check_running_daemon(log: &Path) {
    let cache = Path::new(CACHE);
    let mut daemon = start_daemon(cache, log);
    wait_for_socket(&mut daemon, log);
    let meta = std::fs::metadata(SOCKET).unwrap();
    assert_eq!(meta.gid(), gid_of("actiond"), "socket group");
    let line = first_prediction_as(USER_IN, Duration::from_secs(60));
    let refused = first_prediction_as(USER_OUT, Duration::from_secs(10));
    // SAFETY: kill(2) on the pid of a child this test owns.
    unsafe { libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM) };
    let status = daemon.wait().unwrap();
    let log = std::fs::read_to_string(log).unwrap_or_default();
    let line =
        line.unwrap_or_else(|e| panic!("user in group actiond got no prediction: {e}\n{log}"));
    assert!(line.contains("\"stream\":\"demo\""), "{line}");
    // As installed, the demo runs the people model.
    let people = "\"model\":\"actiond-people-tsm-mobilenetv2-online\"";
    assert!(line.contains(people), "{line}");
    let refused = refused.expect_err("a user outside group actiond read predictions");
    assert!(refused.contains("ermission denied"), "{refused}");
    assert!(status.success(), "actiond stopped with {status}:\n{log}");
    assert!(
        cache.join("gstreamer-registry.bin").is_file(),
        "GStreamer wrote no registry to GST_REGISTRY:\n{log}"
    );
    assert!(
        !Path::new(SOCKET).exists(),
        "a socket the daemon bound is removed on stop"
    );
}

fn check_removal() {
    run_ok("dpkg", &["-r", "actiond"]);
    for gone in [
        "/usr/bin/actiond",
        "/usr/lib/actiond/libonnxruntime.so.1.32.0",
        "/usr/lib/systemd/system/actiond.service",
        "/usr/share/actiond/models/default/model.onnx",
        "/usr/share/actiond/models/people/model.onnx",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} left after dpkg -r");
    }
    assert!(
        Path::new(CONFIG).exists(),
        "dpkg -r keeps the edited config"
    );
    run_ok("dpkg", &["--purge", "actiond"]);
    assert!(
        !Path::new(CONFIG).exists(),
        "dpkg --purge removes the config"
    );
}

#[test]
fn the_package_installs_runs_and_removes_cleanly() {
    if std::env::var_os(ENABLE).is_none_or(|v| v != "1") {
        eprintln!("skipped: set {ENABLE}=1 (as root) to build, install and remove the .deb");
        return;
    }
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "{ENABLE}=1 needs root (dpkg -i)"
    );
    let cleanup = Cleanup;
    drop(Cleanup); // a package or users left by an earlier, killed run
    let dir = common::tempdir();
    let deb = build_package(dir.path());

    run_ok("dpkg", &["-i", deb.to_str().unwrap()]);
    run_ok("getent", &["passwd", "actiond"]);
    check_files();
    run_ok(
        "useradd",
        &["--system", "--no-create-home", "-G", "actiond", USER_IN],
    );
    run_ok("useradd", &["--system", "--no-create-home", USER_OUT]);
    check_config_access();
    check_running_daemon(&dir.path().join("actiond.log"));
    check_removal();
    drop(cleanup);
}
