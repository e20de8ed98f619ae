//! Memory stays flat: a busy daemon (a 15 fps test pattern and an RTSP camera,
//! per-frame messages, subscribers reading and others coming and going) is
//! warmed up, then its resident memory (VmRSS) is sampled for 40 s. A leak of
//! one decoded frame per frame would add ~90 MB in that time; the tolerance is
//! 8 MiB, for allocator noise. Smaller leaks are the soak benchmark's job
//! (`tests/soak.rs`, not in the default run).

mod common;

use std::time::{Duration, Instant};

use common::{Daemon, RtspServer, StreamSpec};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the daemon runs");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn mean(xs: &[u64]) -> f64 {
    xs.iter().sum::<u64>() as f64 / xs.len() as f64
}

#[test]
fn resident_memory_stays_flat_on_a_busy_daemon() {
    common::require_model();
    let camera = RtspServer::start();
    let daemon = Daemon::builder()
        .stream(StreamSpec::test("busy", "ball").sample_fps(15))
        .stream(
            StreamSpec::uri("cam", &camera.url())
                .rtsp_transport("tcp")
                .latency_ms(100),
        )
        .per_frame(true)
        .spawn();
    let mut sub = daemon.subscribe();
    sub.hello(Duration::from_secs(5));
    sub.next_of_type("prediction", Duration::from_secs(40));

    let path = daemon.socket_path.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut s = common::Subscriber::connect(&path).expect("connect");
                s.hello(Duration::from_secs(5));
                s.collect_for(Duration::from_millis(300));
                n += 1;
            }
            n
        })
    };

    // Warm-up: pipelines, the model's buffers, the allocator's arenas.
    let warm = Instant::now() + Duration::from_secs(10);
    while Instant::now() < warm {
        sub.collect_for(Duration::from_millis(500));
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(40) {
        samples.push(rss_kib(daemon.pid()));
        let next = Instant::now() + Duration::from_secs(2);
        while Instant::now() < next {
            sub.collect_for(Duration::from_millis(200));
        }
    }
    samples.push(rss_kib(daemon.pid()));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let connections = churn.join().unwrap();

    let first = mean(&samples[..5]);
    let last = mean(&samples[samples.len() - 5..]);
    let growth_mib = (last - first) / 1024.0;
    let mib: Vec<String> = samples
        .iter()
        .map(|k| format!("{:.1}", *k as f64 / 1024.0))
        .collect();
    eprintln!(
        "VmRSS over 40 s (MiB): {}; growth {growth_mib:+.2} MiB; {} predictions, {connections} short subscriptions",
        mib.join(" "),
        sub.seen_of_type("prediction").len()
    );
    assert!(
        growth_mib < 8.0,
        "resident memory grew {growth_mib:.1} MiB in 40 s: {mib:?}"
    );
    assert!(
        sub.seen_of_type("prediction").len() > 100,
        "the daemon was not busy: {}",
        sub.summary()
    );

    // The counters behind the numbers, on demand.
    daemon.signal("USR1");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !daemon.stderr().contains("stats: resident memory") {
        assert!(
            Instant::now() < deadline,
            "SIGUSR1 logged no stats\n{}",
            daemon.describe()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = daemon.stderr();
    let stats: Vec<&str> = log.lines().filter(|l| l.contains("stats:")).collect();
    eprintln!("{}", stats.join("\n"));
    assert!(
        stats
            .iter()
            .any(|l| l.contains("busy") && l.contains("frames received")),
        "{stats:?}"
    );
    let mut daemon = daemon;
    daemon.assert_running();
}
