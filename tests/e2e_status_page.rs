//! The live status page in a real headless browser (chromium via chromedriver),
//! against the real daemon with two `test:` streams: the cards show the streams,
//! their labels change as clips arrive, the snapshot is a JPEG of the model's
//! input size, the timelines grow, and the page reconnects by itself when the
//! daemon restarts. Snapshots cost nothing while nobody watches (checked in
//! `/metrics`). A screenshot is saved under target/tmp.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::browser::Browser;
use common::{Daemon, StreamSpec};

/// A daemon with HTTP on `port` and two test-pattern streams.
fn daemon(port: u16) -> Daemon {
    common::require_model();
    let d = Daemon::builder()
        .extra_toml(&format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"))
        .stream(StreamSpec::test("ball-cam", "ball"))
        .stream(StreamSpec::test("pinwheel-cam", "pinwheel"))
        .window(4)
        .stride(2)
        .spawn();
    wait_listening(port);
    d
}

/// Waits until the daemon's HTTP server accepts connections on `port`.
fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "HTTP did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// GET `path`: status and raw body bytes.
fn get_bytes(port: u16, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, raw[split + 4..].to_vec())
}

/// `actiond_snapshots_encoded_total` from `/metrics`.
fn snapshots_encoded(port: u16) -> u64 {
    let (_, body) = get_bytes(port, "/metrics");
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("actiond_snapshots_encoded_total "))
        .unwrap_or_else(|| panic!("no snapshot counter in /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Width and height in a baseline/progressive JPEG's start-of-frame segment.
fn jpeg_size(jpeg: &[u8]) -> (u16, u16) {
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "not a JPEG");
    assert_eq!(
        &jpeg[jpeg.len() - 2..],
        &[0xFF, 0xD9],
        "JPEG without its end"
    );
    let mut i = 2;
    while i + 9 < jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "bad JPEG segment at {i}");
        let marker = jpeg[i + 1];
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        if (0xC0..=0xC2).contains(&marker) {
            let h = u16::from_be_bytes([jpeg[i + 5], jpeg[i + 6]]);
            let w = u16::from_be_bytes([jpeg[i + 7], jpeg[i + 8]]);
            return (w, h);
        }
        i += 2 + len;
    }
    panic!("JPEG without a start-of-frame segment");
}

/// A model's input size (width, height), from its manifest.
fn model_input(manifest: &std::path::Path) -> (u16, u16) {
    let text = std::fs::read_to_string(manifest).expect("model manifest");
    let manifest: toml::Table = toml::from_str(&text).expect("manifest TOML");
    let side = |k: &str| manifest["input"][k].as_integer().expect("input size") as u16;
    (side("width"), side("height"))
}

/// Each card's `[name, label, seq, points, state]`, in page order.
const CARDS: &str = "return Array.from(document.querySelectorAll('.card')).map(function (c) {
    return [c.dataset.stream, c.dataset.label || '', Number(c.dataset.seq || 0),
            Number(c.dataset.points), c.dataset.state || ''];
});";

