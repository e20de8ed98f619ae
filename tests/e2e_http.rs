//! The HTTP endpoint through real HTTP requests: Prometheus metrics that parse
//! and move, health, the streams API, the status page, errors.

mod common;

use std::time::{Duration, Instant};

use common::checks::{self, Expect};
use common::http::{get, request};
use common::{schema, Daemon, StreamSpec};

const HELLO: Duration = Duration::from_secs(5);
const FIRST: Duration = Duration::from_secs(30);

fn daemon_with_http(streams: &[StreamSpec]) -> (Daemon, u16) {
    common::require_model();
    let port = common::free_port();
    let mut b = Daemon::builder().extra_toml(&format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"));
    for s in streams {
        b = b.stream(s.clone());
    }
    let d = b.spawn();
    // The socket accepts as soon as it is bound; HTTP starts a moment later.
    common::http::wait_listening(port, || d.describe());
    (d, port)
}

/// Parses a scrape with a Prometheus text-format parser, after checking every line
/// against the format's grammar (the parser itself is lenient).
fn scrape(port: u16) -> (prometheus_parse::Scrape, String) {
    let r = get(port, "/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for line in r.body.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            assert!(
                rest.starts_with("HELP ") || rest.starts_with("TYPE "),
                "bad comment line {line:?}"
            );
            continue;
        }
        let (name_labels, value) = line.rsplit_once(' ').expect("NAME VALUE");
        let name = name_labels.split('{').next().unwrap();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name in {line:?}"
        );
        if let Some(labels) = name_labels.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(
                    labels.starts_with('{') && labels.ends_with('}'),
                    "bad labels in {line:?}"
                );
            }
        }
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "bad value in {line:?}"
        );
    }
    let lines = r.body.lines().map(|l| Ok(l.to_string()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("the scrape parses");
    (parsed, r.body)
}

/// The value of `metric` with `labels` in a parsed scrape (counters, gauges, untyped).
fn value(s: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = s
        .samples
        .iter()
        .find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no {metric}{labels:?} in the scrape"));
    match &sample.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => *v,
        other => panic!("{metric} is not a plain value: {other:?}"),
    }
}

