//! Start and stop: from bound listeners and a loaded model to running streams, and back.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::hub::FrameHub;
use crate::infer::{self, WorkerSettings};
use crate::model::{Classifier, Manifest};
use crate::publish::{socket, stdout, Message, Publisher, StreamState, VERSION};
use crate::smooth::{Method, SmootherSettings};
use crate::source::{PipelineSettings, StatusFn, Target};
use crate::sys::notify::Notifier;

use super::fleet::{enabled, enabled_names, published_names, stop_all, Fleet};
use super::services::Services;
use super::status_line::StatusLine;
use super::Listeners;

/// How long stopping may take in all before the daemon exits anyway.
const STOP_LIMIT: Duration = Duration::from_secs(4);

/// How often the heap's free pages go back to the kernel.
const TRIM_PERIOD: Duration = Duration::from_secs(30);

/// The `hello` every new subscriber gets first.
pub(super) fn hello(manifest: &Manifest, streams: Vec<String>) -> Message {
    Message::Hello {
        v: VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        model: manifest.name.clone(),
        labels: manifest.labels.clone(),
        streams,
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

/// Initialises GStreamer and loads the model (off the async threads: it takes seconds).
pub(super) async fn load_model(config: &Config) -> anyhow::Result<Classifier> {
    gstreamer::init().context("initialising GStreamer")?;
    crate::sys::gst_log::route();
    let (runtime, path) = (config.runtime.clone(), config.model.path.clone());
    let loaded = tokio::task::spawn_blocking(move || Classifier::load(&runtime, &path))
        .await
        .context("loading the model")?;
    Ok(loaded?)
}

/// A started daemon: its running configuration, outputs, inference and streams.
pub(super) struct Daemon {
    /// The running configuration (a reload replaces only its streams).
    pub config: Config,
    /// The loaded model's manifest (for `hello`).
    pub manifest: Manifest,
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
        classifier: Classifier,
        listeners: Listeners,
        control: Option<super::Control>,
    ) -> anyhow::Result<Daemon> {
        let notifier = Notifier::from_env();
        let manifest = classifier.manifest.clone();
        let names = enabled_names(&config);
        let publisher = Publisher::new(
            hello(&manifest, names.clone()),
            names,
            config.output.subscriber_buffer,
        );
        publisher.set_tags(tags_of(&config.streams));
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
        let worker = infer::spawn(
            classifier,
            hub.clone(),
            worker_settings(&config),
            publisher.clone(),
        );
        let mut fleet = Fleet {
            target: target(&manifest),
            hub: hub.clone(),
            worker,
            status: status_fn(&publisher, status_line.clone()),
            pipeline_settings: Arc::new(PipelineSettings::new(config.runtime.stream_nice as i32)),
            streams: Vec::new(),
        };
        if let Some(problem) = crate::record::start(&config) {
            tracing::error!("{problem}; the streams run without recording");
        }
        if let Some(w) = crate::record::unknown_labels(&config, &manifest.labels) {
            tracing::warn!("{w}");
        }
        let streams = enabled(&config);
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
            manifest,
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
            worker,
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
        let _ = tokio::task::spawn_blocking(move || worker.join()).await;
        let _ = tokio::task::spawn_blocking(|| crate::record::finish(Duration::from_secs(3))).await;
        let _ = self.shutdown.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(3), self.server).await;
        self.services.stop().await;
        tracing::info!("stopped");
    }
}

/// What a stream's pipeline scales and converts frames to: the model's input.
fn target(manifest: &Manifest) -> Target {
    Target {
        width: manifest.input.width,
        height: manifest.input.height,
        channel_order: manifest.input.channel_order,
        resize: manifest.input.resize,
    }
}

/// The inference worker's settings from `[smoothing]` and `[output]`.
fn worker_settings(config: &Config) -> WorkerSettings {
    let s = &config.smoothing;
    WorkerSettings {
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
    }
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
