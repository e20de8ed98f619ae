//! The daemon's live view of itself, for HTTP: each stream's state and last
//! prediction (read from the published messages, as any subscriber would), its
//! frame counters (from the frame hub) and whether inference makes progress.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::hub::{FrameHub, SeenFrame};
use crate::publish::history::History;
use crate::publish::metrics::{self, StreamSnapshot};
use crate::publish::snapshot;
use crate::publish::{rfc3339, Feed, Message, Published, Publisher, StreamState};
use crate::stats::{StreamCounters, StreamStats};

/// One stream as the published messages describe it.
#[derive(Debug, Clone)]
pub struct StreamView {
    /// Stream name.
    pub name: String,
    /// State of its latest `status`.
    pub state: StreamState,
    /// Reason of its latest `status`.
    pub reason: String,
    /// When that `status` arrived.
    pub since: SystemTime,
    /// Its latest `prediction`.
    pub last_prediction: Option<Arc<Published>>,
    /// Its latest `event`.
    pub last_event: Option<Arc<Published>>,
}

impl StreamView {
    fn new(name: &str) -> Self {
        StreamView {
            name: name.to_string(),
            state: StreamState::Starting,
            reason: "not started yet".into(),
            since: SystemTime::now(),
            last_prediction: None,
            last_event: None,
        }
    }
}

/// The daemon as `/api/streams` and the status page show it.
#[derive(Debug, Clone)]
pub struct Report {
    /// Daemon version.
    pub version: String,
    /// Model name.
    pub model: String,
    /// When the daemon started.
    pub started: SystemTime,
    /// Every attached stream, in hub order: its view and its counters.
    pub streams: Vec<(StreamView, StreamCounters)>,
}

/// A published message as JSON, read back from its line (so numbers print as sent).
fn as_json(p: &Option<Arc<Published>>) -> Value {
    p.as_ref()
        .and_then(|p| serde_json::from_str(&p.line).ok())
        .unwrap_or(Value::Null)
}

impl Report {
    /// `/api/streams` body: state, counters and last prediction of every stream.
    pub fn to_json(&self) -> Value {
        let list: Vec<Value> = self
            .streams
            .iter()
            .map(|(v, c)| {
                json!({
                    "name": v.name,
                    "state": v.state,
                    "reason": v.reason,
                    "since": rfc3339(v.since),
                    "frames": {
                        "received": c.received,
                        "sampled": c.sampled,
                        "dropped": c.dropped(),
                        "classified": c.classified,
                    },
                    "reconnects": c.reconnects,
                    "last_frame_age_s": c.since_last_frame_s,
                    "last_prediction": as_json(&v.last_prediction),
                    "last_event": as_json(&v.last_event),
                })
            })
            .collect();
        json!({
            "version": self.version,
            "model": self.model,
            "started": rfc3339(self.started),
            "streams": list,
        })
    }
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

    /// `ok` or `unhealthy`.
    pub fn status(&self) -> &'static str {
        if self.ok() {
            "ok"
        } else {
            "unhealthy"
        }
    }

    /// `/healthz` body.
    pub fn to_json(&self) -> Value {
        json!({
            "status": self.status(),
            "reasons": self.problems,
        })
    }
}

/// Per-stream state, last prediction and counters, and inference progress.
pub struct Tracker {
    hub: Arc<FrameHub>,
    publisher: Arc<Publisher>,
    streams: Mutex<Vec<StreamView>>,
    stall: Duration,
    /// Publisher receivers that are not socket clients (this tracker, MQTT, stdout).
    internal_receivers: usize,
    version: String,
    model: Mutex<String>,
    started: SystemTime,
    /// The status page's recent predictions and events, per stream.
    history: Mutex<History>,
    /// Status page event streams (publisher receivers that are not socket clients).
    page_clients: Arc<AtomicUsize>,
}

/// Counts a status page event stream while it lives.
pub struct PageClient(Arc<AtomicUsize>);

