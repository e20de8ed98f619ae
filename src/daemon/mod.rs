//! Wiring: model, sources, inference, publishing, systemd notify, reload and shutdown.

pub mod services;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::signal::unix::{signal, SignalKind};

use crate::config::{Config, StreamConfig};
use crate::hub::{FrameHub, StreamSlot};
use crate::infer::{self, WorkerSettings};
use crate::model::{Classifier, Manifest};
use crate::publish::{socket, stdout, Message, Publisher, VERSION};
use crate::smooth::{Method, SmootherSettings};
use crate::source::{StatusFn, Supervisor, Target, TEARDOWN_LIMIT};
use crate::sys::notify::{watchdog_interval, Notifier};

/// How long stopping may take in all before the daemon exits anyway.
const STOP_LIMIT: Duration = Duration::from_secs(4);
/// How long a reload waits for a removed or changed stream to stop. A supervisor
/// abandons a pipeline that does not stop within [`TEARDOWN_LIMIT`], so this is
/// only exceeded if GStreamer hangs while building or starting one.
const RELOAD_STOP_LIMIT: Duration = Duration::from_secs(TEARDOWN_LIMIT.as_secs() + 2);
/// How often the per-stream counters and the resident memory are logged (also on SIGUSR1).
const STATS_INTERVAL: Duration = Duration::from_secs(600);

