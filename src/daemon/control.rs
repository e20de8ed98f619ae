//! Requests to a running daemon from its caller: reload, stats.

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
}

/// The caller's end: asks the daemon [`super::serve`] runs to reload or log stats.
#[derive(Clone)]
pub struct Control {
    tx: mpsc::Sender<Request>,
}

/// The daemon's end, handed to [`super::serve`].
pub struct Requests {
    rx: mpsc::Receiver<Request>,
}

/// A connected pair of [`Control`] and [`Requests`].
pub fn control() -> (Control, Requests) {
    let (tx, rx) = mpsc::channel(8);
    (Control { tx }, Requests { rx })
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
}
