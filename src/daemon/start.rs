//! Start and stop: from bound listeners and a loaded model to running streams, and back.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Config, StreamConfig};
use crate::hub::FrameHub;
use crate::model::Manifest;
use crate::publish::{socket, stdout, Message, Publisher, StreamState, VERSION};
use crate::source::{PipelineSettings, StatusFn};
use crate::sys::notify::Notifier;

use super::fleet::{enabled, published_names, stop_all, Fleet};
use super::models::{Loaded, Models, WorkerParts};
use super::services::Services;
use super::status_line::StatusLine;
use super::Listeners;

/// How long stopping may take in all before the daemon exits anyway.
const STOP_LIMIT: Duration = Duration::from_secs(4);

/// How often the heap's free pages go back to the kernel.
const TRIM_PERIOD: Duration = Duration::from_secs(30);

/// The `hello` every new subscriber gets first: the default model's name and labels,
/// the names `streams` (the enabled ones) publish under, and every model's users.
pub(super) fn hello(models: &[(String, Manifest)], streams: &[StreamConfig]) -> Message {
    let default = models.first().map(|(_, m)| m);
    Message::Hello {
        v: VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        model: default.map(|m| m.name.clone()).unwrap_or_default(),
        labels: default.map(|m| m.labels.clone()).unwrap_or_default(),
        streams: streams.iter().flat_map(published_names).collect(),
        models: super::models::info(models, streams),
    }
}

/// Each stream's tags, by name (for [`Publisher::set_tags`]); its regions carry its tags.
pub(super) fn tags_of(
    streams: &[crate::config::StreamConfig],
) -> std::collections::HashMap<String, crate::publish::Tags> {
    streams
        .iter()
        .filter(|s| !s.tags.is_empty())
        .flat_map(|s| published_names(s).map(|n| (n, s.tags.clone())))
        .collect()
}

/// Initialises GStreamer and loads the models (off the async threads: it takes seconds).
pub(super) async fn load_models(config: &Config) -> anyhow::Result<Vec<Loaded>> {
    gstreamer::init().context("initialising GStreamer")?;
    crate::sys::gst_log::route();
    let (runtime, models) = (config.runtime.clone(), config.models.clone());
    tokio::task::spawn_blocking(move || super::models::load(&runtime, &models))
        .await
        .context("loading the models")?
}

/// A started daemon: its running configuration, outputs, inference and streams.
pub(super) struct Daemon {
    /// The running configuration (a reload replaces only its streams).
    pub config: Config,
    /// The bus every output reads.
    pub publisher: Arc<Publisher>,
    /// The running streams.
    pub fleet: Fleet,
    /// systemd's notify socket, from the environment (a no-op without one).
    pub notifier: Notifier,
    /// systemd's `STATUS=` line: how many streams run.
    pub status_line: Arc<StatusLine>,
    services: Services,
    server: JoinHandle<()>,
    shutdown: watch::Sender<bool>,
    watchdog: JoinHandle<()>,
}

