//! Soak benchmark (not in the default run): four streams — two test patterns, an
//! RTSP camera and a looping H.264 file — for `ACTIOND_SOAK_S` seconds (default
//! 1800), with a subscriber reading everything. Prints the resident memory at the
//! start (after warm-up), every minute and at the end, the predictions received
//! and lost (seq gaps), and the daemon's own per-stream counters: frames received,
//! classified, dropped and why.
//!
//! ```sh
//! cargo test --release --test soak -- --ignored --nocapture
//! ACTIOND_SOAK_S=300 cargo test --release --test soak -- --ignored --nocapture
//! ```

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{encode_h264, file_uri, Daemon, EncodeSpec, RtspServer, StreamSpec};

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |k| k / 1024.0)
}

/// Predictions received and lost (seq gaps), per stream.
#[derive(Default)]
struct Tally {
    last: BTreeMap<String, u64>,
    received: u64,
    lost: u64,
}

impl Tally {
    fn read(&mut self, sub: &mut common::Subscriber, d: Duration) {
        for r in sub.collect_for(d) {
            if r.msg["type"] != "prediction" {
                continue;
            }
            let stream = r.msg["stream"].as_str().unwrap_or("").to_owned();
            let seq = r.msg["seq"].as_u64().unwrap_or(0);
            if let Some(prev) = self.last.insert(stream, seq) {
                self.lost += seq.saturating_sub(prev + 1);
            }
            self.received += 1;
        }
        sub.history.clear();
    }
}

#[test]
#[ignore = "issue 4's soak benchmark, not a default-run check: memory flat over 30 minutes (README, Memory), longer than the brief allows in the default run; ACTIOND_SOAK_S seconds (default 1800); cargo test --release --test soak -- --ignored --nocapture"]
fn soak_four_streams() {
    common::require_model();
    let secs: u64 = std::env::var("ACTIOND_SOAK_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1800);
    let media = common::tempdir();
    let file = encode_h264(
        media.path(),
        "loop",
        &EncodeSpec {
            frames: 150,
            ..EncodeSpec::default()
        },
    );
    let camera = RtspServer::start();
    let mut daemon = Daemon::builder()
        .stream(StreamSpec::test("pattern-1", "ball"))
        .stream(StreamSpec::test("pattern-2", "snow"))
        .stream(
            StreamSpec::uri("camera", &camera.url())
                .rtsp_transport("tcp")
                .latency_ms(200),
        )
        .stream(StreamSpec::uri("file", &file_uri(&file)).looping(true))
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(Duration::from_secs(5));

    let warm_up = Instant::now() + Duration::from_secs(30);
    let mut tally = Tally::default();
    while Instant::now() < warm_up {
        tally.read(&mut sub, Duration::from_secs(1));
    }
    let start_rss = rss_mib(daemon.pid());
    let started = Instant::now();
    eprintln!("soak: {secs} s, 4 streams; RSS after warm-up {start_rss:.1} MiB");
    let mut minute = 1;
    while started.elapsed() < Duration::from_secs(secs) {
        tally.read(&mut sub, Duration::from_secs(1));
        if started.elapsed() >= Duration::from_secs(60 * minute) {
            eprintln!(
                "soak: {minute} min: RSS {:.1} MiB, {} predictions, {} lost",
                rss_mib(daemon.pid()),
                tally.received,
                tally.lost
            );
            minute += 1;
        }
        daemon.assert_running();
    }
    let end_rss = rss_mib(daemon.pid());
    daemon.terminate();
    let stats: Vec<String> = daemon
        .stderr()
        .lines()
        .filter(|l| l.contains("stats:"))
        .map(str::to_owned)
        .collect();
    eprintln!(
        "soak: RSS {start_rss:.1} MiB after warm-up, {end_rss:.1} MiB after {secs} s ({:+.1} MiB); \
         {} predictions received, {} lost\n{}",
        end_rss - start_rss,
        tally.received,
        tally.lost,
        stats.join("\n")
    );
    assert_eq!(tally.lost, 0, "predictions lost (seq gaps)");
}
