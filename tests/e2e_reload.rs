//! SIGHUP reloads the configuration: streams added, removed and changed are
//! handled one by one while the others run on without a gap; an invalid file is
//! rejected with a located error and the running configuration stays.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::checks::{self, Expect};
use common::{Daemon, DaemonConfig, Received, StreamSpec, Subscriber};
use serde_json::Value;

const HELLO: Duration = Duration::from_secs(5);
const FIRST_PREDICTION: Duration = Duration::from_secs(40);

fn pred_of(stream: &'static str) -> impl FnMut(&Value) -> bool {
    move |m| m["type"] == "prediction" && m["stream"] == stream
}

/// Writes `cfg` over the daemon's config file and sends SIGHUP.
fn reload(daemon: &Daemon, cfg: &DaemonConfig) -> Instant {
    std::fs::write(&daemon.config_path, cfg.to_toml(&daemon.socket_path)).unwrap();
    daemon.signal("HUP");
    Instant::now()
}

/// Waits until the daemon's log contains `needle`; returns the log.
fn wait_log(daemon: &Daemon, needle: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let log = daemon.stderr();
        if log.contains(needle) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log within {limit:?}\n{}",
            daemon.describe()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn preds<'a>(sub: &'a Subscriber, stream: &str) -> Vec<&'a Received> {
    sub.history
        .iter()
        .filter(|r| r.msg["type"] == "prediction" && r.msg["stream"] == stream)
        .collect()
}

/// `stream` ran straight through: seq consecutive, no status at all after the
/// connection's replay, and no hole in capture time between consecutive clips
/// (a restarted stream would refill its window first: a gap of a whole window).
fn assert_ran_through(sub: &Subscriber, stream: &str, e: &Expect) {
    let p = preds(sub, stream);
    assert!(p.len() >= 6, "{stream}: only {} predictions", p.len());
    checks::check_seq_consecutive(p.iter().map(|r| &r.msg));
    let replayed = sub
        .history
        .iter()
        .position(|r| r.msg["type"] == "prediction")
        .unwrap_or(0);
    let later: Vec<_> = sub.history[replayed..]
        .iter()
        .filter(|r| r.msg["type"] == "status" && r.msg["stream"] == stream)
        .map(|r| r.msg.to_string())
        .collect();
    assert!(later.is_empty(), "{stream} changed state: {later:?}");
    let ends: Vec<f64> = p
        .iter()
        .map(|r| checks::check_prediction(&r.msg, e).clip_end)
        .collect();
    let worst = ends.windows(2).map(|w| w[1] - w[0]).fold(0.0f64, f64::max);
    assert!(
        worst <= 2.0 * e.clip_interval_s() + 0.5,
        "{stream}: a {worst:.2} s hole between clips (interval {:.2} s)",
        e.clip_interval_s()
    );
}

fn spawn(streams: Vec<StreamSpec>) -> (Daemon, Subscriber) {
    common::require_model();
    let mut b = Daemon::builder();
    for s in streams {
        b = b.stream(s);
    }
    let daemon = b.spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    (daemon, sub)
}