impl Daemon {
    /// Starts the outputs on `listeners`, inference, and every enabled stream; tells
    /// systemd it is ready. `control` reaches the daemon from its outputs (MQTT commands).
    pub async fn start(
        config: Config,
        loaded: Vec<Loaded>,
        listeners: Listeners,
        control: Option<super::Control>,
    ) -> anyhow::Result<Daemon> {
        let notifier = Notifier::from_env();
        let streams = enabled(&config);
        let publisher = publisher(&config, &loaded, &streams);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let listener = tokio::net::UnixListener::from_std(listeners.socket)
            .context("registering the socket")?;
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
        let hub = FrameHub::new();
        let status_line = Arc::new(StatusLine::new(
            Notifier::from_env(),
            enabled(&config).into_iter().map(|s| s.name).collect(),
        ));
        let mut services =
            Services::start_mqtt(&config, &publisher, &hub, control, shutdown_rx.clone())?;
        let parts = WorkerParts {
            hub: &hub,
            publisher: &publisher,
            config: &config,
        };
        let models = Models::start(loaded, &parts, true);
        let mut fleet = Fleet {
            hub: hub.clone(),
            models,
            status: status_fn(&publisher, status_line.clone()),
            pipeline_settings: Arc::new(PipelineSettings::new(config.runtime.stream_nice as i32)),
            streams: Vec::new(),
        };
        if let Some(problem) = crate::record::start(&config) {
            tracing::error!("{problem}; the streams run without recording");
        }
        if let Some(w) = crate::record::unknown_labels(&config, &fleet.models.all_labels()) {
            tracing::warn!("{w}");
        }
        fleet.pipeline_settings.share_decoder_threads(streams.len());
        for s in streams {
            fleet.add(s);
        }
        // After the streams are attached: HTTP, bound before the model loaded, may have
        // requests waiting, and /healthz must not call a daemon without streams healthy.
        services
            .start_http(&config, &publisher, &hub, shutdown_rx, listeners.http)
            .await?;
        notifier.send(&format!("READY=1\nSTATUS={}", status_line.current()));
        let stall_s = config.runtime.inference_stall_s;
        let watchdog = tokio::spawn(super::watchdog::run(Notifier::from_env(), hub, stall_s));
        // Ends with the runtime; the daemon's whole life.
        tokio::spawn(crate::sys::malloc::trim_periodically(TRIM_PERIOD));
        Ok(Daemon {
            config,
            publisher,
            fleet,
            notifier,
            status_line,
            services,
            server,
            shutdown,
            watchdog,
        })
    }

    /// Shows the running configuration on `/api/config` (after a reload).
    pub(super) fn show_config(&self) {
        self.services.show_config(&self.config);
    }

    /// Tells systemd, stops every pipeline (bounded, in parallel), lets inference
    /// finish, drains subscribers and stops the outputs.
    pub async fn stop(self) {
        self.notifier.send("STOPPING=1");
        self.watchdog.abort();
        let Fleet {
            streams,
            models,
            hub,
            ..
        } = self.fleet;
        let streams = streams
            .into_iter()
            .map(|r| (r, "daemon stopping"))
            .collect();
        for r in stop_all(streams, STOP_LIMIT).await {
            if !r.in_time {
                tracing::error!(stream = %r.config.name, "stream did not stop in time; abandoned");
            }
            tracing::info!(stream = %r.config.name, "stats: {}", r.slot.stats.snapshot());
            for g in &r.regions {
                tracing::info!(stream = %g.name, "stats: {}", g.slot.stats.snapshot());
            }
        }
        if let Some(k) = crate::sys::procfs::rss_kib() {
            tracing::info!("stats: resident memory {:.1} MiB", k as f64 / 1024.0);
        }
        hub.shutdown();
        let _ = tokio::task::spawn_blocking(move || models.stop(&hub)).await;
        let _ = tokio::task::spawn_blocking(|| crate::record::finish(Duration::from_secs(3))).await;
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(3), self.server).await;
        self.services.stop().await;
        tracing::info!("stopped");
    }
}

/// The bus, its first `hello` from the loaded models and the enabled `streams`, and
/// the streams' tags.
fn publisher(config: &Config, loaded: &[Loaded], streams: &[StreamConfig]) -> Arc<Publisher> {
    let names: Vec<String> = streams.iter().flat_map(published_names).collect();
    let described: Vec<(String, Manifest)> = loaded
        .iter()
        .map(|l| (l.config.name.clone(), l.manifest().clone()))
        .collect();
    for line in super::models::rate_mismatches(&described, streams) {
        tracing::warn!("{line}");
    }
    let publisher = Publisher::new(
        hello(&described, streams),
        names,
        config.output.subscriber_buffer,
    );
    publisher.set_tags(tags_of(&config.streams));
    publisher
}

/// Publishes each stream's state changes as `status` messages, and counts them
/// on systemd's status line.
fn status_fn(publisher: &Arc<Publisher>, status_line: Arc<StatusLine>) -> StatusFn {
    let p = publisher.clone();
    Arc::new(move |u: crate::source::StatusUpdate| {
        status_line.update(&u.stream, u.state == StreamState::Running);
        p.publish(Message::Status {
            v: VERSION,
            stream: u.stream,
            state: u.state,
            reason: u.reason,
        })
    })
}
