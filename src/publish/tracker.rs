//! The daemon's live view of itself, for HTTP: each stream's state and last
//! prediction (read from the published messages, as any subscriber would), its
//! frame counters (from the frame hub) and whether inference makes progress.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::hub::{FrameHub, StreamStats};
use crate::publish::metrics::{self, StreamLabel, StreamSnapshot};
use crate::publish::{rfc3339, Publisher};

#[derive(Debug, Clone)]
struct StreamView {
    name: String,
    state: String,
    reason: String,
    since: SystemTime,
    last_prediction: Option<Value>,
    last_event: Option<Value>,
}

impl StreamView {
    fn new(name: &str) -> Self {
        StreamView {
            name: name.to_string(),
            state: "starting".into(),
            reason: "not started yet".into(),
            since: SystemTime::now(),
            last_prediction: None,
            last_event: None,
        }
    }
}

#[derive(Debug)]
struct Progress {
    value: u64,
    changed: Instant,
}

/// Why the daemon is not healthy (empty when it is).
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// One line per problem.
    pub problems: Vec<String>,
}

impl Health {
    /// True when nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Per-stream state, last prediction and counters, and inference progress.
pub struct Tracker {
    hub: Arc<FrameHub>,
    publisher: Arc<Publisher>,
    streams: Mutex<Vec<StreamView>>,
    progress: Mutex<Progress>,
    stall: Duration,
    /// Publisher receivers that are not socket clients (this tracker, MQTT, stdout).
    internal_receivers: usize,
    version: String,
    model: Mutex<String>,
    started: SystemTime,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker").finish_non_exhaustive()
    }
}

impl Tracker {
    /// Starts tracking the streams attached to `hub` (they may change on reload).
    /// `stall` is how long inference may make no progress before health fails;
    /// `other_receivers` counts publisher receivers that are not socket clients,
    /// besides the tracker itself.
    pub fn spawn(
        publisher: Arc<Publisher>,
        hub: Arc<FrameHub>,
        stall: Duration,
        other_receivers: usize,
    ) -> Arc<Tracker> {
        let now = SystemTime::now();
        let (initial, rx) = publisher.subscribe();
        let tracker = Arc::new(Tracker {
            hub,
            streams: Mutex::new(Vec::new()),
            progress: Mutex::new(Progress {
                value: 0,
                changed: Instant::now(),
            }),
            stall,
            internal_receivers: other_receivers + 1,
            version: env!("CARGO_PKG_VERSION").to_string(),
            model: Mutex::new(String::new()),
            started: now,
            publisher,
        });
        for line in initial {
            tracker.apply(&line);
        }
        tokio::spawn(follow(Arc::downgrade(&tracker), rx));
        tracker
    }

    /// Updates the view from one published line.
    fn apply(&self, line: &str) {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let kind = msg["type"].as_str().unwrap_or("");
        if kind == "hello" {
            if let Some(m) = msg["model"].as_str() {
                *self.model.lock().unwrap_or_else(|p| p.into_inner()) = m.to_string();
            }
            return;
        }
        let Some(stream) = msg["stream"].as_str().map(str::to_string) else {
            return;
        };
        let label = StreamLabel {
            stream: stream.clone(),
        };
        let m = metrics::global();
        match kind {
            "prediction" => {
                m.predictions.get_or_create(&label).inc();
                if let Some(ms) = msg["latency_ms"].as_f64() {
                    m.prediction_latency
                        .get_or_create(&label)
                        .observe(ms / 1000.0);
                }
            }
            "event" => {
                m.events.get_or_create(&label).inc();
            }
            _ => {}
        }
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let view = match streams.iter().position(|v| v.name == stream) {
            Some(i) => &mut streams[i],
            None => {
                streams.push(StreamView::new(&stream));
                streams.last_mut().expect("just pushed")
            }
        };
        match kind {
            "status" => {
                view.state = msg["state"].as_str().unwrap_or("").to_string();
                view.reason = msg["reason"].as_str().unwrap_or("").to_string();
                view.since = SystemTime::now();
            }
            "prediction" => view.last_prediction = Some(msg),
            "event" => view.last_event = Some(msg),
            _ => {}
        }
    }

