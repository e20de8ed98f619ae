//! The daemon: start, run until shutdown (reloads, stats), stop.
//!
//! [`serve`] is the library entry, in tokio mini-redis's shape: it takes bound
//! [`Listeners`], the [`Requests`] end of a [`control`] pair and a shutdown future,
//! so a test drives start, reload and stop in process. [`run`] is `actiond run`: it
//! installs the signal handlers, binds, and blocks on [`serve`].

mod activation;
mod control;
mod fleet;
mod models;
pub mod reload;
pub mod services;
mod signals;
mod start;
mod status_line;
mod watchdog;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::oneshot;

use crate::config::Config;
use crate::publish::socket;

pub use control::{control, Control, Requests};
pub use reload::{plan, ReloadPlan};

use control::Request;
use start::Daemon;

/// How often the per-stream counters and the resident memory are logged (also on SIGUSR1).
const STATS_INTERVAL: Duration = Duration::from_secs(600);

/// What the daemon listens on, bound before it starts.
pub struct Listeners {
    /// The Unix socket subscribers connect to (non-blocking).
    pub socket: std::os::unix::net::UnixListener,
    /// Its path, removed when [`serve`] returns unless the socket was adopted.
    pub socket_path: PathBuf,
    /// The socket was passed by systemd (`actiond.socket`): it stays for the next start.
    pub socket_adopted: bool,
    /// `[http]`'s listener, when that section is present.
    pub http: Option<tokio::net::TcpListener>,
}

impl Listeners {
    /// Adopts the listening socket systemd passes (socket activation) or binds
    /// `[output]`'s socket itself; with `[http]`, binds its TCP port.
    pub async fn bind(config: &Config) -> anyhow::Result<Listeners> {
        let out = &config.output;
        let (socket, socket_path, socket_adopted) = match activation::take_listener()? {
            Some(listener) => {
                let path = adopted_path(&listener, &out.socket);
                tracing::info!(socket = %path.display(), "publishing predictions on the socket passed by systemd");
                (listener, path, true)
            }
            None => {
                let listener =
                    socket::bind(&out.socket, out.socket_mode, out.socket_group.as_deref())?;
                tracing::info!(socket = %out.socket.display(), "publishing predictions");
                (listener, out.socket.clone(), false)
            }
        };
        let http = match &config.http {
            None => None,
            Some(h) => match crate::publish::http::bind(h.listen).await {
                Ok(l) => Some(l),
                Err(e) => {
                    if !socket_adopted {
                        let _ = std::fs::remove_file(&socket_path);
                    }
                    return Err(e);
                }
            },
        };
        Ok(Listeners {
            socket,
            socket_path,
            socket_adopted,
            http,
        })
    }
}

/// The path of a socket systemd passed; a warning when it is not `[output] socket`
/// (the unit's `ListenStream=` wins: subscribers must use that path).
fn adopted_path(listener: &std::os::unix::net::UnixListener, configured: &Path) -> PathBuf {
    let path = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(Path::to_path_buf));
    match path {
        Some(p) if p == configured => p,
        Some(p) => {
            tracing::warn!(socket = %p.display(), configured = %configured.display(),
                "the socket passed by systemd is not [output] socket; publishing on the passed one");
            p
        }
        None => configured.to_path_buf(),
    }
}

/// Runs the daemon on `listeners` until `shutdown` completes: loads the model, starts
/// the outputs, inference and every enabled stream, answers `requests` (reload, stats),
/// then stops everything and removes the socket (unless systemd passed it). systemd is told READY, RELOADING and
/// STOPPING, and its watchdog pinged, when `$NOTIFY_SOCKET` is set.
pub async fn serve(
    config: Config,
    listeners: Listeners,
    requests: Requests,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let socket_path = (!listeners.socket_adopted).then(|| listeners.socket_path.clone());
    let result = start_run_stop(config, listeners, requests, shutdown).await;
    if let Some(path) = socket_path {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// [`serve`] but for removing the socket.
async fn start_run_stop(
    config: Config,
    listeners: Listeners,
    requests: Requests,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    tokio::pin!(shutdown);
    let loaded = tokio::select! {
        loaded = start::load_models(&config) => loaded?,
        () = &mut shutdown => {
            tracing::info!("stopped before the model was loaded");
            return Ok(());
        }
    };
    let mut daemon = Daemon::start(config, loaded, listeners, requests.control()).await?;
    run_until(&mut daemon, requests, shutdown).await;
    daemon.stop().await;
    Ok(())
}

/// Answers requests and logs the stats every [`STATS_INTERVAL`] until `shutdown`.
async fn run_until(
    daemon: &mut Daemon,
    mut requests: Requests,
    mut shutdown: std::pin::Pin<&mut impl Future<Output = ()>>,
) {
    let mut stats_tick =
        tokio::time::interval_at(tokio::time::Instant::now() + STATS_INTERVAL, STATS_INTERVAL);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(request) = requests.next() => match request {
                Request::Stats => daemon.fleet.log_stats(),
                Request::Reload { config, reply } => {
                    daemon.notifier.send(&crate::sys::notify::reloading());
                    let summary = match config {
                        Some(c) => daemon.reload(*c).await,
                        None => daemon.reload_from_file().await,
                    };
                    let names = daemon.fleet.streams.iter().map(|r| r.config.name.clone());
                    daemon.status_line.set_streams(names.collect());
                    let line = daemon.status_line.current();
                    daemon.notifier.send(&format!("READY=1\nSTATUS={line} ({summary})"));
                    let _ = reply.send(summary);
                }
                Request::SetEnabled { stream, enabled, reply } => {
                    let _ = reply.send(daemon.set_enabled(&stream, enabled).await);
                }
            },
            _ = stats_tick.tick() => daemon.fleet.log_stats(),
        }
    }
}

/// Runs the daemon until SIGTERM or SIGINT; SIGHUP reloads the configuration file,
/// SIGUSR1 logs the stats.
pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("actiond-io")
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(async {
        let signals = signals::Signals::install()?;
        let listeners = Listeners::bind(&config).await?;
        let (control, requests) = control();
        let (stop, stopped) = oneshot::channel();
        let forward = tokio::spawn(signals.forward(control, stop));
        let result = serve(config, listeners, requests, async {
            let _ = stopped.await;
        })
        .await;
        forward.abort();
        result
    });
    runtime.shutdown_timeout(Duration::from_millis(500));
    result
}
