//! Subscribers that misbehave, and many at once: a slow reader and one that
//! never reads are dropped (the slow one with a `goodbye`) while the others
//! miss nothing; a client that floods the socket with junk is disconnected
//! without anyone else noticing; 200 subscribers, a quarter of them coming and
//! going all the time, all see every prediction in order.

mod common;

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::checks::{self, Expect};
use common::{Daemon, StreamSpec, Subscriber};
use serde_json::Value;

const HELLO: Duration = Duration::from_secs(5);
const FIRST_PREDICTION: Duration = Duration::from_secs(40);

fn is_pred(m: &Value) -> bool {
    m["type"] == "prediction"
}

/// Splits raw socket bytes into parsed lines; a trailing partial line (a
/// write cut off when the daemon gave up) is returned apart.
fn parse_lines(bytes: &[u8]) -> (Vec<Value>, Vec<u8>) {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..nl];
        let v: Value = serde_json::from_slice(line).unwrap_or_else(|e| {
            panic!(
                "a line from the daemon is not JSON ({e}): {:?}",
                String::from_utf8_lossy(line)
            )
        });
        out.push(v);
        rest = &rest[nl + 1..];
    }
    (out, rest.to_vec())
}

/// Reads everything until the daemon closes the connection; panics if it
/// does not within `limit`.
fn read_to_eof(stream: &mut UnixStream, limit: Duration, what: &str) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "{what}: the daemon did not close the connection within {limit:?} ({} bytes read)",
            got.len()
        );
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("{what}: read: {e}"),
        }
    }
}

/// Open file descriptors of `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The subscriber's messages must be a clean prefix of the feed: hello first,
/// predictions consecutive per stream, a goodbye (if any) last.
fn check_clean_prefix(msgs: &[Value], what: &str) {
    assert_eq!(
        msgs.first().map(|m| &m["type"]),
        Some(&"hello".into()),
        "{what}: no hello first"
    );
    checks::check_seq_consecutive(msgs.iter().filter(|m| is_pred(m)));
    if let Some(i) = msgs.iter().position(|m| m["type"] == "goodbye") {
        assert_eq!(i, msgs.len() - 1, "{what}: messages after goodbye");
    }
}

fn connect(path: &Path) -> UnixStream {
    UnixStream::connect(path).expect("connect to the daemon's socket")
}