impl Drop for PageClient {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
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
            stall,
            internal_receivers: other_receivers + 1,
            version: env!("CARGO_PKG_VERSION").to_string(),
            model: Mutex::new(String::new()),
            started: now,
            publisher,
            history: Mutex::new(History::default()),
            page_clients: Arc::new(AtomicUsize::new(0)),
        });
        for p in &initial {
            tracker.apply(p);
        }
        tokio::spawn(follow(Arc::downgrade(&tracker), rx));
        tracker
    }

    /// Updates the view from one published message.
    fn apply(&self, p: &Arc<Published>) {
        let stream = match &p.msg {
            Message::Hello {
                model,
                labels,
                models,
                ..
            } => {
                *self.model.lock().unwrap_or_else(|p| p.into_inner()) = model.clone();
                // Every model's labels (the first model's first), for the timelines.
                let mut all = labels.clone();
                for l in models.iter().flat_map(|m| &m.labels) {
                    if !all.contains(l) {
                        all.push(l.clone());
                    }
                }
                self.history().set_labels(&all);
                return;
            }
            Message::Goodbye { .. } => return,
            Message::Prediction { stream, .. }
            | Message::Event { stream, .. }
            | Message::Frame { stream, .. }
            | Message::Status { stream, .. } => stream,
        };
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let view = match streams.iter().position(|v| &v.name == stream) {
            Some(i) => &mut streams[i],
            None => {
                streams.push(StreamView::new(stream));
                streams.last_mut().expect("just pushed")
            }
        };
        match &p.msg {
            Message::Status { state, reason, .. } => {
                view.state = *state;
                view.reason = reason.clone();
                view.since = SystemTime::now();
            }
            Message::Prediction { .. } => view.last_prediction = Some(p.clone()),
            Message::Event { .. } => view.last_event = Some(p.clone()),
            _ => {}
        }
        drop(streams);
        let mut history = self.history();
        history.record(&p.msg, SystemTime::now());
        if let Message::Event { stream, .. } = &p.msg {
            // Someone watches (the hub keeps frames only then): keep this one.
            if let Some(frame) = self.hub.seen(stream).and_then(|f| snapshot::owned(&f)) {
                history.keep_frame(stream, frame);
            }
        }
    }

    /// The frame kept for `stream`'s label change at `t_ms` (see `/api/history`).
    pub fn event_frame(&self, stream: &str, t_ms: u64) -> Option<SeenFrame> {
        self.history().event_frame(stream, t_ms)
    }

    fn history(&self) -> std::sync::MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `/api/history` body: labels, uptime and each attached stream's recent
    /// predictions and events (the status page's timelines).
    pub fn history_json(&self) -> Value {
        let names: Vec<String> = self.hub.streams().iter().map(|s| s.name.clone()).collect();
        let mut body = self.history().to_json(&names, SystemTime::now());
        body["version"] = json!(self.version);
        body["model"] = json!(*self.model.lock().unwrap_or_else(|p| p.into_inner()));
        body["started"] = json!(rfc3339(self.started));
        body["uptime_s"] = json!(self.started.elapsed().unwrap_or_default().as_secs());
        body
    }

    /// A status page event stream: the messages to send first and the live feed;
    /// it is not counted as a socket subscriber while the [`PageClient`] lives.
    pub fn page_subscribe(&self) -> (Vec<Arc<Published>>, Feed, PageClient) {
        self.page_clients.fetch_add(1, Ordering::Relaxed);
        let guard = PageClient(self.page_clients.clone());
        let (initial, rx) = self.publisher.subscribe();
        (initial, rx, guard)
    }

    /// The frame hub (for snapshots).
    pub fn hub(&self) -> &Arc<FrameHub> {
        &self.hub
    }

    /// Healthy when every stream is running and inference makes progress.
    pub fn health(&self) -> Health {
        let mut problems = Vec::new();
        for v in self.views() {
            if v.state != StreamState::Running {
                problems.push(format!("stream {} is {}: {}", v.name, v.state, v.reason));
            }
        }
        problems.extend(self.liveness().problems);
        Health { problems }
    }

    /// Alive while inference makes progress (it does also while no camera sends
    /// frames), whatever the streams do: what `/livez` answers.
    pub fn liveness(&self) -> Health {
        let age = self.hub.progress_age();
        let problems = (age > self.stall)
            .then(|| {
                format!(
                    "inference has made no progress for {:.0} s",
                    age.as_secs_f64()
                )
            })
            .into_iter()
            .collect();
        Health { problems }
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

    /// Every attached stream's view and counters (one hub listing, so they line up).
    pub fn report(&self) -> Report {
        let attached = self.hub.streams();
        let counters = attached.iter().map(|s| s.snapshot());
        Report {
            version: self.version.clone(),
            model: self.model.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            started: self.started,
            streams: self.views_of(&attached).into_iter().zip(counters).collect(),
        }
    }

    /// `/api/streams` body: state, counters and last prediction of every stream.
    pub fn streams_json(&self) -> Value {
        self.report().to_json()
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
                state: v.state,
                counters: s.snapshot(),
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
            .saturating_sub(self.internal_receivers)
            .saturating_sub(self.page_clients.load(Ordering::Relaxed)) as u64
    }

    fn info(&self) -> (String, String) {
        (
            self.version.clone(),
            self.model.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        )
    }
}

async fn follow(tracker: std::sync::Weak<Tracker>, mut rx: Feed) {
    loop {
        match rx.recv().await {
            Ok(p) => match tracker.upgrade() {
                Some(t) => t.apply(&p),
                None => return,
            },
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("status tracker fell behind: {n} messages not seen");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