fn cards(browser: &Browser) -> Vec<(String, String, u64, u64, String)> {
    let v = browser.eval(CARDS);
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c[0].as_str().unwrap().to_string(),
                c[1].as_str().unwrap().to_string(),
                c[2].as_u64().unwrap(),
                c[3].as_u64().unwrap(),
                c[4].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Waits until every card has a label, a running state and at least `points` on its timeline.
fn wait_cards(
    browser: &Browser,
    points: u64,
    limit: Duration,
) -> Vec<(String, String, u64, u64, String)> {
    let deadline = Instant::now() + limit;
    loop {
        let c = cards(browser);
        if c.len() == 2
            && c.iter()
                .all(|c| !c.1.is_empty() && c.3 >= points && c.4 == "running")
        {
            return c;
        }
        assert!(Instant::now() < deadline, "cards not ready: {c:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_page_shows_live_cards_snapshots_and_timelines() {
    let port = common::free_port();
    let d = daemon(port);
    let mut sub = d.subscribe();
    sub.hello(Duration::from_secs(5));
    for _ in 0..4 {
        sub.next_of_type("prediction", Duration::from_secs(60));
    }
    // Predictions flow and nobody watches: no snapshot was encoded.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(snapshots_encoded(port), 0, "encoded with nobody watching");

    let browser = Browser::start();
    browser.goto(&format!("http://127.0.0.1:{port}/"));
    let first = wait_cards(&browser, 1, Duration::from_secs(30));
    let names: Vec<&str> = first.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ["ball-cam", "pinwheel-cam"]);
    let labels = common::manifest_labels();
    for c in &first {
        assert!(
            labels.contains(&c.1),
            "card label {:?} is not a model label",
            c.1
        );
    }
    let text = browser.eval("return document.body.innerText;");
    let text = text.as_str().unwrap();
    assert!(
        text.contains("provisional-mobilenetv2") && text.contains("live"),
        "{text}"
    );

    // The snapshot shown is the model's input: a JPEG of its size.
    let (w, h) = model_input(&common::model_manifest());
    let shown = browser.wait_for(
        "var i = document.querySelector('.card img'); \
         return i.complete && i.naturalWidth ? [i.naturalWidth, i.naturalHeight] : null;",
        Duration::from_secs(15),
        "the snapshot image loads",
    );
    assert_eq!(shown, serde_json::json!([w, h]));
    let (status, jpeg) = get_bytes(port, "/api/streams/pinwheel-cam/snapshot.jpg");
    assert_eq!(status, 200);
    assert_eq!(jpeg_size(&jpeg), (w, h));

    // Labels change as clips arrive (a new seq on every card), the timelines grow.
    let mut later = first.clone();
    let deadline = Instant::now() + Duration::from_secs(40);
    while !later
        .iter()
        .zip(&first)
        .all(|(l, f)| l.2 > f.2 + 1 && l.3 > f.3 + 1)
    {
        assert!(
            Instant::now() < deadline,
            "cards did not move: {first:?} → {later:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
        later = cards(&browser);
    }

    // Watching encodes snapshots, a few per second per stream at most.
    let before = snapshots_encoded(port);
    assert!(before > 0, "the page shows snapshots: some were encoded");
    std::thread::sleep(Duration::from_secs(4));
    let rate = (snapshots_encoded(port) - before) as f64 / 4.0;
    assert!(
        rate > 0.0 && rate <= 2.0 * 4.0 + 1.0,
        "{rate} snapshots/s for 2 streams"
    );

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e_status_page.png");
    browser.screenshot(&shot);
    println!("screenshot: {}", shot.display());

    // Nobody watches any more: encoding stops.
    drop(browser);
    std::thread::sleep(Duration::from_secs(1));
    let stopped = snapshots_encoded(port);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        snapshots_encoded(port),
        stopped,
        "encoding after the page closed"
    );
    drop(d);
}

#[test]
fn the_page_reconnects_when_the_daemon_restarts() {
    let port = common::free_port();
    let d = daemon(port);
    let browser = Browser::start();
    browser.goto(&format!("http://127.0.0.1:{port}/"));
    wait_cards(&browser, 1, Duration::from_secs(60));
    browser.wait_for(
        "return document.getElementById('live').textContent === 'live';",
        Duration::from_secs(10),
        "the event stream opens",
    );
    drop(d);
    browser.wait_for(
        "return document.getElementById('live').className === 'off';",
        Duration::from_secs(10),
        "the page notices the daemon is gone",
    );
    let d = daemon(port);
    browser.wait_for(
        "return document.getElementById('live').textContent === 'live';",
        Duration::from_secs(20),
        "the page reconnects by itself",
    );
    // The new daemon's clips reach the page without a reload.
    let seqs = |b: &Browser| cards(b).iter().map(|c| c.2).collect::<Vec<_>>();
    let deadline = Instant::now() + Duration::from_secs(60);
    let restarted = seqs(&browser);
    while !seqs(&browser)
        .iter()
        .zip(&restarted)
        .all(|(now, then)| now != then)
    {
        assert!(
            Instant::now() < deadline,
            "no new clips on the page after the restart"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(d);
}

/// Refreshes the README's screenshot from a running demo (`scripts/demo.sh`, let it
/// run a few minutes): `ACTIOND_PAGE_URL=http://127.0.0.1:9464/ cargo test --test
/// e2e_status_page readme_screenshot -- --ignored`.
#[test]
#[ignore = "issue 14's README screenshot tool, not a check: needs scripts/demo.sh running for minutes; rerun it when the demo changes"]
fn readme_screenshot() {
    let url = std::env::var("ACTIOND_PAGE_URL").unwrap_or("http://127.0.0.1:9464/".into());
    let browser = Browser::start_sized(760, 1200);
    browser.goto(&url);
    browser.wait_for(
        "return document.querySelectorAll('.card:not(.nosnap)').length >= 3;",
        Duration::from_secs(20),
        "the cards show their snapshots",
    );
    std::thread::sleep(Duration::from_secs(2));
    let shot = common::repo_root().join("docs/status-page.png");
    browser.screenshot(&shot);
    println!("screenshot: {}", shot.display());
}

/// The demo's pattern stream as a new user sees it: the trained default model on the looped demo
/// video, whose scene changes every 5 s. With the page open, labels change on the
/// card, each change is listed with a link to the frame kept at that moment, and
/// that frame is a JPEG of the model's input size.
#[test]
fn label_changes_link_to_their_frames() {
    let model = common::repo_root().join("models/default/model.onnx");
    let video = common::repo_root().join("models/default/demo.mp4");
    assert!(
        model.exists() && video.exists(),
        "models/default is part of the repository"
    );
    let port = common::free_port();
    let d = Daemon::builder()
        .model(&model)
        .extra_toml(&format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"))
        .stream(StreamSpec::uri("scenes", video.to_str().unwrap()).looping(true))
        .window(8)
        .stride(4)
        .confirm(2)
        .spawn();
    wait_listening(port);
    let browser = Browser::start();
    browser.goto(&format!("http://127.0.0.1:{port}/"));
    // Two changes after the page opened (the first may have happened before).
    let href = browser.wait_for(
        "var a = document.querySelectorAll('.card .events a'); \
         return a.length >= 2 ? a[0].getAttribute('href') : null;",
        Duration::from_secs(60),
        "label changes with their frames on the card",
    );
    let href = href.as_str().unwrap().to_string();
    assert!(href.starts_with("/api/streams/scenes/events/"), "{href}");
    let (status, jpeg) = get_bytes(port, &href);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&jpeg));
    let manifest = common::repo_root().join("models/default/model.toml");
    assert_eq!(jpeg_size(&jpeg), model_input(&manifest));
    let labels = browser.eval(
        "return Array.from(document.querySelectorAll('.card .events b')).map(function (b) { return b.textContent; });",
    );
    let labels: Vec<&str> = labels
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        labels.len() >= 2 && labels[0] != labels[1],
        "changes {labels:?}"
    );
    drop(browser);
    drop(d);
}
