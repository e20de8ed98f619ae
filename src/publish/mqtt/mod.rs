//! The MQTT output (off unless `[mqtt]` is configured): every message the daemon
//! publishes goes to a broker, one topic per stream and message type.
//!
//! | topic | payload | retained |
//! |---|---|---|
//! | `<prefix>/available` | `online`; `offline` on a clean exit and as the last will | yes |
//! | `<prefix>/hello` | the `hello` message | yes |
//! | `<prefix>/<stream>/status` | each `status` message | yes |
//! | `<prefix>/<stream>/prediction` | each `prediction` message | no |
//! | `<prefix>/<stream>/event` | each `event` message | no |
//! | `<prefix>/<stream>/frame` | each `frame` message (only with `per_frame`) | no |
//! | `<prefix>/<stream>/label` | the confirmed label, plain text (from each `event`) | yes |
//! | `<prefix>/stats` | every `stats_interval_s`: states, fps, drops, latency, uptime | no |
//! | `<prefix>/<stream>/enabled` | `ON`/`OFF` (with `commands`) | yes |
//! | `<prefix>/<stream>/enabled/set` | commands in: `ON`/`OFF` (with `commands`) | — |
//! | `<discovery_prefix>/…/config` | Home Assistant discovery (with `discovery`) | yes |
//!
//! The broker never slows the pipeline: messages wait in a bounded queue while the
//! broker is away (the oldest are dropped and counted when it is full), the
//! connection is retried with capped exponential backoff, and on every
//! (re)connection `online`, `hello` and each stream's current status are published
//! again before the queued messages. Messages the client had taken but the broker
//! had not acknowledged when the link broke go back to the front of the queue and
//! are sent again (at least once, also to a broker that restarted without its
//! sessions).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rumqttc::{
    AsyncClient, ClientError, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS,
    Request, TlsConfiguration, Transport,
};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::MqttConfig;
use crate::hub::FrameHub;
use crate::publish::{Feed, Message, Published, Publisher};

mod home;
mod stats;

use home::Home;
use stats::Stats;

/// Requests handed to the MQTT client at once; the bounded queue in front holds the rest.
const CLIENT_CAPACITY: usize = 32;
/// Largest MQTT packet sent or accepted.
const MAX_PACKET: usize = 256 * 1024;
/// Longest wait between connection attempts.
const BACKOFF_MAX_S: f64 = 30.0;
/// Time given to deliver what is queued when the daemon stops.
const FLUSH_LIMIT: Duration = Duration::from_secs(2);

/// One message for the broker.
#[derive(Debug, Clone, PartialEq)]
struct Item {
    topic: String,
    payload: Vec<u8>,
    retain: bool,
    /// For `status` messages: the stream (a newer status supersedes a queued one).
    status_of: Option<String>,
}

/// Where a published message goes: `None` for messages that have no topic (goodbye).
fn route(prefix: &str, p: &Published) -> Option<Item> {
    let item = |topic: String, retain: bool, status_of: Option<String>| Item {
        topic,
        payload: p.payload().as_bytes().to_vec(),
        retain,
        status_of,
    };
    match &p.msg {
        Message::Hello { .. } => Some(item(format!("{prefix}/hello"), true, None)),
        Message::Status { stream, .. } => Some(item(
            format!("{prefix}/{stream}/status"),
            true,
            Some(stream.clone()),
        )),
        Message::Prediction { stream, .. }
        | Message::Event { stream, .. }
        | Message::Frame { stream, .. } => Some(item(
            format!("{prefix}/{stream}/{}", p.msg.kind()),
            false,
            None,
        )),
        Message::Goodbye { .. } => None,
    }
}

