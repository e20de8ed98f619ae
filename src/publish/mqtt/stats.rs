//! `<prefix>/stats`: every `stats_interval_s`, each stream's state, analyzed frames per
//! second, drops and mean latency over the interval, and the daemon's uptime.

use std::collections::{BTreeMap, HashMap};
use std::time::{Instant, SystemTime};

use serde_json::json;

use super::Item;
use crate::hub::FrameHub;
use crate::publish::{Message, Published};
use crate::stats::StreamCounters;

/// What the stats messages are made from between two of them.
pub struct Stats {
    topic: String,
    started: Instant,
    last: Instant,
    /// Each stream's counters at the last message, by stream id.
    before: HashMap<u64, StreamCounters>,
    /// Each stream's prediction latencies since the last message: (sum ms, count).
    latency: BTreeMap<String, (f64, u64)>,
    /// Each stream's latest state.
    states: BTreeMap<String, String>,
}

impl Stats {
    /// Stats published under `prefix`.
    pub fn new(prefix: &str) -> Stats {
        let now = Instant::now();
        Stats {
            topic: format!("{prefix}/stats"),
            started: now,
            last: now,
            before: HashMap::new(),
            latency: BTreeMap::new(),
            states: BTreeMap::new(),
        }
    }

    /// Notes a published message: prediction latencies and stream states.
    pub fn observe(&mut self, p: &Published) {
        match &p.msg {
            Message::Prediction {
                stream, latency_ms, ..
            } => {
                let e = self.latency.entry(stream.clone()).or_default();
                e.0 += latency_ms;
                e.1 += 1;
            }
            Message::Status { stream, state, .. } => {
                self.states
                    .insert(stream.clone(), state.as_str().to_string());
            }
            _ => {}
        }
    }

    /// The stats message for the interval since the previous one; starts the next interval.
    pub fn message(&mut self, hub: &FrameHub) -> Item {
        let now = Instant::now();
        let interval = now.duration_since(self.last).as_secs_f64().max(1e-3);
        let mut streams = Vec::new();
        let mut before = HashMap::new();
        for s in hub.streams() {
            let c = s.snapshot();
            let zero = StreamCounters::default();
            let b = self.before.get(&s.id).unwrap_or(&zero);
            let latency = self
                .latency
                .get(&s.name)
                .filter(|l| l.1 > 0)
                .map(|l| (l.0 / l.1 as f64 * 10.0).round() / 10.0);
            streams.push(json!({
                "stream": s.name,
                "state": self.states.get(&s.name),
                "fps": (c.classified.saturating_sub(b.classified) as f64 / interval * 100.0).round() / 100.0,
                "sampled": c.sampled.saturating_sub(b.sampled),
                "dropped": c.dropped().saturating_sub(b.dropped()),
                "reconnects": c.reconnects,
                "latency_ms": latency,
            }));
            before.insert(s.id, c);
        }
        self.before = before;
        self.latency.clear();
        self.last = now;
        let body = json!({
            "v": crate::publish::VERSION,
            "type": "stats",
            "ts": crate::publish::rfc3339(SystemTime::now()),
            "uptime_s": now.duration_since(self.started).as_secs(),
            "interval_s": (interval * 10.0).round() / 10.0,
            "streams": streams,
        });
        Item {
            topic: self.topic.clone(),
            payload: body.to_string().into_bytes(),
            retain: false,
            status_of: None,
        }
    }
}
