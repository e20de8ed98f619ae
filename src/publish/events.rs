//! `/api/events`: the published messages (all but per-frame results) as
//! Server-Sent Events, for the status page. Each client gets the same replay as
//! a socket subscriber (hello, current statuses), then the live feed. Bounded: a
//! client whose queue is full is dropped (its browser reconnects by itself and
//! reloads the state), so a slow page never holds anything up.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Frame;
use tokio::sync::{broadcast, mpsc};

use crate::publish::tracker::{PageClient, Tracker};
use crate::publish::{Feed, Published};

/// Chunks queued per client before it counts as too slow and is dropped.
pub const CLIENT_QUEUE: usize = 256;
/// A comment is sent this often, so that a gone client is noticed and proxies keep the line.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// What the browser waits before reconnecting (ms), sent first.
const RETRY: &str = "retry: 1000\n\n";

/// A response body fed by a channel: ends when the sender is dropped.
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }
}

/// A new event stream over `tracker`'s publisher; its feeding task runs until the
/// client goes away, falls behind or the publisher closes.
pub fn open(tracker: &Tracker) -> ChannelBody {
    let (initial, feed, client) = tracker.page_subscribe();
    let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
    tokio::spawn(forward(initial, feed, tx, client));
    ChannelBody { rx }
}

/// One message as an SSE event named after its type.
pub fn event(p: &Published) -> Bytes {
    let data = p.line.trim_end_matches('\n');
    Bytes::from(format!("event: {}\ndata: {data}\n\n", p.msg.kind()))
}

/// Queues a chunk; false when the client is gone or too slow.
fn send(tx: &mpsc::Sender<Bytes>, chunk: Bytes) -> bool {
    match tx.try_send(chunk) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::debug!("status page client too slow: dropped (it reconnects)");
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

async fn forward(
    initial: Vec<Arc<Published>>,
    mut feed: Feed,
    tx: mpsc::Sender<Bytes>,
    _client: PageClient,
) {
    if !send(&tx, Bytes::from_static(RETRY.as_bytes())) {
        return;
    }
    for p in &initial {
        if !send(&tx, event(p)) {
            return;
        }
    }
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.tick().await;
    loop {
        let chunk = tokio::select! {
            received = feed.recv() => match received {
                Ok(p) if p.msg.kind() == "frame" => continue,
                Ok(p) => event(&p),
                // Fell behind the publisher: drop it; the browser reconnects.
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = keepalive.tick() => Bytes::from_static(b": keep-alive\n\n"),
        };
        if !send(&tx, chunk) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{Message, StreamState, VERSION};

    #[test]
    fn messages_become_named_events_on_one_data_line() {
        let p = Published::new(Message::Status {
            v: VERSION,
            stream: "cam".into(),
            state: StreamState::Running,
            reason: "first frame".into(),
        });
        let text = String::from_utf8(event(&p).to_vec()).unwrap();
        assert!(text.starts_with("event: status\ndata: {"), "{text}");
        assert!(
            text.ends_with("}\n\n") && text.matches('\n').count() == 3,
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_full_client_is_dropped_not_waited_for() {
        let (tx, mut rx) = mpsc::channel(2);
        assert!(send(&tx, Bytes::from_static(b"a")));
        assert!(send(&tx, Bytes::from_static(b"b")));
        assert!(!send(&tx, Bytes::from_static(b"c")), "full: dropped");
        assert_eq!(rx.recv().await.unwrap(), "a");
        drop(rx);
        assert!(!send(&tx, Bytes::from_static(b"d")), "gone");
    }
}