/// (count, sum) of a histogram's sample set.
fn histogram(
    s: &prometheus_parse::Scrape,
    metric: &str,
    labels: &[(&str, &str)],
) -> Vec<(f64, f64)> {
    let sample = s
        .samples
        .iter()
        .find(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no histogram {metric}{labels:?}"));
    match &sample.value {
        prometheus_parse::Value::Histogram(b) => b.iter().map(|h| (h.less_than, h.count)).collect(),
        other => panic!("{metric} is not a histogram: {other:?}"),
    }
}

fn wait_healthy(port: u16, timeout: Duration) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let r = get(port, "/healthz");
        if r.status == 200 {
            return r.json();
        }
        assert!(
            Instant::now() < deadline,
            "not healthy within {timeout:?}: {}",
            r.body
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn metrics_parse_and_counters_move_as_frames_flow() {
    let (d, port) = daemon_with_http(&[
        StreamSpec::test("cam1", "ball"),
        StreamSpec::test("cam2", "snow"),
    ]);
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    sub.collect_predictions_per_stream(&["cam1", "cam2"], 1, FIRST);
    let (a, text) = scrape(port);
    sub.collect_predictions_per_stream(&["cam1", "cam2"], 3, FIRST);
    let (b, _) = scrape(port);

    for stream in ["cam1", "cam2"] {
        let l = [("stream", stream)];
        for m in [
            "actiond_stream_frames_received_total",
            "actiond_stream_frames_sampled_total",
            "actiond_stream_frames_classified_total",
            "actiond_predictions_total",
        ] {
            let (x, y) = (value(&a, m, &l), value(&b, m, &l));
            assert!(
                y > x && x > 0.0,
                "{m}{{stream={stream}}} did not move: {x} -> {y}\n{text}"
            );
        }
        // Sampling at 5 fps from a 30 fps source keeps about one frame in six.
        let received = value(&b, "actiond_stream_frames_received_total", &l);
        let sampled = value(&b, "actiond_stream_frames_sampled_total", &l);
        assert!(
            sampled < received / 2.0,
            "{stream}: sampled {sampled} of {received}"
        );
        let classified = value(&b, "actiond_stream_frames_classified_total", &l);
        let dropped = value(
            &b,
            "actiond_stream_frames_dropped_total",
            &[("stream", stream), ("reason", "inference_busy")],
        );
        assert!(
            classified + dropped <= sampled + 1.0,
            "{stream}: {classified} + {dropped} > {sampled}"
        );
        assert_eq!(
            value(
                &b,
                "actiond_stream_state",
                &[("stream", stream), ("state", "running")]
            ),
            1.0
        );
        assert_eq!(
            value(
                &b,
                "actiond_stream_state",
                &[("stream", stream), ("state", "stalled")]
            ),
            0.0
        );
        assert_eq!(value(&b, "actiond_stream_reconnects_total", &l), 0.0);
        let lat = histogram(&b, "actiond_prediction_latency_seconds", &l);
        let inf = lat.iter().find(|(le, _)| le.is_infinite()).unwrap().1;
        assert!(inf >= 3.0, "latency histogram of {stream}: {lat:?}");
    }
    let inf_count = |s: &prometheus_parse::Scrape, m: &str| {
        histogram(s, m, &[])
            .iter()
            .find(|(le, _)| le.is_infinite())
            .unwrap()
            .1
    };
    assert!(
        inf_count(&b, "actiond_inference_seconds") > inf_count(&a, "actiond_inference_seconds")
    );
    assert!(inf_count(&b, "actiond_inference_batch_frames") > 0.0);
    // One socket subscriber: this test's.
    assert_eq!(value(&b, "actiond_socket_subscribers", &[]), 1.0);
    let rss = value(&b, "process_resident_memory_bytes", &[]);
    assert!(rss > 20e6 && rss < 4e9, "RSS {rss}");
    assert!(value(&b, "process_cpu_seconds_total", &[]) > 0.0);
    assert_eq!(
        value(
            &b,
            "actiond_build_info",
            &[("model", "provisional-mobilenetv2")]
        ),
        1.0
    );
}

#[test]
fn openmetrics_on_request() {
    let (_d, port) = daemon_with_http(&[StreamSpec::test("cam1", "ball")]);
    let r = request(
        port,
        "GET",
        "/metrics",
        &["Accept: application/openmetrics-text; version=1.0.0"],
    )
    .unwrap();
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(r.body.trim_end().ends_with("# EOF"), "{}", r.body);
}

#[test]
fn healthz_is_200_when_every_stream_runs() {
    let (_d, port) = daemon_with_http(&[StreamSpec::test("cam1", "ball")]);
    let body = wait_healthy(port, FIRST);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["reasons"], serde_json::json!([]));
}

#[test]
fn healthz_is_503_with_the_reason_when_a_stream_fails() {
    let (_d, port) = daemon_with_http(&[
        StreamSpec::test("good", "ball"),
        StreamSpec::pipeline("bad", "no-such-element-xyz ! videoconvert"),
    ]);
    let deadline = Instant::now() + FIRST;
    let body = loop {
        let r = get(port, "/healthz");
        assert_eq!(
            r.status, 503,
            "a failed stream must make health fail: {}",
            r.body
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        let body = r.json();
        let reasons = body["reasons"].to_string();
        if reasons.contains("stream bad is failed") && !reasons.contains("stream good") {
            break body;
        }
        assert!(Instant::now() < deadline, "no failed reason: {body}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(body["status"], "unhealthy");
    let reasons = body["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{body}");
    assert!(
        reasons[0].as_str().unwrap().contains("no-such-element-xyz"),
        "{body}"
    );
}

#[test]
fn livez_stays_200_while_a_camera_is_down_and_healthz_says_503() {
    let closed = common::free_port();
    let (_d, port) = daemon_with_http(&[
        StreamSpec::test("good", "ball"),
        StreamSpec::uri("down", &format!("rtsp://127.0.0.1:{closed}/x")),
    ]);
    let deadline = Instant::now() + FIRST;
    loop {
        let health = get(port, "/healthz");
        assert_eq!(health.status, 503, "a camera is down: {}", health.body);
        let live = get(port, "/livez");
        assert_eq!(live.status, 200, "the daemon is alive: {}", live.body);
        assert_eq!(
            live.json(),
            serde_json::json!({"status": "ok", "reasons": []})
        );
        if health.body.contains("stream down is") && !health.body.contains("stream good") {
            break;
        }
        assert!(Instant::now() < deadline, "good never ran: {}", health.body);
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn api_config_is_the_effective_config_without_credentials() {
    let (_d, port) = daemon_with_http(&[
        StreamSpec::test("cam1", "ball"),
        StreamSpec::uri("cam2", "rtsp://admin:hunter2-Qz@127.0.0.1:9/x").raw("enabled", "false"),
    ]);
    let r = get(port, "/api/config");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let c = r.json();
    assert_eq!(c["stream"][0]["uri"], "test:ball");
    assert_eq!(c["stream"][1]["uri"], "rtsp://***@127.0.0.1:9/x");
    assert_eq!(c["stream"][1]["enabled"], false);
    assert_eq!(
        c["stream"][0]["stall_timeout_s"], 10.0,
        "defaults are filled in"
    );
    assert_eq!(c["runtime"]["max_batch"], 4);
    assert_eq!(c["http"]["listen"], format!("127.0.0.1:{port}"));
    assert!(
        !r.body.contains("hunter2-Qz") && !r.body.contains("admin"),
        "{}",
        r.body
    );
}

#[test]
fn api_streams_has_state_counters_and_the_last_prediction() {
    let (d, port) = daemon_with_http(&[StreamSpec::test("cam1", "ball")]);
    let mut sub = d.subscribe();
    sub.hello(HELLO);
    sub.collect_predictions(2, FIRST);
    // The view follows the published messages; allow it a moment to see the second clip.
    let deadline = Instant::now() + Duration::from_secs(5);
    let body = loop {
        let r = get(port, "/api/streams");
        assert_eq!(r.status, 200);
        let body = r.json();
        if body["streams"][0]["last_prediction"]["seq"].as_u64() >= Some(2)
            || Instant::now() > deadline
        {
            break body;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(body["model"], "provisional-mobilenetv2");
    let streams = body["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1);
    let s = &streams[0];
    assert_eq!(s["name"], "cam1");
    assert_eq!(s["state"], "running");
    // Two clips of window 4, stride 2: at least 6 classified frames.
    assert!(s["frames"]["classified"].as_u64().unwrap() >= 6, "{s}");
    assert!(
        s["frames"]["received"].as_u64() > s["frames"]["sampled"].as_u64(),
        "{s}"
    );
    let p = &s["last_prediction"];
    checks::check_prediction(p, &Expect::provisional());
    schema::assert_valid(&schema::validator(), p);
    assert!(p["seq"].as_u64().unwrap() >= 2, "{p}");
}

#[test]
fn status_page_errors_and_methods() {
    let (_d, port) = daemon_with_http(&[StreamSpec::test("cam1", "ball")]);
    wait_healthy(port, FIRST);
    let page = get(port, "/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(
        page.body.contains("<td>cam1</td>") && page.body.contains("running"),
        "{}",
        page.body
    );

    let missing = get(port, "/nope");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["error"], "not found");

    let post = request(port, "POST", "/metrics", &["Content-Length: 0"]).unwrap();
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    let head = request(port, "HEAD", "/healthz", &[]).unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());

    // Many clients at once are all answered.
    let handles: Vec<_> = (0..16)
        .map(|_| std::thread::spawn(move || get(port, "/metrics").status))
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
}

#[test]
fn a_busy_http_port_stops_the_start_with_a_clear_error() {
    common::require_model();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut d = Daemon::builder()
        .stream(StreamSpec::test("cam1", "ball"))
        .extra_toml(&format!("[http]\nlisten = \"127.0.0.1:{port}\"\n"))
        .spawn_unready();
    let status = d
        .wait_exit(Duration::from_secs(20))
        .unwrap_or_else(|| panic!("the daemon kept running\n{}", d.describe()));
    assert!(!status.success());
    let err = d.stderr();
    assert!(
        err.contains(&format!("[http] listen = \"127.0.0.1:{port}\""))
            && err.to_lowercase().contains("in use"),
        "{err}"
    );
    assert!(!d.socket_path.exists(), "the socket was left behind");
}