#[test]
fn slow_and_stuck_subscribers_are_dropped_and_the_others_miss_nothing() {
    let _serial = common::serial();
    common::require_model();
    let daemon = Daemon::builder()
        .stream(StreamSpec::test("a", "ball"))
        .stream(StreamSpec::test("b", "snow"))
        .per_frame(true)
        .subscriber_buffer(16)
        .spawn();
    let mut good = daemon.subscribe();
    good.hello(HELLO);
    good.collect_matching(2, FIRST_PREDICTION, is_pred)
        .unwrap_or_else(|n| panic!("{n} predictions\n{}", good.summary()));

    // Slow: 64 bytes every 100 ms (≈ 0.6 KB/s against ≈ 4 KB/s published)
    // until the daemon has given up on it; then it reads fast, to find out how
    // its connection ended.
    let mut slow = connect(&daemon.socket_path);
    let (fast_tx, fast_rx) = std::sync::mpsc::channel::<()>();
    let slow_reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        slow.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        while fast_rx.try_recv().is_err() {
            if let Ok(n) = slow.read(&mut buf) {
                got.extend_from_slice(&buf[..n]);
                if n == 0 {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        got.extend(read_to_eof(
            &mut slow,
            Duration::from_secs(20),
            "slow subscriber",
        ));
        got
    });
    // Stuck: connects and never reads.
    let mut stuck = connect(&daemon.socket_path);

    let window = good.collect_for(Duration::from_secs(16));
    // Both are cut off once their socket is full and a write has waited 5 s.
    let deadline = Instant::now() + Duration::from_secs(45);
    while daemon
        .stderr()
        .matches("disconnecting a subscriber")
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the slow and the stuck subscriber were not both dropped within 45 s of the window\n{}",
            daemon.describe()
        );
        good.collect_for(Duration::from_millis(200));
    }
    fast_tx.send(()).unwrap();

    // The good subscriber missed nothing and kept its cadence.
    let e = Expect::provisional();
    assert!(
        good.seen_of_type("goodbye").is_empty(),
        "the good subscriber was dropped\n{}",
        good.summary()
    );
    for r in &good.history {
        checks::check_any(&r.msg, &e);
    }
    checks::check_seq_consecutive(good.seen_of_type("prediction"));
    let a: Vec<_> = window
        .iter()
        .filter(|r| is_pred(&r.msg) && r.msg["stream"] == "a")
        .cloned()
        .collect();
    assert!(a.len() >= 20, "{} predictions of a in 16 s", a.len());
    checks::check_live_cadence(&a, &e);

    // The slow one got a goodbye saying why, then the connection closed. (Which
    // limit it hits first depends on the kernel: a Unix socket wakes a blocked
    // writer only once 3/4 of its buffer is drained, so a trickle reader looks
    // stuck; one that reads in bursts overflows its queue instead.)
    let (msgs, partial) = parse_lines(&slow_reader.join().unwrap());
    assert!(partial.is_empty(), "slow subscriber: a partial last line");
    check_clean_prefix(&msgs, "slow subscriber");
    let last = msgs.last().unwrap();
    assert_eq!(
        last["type"], "goodbye",
        "slow subscriber's last message: {last}"
    );
    assert_eq!(last["v"], 1);
    let reason = last["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("too slow") || reason.contains("not reading"),
        "{last}"
    );
    eprintln!(
        "slow subscriber: {} messages, then {}",
        msgs.len() - 1,
        last["reason"]
    );

    // The stuck one: what the socket held, then EOF.
    let (msgs, partial) = parse_lines(&read_to_eof(
        &mut stuck,
        Duration::from_secs(10),
        "stuck subscriber",
    ));
    // It reads again within the daemon's linger time: the cut line is completed
    // and the goodbye follows.
    assert!(partial.is_empty(), "stuck subscriber: a partial last line");
    check_clean_prefix(&msgs, "stuck subscriber");
    let last = msgs.last().unwrap();
    assert_eq!(
        last["type"], "goodbye",
        "stuck subscriber's last message: {last}"
    );
    assert!(
        last["reason"]
            .as_str()
            .unwrap_or("")
            .contains("not reading"),
        "{last}"
    );
    eprintln!(
        "stuck subscriber: {} messages, then {}",
        msgs.len() - 1,
        last["reason"]
    );
    let mut daemon = daemon;
    daemon.assert_running();
}

#[test]
fn a_subscriber_flooding_the_socket_with_junk_is_cut_off_and_harms_nobody() {
    let _serial = common::serial();
    common::require_model();
    let daemon = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .spawn();
    let mut good = daemon.subscribe();
    good.hello(HELLO);
    good.collect_matching(2, FIRST_PREDICTION, is_pred)
        .unwrap_or_else(|n| panic!("{n} predictions\n{}", good.summary()));

    let mut junk = connect(&daemon.socket_path);
    let mut writer = junk.try_clone().unwrap();
    let flood = std::thread::spawn(move || {
        // 8 MiB of junk in 64 KiB writes: random bytes, newlines, JSON-like fragments.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut sent = 0usize;
        writer
            .set_write_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        while sent < 8 << 20 {
            for (i, b) in chunk.iter_mut().enumerate() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = match i % 97 {
                    0 => b'\n',
                    1..=20 => b"{\"type\":\"subscribe\"}"[i % 97 - 1],
                    _ => state as u8,
                };
            }
            match writer.write(&chunk) {
                Ok(n) => sent += n,
                Err(e) => return (sent, Some(e.kind())),
            }
        }
        (sent, None)
    });
    let (msgs, _) = parse_lines(&read_to_eof(
        &mut junk,
        Duration::from_secs(20),
        "junk sender",
    ));
    let (sent, error) = flood.join().unwrap();
    eprintln!("junk sender: wrote {sent} bytes, then {error:?}");
    assert!(
        error.is_some() && sent < 4 << 20,
        "the daemon kept reading junk: {sent} bytes accepted"
    );
    check_clean_prefix(&msgs, "junk sender");
    let last = msgs.last().unwrap();
    assert_eq!(last["type"], "goodbye", "{last}");
    assert!(
        last["reason"].as_str().unwrap_or("").contains("read-only"),
        "{last}"
    );

    // Meanwhile and afterwards the good subscriber missed nothing.
    let more = good
        .collect_matching(6, Duration::from_secs(20), is_pred)
        .unwrap_or_else(|n| panic!("{n} predictions after the flood\n{}", good.summary()));
    checks::check_seq_consecutive(good.seen_of_type("prediction"));
    checks::check_live_cadence(&more, &Expect::provisional());
    let mut daemon = daemon;
    daemon.assert_running();
}