/// Logs each stream's counters and the resident memory.
fn log_stats(fleet: &Fleet) {
    let rss = crate::sys::procfs::rss_kib().map_or_else(
        || "unknown".into(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    );
    tracing::info!(
        "stats: resident memory {rss}, {} stream(s)",
        fleet.streams.len()
    );
    for r in &fleet.streams {
        tracing::info!(stream = %r.config.name, "stats: {}", r.slot.stats.summary());
    }
}

/// The `hello` every new subscriber gets first.
fn hello(manifest: &Manifest, streams: Vec<String>) -> Message {
    Message::Hello {
        v: VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        model: manifest.name.clone(),
        labels: manifest.labels.clone(),
        streams,
    }
}

/// The streams the daemon runs: enabled ones, in file order.
fn enabled(config: &Config) -> Vec<StreamConfig> {
    config
        .streams
        .iter()
        .filter(|s| s.enabled)
        .cloned()
        .collect()
}

/// Runs the daemon until SIGTERM or SIGINT; SIGHUP reloads the configuration.
pub fn run(config: Config) -> anyhow::Result<()> {
    gstreamer::init().context("initialising GStreamer")?;
    let classifier = Classifier::load(&config.runtime, &config.model.path)?;
    let manifest = classifier.manifest.clone();
    let names: Vec<String> = enabled(&config).into_iter().map(|s| s.name).collect();
    let out = &config.output;
    let publisher = Publisher::new(
        hello(&manifest, names.clone()),
        names,
        out.subscriber_buffer,
    );
    let listener = socket::bind(&out.socket, out.socket_mode, out.socket_group.as_deref())?;
    tracing::info!(socket = %out.socket.display(), "publishing predictions");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("actiond-io")
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(serve(config.clone(), classifier, publisher, listener));
    let _ = std::fs::remove_file(&out.socket);
    runtime.shutdown_timeout(Duration::from_millis(500));
    result
}

/// One running stream.
struct Running {
    config: StreamConfig,
    slot: StreamSlot,
    supervisor: Supervisor,
}

/// The running streams and what starting one needs.
struct Fleet {
    target: Target,
    hub: Arc<FrameHub>,
    worker: infer::Worker,
    status: StatusFn,
    streams: Vec<Running>,
}

impl Fleet {
    /// Starts a new stream in a slot of its own.
    fn add(&mut self, config: StreamConfig) {
        let slot = self.hub.attach(&config.name);
        self.worker.attach(&slot, &config.name);
        self.spawn(config, slot);
    }

    /// Starts the supervisor of `config` on `slot` (new, or kept from the stream's previous config).
    fn spawn(&mut self, config: StreamConfig, slot: StreamSlot) {
        let supervisor = Supervisor::spawn(
            config.clone(),
            self.target,
            self.hub.clone(),
            slot.clone(),
            self.status.clone(),
        );
        self.streams.push(Running {
            config,
            slot,
            supervisor,
        });
    }

    fn names(&self) -> Vec<String> {
        self.streams.iter().map(|r| r.config.name.clone()).collect()
    }
}

/// A stream that was asked to stop: its config, its slot, and whether it stopped in time.
struct Stopped {
    config: StreamConfig,
    slot: StreamSlot,
    in_time: bool,
}

/// Stops `streams` in parallel, off the async runtime, waiting at most `limit` in all.
async fn stop_all(streams: Vec<(Running, &'static str)>, limit: Duration) -> Vec<Stopped> {
    for (r, why) in &streams {
        r.supervisor.request_stop_with(why);
    }
    let deadline = Instant::now() + limit;
    let joined = tokio::task::spawn_blocking(move || {
        streams
            .into_iter()
            .map(|(r, _)| Stopped {
                in_time: r
                    .supervisor
                    .join(deadline.saturating_duration_since(Instant::now())),
                config: r.config,
                slot: r.slot,
            })
            .collect::<Vec<_>>()
    });
    joined.await.unwrap_or_default()
}

async fn serve(
    mut config: Config,
    classifier: Classifier,
    publisher: Arc<Publisher>,
    listener: std::os::unix::net::UnixListener,
) -> anyhow::Result<()> {
    let notifier = Notifier::from_env();
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let listener =
        tokio::net::UnixListener::from_std(listener).context("registering the socket")?;
    let server = tokio::spawn(socket::serve(
        listener,
        publisher.clone(),
        shutdown_rx.clone(),
    ));
    if config.output.stdout {
        let p = publisher.clone();
        std::thread::Builder::new()
            .name("stdout".into())
            .spawn(move || stdout::print(p))
            .context("starting the stdout printer")?;
    }

    let manifest = classifier.manifest.clone();
    let target = Target {
        width: manifest.input.width,
        height: manifest.input.height,
        channel_order: manifest.input.channel_order,
        resize: manifest.input.resize,
    };
    let hub = FrameHub::new();
    let services =
        services::Services::start(&config, &publisher, &hub, shutdown_rx.clone()).await?;
    let s = &config.smoothing;
    let settings = WorkerSettings {
        smoothing: SmootherSettings {
            method: match s.method {
                crate::config::SmoothingMethod::Mean => Method::Mean,
                crate::config::SmoothingMethod::Ema => Method::Ema,
            },
            window: s.window,
            stride: s.stride,
            threshold: s.threshold,
            confirm: s.confirm,
            top_k: s.top_k,
        },
        top_k: s.top_k,
        per_frame: config.output.per_frame,
    };
    let worker = infer::spawn(classifier, hub.clone(), settings, publisher.clone());

    let p = publisher.clone();
    let status: StatusFn = Arc::new(move |u: crate::source::StatusUpdate| {
        p.publish(Message::Status {
            v: VERSION,
            stream: u.stream,
            state: u.state,
            reason: u.reason,
        })
    });
    let mut fleet = Fleet {
        target,
        hub: hub.clone(),
        worker,
        status,
        streams: Vec::new(),
    };
    let streams = enabled(&config);
    crate::source::share_decoder_threads(streams.len());
    crate::source::set_stream_nice(config.runtime.stream_nice as i32);
    for s in streams {
        fleet.add(s);
    }
    notifier.send(&format!(
        "READY=1\nSTATUS=running {} stream(s)",
        fleet.streams.len()
    ));
    let watchdog = tokio::spawn(watchdog(
        Notifier::from_env(),
        hub.clone(),
        config.runtime.inference_stall_s,
    ));

    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut usr1 = signal(SignalKind::user_defined1()).context("installing the SIGUSR1 handler")?;
    let mut stats_tick =
        tokio::time::interval_at(tokio::time::Instant::now() + STATS_INTERVAL, STATS_INTERVAL);
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration");
                notifier.send("RELOADING=1\nSTATUS=reloading the configuration");
                let summary = reload(&mut fleet, &mut config, &manifest, &publisher).await;
                notifier.send(&format!("READY=1\nSTATUS={summary}"));
            }
            _ = usr1.recv() => log_stats(&fleet),
            _ = stats_tick.tick() => log_stats(&fleet),
        }
    }

    // Stop: tell systemd, stop every pipeline (bounded, in parallel), drain subscribers.
    notifier.send("STOPPING=1");
    watchdog.abort();
    let Fleet {
        streams, worker, ..
    } = fleet;
    let streams = streams
        .into_iter()
        .map(|r| (r, "daemon stopping"))
        .collect();
    for r in stop_all(streams, STOP_LIMIT).await {
        if !r.in_time {
            tracing::error!(stream = %r.config.name, "stream did not stop in time; abandoned");
        }
        tracing::info!(stream = %r.config.name, "stats: {}", r.slot.stats.summary());
    }
    if let Some(k) = crate::sys::procfs::rss_kib() {
        tracing::info!("stats: resident memory {:.1} MiB", k as f64 / 1024.0);
    }
    hub.shutdown();
    let _ = tokio::task::spawn_blocking(move || worker.join()).await;
    let _ = shutdown_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    services.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// Re-reads the configuration file and applies what changed in `[[stream]]`, stream
