//! Checks of the message contract (design.md, "Messages").

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::subscriber::Received;

/// What a run's messages must agree with.
#[derive(Clone, Debug)]
pub struct Expect {
    pub labels: Vec<String>,
    pub top_k: usize,
    pub window: usize,
    pub stride: usize,
    pub sample_fps: f64,
}

impl Expect {
    /// The provisional model's labels with the harness defaults (top_k 3,
    /// window 4, stride 2, 5 fps).
    pub fn provisional() -> Self {
        Expect {
            labels: super::manifest_labels(),
            top_k: 3,
            window: 4,
            stride: 2,
            sample_fps: 5.0,
        }
    }

    /// Seconds between consecutive clips.
    pub fn clip_interval_s(&self) -> f64 {
        self.stride as f64 / self.sample_fps
    }

    /// Seconds from a clip's first to its last frame.
    pub fn clip_span_s(&self) -> f64 {
        (self.window as f64 - 1.0) / self.sample_fps
    }
}

/// Seconds since the Unix epoch now.
pub fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Parses an RFC 3339 date-time (`2024-05-01T12:00:00.123Z`,
/// `…+02:00`, lower-case `t`/`z` and a space separator allowed as RFC 3339
/// allows) into seconds since the Unix epoch.
pub fn rfc3339_to_unix(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut frac = 0.0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        frac = format!("0.{}", &s[start..i]).parse().ok()?;
    }
    let offset_s = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        c @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *c == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + hour * 3600 + min * 60 + sec - offset_s;
    Some(secs as f64 + frac)
}

/// Asserts `type` is a string and `v` is 1; returns the type.
pub fn check_envelope(m: &Value) -> &str {
    assert!(m.is_object(), "message is not an object: {m}");
    assert_eq!(m["v"], 1, "message without \"v\": 1: {m}");
    m["type"]
        .as_str()
        .unwrap_or_else(|| panic!("message without a string \"type\": {m}"))
}

fn str_field<'a>(m: &'a Value, key: &str) -> &'a str {
    m[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key:?} is not a string in {m}"))
}

/// A non-negative integer field.
fn uint_field(m: &Value, key: &str) -> u64 {
    m[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key:?} is not a non-negative integer in {m}"))
}

/// An integer or null field (the key must be present).
fn opt_int_field(m: &Value, key: &str) -> Option<i64> {
    let v = m
        .get(key)
        .unwrap_or_else(|| panic!("{key:?} is missing (null is allowed) in {m}"));
    if v.is_null() {
        return None;
    }
    Some(
        v.as_i64()
            .unwrap_or_else(|| panic!("{key:?} is neither an integer nor null in {m}")),
    )
}

/// A probability.
fn check_prob(x: &Value, what: &str, m: &Value) -> f64 {
    let p = x
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number in {m}"));
    assert!(
        p.is_finite() && (0.0..=1.0 + 1e-6).contains(&p),
        "{what} = {p} is not in [0, 1] in {m}"
    );
    p
}

/// Checks a `top` list: 1..=top_k entries of {label, score}, labels from the
/// manifest and distinct, scores in [0,1], descending, summing to at most 1.
pub fn check_top(m: &Value, e: &Expect) -> Vec<(String, f64)> {
    let top = m["top"]
        .as_array()
        .unwrap_or_else(|| panic!("\"top\" is not an array in {m}"));
    assert!(
        !top.is_empty() && top.len() <= e.top_k,
        "\"top\" has {} entries, want 1..={} in {m}",
        top.len(),
        e.top_k
    );
    let mut out: Vec<(String, f64)> = Vec::new();
    for t in top {
        let label = str_field(t, "label").to_owned();
        assert!(
            e.labels.contains(&label),
            "top label {label:?} is not among the manifest's {:?} in {m}",
            e.labels
        );
        assert!(
            out.iter().all(|(l, _)| *l != label),
            "label {label:?} twice in top of {m}"
        );
        let score = check_prob(&t["score"], "top score", m);
        if let Some((_, prev)) = out.last() {
            assert!(
                *prev >= score,
                "top is not sorted by descending score in {m}"
            );
        }
        out.push((label, score));
    }
    let sum: f64 = out.iter().map(|(_, s)| s).sum();
    assert!(sum <= 1.0 + 1e-3, "top scores sum to {sum} > 1 in {m}");
    out
}

/// A wall-clock time field: RFC 3339, within `past_s` before and 2 s after now.
pub fn check_wall_time(m: &Value, key: &str, past_s: f64) -> f64 {
    let s = str_field(m, key);
    let t = rfc3339_to_unix(s).unwrap_or_else(|| panic!("{key:?} = {s:?} is not RFC 3339 in {m}"));
    let now = now_unix();
    assert!(
        t <= now + 2.0 && t >= now - past_s,
        "{key:?} = {s} is {:.3} s from now ({now}), want within [-{past_s}, +2] s: {m}",
        t - now
    );
    t
}

