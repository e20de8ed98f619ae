//! Publishing: the message schema, the fan-out to subscribers, the Unix socket
//! server, stdout, MQTT, HTTP (metrics, health, status) and the per-stream tracker.

pub mod events;
pub mod history;
pub mod http;
pub mod input;
pub mod message;
pub mod metrics;
pub mod mqtt;
pub mod page;
pub mod schema;
pub mod snapshot;
pub mod socket;
pub mod stdout;
pub mod tracker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::broadcast;

pub use message::{
    decimal, rfc3339, EventKind, Message, ModelInfo, Published, Scored, StreamState, Tags, VERSION,
};

/// A subscriber's live feed of published messages.
pub type Feed = broadcast::Receiver<Arc<Published>>;

/// Fan-out of typed messages (each serialized once) to every subscriber, plus each
/// stream's last status so that a new subscriber learns the current state right
/// after `hello`.
pub struct Publisher {
    tx: broadcast::Sender<Arc<Published>>,
    state: Mutex<State>,
    /// Each stream's `tags`, carried in its messages.
    tags: RwLock<HashMap<String, Tags>>,
}

struct State {
    hello: Arc<Published>,
    /// The configured streams, in order, with their last `status`.
    streams: Vec<(String, Option<Arc<Published>>)>,
}

impl Publisher {
    /// A publisher whose subscribers each queue at most `buffer` messages.
    pub fn new(hello: Message, streams: Vec<String>, buffer: usize) -> Arc<Self> {
        let (tx, _) = broadcast::channel(buffer.max(1));
        Arc::new(Publisher {
            tx,
            state: Mutex::new(State {
                hello: Published::new(hello),
                streams: streams.into_iter().map(|s| (s, None)).collect(),
            }),
            tags: RwLock::new(HashMap::new()),
        })
    }

    /// Sets the streams' tags (at start and on reload); streams not named have none.
    pub fn set_tags(&self, tags: HashMap<String, Tags>) {
        *self.tags.write().unwrap_or_else(|p| p.into_inner()) = tags;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// After a reload: the new `hello` for new subscribers and the streams now
    /// configured. Statuses of streams no longer configured are no longer replayed;
    /// those of streams still configured are kept. A `hello` that changed is also
    /// published to the current subscribers (and so to MQTT's retained `hello`).
    pub fn set_streams(&self, hello: Message, streams: &[String]) {
        let mut state = self.lock();
        let hello = Published::new(hello);
        if hello.msg.to_line() != state.hello.msg.to_line() {
            // Under the lock: a subscriber joining now gets it in its replay or live, once.
            state.hello = hello.clone();
            let _ = self.tx.send(hello);
        }
        let old = std::mem::take(&mut state.streams);
        state.streams = streams
            .iter()
            .map(|name| {
                let last = old
                    .iter()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, l)| l.clone());
                (name.clone(), last)
            })
            .collect();
    }

    /// Publishes one message to every current subscriber; never blocks.
    pub fn publish(&self, msg: Message) {
        count(&msg);
        let published = {
            let tags = self.tags.read().unwrap_or_else(|p| p.into_inner());
            let of_stream = msg.stream().and_then(|s| tags.get(s));
            Published::stamped(msg, of_stream)
        };
        if let Message::Status { stream, .. } = &published.msg {
            // Under the lock, so that a subscriber joining now gets this status
            // either in its replay or live, exactly once.
            let mut state = self.lock();
            if let Some((_, last)) = state.streams.iter_mut().find(|(n, _)| n == stream) {
                *last = Some(published.clone());
            }
            let _ = self.tx.send(published);
            return;
        }
        let _ = self.tx.send(published);
    }

    /// A new subscription: the messages to send first (hello, current statuses) and the live feed.
    pub fn subscribe(&self) -> (Vec<Arc<Published>>, Feed) {
        let state = self.lock();
        let rx = self.tx.subscribe();
        let mut initial = vec![state.hello.clone()];
        initial.extend(state.streams.iter().filter_map(|(_, l)| l.clone()));
        (initial, rx)
    }

    /// Number of connected subscribers (the stdout printer counts as one).
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// Counts a published prediction or event in the metrics, before any output sees it,
/// so a scrape made after a subscriber received one always includes it.
fn count(msg: &Message) {
    let (stream, latency_ms) = match msg {
        Message::Prediction {
            stream, latency_ms, ..
        } => (stream, Some(*latency_ms)),
        Message::Event { stream, .. } => (stream, None),
        _ => return,
    };
    let label = metrics::StreamLabel {
        stream: stream.clone(),
    };
    let m = metrics::global();
    match latency_ms {
        Some(ms) => {
            m.predictions.get_or_create(&label).inc();
            m.prediction_latency
                .get_or_create(&label)
                .observe(ms / 1000.0);
        }
        None => {
            m.events.get_or_create(&label).inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(streams: &[&str]) -> Message {
        Message::Hello {
            v: VERSION,
            version: "t".into(),
            model: "m".into(),
            labels: vec!["x".into()],
            streams: streams.iter().map(|s| s.to_string()).collect(),
            models: vec![],
        }
    }

    fn status(stream: &str, reason: &str) -> Message {
        Message::Status {
            v: VERSION,
            stream: stream.into(),
            state: StreamState::Running,
            reason: reason.into(),
        }
    }

    #[test]
    fn replay_follows_the_configured_streams() {
        let p = Publisher::new(hello(&["a", "b"]), vec!["a".into(), "b".into()], 16);
        p.publish(status("b", "b1"));
        p.publish(status("a", "a1"));
        p.publish(status("a", "a2"));
        let (initial, _rx) = p.subscribe();
        let text: Vec<&str> = initial.iter().map(|l| l.line.as_str()).collect();
        assert!(text[0].contains("hello"));
        assert!(text[1].contains("a2") && text[2].contains("b1"), "{text:?}");
        assert_eq!(text.len(), 3);

        // Reload: b removed, c added. A late status of b is published but not replayed.
        p.set_streams(hello(&["a", "c"]), &["a".into(), "c".into()]);
        p.publish(status("b", "b-late"));
        p.publish(status("c", "c1"));
        let (initial, _rx) = p.subscribe();
        let text: Vec<&str> = initial.iter().map(|l| l.line.as_str()).collect();
        assert!(text[0].contains("\"c\""), "new hello: {}", text[0]);
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[1].contains("a2") && text[2].contains("c1"), "{text:?}");
    }

    #[test]
    fn a_changed_hello_reaches_current_subscribers_once() {
        let p = Publisher::new(hello(&["a"]), vec!["a".into()], 16);
        let (_, mut rx) = p.subscribe();
        // The same streams again: nothing to say.
        p.set_streams(hello(&["a"]), &["a".into()]);
        assert!(rx.try_recv().is_err());
        p.set_streams(hello(&["a", "b"]), &["a".into(), "b".into()]);
        let line = rx.try_recv().unwrap().line.clone();
        assert!(line.contains("hello") && line.contains("\"b\""), "{line}");
        assert!(rx.try_recv().is_err());
    }
}