/// by stream: removed ones stop, changed ones restart with their new settings (keeping
/// their `seq`), added ones start, and unchanged ones are not touched. Other sections
/// take effect only at the next restart; a change there is logged. An invalid file is
/// rejected as a whole and the running configuration stays. Returns a one-line summary.
async fn reload(
    fleet: &mut Fleet,
    current: &mut Config,
    manifest: &Manifest,
    publisher: &Publisher,
) -> String {
    let Some(path) = current.source_path.clone() else {
        tracing::error!("reload: the configuration did not come from a file; nothing to re-read");
        return "reload impossible: no configuration file".into();
    };
    let new = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("reload rejected, still running the previous configuration: {e}");
            return format!(
                "reload rejected ({e}); running {} stream(s)",
                fleet.streams.len()
            );
        }
    };
    let needs_restart = [
        ("[runtime]", new.runtime != current.runtime),
        ("[model]", new.model != current.model),
        ("[smoothing]", new.smoothing != current.smoothing),
        ("[output]", new.output != current.output),
        ("[mqtt]", new.mqtt != current.mqtt),
        ("[http]", new.http != current.http),
    ];
    for (section, changed) in needs_restart {
        if changed {
            tracing::warn!(
                "reload: {section} changed; it takes effect only when the daemon restarts (still running with the previous {section})"
            );
        }
    }

    let wanted = enabled(&new);
    crate::source::share_decoder_threads(wanted.len());
    let mut kept = Vec::new();
    let mut to_stop = Vec::new();
    for r in std::mem::take(&mut fleet.streams) {
        match wanted.iter().find(|w| w.name == r.config.name) {
            None => to_stop.push((r, "removed from the configuration")),
            Some(w) if *w != r.config => to_stop.push((r, "configuration changed; restarting")),
            Some(_) => kept.push(r),
        }
    }
    fleet.streams = kept;
    let (mut removed, mut changed, mut added) = (Vec::new(), Vec::new(), Vec::new());
    for r in stop_all(to_stop, RELOAD_STOP_LIMIT).await {
        let stopped = r.in_time;
        let name = r.config.name.clone();
        tracing::info!(stream = %name, "stats: {}", r.slot.stats.summary());
        match wanted.iter().find(|w| w.name == name).cloned() {
            None => {
                fleet.hub.detach(&r.slot);
                fleet.worker.detach(&r.slot);
                if !stopped {
                    tracing::error!(stream = %name, "did not stop within {RELOAD_STOP_LIMIT:?}; abandoned");
                }
                tracing::info!(stream = %name, "reload: stream removed");
                removed.push(name);
            }
            Some(w) if stopped => {
                // Same slot and counters: the worker sees a new pipeline generation,
                // restarts the stream's window and carries its seq on.
                fleet.hub.clear(&r.slot);
                tracing::info!(stream = %name, "reload: stream restarted with its new settings");
                fleet.spawn(w, r.slot);
                changed.push(name);
            }
            Some(w) => {
                // The old supervisor is still running somewhere: keep it away from
                // the new one (a slot of its own; seq starts again).
                tracing::error!(stream = %name, "did not stop within {RELOAD_STOP_LIMIT:?}; abandoned, starting the new one beside it");
                fleet.hub.detach(&r.slot);
                fleet.worker.detach(&r.slot);
                fleet.add(w);
                changed.push(name);
            }
        }
    }
    // The new stream list goes out (a new `hello`) before any added stream's first status.
    let wanted_names: Vec<String> = wanted.iter().map(|w| w.name.clone()).collect();
    publisher.set_streams(hello(manifest, wanted_names.clone()), &wanted_names);
    for w in &wanted {
        if !fleet.streams.iter().any(|r| r.config.name == w.name) {
            tracing::info!(stream = %w.name, "reload: stream added");
            fleet.add(w.clone());
            added.push(w.name.clone());
        }
    }
    // Keep the file's order (it is the order of `hello` and of status replays).
    fleet.streams.sort_by_key(|r| {
        wanted
            .iter()
            .position(|w| w.name == r.config.name)
            .unwrap_or(usize::MAX)
    });
    let names = fleet.names();
    current.streams = new.streams;

    let unchanged = names.len() - changed.len() - added.len();
    let summary = format!(
        "reloaded: {} stream(s) running; added {:?}, removed {:?}, changed {:?}, {unchanged} unchanged",
        names.len(),
        added,
        removed,
        changed
    );
    tracing::info!("{summary}");
    summary
}

/// Pings systemd's watchdog while inference makes progress; stops pinging (so systemd
/// restarts the daemon) when the worker has been stuck longer than `stall_s`.
async fn watchdog(notifier: Notifier, hub: Arc<FrameHub>, stall_s: f64) {
    let Some(interval) = watchdog_interval() else {
        return;
    };
    if !notifier.enabled() {
        return;
    }
    let stall = Duration::from_secs_f64(stall_s);
    let mut last = hub.progress();
    let mut last_change = Instant::now();
    let mut warned = false;
    let mut tick = tokio::time::interval(interval / 2);
    loop {
        tick.tick().await;
        let now = hub.progress();
        if now != last {
            last = now;
            last_change = Instant::now();
            warned = false;
        }
        if last_change.elapsed() <= stall {
            notifier.send("WATCHDOG=1");
        } else if !warned {
            warned = true;
            tracing::error!(
                "inference has made no progress for {:.0} s; no more watchdog pings, systemd will restart the daemon",
                last_change.elapsed().as_secs_f64()
            );
            notifier.send("STATUS=inference stalled");
        }
    }
}
