//! Wiring: model, sources, inference, publishing, systemd notify and shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::signal::unix::{signal, SignalKind};

use crate::config::Config;
use crate::infer::{self, WorkerSettings};
use crate::model::Classifier;
use crate::notify::{watchdog_interval, Notifier};
use crate::publish::{socket, stdout, Message, Publisher, VERSION};
use crate::smooth::{Method, SmootherSettings};
use crate::source::{FrameHub, StatusFn, Supervisor, Target};

/// How long stopping may take in all before the daemon exits anyway.
const STOP_LIMIT: Duration = Duration::from_secs(4);

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(config: Config) -> anyhow::Result<()> {
    gstreamer::init().context("initialising GStreamer")?;
    let classifier = Classifier::load(&config.runtime, &config.model.path)?;
    let manifest = classifier.manifest.clone();
    let target = Target {
        width: manifest.input.width,
        height: manifest.input.height,
        channel_order: manifest.input.channel_order,
        resize: manifest.input.resize,
    };
    let streams: Vec<_> = config
        .streams
        .iter()
        .filter(|s| s.enabled)
        .cloned()
        .collect();
    let names: Vec<String> = streams.iter().map(|s| s.name.clone()).collect();
    let hello = Message::Hello {
        v: VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        model: manifest.name.clone(),
        labels: manifest.labels.clone(),
        streams: names.clone(),
    };
    let out = &config.output;
    let publisher = Publisher::new(&hello, names.clone(), out.subscriber_buffer);
    let listener = socket::bind(&out.socket, out.socket_mode, out.socket_group.as_deref())?;
    tracing::info!(socket = %out.socket.display(), "publishing predictions");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("actiond-io")
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(serve(
        config.clone(),
        classifier,
        target,
        streams,
        names,
        publisher,
        listener,
    ));
    let _ = std::fs::remove_file(&out.socket);
    runtime.shutdown_timeout(Duration::from_millis(500));
    result
}

async fn serve(
    config: Config,
    classifier: Classifier,
    target: Target,
    streams: Vec<crate::config::StreamConfig>,
    names: Vec<String>,
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

    let hub = FrameHub::new(streams.len());
    let services =
        crate::services::Services::start(&config, &publisher, &hub, &names, shutdown_rx.clone())
            .await?;
    let s = &config.smoothing;
    let settings = WorkerSettings {
        streams: names.clone(),
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
        p.publish(&Message::Status {
            v: VERSION,
            stream: u.stream,
            state: u.state,
            reason: u.reason,
        })
    });
    let supervisors: Vec<Supervisor> = streams
        .into_iter()
        .enumerate()
        .map(|(i, s)| Supervisor::spawn(s, target, hub.clone(), i, status.clone()))
        .collect();
    notifier.send(&format!(
        "READY=1\nSTATUS=running {} stream(s)",
        supervisors.len()
    ));
    let watchdog = tokio::spawn(watchdog(
        Notifier::from_env(),
        hub.clone(),
        config.runtime.inference_stall_s,
    ));

    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = hup.recv() => {
                tracing::warn!("SIGHUP: reloading the configuration is not supported yet; restart the service to apply changes");
            }
        }
    }

    // Stop: tell systemd, stop every pipeline (bounded, in parallel), drain subscribers.
    notifier.send("STOPPING=1");
    watchdog.abort();
    let deadline = Instant::now() + STOP_LIMIT;
    for s in &supervisors {
        s.request_stop();
    }
    let joins = tokio::task::spawn_blocking(move || {
        for s in supervisors {
            let name = s.name.clone();
            if !s.join(deadline.saturating_duration_since(Instant::now())) {
                tracing::error!(stream = %name, "stream did not stop in time; abandoned");
            }
        }
    });
    let _ = tokio::time::timeout(STOP_LIMIT + Duration::from_millis(200), joins).await;
    hub.shutdown();
    let _ = tokio::task::spawn_blocking(move || worker.join()).await;
    let _ = shutdown_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    services.stop().await;
    tracing::info!("stopped");
    Ok(())
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
