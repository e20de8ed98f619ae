//! The signals `actiond run` answers: SIGTERM and SIGINT stop, SIGHUP reloads the
//! file, SIGUSR1 logs the stats.

use anyhow::Context;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::oneshot;

use super::Control;

/// The installed handlers (from then on these signals no longer kill the process).
pub(super) struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
    usr1: Signal,
}

impl Signals {
    /// Installs the four handlers.
    pub fn install() -> anyhow::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            hup: signal(SignalKind::hangup()).context("installing the SIGHUP handler")?,
            usr1: signal(SignalKind::user_defined1()).context("installing the SIGUSR1 handler")?,
        })
    }

    /// Turns signals into requests on `control` until SIGTERM or SIGINT, which fires `stop`.
    pub async fn forward(mut self, control: Control, stop: oneshot::Sender<()>) {
        loop {
            tokio::select! {
                _ = self.term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
                _ = self.int.recv() => { tracing::info!("SIGINT: stopping"); break; }
                _ = self.hup.recv() => {
                    tracing::info!("SIGHUP: reloading the configuration");
                    let c = control.clone();
                    // Not awaited here, so that a stop is heard while a reload waits.
                    tokio::spawn(async move { c.reload_from_file().await });
                }
                _ = self.usr1.recv() => { control.stats(); }
            }
        }
        let _ = stop.send(());
    }
}