/// Checks a `hello`: version and model strings, `streams` lists `streams`.
pub fn check_hello(m: &Value, streams: &[&str]) {
    assert_eq!(check_envelope(m), "hello", "not a hello: {m}");
    assert!(!str_field(m, "version").is_empty(), "empty version in {m}");
    assert!(!str_field(m, "model").is_empty(), "empty model in {m}");
    let listed: Vec<&str> = m["streams"]
        .as_array()
        .unwrap_or_else(|| panic!("\"streams\" is not an array in {m}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("a stream name is not a string in {m}"))
        })
        .collect();
    for s in streams {
        assert!(listed.contains(s), "hello does not list stream {s:?}: {m}");
    }
}

/// Decoded fields of a checked prediction.
#[derive(Clone, Debug)]
pub struct Prediction {
    pub stream: String,
    pub seq: u64,
    pub label: String,
    pub score: f64,
    pub frames: u64,
    pub clip_start: f64,
    pub clip_end: f64,
    pub pts_start_ns: Option<i64>,
    pub pts_end_ns: Option<i64>,
    pub latency_ms: f64,
}

/// Checks every contract field of a `prediction` and returns them decoded.
pub fn check_prediction(m: &Value, e: &Expect) -> Prediction {
    assert_eq!(check_envelope(m), "prediction", "not a prediction: {m}");
    let stream = str_field(m, "stream").to_owned();
    let seq = uint_field(m, "seq");
    assert!(seq >= 1, "seq starts at 1: {m}");
    let label = str_field(m, "label").to_owned();
    assert!(
        e.labels.contains(&label),
        "label {label:?} is not among the manifest's {:?}: {m}",
        e.labels
    );
    let score = check_prob(&m["score"], "score", m);
    let top = check_top(m, e);
    assert_eq!(top[0].0, label, "label is not top[0].label: {m}");
    assert!(
        (top[0].1 - score).abs() <= 1e-6,
        "score {score} != top[0].score {}: {m}",
        top[0].1
    );
    let frames = uint_field(m, "frames");
    assert!(frames >= 1, "frames must be >= 1: {m}");
    // Checked when the test looks, which on a busy machine can be minutes after the
    // message arrived; `check_live_cadence` checks clip_end against the arrival time.
    let clip_start = check_wall_time(m, "clip_start", 300.0);
    let clip_end = check_wall_time(m, "clip_end", 300.0);
    assert!(clip_start <= clip_end, "clip_start > clip_end: {m}");
    let pts_start_ns = opt_int_field(m, "pts_start_ns");
    let pts_end_ns = opt_int_field(m, "pts_end_ns");
    let latency_ms = m["latency_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("latency_ms is not a number: {m}"));
    assert!(
        latency_ms.is_finite() && latency_ms >= 0.0,
        "latency_ms < 0: {m}"
    );
    assert!(
        latency_ms < 30_000.0,
        "latency_ms {latency_ms} is implausible: {m}"
    );
    assert!(!str_field(m, "model").is_empty(), "empty model: {m}");
    Prediction {
        stream,
        seq,
        label,
        score,
        frames,
        clip_start,
        clip_end,
        pts_start_ns,
        pts_end_ns,
        latency_ms,
    }
}

/// Checks a `frame` message; returns its stream and pts.
pub fn check_frame(m: &Value, e: &Expect) -> (String, Option<i64>) {
    assert_eq!(check_envelope(m), "frame", "not a frame: {m}");
    let stream = str_field(m, "stream").to_owned();
    let pts = opt_int_field(m, "pts_ns");
    check_top(m, e);
    (stream, pts)
}

pub const STATES: [&str; 6] = [
    "starting",
    "running",
    "stalled",
    "reconnecting",
    "failed",
    "stopped",
];

/// Checks a `status` message; returns (stream, state).
pub fn check_status(m: &Value) -> (String, String) {
    assert_eq!(check_envelope(m), "status", "not a status: {m}");
    let stream = str_field(m, "stream").to_owned();
    let state = str_field(m, "state").to_owned();
    assert!(STATES.contains(&state.as_str()), "unknown state in {m}");
    assert!(
        m.get("reason")
            .is_some_and(|r| r.is_string() || r.is_null()),
        "\"reason\" must be a string (or null): {m}"
    );
    (stream, state)
}

/// Checks an `event` message.
pub fn check_event(m: &Value, e: &Expect) {
    assert_eq!(check_envelope(m), "event", "not an event: {m}");
    str_field(m, "stream");
    assert_eq!(m["event"], "label_changed", "unknown event in {m}");
    let from = m
        .get("from")
        .unwrap_or_else(|| panic!("\"from\" missing in {m}"));
    if let Some(from) = from.as_str() {
        assert!(e.labels.iter().any(|l| l == from), "bad from in {m}");
    } else {
        assert!(from.is_null(), "\"from\" is neither string nor null in {m}");
    }
    let to = str_field(m, "to");
    assert!(e.labels.iter().any(|l| l == to), "bad to in {m}");
    check_prob(&m["score"], "score", m);
}

/// Checks any message by its type; unknown types fail.
pub fn check_any(m: &Value, e: &Expect) {
    match check_envelope(m) {
        "hello" => check_hello(m, &[]),
        "prediction" => {
            check_prediction(m, e);
        }
        "frame" => {
            check_frame(m, e);
        }
        "status" => {
            check_status(m);
        }
        "event" => check_event(m, e),
        other => panic!("unknown message type {other:?}: {m}"),
    }
}

/// Per stream, asserts seq goes up by exactly 1 from message to message.
pub fn check_seq_consecutive<'a>(preds: impl IntoIterator<Item = &'a Value>) {
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for m in preds {
        let stream = str_field(m, "stream").to_owned();
        let seq = uint_field(m, "seq");
        if let Some(prev) = last.get(&stream) {
            assert_eq!(
                seq,
                prev + 1,
                "stream {stream}: seq {seq} follows {prev} (want +1): {m}"
            );
        }
        last.insert(stream, seq);
    }
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    assert!(!xs.is_empty(), "median of nothing");
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Relative tolerance of cadence checks: tight enough that stride 1 (half
/// the interval) or stride 3 fails for stride 2, loose enough for a busy
/// two-core machine.
pub const TOL_LO: f64 = 0.75;
pub const TOL_HI: f64 = 1.35;

/// Asserts `x` is within [lo·want, hi·want].
pub fn assert_near(what: &str, x: f64, want: f64, lo: f64, hi: f64) {
    assert!(
        x >= want * lo && x <= want * hi,
        "{what} = {x:.3}, want about {want:.3} (between {:.3} and {:.3})",
        want * lo,
        want * hi
    );
}

/// Cadence of one live stream's consecutive predictions (all from one
/// stream, in order): `frames` == window, clip span ≈ (window−1)/fps, clip
/// ends ≈ stride/fps apart (medians, within TOL_LO..TOL_HI), arrivals
/// ≈ stride/fps apart on average (looser: CPU contention), pts (when
/// present) agree, clip_end 0–5 s before arrival, latency_ms ≤ 5000.
pub fn check_live_cadence(preds: &[Received], e: &Expect) {
    assert!(preds.len() >= 4, "need at least 4 predictions for cadence");
    let decoded: Vec<Prediction> = preds.iter().map(|r| check_prediction(&r.msg, e)).collect();
    for p in &decoded {
        assert_eq!(p.frames, e.window as u64, "frames != window in {p:?}");
    }
    let interval = e.clip_interval_s();
    let span = e.clip_span_s();
    let spans: Vec<f64> = decoded.iter().map(|p| p.clip_end - p.clip_start).collect();
    assert_near(
        "median clip_end - clip_start (s)",
        median(spans),
        span,
        TOL_LO,
        TOL_HI,
    );
    let ends: Vec<f64> = decoded
        .windows(2)
        .map(|w| w[1].clip_end - w[0].clip_end)
        .collect();
    assert_near(
        "median interval between clip_end (s)",
        median(ends),
        interval,
        TOL_LO,
        TOL_HI,
    );
    for (r, p) in preds.iter().zip(&decoded) {
        let age = r.wall - p.clip_end;
        assert!(
            (-1.0..=5.0).contains(&age),
            "clip_end is {age:.3} s before arrival (want 0..5 s for a live source): {}",
            r.msg
        );
        assert!(
            p.latency_ms <= 5000.0,
            "latency_ms {} is too high for a live source on localhost: {}",
            p.latency_ms,
            r.msg
        );
    }
    let first = preds.first().unwrap().at;
    let last = preds.last().unwrap().at;
    let mean_arrival = (last - first).as_secs_f64() / (preds.len() - 1) as f64;
    assert_near(
        "mean interval between arrivals (s)",
        mean_arrival,
        interval,
        0.6,
        1.6,
    );
    let pts_spans: Vec<f64> = decoded
        .iter()
        .filter_map(|p| Some((p.pts_end_ns? - p.pts_start_ns?) as f64 / 1e9))
        .collect();
    if !pts_spans.is_empty() {
        assert!(
            pts_spans.iter().all(|s| *s >= 0.0),
            "pts_end_ns < pts_start_ns in {pts_spans:?}"
        );
        assert_near(
            "median pts_end_ns - pts_start_ns (s)",
            median(pts_spans),
            span,
            TOL_LO,
            TOL_HI,
        );
    }
}

/// For the status leniency rule: a `running` status for `stream` was seen,
/// or no status for it at all (it ran before we connected, and then the
/// hello must list it).
pub fn check_running_seen(history: &[Received], hello: &Value, stream: &str) {
    let states: Vec<String> = history
        .iter()
        .filter(|r| r.msg["type"] == "status" && r.msg["stream"] == stream)
        .map(|r| check_status(&r.msg).1)
        .collect();
    if states.is_empty() {
        check_hello(hello, &[stream]);
        return;
    }
    assert!(
        states.iter().any(|s| s == "running"),
        "stream {stream}: statuses {states:?} but never \"running\""
    );
}

/// The score of `label` in the `top` list of message `m` (a panic naming both if absent).
pub fn top_score(m: &Value, label: &str) -> f64 {
    m["top"]
        .as_array()
        .and_then(|t| t.iter().find(|s| s["label"] == label))
        .and_then(|s| s["score"].as_f64())
        .unwrap_or_else(|| panic!("no score for {label}: {m}"))
}
