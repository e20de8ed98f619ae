//! Publishing: the message schema, the fan-out to subscribers, the Unix socket
//! server and the stdout printer.

pub mod input;
pub mod message;
pub mod socket;
pub mod stdout;

use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

pub use message::{rfc3339, Message, Scored, VERSION};

/// Fan-out of serialized messages to every subscriber, plus each stream's last status
/// so that a new subscriber learns the current state right after `hello`.
pub struct Publisher {
    tx: broadcast::Sender<Arc<str>>,
    hello: Arc<str>,
    streams: Vec<String>,
    last_status: Mutex<Vec<Option<Arc<str>>>>,
}

impl Publisher {
    /// A publisher whose subscribers each queue at most `buffer` messages.
    pub fn new(hello: &Message, streams: Vec<String>, buffer: usize) -> Arc<Self> {
        let (tx, _) = broadcast::channel(buffer.max(1));
        Arc::new(Publisher {
            tx,
            hello: hello.to_line().into(),
            last_status: Mutex::new(vec![None; streams.len()]),
            streams,
        })
    }

    /// Publishes one message to every current subscriber; never blocks.
    pub fn publish(&self, msg: &Message) {
        let line: Arc<str> = msg.to_line().into();
        if let Message::Status { stream, .. } = msg {
            if let Some(i) = self.streams.iter().position(|s| s == stream) {
                self.last_status.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(line.clone());
            }
        }
        let _ = self.tx.send(line);
    }

    /// A new subscription: the lines to send first (hello, current statuses) and the live feed.
    pub fn subscribe(&self) -> (Vec<Arc<str>>, broadcast::Receiver<Arc<str>>) {
        let statuses = self.last_status.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.tx.subscribe();
        let mut initial = vec![self.hello.clone()];
        initial.extend(statuses.iter().flatten().cloned());
        (initial, rx)
    }

    /// Number of connected subscribers (the stdout printer counts as one).
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}