fn qos(n: u8) -> QoS {
    match n {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// The rustls configuration for `mqtts://`: the CA file's certificates or the
/// system's, and the client certificate when configured.
fn tls_config(cfg: &MqttConfig) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.ca_file {
        Some(ca) => {
            let certs = CertificateDer::pem_file_iter(ca)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .with_context(|| format!("[mqtt] ca_file {}", ca.display()))?;
            for c in certs {
                roots
                    .add(c)
                    .with_context(|| format!("[mqtt] ca_file {}", ca.display()))?;
            }
            if roots.is_empty() {
                anyhow::bail!("[mqtt] ca_file {}: no certificate in it", ca.display());
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                anyhow::bail!("[mqtt] no system CA certificates found for mqtts://; set ca_file");
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("[mqtt] TLS setup")?
        .with_root_certificates(roots);
    let config = match (&cfg.cert_file, &cfg.key_file) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .with_context(|| format!("[mqtt] cert_file {}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .with_context(|| format!("[mqtt] key_file {}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .context("[mqtt] cert_file/key_file")?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The client options: broker, id, keep-alive, credentials, TLS and the last will.
fn options(cfg: &MqttConfig) -> anyhow::Result<MqttOptions> {
    let mut o = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    o.set_keep_alive(Duration::from_secs(cfg.keep_alive_s));
    o.set_max_packet_size(MAX_PACKET, MAX_PACKET);
    // A persistent session: QoS 1/2 messages in flight when the link drops are sent again.
    o.set_clean_session(false);
    o.set_last_will(LastWill::new(
        format!("{}/available", cfg.topic_prefix),
        "offline",
        qos(cfg.qos),
        true,
    ));
    if let Some(user) = &cfg.username {
        let password = match &cfg.password {
            Some(p) => p.read().context("[mqtt] reading password_file")?,
            None => String::new(),
        };
        o.set_credentials(user.clone(), password);
    }
    if cfg.tls() {
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            tls_config(cfg)?,
        )));
    }
    Ok(o)
}

/// The MQTT output task; stop it by turning `shutdown` true and awaiting the handle.
pub struct Mqtt {
    /// The task; it ends after publishing `offline` and disconnecting (bounded).
    pub task: JoinHandle<()>,
}

/// What the MQTT output needs from the daemon besides the published messages.
pub struct Parts {
    /// The streams' counters, for `<prefix>/stats`.
    pub hub: Arc<FrameHub>,
    /// Reaches the daemon for `enabled/set` commands (none: commands are refused).
    pub control: Option<crate::daemon::Control>,
    /// Every configured stream and whether it is enabled.
    pub streams: Vec<(String, bool)>,
}

/// Starts the MQTT output: reads every message from `publisher` and sends it to the broker.
/// Fails only for local problems (unreadable TLS or password files); an unreachable
/// broker is retried forever.
pub fn spawn(
    cfg: MqttConfig,
    publisher: &Publisher,
    parts: Parts,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Mqtt> {
    let options = options(&cfg)?;
    let (client, eventloop) = AsyncClient::new(options, CLIENT_CAPACITY);
    let (initial, rx) = publisher.subscribe();
    tracing::info!(
        broker = %cfg.url,
        client_id = %cfg.client_id,
        topic_prefix = %cfg.topic_prefix,
        "MQTT output"
    );
    let task = tokio::spawn(run(cfg, client, eventloop, parts, (initial, rx), shutdown));
    Ok(Mqtt { task })
}

/// Connection state shared between the event-loop driver and the sender.
struct Link {
    connected: AtomicBool,
    stopping: AtomicBool,
    /// Messages the client held unacknowledged when the link broke, oldest first.
    returned: Mutex<Vec<Item>>,
}

/// The messages to send again from the client's requests left over by a broken
/// link: publishes the broker did not acknowledge and ones it never got. Retained
/// ones are left out: the current state is republished on every connection anyway.
fn unacknowledged(pending: impl IntoIterator<Item = Request>) -> Vec<Item> {
    pending
        .into_iter()
        .filter_map(|r| match r {
            Request::Publish(p) if !p.retain => Some(Item {
                topic: p.topic,
                payload: p.payload.to_vec(),
                retain: false,
                status_of: None,
            }),
            _ => None,
        })
        .collect()
}

/// The sending side: the bounded queue, and what is republished on every connection.
struct Sender {
    client: AsyncClient,
    prefix: String,
    qos: QoS,
    link: Arc<Link>,
    queue: Queue,
    /// The latest `hello`.
    hello: Option<Item>,
    /// Each stream's latest `status`.
    statuses: BTreeMap<String, Item>,
    /// Labels, enabled states and Home Assistant discovery.
    home: Home,
    /// What `<prefix>/stats` reports.
    stats: Stats,
}

impl Sender {
    /// Routes one published message; keeps the latest hello and each stream's
    /// latest status, for republishing on every connection.
    fn remember(&mut self, p: &Published) -> Option<Item> {
        let item = route(&self.prefix, p)?;
        match &p.msg {
            Message::Hello { .. } => self.hello = Some(item.clone()),
            Message::Status { stream, .. } => {
                self.statuses.insert(stream.clone(), item.clone());
            }
            _ => {}
        }
        Some(item)
    }

    /// Remembers and queues one published message and what it means for home automation.
    fn take(&mut self, p: &Published) {
        self.stats.observe(p);
        if let Some(item) = self.remember(p) {
            self.queue.push(item);
        }
        for item in self.home.on_message(p) {
            self.queue.push(item);
        }
    }

    /// On a new connection: availability, hello, current statuses and what the
    /// broken link returned go before everything queued.
    fn connected(&mut self) {
        let mut first = vec![Item {
            topic: format!("{}/available", self.prefix),
            payload: b"online".to_vec(),
            retain: true,
            status_of: None,
        }];
        first.extend(self.hello.clone());
        first.extend(self.statuses.values().cloned());
        first.extend(self.home.current());
        first.append(&mut self.link.returned.lock().unwrap_or_else(|e| e.into_inner()));
        self.queue.put_first(first);
        if self.home.commands() {
            let filter = self.home.command_filter();
            if let Err(e) = self.client.try_subscribe(&filter, QoS::AtLeastOnce) {
                tracing::warn!("MQTT: cannot subscribe to {filter}: {e}");
            }
        }
    }

    /// A command from the broker: which stream, on or off; refused ones are logged
    /// and answered with the stream's current state.
    fn command(
        &mut self,
        topic: &str,
        payload: &[u8],
        control: Option<&crate::daemon::Control>,
        acks: &mpsc::Sender<(String, Result<bool, String>)>,
    ) {
        let Some(stream) = self.home.command_stream(topic).map(str::to_owned) else {
            return;
        };
        let refuse = |s: &mut Self, why: String| {
            tracing::warn!(stream = %stream, "MQTT: command refused: {why}");
            if let Some(item) = s.home.enabled_of(&stream) {
                s.queue.push(item);
            }
        };
        let Some(on) = home::parse_switch(payload) else {
            let shown = String::from_utf8_lossy(&payload[..payload.len().min(32)]).into_owned();
            return refuse(self, format!("payload `{shown}` is not ON or OFF"));
        };
        let Some(control) = control.cloned() else {
            return refuse(self, "the daemon takes no commands now".into());
        };
        let acks = acks.clone();
        tokio::spawn(async move {
            let result = control.set_enabled(&stream, on).await;
            let _ = acks.send((stream, result)).await;
        });
    }

    /// The daemon's answer to a command: the stream's state goes out, or the refusal is logged.
    fn acknowledged(&mut self, stream: &str, result: Result<bool, String>) {
        match result {
            Ok(on) => {
                let item = self.home.set_enabled(stream, on);
                self.queue.push(item);
            }
            Err(why) => {
                tracing::warn!(stream = %stream, "MQTT: command refused: {why}");
                if let Some(item) = self.home.enabled_of(stream) {
                    self.queue.push(item);
                }
            }
        }
    }

    /// Hands queued messages to the client while connected; true when it is full.
    fn blocked(&mut self) -> bool {
        self.link.connected.load(Ordering::Relaxed) && !self.queue.feed(&self.client, self.qos)
    }

    /// Stopping: delivers what was published before the stop (bounded), then says
    /// `offline` and disconnects.
    async fn stop(mut self, rx: &mut Feed) {
        while let Ok(p) = rx.try_recv() {
            if let Some(item) = route(&self.prefix, &p) {
                self.queue.push(item);
            }
        }
        let connected = || self.link.connected.load(Ordering::Relaxed);
        let deadline = Instant::now() + FLUSH_LIMIT;
        while connected() && !self.queue.is_empty() && Instant::now() < deadline {
            if !self.queue.feed(&self.client, self.qos) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let unsent = self.queue.len() + self.link.returned.lock().map_or(0, |r| r.len());
        if unsent > 0 {
            tracing::warn!("MQTT: {unsent} queued messages not delivered at exit");
        }
        self.link.stopping.store(true, Ordering::Relaxed);
        if connected() {
            let topic = format!("{}/available", self.prefix);
            let _ = self.client.try_publish(topic, self.qos, true, "offline");
            let _ = self.client.try_disconnect();
        }
    }
}

/// The streams of published messages the MQTT output reads: those before it started, then the feed.
type Input = (Vec<Arc<Published>>, Feed);

async fn run(
    cfg: MqttConfig,
    client: AsyncClient,
    eventloop: EventLoop,
    parts: Parts,
    (initial, mut rx): Input,
    mut shutdown: watch::Receiver<bool>,
) {
    let link = Arc::new(Link {
        connected: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        returned: Mutex::new(Vec::new()),
    });
    let (gen_tx, mut gen_rx) = watch::channel(0u64);
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<(String, Vec<u8>)>(16);
    let (ack_tx, mut ack_rx) = mpsc::channel(16);
    let commands = cfg.commands.then_some(cmd_tx);
    let mut driver = tokio::spawn(drive(
        eventloop,
        link.clone(),
        gen_tx,
        commands,
        cfg.url.clone(),
    ));
    let mut sender = Sender {
        client,
        prefix: cfg.topic_prefix.clone(),
        qos: qos(cfg.qos),
        link: link.clone(),
        queue: Queue::new(cfg.queue),
        hello: None,
        statuses: BTreeMap::new(),
        home: Home::new(&cfg, &parts.streams),
        stats: Stats::new(&cfg.topic_prefix),
    };
    // Not queued: `connected` publishes them first on every connection.
    for p in &initial {
        sender.remember(p);
        sender.home.on_message(p);
        sender.stats.observe(p);
    }
    let every = Duration::from_secs(cfg.stats_interval_s.max(1));
    let mut stats_tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut seen_gen = 0u64;
    loop {
        let gen = *gen_rx.borrow_and_update();
        if gen != seen_gen && link.connected.load(Ordering::Relaxed) {
            seen_gen = gen;
            sender.connected();
        }
        let blocked = sender.blocked();
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(p) => sender.take(&p),
                Err(broadcast::error::RecvError::Lagged(n)) => lagged(n),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some((topic, payload)) = cmd_rx.recv() => {
                sender.command(&topic, &payload, parts.control.as_ref(), &ack_tx);
            }
            Some((stream, result)) = ack_rx.recv() => sender.acknowledged(&stream, result),
            _ = stats_tick.tick(), if cfg.stats_interval_s > 0 => {
                let item = sender.stats.message(&parts.hub);
                sender.queue.push(item);
            }
            _ = gen_rx.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(20)), if blocked => {}
            _ = shutdown.changed() => break,
        }
    }
    sender.stop(&mut rx).await;
    if tokio::time::timeout(FLUSH_LIMIT, &mut driver)
        .await
        .is_err()
    {
        driver.abort();
    }
    crate::publish::metrics::global().mqtt_connected.set(0);
    tracing::debug!("MQTT output stopped");
}

/// The MQTT output fell `n` messages behind the bus: they are counted as dropped.
fn lagged(n: u64) {
    let m = crate::publish::metrics::global();
    for _ in 0..n {
        m.mqtt_message(false);
    }
    tracing::warn!("MQTT output fell behind: {n} messages dropped");
}

/// The bounded queue in front of the client.
struct Queue {
    items: VecDeque<Item>,
    bound: usize,
}

impl Queue {
    fn new(bound: usize) -> Self {
        Queue {
            items: VecDeque::with_capacity(bound.min(4096)),
            bound,
        }
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Appends; when full, the oldest message is dropped and counted.
    fn push(&mut self, item: Item) {
        if self.items.len() >= self.bound {
            self.items.pop_front();
            crate::publish::metrics::global().mqtt_message(false);
        }
        self.items.push_back(item);
        crate::publish::metrics::global()
            .mqtt_queue
            .set(self.items.len() as i64);
    }

    /// Puts `first` in front, in order; queued statuses are dropped (they are superseded).
    fn put_first(&mut self, first: Vec<Item>) {
        self.items.retain(|i| i.status_of.is_none());
        for item in first.into_iter().rev() {
            self.items.push_front(item);
        }
        while self.items.len() > self.bound {
            self.items.pop_back();
            crate::publish::metrics::global().mqtt_message(false);
        }
        crate::publish::metrics::global()
            .mqtt_queue
            .set(self.items.len() as i64);
    }

    /// Hands queued messages to the client until it is full; false if it was.
    fn feed(&mut self, client: &AsyncClient, q: QoS) -> bool {
        let m = crate::publish::metrics::global();
        let mut ok = true;
        while let Some(item) = self.items.front() {
            match client.try_publish(item.topic.clone(), q, item.retain, item.payload.clone()) {
                Ok(()) => {
                    self.items.pop_front();
                    m.mqtt_message(true);
                }
                Err(ClientError::TryRequest(_)) | Err(ClientError::Request(_)) => {
                    ok = false;
                    break;
                }
            }
        }
        m.mqtt_queue.set(self.items.len() as i64);
        ok
    }
}

/// Polls the client's event loop forever: reconnects with backoff, tracks the link,
/// hands incoming publishes (commands) to `commands`.
async fn drive(
    mut eventloop: EventLoop,
    link: Arc<Link>,
    gen_tx: watch::Sender<u64>,
    commands: Option<mpsc::Sender<(String, Vec<u8>)>>,
    url: String,
) {
    let m = crate::publish::metrics::global();
    let mut failures: u32 = 0;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                failures = 0;
                link.connected.store(true, Ordering::Relaxed);
                m.mqtt_connected.set(1);
                m.mqtt_connections.inc();
                gen_tx.send_modify(|g| *g += 1);
                tracing::info!(broker = %url, "MQTT: connected");
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if let Some(tx) = &commands {
                    if tx.try_send((p.topic, p.payload.to_vec())).is_err() {
                        tracing::warn!(
                            "MQTT: commands arrive faster than they are done; one dropped"
                        );
                    }
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                if link.stopping.load(Ordering::Relaxed) {
                    // Let the DISCONNECT reach the socket before the task ends.
                    let _ =
                        tokio::time::timeout(Duration::from_millis(200), eventloop.poll()).await;
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                let was = link.connected.swap(false, Ordering::Relaxed);
                m.mqtt_connected.set(0);
                // The client would drop these on a connection to a broker without our
                // session; the sender queues them again instead, on any connection.
                let back = unacknowledged(eventloop.pending.drain(..));
                if !back.is_empty() {
                    tracing::debug!(broker = %url, "MQTT: {} unacknowledged messages to send again", back.len());
                    link.returned
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(back);
                }
                if link.stopping.load(Ordering::Relaxed) {
                    return;
                }
                let delay = crate::source::supervisor::backoff(
                    1.0,
                    BACKOFF_MAX_S,
                    failures,
                    rand::random::<f64>() * 2.0 - 1.0,
                );
                failures = failures.saturating_add(1);
                if was {
                    tracing::warn!(broker = %url, "MQTT: connection lost: {e}; reconnecting in {:.1} s", delay.as_secs_f64());
                } else if failures.is_power_of_two() {
                    tracing::warn!(broker = %url, "MQTT: cannot connect (attempt {failures}): {e}; retrying in {:.1} s", delay.as_secs_f64());
                }
                let deadline = Instant::now() + delay;
                while Instant::now() < deadline && !link.stopping.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(100).min(delay)).await;
                }
                if link.stopping.load(Ordering::Relaxed) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_type_and_stream() {
        use crate::publish::{EventKind, StreamState, VERSION};
        let p = "actiond/box";
        let frame = Published::new(Message::Frame {
            v: VERSION,
            stream: "cam".into(),
            pts_ns: None,
            top: vec![],
        });
        let r = route(p, &frame).unwrap();
        assert_eq!(r.topic, "actiond/box/cam/frame");
        assert!(!r.retain);
        assert_eq!(r.payload, frame.payload().as_bytes());
        assert!(frame.payload().starts_with(
            "{\"type\":\"frame\",\"v\":1,\"stream\":\"cam\",\"pts_ns\":null,\"top\":[],\"ts\":\""
        ));
        let status = Message::Status {
            v: VERSION,
            stream: "cam".into(),
            state: StreamState::Running,
            reason: String::new(),
        };
        let r = route(p, &Published::new(status)).unwrap();
        assert_eq!(
            (r.topic.as_str(), r.retain),
            ("actiond/box/cam/status", true)
        );
        assert_eq!(r.status_of.as_deref(), Some("cam"));
        let event = Message::Event {
            v: VERSION,
            id: "0123456789abcdef".into(),
            stream: "cam".into(),
            event: EventKind::LabelChanged,
            from: None,
            to: "a".into(),
            score: 1.0,
            clip: None,
            snapshot: None,
            clip_url: None,
            snapshot_url: None,
        };
        let r = route(p, &Published::new(event)).unwrap();
        assert_eq!(r.topic, "actiond/box/cam/event");
        let hello = Message::Hello {
            v: VERSION,
            version: "t".into(),
            model: "m".into(),
            labels: vec![],
            streams: vec![],
            models: vec![],
        };
        let r = route(p, &Published::new(hello)).unwrap();
        assert_eq!((r.topic.as_str(), r.retain), ("actiond/box/hello", true));
        let goodbye = Message::Goodbye {
            v: VERSION,
            reason: "x".into(),
        };
        assert_eq!(route(p, &Published::new(goodbye)), None);
    }

    fn item(n: u8, status: Option<&str>) -> Item {
        Item {
            topic: format!("t/{n}"),
            payload: vec![n],
            retain: status.is_some(),
            status_of: status.map(str::to_string),
        }
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts() {
        let before = crate::publish::metrics::global().mqtt_dropped();
        let mut q = Queue::new(3);
        for n in 0..5 {
            q.push(item(n, None));
        }
        let kept: Vec<u8> = q.items.iter().map(|i| i.payload[0]).collect();
        assert_eq!(kept, [2, 3, 4]);
        assert!(crate::publish::metrics::global().mqtt_dropped() >= before + 2);
    }

    #[test]
    fn unacknowledged_publishes_are_sent_again_but_not_retained_state() {
        let publish = |topic: &str, retain: bool| {
            let mut p = rumqttc::Publish::new(topic, QoS::AtLeastOnce, topic.as_bytes());
            p.retain = retain;
            Request::Publish(p)
        };
        let back = unacknowledged(vec![
            publish("p/cam/prediction", false),
            publish("p/cam/status", true),
            Request::PubRel(rumqttc::PubRel::new(3)),
            publish("p/cam/event", false),
        ]);
        let topics: Vec<&str> = back.iter().map(|i| i.topic.as_str()).collect();
        assert_eq!(topics, ["p/cam/prediction", "p/cam/event"]);
        assert_eq!(back[0].payload, b"p/cam/prediction");
        assert!(back.iter().all(|i| !i.retain && i.status_of.is_none()));
    }

    #[test]
    fn reconnect_state_goes_first_and_replaces_queued_statuses() {
        let mut q = Queue::new(10);
        q.push(item(1, None));
        q.push(item(2, Some("cam")));
        q.push(item(3, None));
        q.put_first(vec![item(7, None), item(8, Some("cam"))]);
        let order: Vec<u8> = q.items.iter().map(|i| i.payload[0]).collect();
        assert_eq!(order, [7, 8, 1, 3]);
    }
}