/// One connection's messages.
type Connection = Vec<Value>;

#[test]
fn two_hundred_subscribers_with_churn_all_see_every_prediction_in_order() {
    const STABLE: usize = 150;
    const CHURNING: usize = 50;
    const RUN: Duration = Duration::from_secs(12);
    let _serial = common::serial();
    common::require_model();
    let daemon = Daemon::builder()
        .stream(StreamSpec::test("a", "ball"))
        .stream(StreamSpec::test("b", "smpte"))
        .per_frame(true)
        .spawn();
    let mut probe = daemon.subscribe();
    probe.hello(HELLO);
    probe
        .collect_matching(2, FIRST_PREDICTION, is_pred)
        .unwrap_or_else(|n| panic!("{n} predictions\n{}", probe.summary()));
    drop(probe);
    let fds_before = open_fds(daemon.pid());

    let path = daemon.socket_path.clone();
    let start = Instant::now();
    let stable: Vec<_> = (0..STABLE)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut sub = Subscriber::connect(&path).expect("connect");
                sub.hello(HELLO);
                sub.collect_for(RUN.saturating_sub(start.elapsed()));
                sub.history
                    .into_iter()
                    .map(|r| r.msg)
                    .collect::<Connection>()
            })
        })
        .collect();
    let churning: Vec<_> = (0..CHURNING)
        .map(|k| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut conns: Vec<Connection> = Vec::new();
                let mut n = k as u64;
                while start.elapsed() < RUN {
                    n = n
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let stay = Duration::from_millis(100 + (n >> 33) % 1400);
                    let mut sub = Subscriber::connect(&path).expect("connect");
                    sub.hello(HELLO);
                    sub.collect_for(stay);
                    if n.is_multiple_of(3) {
                        // Half-close first, like a polite client; else just vanish.
                        let _ = sub.stream().shutdown(std::net::Shutdown::Write);
                    }
                    conns.push(sub.history.into_iter().map(|r| r.msg).collect());
                }
                conns
            })
        })
        .collect();
    let stable: Vec<Connection> = stable.into_iter().map(|t| t.join().unwrap()).collect();
    let churned: Vec<Connection> = churning
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    eprintln!(
        "{} stable subscribers, {} short connections in {:.1?}",
        stable.len(),
        churned.len(),
        start.elapsed()
    );
    assert!(
        churned.len() >= CHURNING * 5,
        "only {} short connections",
        churned.len()
    );

    // Every connection: hello first, no goodbye, predictions consecutive per stream.
    for (i, c) in stable.iter().chain(&churned).enumerate() {
        check_clean_prefix(c, &format!("connection {i}"));
        assert!(
            c.iter().all(|m| m["type"] != "goodbye"),
            "connection {i} was dropped: {:?}",
            c.last()
        );
    }
    // The stable ones all saw the same predictions over the common window.
    let mut reference: BTreeMap<(String, u64), &Value> = BTreeMap::new();
    for stream in ["a", "b"] {
        let ranges: Vec<(u64, u64)> = stable
            .iter()
            .map(|c| {
                let seqs: Vec<u64> = c
                    .iter()
                    .filter(|m| is_pred(m) && m["stream"] == stream)
                    .map(|m| m["seq"].as_u64().unwrap())
                    .collect();
                (*seqs.first().unwrap_or(&0), *seqs.last().unwrap_or(&0))
            })
            .collect();
        let lo = ranges.iter().map(|r| r.0).max().unwrap();
        let hi = ranges.iter().map(|r| r.1).min().unwrap();
        assert!(
            hi >= lo + 15,
            "stream {stream}: the common window is only {lo}..={hi}: {ranges:?}"
        );
    }
    for (i, c) in stable.iter().enumerate() {
        for m in c.iter().filter(|m| is_pred(m)) {
            let key = (
                m["stream"].as_str().unwrap().to_owned(),
                m["seq"].as_u64().unwrap(),
            );
            match reference.get(&key) {
                Some(r) => assert_eq!(*r, m, "subscriber {i} got a different {key:?}"),
                None => {
                    reference.insert(key, m);
                }
            }
        }
    }
    // Every connection is closed and forgotten by the daemon.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = open_fds(daemon.pid());
        if now <= fds_before + 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon holds {now} descriptors, {fds_before} before the 200 subscribers"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut daemon = daemon;
    daemon.assert_running();
}