    /// Seconds since the worker last made progress (updated on each call).
    fn progress_age(&self) -> Duration {
        let now = self.hub.progress();
        let mut p = self.progress.lock().unwrap_or_else(|p| p.into_inner());
        if now != p.value {
            p.value = now;
            p.changed = Instant::now();
        }
        p.changed.elapsed()
    }

    /// Healthy when every stream is running and inference makes progress.
    pub fn health(&self) -> Health {
        let mut problems = Vec::new();
        for v in self.views() {
            if v.state != "running" {
                problems.push(format!("stream {} is {}: {}", v.name, v.state, v.reason));
            }
        }
        let age = self.progress_age();
        if age > self.stall {
            problems.push(format!(
                "inference has made no progress for {:.0} s",
                age.as_secs_f64()
            ));
        }
        Health { problems }
    }

    /// `/healthz` body.
    pub fn health_json(&self) -> Value {
        let h = self.health();
        json!({
            "status": if h.ok() { "ok" } else { "unhealthy" },
            "reasons": h.problems,
        })
    }

    /// The views of the streams attached now, in hub order.
    fn views(&self) -> Vec<StreamView> {
        self.views_of(&self.hub.streams())
    }

    /// The views of `attached` (one hub listing, so views and counters line up).
    fn views_of(&self, attached: &[Arc<StreamStats>]) -> Vec<StreamView> {
        let known = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        attached
            .iter()
            .map(|s| {
                known
                    .iter()
                    .find(|v| v.name == s.name)
                    .cloned()
                    .unwrap_or_else(|| StreamView::new(&s.name))
            })
            .collect()
    }

    /// `/api/streams` body: state, counters and last prediction of every stream.
    pub fn streams_json(&self) -> Value {
        let attached = self.hub.streams();
        let counters = self.snapshots_of(&attached);
        let streams = self.views_of(&attached);
        let list: Vec<Value> = streams
            .iter()
            .zip(counters)
            .map(|(v, c)| {
                json!({
                    "name": v.name,
                    "state": v.state,
                    "reason": v.reason,
                    "since": rfc3339(v.since),
                    "frames": {
                        "received": c.received,
                        "sampled": c.sampled,
                        "dropped": c.dropped_busy + c.dropped_flushed + c.dropped_unusable,
                        "classified": c.classified,
                    },
                    "reconnects": c.reconnects,
                    "last_frame_age_s": c.since_last_frame_s,
                    "last_prediction": v.last_prediction,
                    "last_event": v.last_event,
                })
            })
            .collect();
        json!({
            "version": self.version,
            "model": self.model.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            "started": rfc3339(self.started),
            "streams": list,
        })
    }

    fn snapshots(&self) -> Vec<StreamSnapshot> {
        self.snapshots_of(&self.hub.streams())
    }

    fn snapshots_of(&self, attached: &[Arc<StreamStats>]) -> Vec<StreamSnapshot> {
        attached
            .iter()
            .zip(self.views_of(attached))
            .map(|(s, v)| StreamSnapshot {
                name: v.name.clone(),
                state: v.state.clone(),
                received: s.decoded.load(Ordering::Relaxed),
                sampled: s.received.load(Ordering::Relaxed),
                dropped_busy: s.dropped.load(Ordering::Relaxed),
                dropped_flushed: s.stale.load(Ordering::Relaxed),
                dropped_unusable: s.skipped.load(Ordering::Relaxed),
                classified: s.classified.load(Ordering::Relaxed),
                reconnects: s.reconnects.load(Ordering::Relaxed),
                retries: s.retries.snapshot(),
                since_last_frame_s: s.since_last_frame().map(|d| d.as_secs_f64()),
            })
            .collect()
    }
}

impl metrics::Source for Tracker {
    fn streams(&self) -> Vec<StreamSnapshot> {
        self.snapshots()
    }

    fn subscribers(&self) -> u64 {
        self.publisher
            .subscribers()
            .saturating_sub(self.internal_receivers) as u64
    }

    fn info(&self) -> (String, String) {
        (
            self.version.clone(),
            self.model.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        )
    }
}

async fn follow(tracker: std::sync::Weak<Tracker>, mut rx: broadcast::Receiver<Arc<str>>) {
    loop {
        match rx.recv().await {
            Ok(line) => match tracker.upgrade() {
                Some(t) => t.apply(&line),
                None => return,
            },
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("status tracker fell behind: {n} messages not seen");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
