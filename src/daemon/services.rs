//! The optional outputs started beside the socket: MQTT (`[mqtt]`) and HTTP
//! (`[http]`). Both read the same published messages as any subscriber; neither
//! can slow the pipeline.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::hub::FrameHub;
use crate::publish::Publisher;

/// The running optional outputs.
#[derive(Default)]
pub struct Services {
    mqtt: Option<crate::publish::mqtt::Mqtt>,
    http: Option<JoinHandle<()>>,
    /// The effective configuration `/api/config` shows.
    config: Option<watch::Sender<serde_json::Value>>,
}

impl Services {
    /// Starts MQTT if `config` asks for it (before the streams, as its first messages
    /// are the retained `available` and `hello`); `shutdown` turns true when the daemon stops.
    pub fn start_mqtt(
        config: &Config,
        publisher: &Arc<Publisher>,
        hub: &Arc<FrameHub>,
        control: Option<super::Control>,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<Services> {
        let mut services = Services::default();
        if let Some(mqtt) = &config.mqtt {
            let streams = config
                .streams
                .iter()
                .map(|s| (s.name.clone(), s.enabled))
                .collect();
            let parts = crate::publish::mqtt::Parts {
                hub: hub.clone(),
                control,
                streams,
            };
            services.mqtt = Some(crate::publish::mqtt::spawn(
                mqtt.clone(),
                publisher,
                parts,
                shutdown,
            )?);
        }
        Ok(services)
    }

    /// Starts HTTP if `config` asks for it, on `http_listener` when given (else it
    /// binds). Called once the streams are attached, so `/healthz` never judges a
    /// daemon without its streams.
    pub async fn start_http(
        &mut self,
        config: &Config,
        publisher: &Arc<Publisher>,
        hub: &Arc<FrameHub>,
        shutdown: watch::Receiver<bool>,
        http_listener: Option<TcpListener>,
    ) -> anyhow::Result<()> {
        let Some(http) = &config.http else {
            return Ok(());
        };
        let listener = match http_listener {
            Some(l) => l,
            None => crate::publish::http::bind(http.listen).await?,
        };
        let others = usize::from(config.mqtt.is_some()) + usize::from(config.output.stdout);
        let tracker = crate::publish::tracker::Tracker::spawn(
            publisher.clone(),
            hub.clone(),
            Duration::from_secs_f64(config.runtime.inference_stall_s),
            others,
        );
        let (shown, config_rx) = watch::channel(config.effective().to_json());
        self.config = Some(shown);
        let app = crate::publish::http::App::new(tracker, config_rx);
        self.http = Some(tokio::spawn(crate::publish::http::serve(
            listener, app, shutdown,
        )));
        Ok(())
    }

    /// Shows `config` (the running configuration after a reload) on `/api/config`.
    pub fn show_config(&self, config: &Config) {
        if let Some(shown) = &self.config {
            shown.send_replace(config.effective().to_json());
        }
    }

    /// Waits (bounded) for the outputs to finish after `shutdown` turned true: MQTT
    /// delivers what is queued and publishes `offline`.
    pub async fn stop(self) {
        if let Some(m) = self.mqtt {
            let _ = tokio::time::timeout(Duration::from_secs(5), m.task).await;
        }
        if let Some(h) = self.http {
            let _ = tokio::time::timeout(Duration::from_secs(1), h).await;
        }
    }
}