#[test]
fn sighup_adds_a_stream_and_the_running_one_goes_on() {
    let (mut daemon, mut sub) = spawn(vec![StreamSpec::test("a", "ball")]);
    sub.collect_matching(3, FIRST_PREDICTION, pred_of("a"))
        .unwrap_or_else(|n| panic!("{n} predictions\n{}", sub.summary()));

    let mut cfg = daemon.config.clone();
    cfg.streams.push(StreamSpec::test("b", "smpte"));
    reload(&daemon, &cfg);
    sub.next_matching(Duration::from_secs(10), |m| {
        m["type"] == "status" && m["stream"] == "b" && m["state"] == "running"
    })
    .unwrap_or_else(|| panic!("b never ran\n{}", sub.summary()));
    let b = sub
        .collect_matching(3, Duration::from_secs(20), pred_of("b"))
        .unwrap_or_else(|n| panic!("{n} predictions of b\n{}", sub.summary()));
    assert_eq!(b[0].msg["seq"], 1, "a new stream counts from 1");
    sub.collect_matching(3, Duration::from_secs(20), pred_of("a"))
        .unwrap();
    assert_ran_through(&sub, "a", &Expect::provisional());
    assert_eq!(sub.statuses("b")[0].0, "starting");
    // The connected subscriber was told the new stream list, before b's first status.
    let hellos: Vec<usize> = (1..sub.history.len())
        .filter(|&i| sub.history[i].msg["type"] == "hello")
        .collect();
    assert_eq!(hellos.len(), 1, "{}", sub.summary());
    checks::check_hello(&sub.history[hellos[0]].msg, &["a", "b"]);
    let b_first = sub
        .history
        .iter()
        .position(|r| r.msg["stream"] == "b")
        .unwrap();
    assert!(hellos[0] < b_first, "hello after b's first message");

    // A new subscriber is told about both.
    let mut late = daemon.subscribe();
    checks::check_hello(&late.hello(HELLO), &["a", "b"]);
    wait_log(&daemon, "added [\"b\"]", Duration::from_secs(5));
    daemon.assert_running();
}

#[test]
fn sighup_removes_a_stream_and_the_other_goes_on() {
    let (mut daemon, mut sub) = spawn(vec![
        StreamSpec::test("a", "ball"),
        StreamSpec::test("b", "smpte"),
    ]);
    sub.collect_predictions_per_stream(&["a", "b"], 2, FIRST_PREDICTION);

    let mut cfg = daemon.config.clone();
    cfg.streams.retain(|s| s.name != "b");
    reload(&daemon, &cfg);
    let r = sub
        .next_matching(Duration::from_secs(10), |m| {
            m["type"] == "status" && m["stream"] == "b" && m["state"] == "stopped"
        })
        .unwrap_or_else(|| panic!("b never stopped\n{}", sub.summary()));
    assert!(
        r.msg["reason"].as_str().unwrap().contains("removed"),
        "{}",
        r.msg
    );
    let gone = sub.history.len();
    sub.collect_matching(4, Duration::from_secs(20), pred_of("a"))
        .unwrap();
    let after: Vec<_> = sub.history[gone..]
        .iter()
        .filter(|r| r.msg["stream"] == "b")
        .map(|r| r.msg.to_string())
        .collect();
    assert!(
        after.is_empty(),
        "messages of b after its removal: {after:?}"
    );
    assert_ran_through(&sub, "a", &Expect::provisional());

    // New subscribers hear only of a.
    let mut late = daemon.subscribe();
    let hello = late.hello(HELLO);
    assert_eq!(hello["streams"], serde_json::json!(["a"]), "{hello}");
    let replay = late.collect_for(Duration::from_millis(500));
    assert!(
        replay.iter().all(|r| r.msg["stream"] != "b"),
        "a removed stream is replayed"
    );
    daemon.assert_running();
}

#[test]
fn sighup_changes_a_stream_which_restarts_with_its_seq_while_the_other_goes_on() {
    let (mut daemon, mut sub) = spawn(vec![
        StreamSpec::test("a", "ball"),
        StreamSpec::test("b", "smpte"),
    ]);
    sub.collect_predictions_per_stream(&["a", "b"], 3, FIRST_PREDICTION);

    // b: 5 → 2 sampled frames a second: a clip every second instead of 0.4 s.
    let mut cfg = daemon.config.clone();
    let b = cfg.streams.iter_mut().find(|s| s.name == "b").unwrap();
    *b = StreamSpec::test("b", "snow").sample_fps(2);
    let before = preds(&sub, "b").len();
    reload(&daemon, &cfg);
    sub.next_matching(Duration::from_secs(15), |m| {
        m["type"] == "status" && m["stream"] == "b" && m["state"] == "running"
    })
    .unwrap_or_else(|| panic!("b did not run again\n{}", sub.summary()));
    let states: Vec<String> = sub.statuses("b").into_iter().map(|s| s.0).collect();
    let tail = &states[states.len() - 3..];
    assert_eq!(tail, ["stopped", "starting", "running"], "{states:?}");
    let new = sub
        .collect_matching(6, Duration::from_secs(20), pred_of("b"))
        .unwrap_or_else(|n| panic!("{n} predictions of b\n{}", sub.summary()));
    let all = preds(&sub, "b");
    checks::check_seq_consecutive(all.iter().map(|r| &r.msg));
    assert!(all.len() >= before + 6);
    // The new settings apply: a clip every 2 frames at 2 fps.
    let e2 = Expect {
        sample_fps: 2.0,
        ..Expect::provisional()
    };
    checks::check_live_cadence(&new[1..], &e2);
    assert_ran_through(&sub, "a", &Expect::provisional());
    daemon.assert_running();
}

