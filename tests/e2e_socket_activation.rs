//! Socket activation: the daemon adopts the listening socket systemd passes (here
//! `systemd-socket-activate`, or `LISTEN_FDS` set by the test) and never removes it.

mod common;

use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::checks::{self, Expect};
use common::{DaemonConfig, StreamSpec, Subscriber};

const HELLO: Duration = Duration::from_secs(30);
const FIRST_PREDICTION: Duration = Duration::from_secs(30);

/// A config with one test-pattern stream whose `[output] socket` is `socket`.
fn write_config(dir: &Path, socket: &Path) -> std::path::PathBuf {
    common::require_model();
    let config = DaemonConfig {
        streams: vec![StreamSpec::test("cam1", "ball")],
        ..DaemonConfig::default()
    };
    let path = dir.join("actiond.toml");
    std::fs::write(&path, config.to_toml(socket)).unwrap();
    path
}

/// Sends SIGTERM and waits for the exit; the exit code.
fn terminate(child: &mut Child) -> Option<i32> {
    // SAFETY: kill(2) on the pid of a child this test owns.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("actiond did not stop within 15 s of SIGTERM");
}

fn stderr(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
}

fn log_files(dir: &Path) -> (std::fs::File, std::fs::File) {
    let out = std::fs::File::create(dir.join("stdout.log")).unwrap();
    let err = std::fs::File::create(dir.join("stderr.log")).unwrap();
    (out, err)
}

/// The first connection starts the daemon (systemd-socket-activate execs it with the
/// listening socket as fd 3); that very connection gets hello and predictions, the
/// socket keeps the mode systemd gave it, and after SIGTERM it is still there.
#[test]
fn the_first_connection_starts_the_daemon_on_the_passed_socket() {
    let dir = common::tempdir();
    let socket = dir.path().join("activated.sock");
    let config = write_config(dir.path(), &socket);
    let (out, err) = log_files(dir.path());
    let mut child = Command::new("systemd-socket-activate")
        .arg("--listen")
        .arg(&socket)
        .arg("--fdname=predictions")
        .args(["-E", "RUST_LOG=info"])
        .arg(common::actiond_bin())
        .args(["run", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("systemd-socket-activate (the systemd package, installed by scripts/setup.sh)");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !socket.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mode = std::fs::metadata(&socket)
        .expect("socket listening")
        .permissions()
        .mode();

    let mut sub = Subscriber::connect(&socket).expect("connect to the passed socket");
    checks::check_hello(&sub.hello(HELLO), &["cam1"]);
    let p = sub.next_of_type("prediction", FIRST_PREDICTION);
    checks::check_prediction(&p, &Expect::provisional());
    let log = stderr(dir.path());
    assert!(log.contains("socket passed by systemd"), "{log}");
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode(),
        mode,
        "the daemon must not change the mode of a socket systemd made"
    );

    assert_eq!(terminate(&mut child), Some(0), "{}", stderr(dir.path()));
    let meta = std::fs::symlink_metadata(&socket).expect("an adopted socket is never unlinked");
    assert!(meta.file_type().is_socket());
}

/// Runs actiond with `fd` as descriptor 3 and LISTEN_PID/LISTEN_FDS set for it.
fn spawn_with_fd3(dir: &Path, config: &Path, fd: i32) -> Child {
    let (out, err) = log_files(dir);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" run --config "$1""#)
        .arg(common::actiond_bin())
        .arg(config)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: between fork and exec only dup2 and fcntl (async-signal-safe) run; the
    // copy at fd 3 has close-on-exec cleared, so it reaches the daemon.
    unsafe {
        cmd.pre_exec(move || {
            if fd != 3 && libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn().expect("spawn sh")
}

/// A socket passed at another path than `[output] socket` is the one served (with a
/// warning), and the configured path is never created.
#[test]
fn a_passed_socket_wins_over_the_configured_path() {
    let dir = common::tempdir();
    let configured = dir.path().join("configured.sock");
    let passed = dir.path().join("passed.sock");
    let listener = std::os::unix::net::UnixListener::bind(&passed).unwrap();
    let config = write_config(dir.path(), &configured);
    let mut child = spawn_with_fd3(dir.path(), &config, listener.as_raw_fd());

    let mut sub = Subscriber::connect(&passed).expect("connect to the passed socket");
    checks::check_hello(&sub.hello(HELLO), &["cam1"]);
    sub.next_of_type("prediction", FIRST_PREDICTION);
    let log = stderr(dir.path());
    assert!(log.contains("is not [output] socket"), "{log}");
    assert!(
        !configured.exists(),
        "the configured path must not be bound"
    );
    assert_eq!(terminate(&mut child), Some(0), "{}", stderr(dir.path()));
    assert!(passed.exists(), "an adopted socket is never unlinked");
}

/// A descriptor that is not a listening Unix socket is refused with a message that says so.
#[test]
fn a_passed_descriptor_that_is_not_a_unix_listener_is_refused() {
    let dir = common::tempdir();
    let config = write_config(dir.path(), &dir.path().join("p.sock"));
    let file = std::fs::File::create(dir.path().join("not-a-socket")).unwrap();
    let mut child = spawn_with_fd3(dir.path(), &config, file.as_raw_fd());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "actiond kept running on a bad descriptor"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let log = stderr(dir.path());
    assert!(
        log.contains("file descriptor 3 passed by systemd is not a listening Unix stream socket"),
        "{log}"
    );
}
