//! Requests to a running daemon from its caller and its outputs: reload, stats,
//! enabling or disabling a stream (MQTT commands).

use tokio::sync::{mpsc, oneshot};

use crate::config::Config;

/// One request; a reload is answered with its one-line summary.
pub(super) enum Request {
    /// Reload `config`, or the running configuration's file when `None`.
    Reload {
        config: Option<Box<Config>>,
        reply: oneshot::Sender<String>,
    },
    /// Log each stream's counters and the resident memory.
    Stats,
    /// Start or stop one configured stream until the next reload or restart; answered
    /// with the stream's state (true: running) or why it could not be done.
    SetEnabled {
        stream: String,
        enabled: bool,
        reply: oneshot::Sender<Result<bool, String>>,
    },
}

/// The caller's end: asks the daemon [`super::serve`] runs to reload or log stats.
#[derive(Clone)]
pub struct Control {
    tx: mpsc::Sender<Request>,
}

/// The daemon's end, handed to [`super::serve`].
pub struct Requests {
    rx: mpsc::Receiver<Request>,
    /// For the daemon's own outputs (MQTT commands); does not keep the channel open.
    tx: mpsc::WeakSender<Request>,
}

/// A connected pair of [`Control`] and [`Requests`].
pub fn control() -> (Control, Requests) {
    let (tx, rx) = mpsc::channel(8);
    let weak = tx.downgrade();
    (Control { tx }, Requests { rx, tx: weak })
}

impl Control {
    /// Reloads `config`'s streams; the summary, or `None` if the daemon has stopped.
    pub async fn reload(&self, config: Config) -> Option<String> {
        self.ask(Some(Box::new(config))).await
    }

    /// Re-reads the running configuration's file (SIGHUP); the summary, or `None`.
    pub async fn reload_from_file(&self) -> Option<String> {
        self.ask(None).await
    }

    /// Asks for the stats in the log (SIGUSR1); false if the daemon cannot take it now.
    pub fn stats(&self) -> bool {
        self.tx.try_send(Request::Stats).is_ok()
    }

    /// Starts or stops `stream` (a configured one) until the next reload; its state
    /// afterwards, or why not; `Err` too if the daemon has stopped.
    pub async fn set_enabled(&self, stream: &str, enabled: bool) -> Result<bool, String> {
        let (reply, answer) = oneshot::channel();
        let request = Request::SetEnabled {
            stream: stream.to_string(),
            enabled,
            reply,
        };
        let stopped = || "the daemon is stopping".to_string();
        self.tx.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn ask(&self, config: Option<Box<Config>>) -> Option<String> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Request::Reload { config, reply }).await.ok()?;
        answer.await.ok()
    }
}

impl Requests {
    /// The next request; `None` once every [`Control`] is gone.
    pub(super) async fn next(&mut self) -> Option<Request> {
        self.rx.recv().await
    }

    /// A [`Control`] for the daemon's own outputs, while any caller's is alive.
    pub(super) fn control(&self) -> Option<Control> {
        self.tx.upgrade().map(|tx| Control { tx })
    }
}