#[test]
fn sighup_with_an_invalid_config_keeps_running_the_old_one() {
    common::require_model();
    let dir = common::tempdir();
    let notify_path = dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut daemon = Daemon::builder()
        .stream(StreamSpec::test("a", "ball"))
        .env("NOTIFY_SOCKET", notify_path.to_str().unwrap())
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(HELLO);
    sub.collect_matching(3, FIRST_PREDICTION, pred_of("a"))
        .unwrap();
    let drain = |notify: &UnixDatagram| {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while let Ok(n) = notify.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        got
    };
    drain(&notify);

    // A typo (and a new stream that must not start because of it).
    let mut bad = daemon.config.clone();
    bad.streams.push(StreamSpec::test("b", "smpte"));
    let text = bad
        .to_toml(&daemon.socket_path)
        .replace("window = 4", "windw = 4");
    let line = text.lines().position(|l| l.starts_with("windw")).unwrap() + 1;
    std::fs::write(&daemon.config_path, &text).unwrap();
    daemon.signal("HUP");
    let want = format!("{}:{line}:", daemon.config_path.display());
    let log = wait_log(&daemon, "reload rejected", Duration::from_secs(10));
    let err = log.lines().find(|l| l.contains("reload rejected")).unwrap();
    assert!(
        err.contains(&want) && err.contains("smoothing.windw"),
        "the error does not say {want}COL: smoothing.windw: {err}"
    );
    let told = drain(&notify);
    assert!(
        told.iter().any(|m| m.contains("RELOADING=1"))
            && told
                .iter()
                .any(|m| m.contains("READY=1") && m.contains("rejected")),
        "systemd was not told of the reload and its rejection: {told:?}"
    );
    sub.collect_matching(4, Duration::from_secs(20), pred_of("a"))
        .unwrap();
    assert!(
        preds(&sub, "b").is_empty() && sub.statuses("b").is_empty(),
        "a stream of the rejected file started"
    );
    assert_ran_through(&sub, "a", &Expect::provisional());

    // A [smoothing] change needs a restart: said so, and the streams run on.
    let mut cfg = daemon.config.clone();
    cfg.window = 6;
    reload(&daemon, &cfg);
    wait_log(&daemon, "[smoothing] changed", Duration::from_secs(10));
    sub.collect_matching(4, Duration::from_secs(20), pred_of("a"))
        .unwrap();
    assert_ran_through(&sub, "a", &Expect::provisional());
    for r in preds(&sub, "a") {
        assert_eq!(r.msg["frames"], 4, "window 6 was applied without a restart");
    }

    // Fixed: the next reload applies.
    cfg.streams.push(StreamSpec::test("b", "smpte"));
    reload(&daemon, &cfg);
    sub.collect_matching(2, Duration::from_secs(20), pred_of("b"))
        .unwrap_or_else(|n| panic!("{n} predictions of b\n{}", sub.summary()));
    let told = drain(&notify);
    assert!(
        told.iter()
            .any(|m| m.contains("READY=1") && m.contains("added")),
        "{told:?}"
    );
    daemon.assert_running();
}
