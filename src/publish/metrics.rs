//! Prometheus metrics: process-wide instruments that the pipeline updates as it
//! works (inference time, batch sizes, MQTT traffic, prediction latency), and a
//! [`Collector`] that reads per-stream counters, states and process figures at
//! scrape time. Encoded with `prometheus-client`.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, EncodeLabelSet, EncodeMetric,
    MetricEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::publish::StreamState;
use crate::stats::StreamCounters;

/// Label set `{stream="…"}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabel {
    /// Stream name.
    pub stream: String,
}

/// Label set `{result="…"}` for MQTT messages.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// `published` (handed to the broker connection) or `dropped`.
    pub result: &'static str,
}

/// Instruments updated while the daemon runs. One per process: [`global`].
#[derive(Debug)]
pub struct Metrics {
    /// Seconds per ONNX Runtime run (one batch).
    pub inference_seconds: Histogram,
    /// Frames per ONNX Runtime run.
    pub batch_size: Histogram,
    /// ONNX Runtime runs that failed.
    pub inference_failures: Counter,
    /// Capture of a clip's last frame → publish, seconds, per stream.
    pub prediction_latency: Family<StreamLabel, Histogram>,
    /// Clip predictions published, per stream.
    pub predictions: Family<StreamLabel, Counter>,
    /// Label-change events published, per stream.
    pub events: Family<StreamLabel, Counter>,
    /// 1 while connected to the MQTT broker.
    pub mqtt_connected: Gauge,
    /// Successful connections to the MQTT broker (the first and every reconnection).
    pub mqtt_connections: Counter,
    /// MQTT messages by result: `published` or `dropped` (queue full).
    pub mqtt_messages: Family<ResultLabel, Counter>,
    /// Messages waiting for the MQTT broker.
    pub mqtt_queue: Gauge,
    /// Evidence clips written, per stream.
    pub clips: Family<StreamLabel, Counter>,
    /// Bytes of evidence clips written, per stream.
    pub clip_bytes: Family<StreamLabel, Counter>,
    /// Evidence clips deleted by retention.
    pub clips_deleted: Counter,
    /// Events not recorded because free space was below the floor, per stream.
    pub clips_skipped: Family<StreamLabel, Counter>,
}

fn latency_histogram() -> Histogram {
    // 5 ms … ~20 s
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0,
    ])
}

impl Metrics {
    fn new() -> Self {
        Metrics {
            inference_seconds: Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0,
            ]),
            batch_size: Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
            inference_failures: Counter::default(),
            prediction_latency: Family::new_with_constructor(latency_histogram),
            predictions: Family::default(),
            events: Family::default(),
            mqtt_connected: Gauge::default(),
            mqtt_connections: Counter::default(),
            mqtt_messages: Family::default(),
            mqtt_queue: Gauge::default(),
            clips: Family::default(),
            clip_bytes: Family::default(),
            clips_deleted: Counter::default(),
            clips_skipped: Family::default(),
        }
    }

    /// Records one ONNX Runtime run of `batch` frames that took `took`.
    pub fn inference(&self, batch: usize, took: Duration) {
        self.inference_seconds.observe(took.as_secs_f64());
        self.batch_size.observe(batch as f64);
    }

    /// Records a failed ONNX Runtime run.
    pub fn inference_failed(&self) {
        self.inference_failures.inc();
    }

    /// Records an MQTT message handed to the broker connection (`true`) or dropped (`false`).
    pub fn mqtt_message(&self, published: bool) {
        let result = if published { "published" } else { "dropped" };
        self.mqtt_messages
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    /// Records a clip of `bytes` written for `stream`.
    pub fn record_clip(&self, stream: &str, bytes: u64) {
        let label = StreamLabel {
            stream: stream.to_string(),
        };
        self.clips.get_or_create(&label).inc();
        self.clip_bytes.get_or_create(&label).inc_by(bytes);
    }

    /// Records `n` clips deleted by retention.
    pub fn record_deleted(&self, n: u64) {
        self.clips_deleted.inc_by(n);
    }

    /// Records an event of `stream` not recorded for lack of free space.
    pub fn record_skipped(&self, stream: &str) {
        let label = StreamLabel {
            stream: stream.to_string(),
        };
        self.clips_skipped.get_or_create(&label).inc();
    }

    /// MQTT messages dropped so far.
    pub fn mqtt_dropped(&self) -> u64 {
        self.mqtt_messages
            .get(&ResultLabel { result: "dropped" })
            .map(|c| c.get())
            .unwrap_or(0)
    }

    /// Registers every instrument in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        let seconds = Some(Unit::Seconds);
        #[rustfmt::skip]
        let table = [
            ("actiond_inference", INFERENCE_HELP, seconds.clone(), erase(&self.inference_seconds)),
            ("actiond_inference_batch_frames", "Frames per ONNX Runtime run", None, erase(&self.batch_size)),
            ("actiond_inference_failures", "ONNX Runtime runs that failed", None, erase(&self.inference_failures)),
            ("actiond_prediction_latency", LATENCY_HELP, seconds, erase(&self.prediction_latency)),
            ("actiond_predictions", "Clip predictions published", None, erase(&self.predictions)),
            ("actiond_events", "Label-change events published", None, erase(&self.events)),
            ("actiond_mqtt_connected", "1 while connected to the MQTT broker", None, erase(&self.mqtt_connected)),
            ("actiond_mqtt_connections", MQTT_CONNECTIONS_HELP, None, erase(&self.mqtt_connections)),
            ("actiond_mqtt_messages", MQTT_MESSAGES_HELP, None, erase(&self.mqtt_messages)),
            ("actiond_mqtt_queue_messages", "Messages waiting for the MQTT broker", None, erase(&self.mqtt_queue)),
            ("actiond_clips", "Evidence clips written", None, erase(&self.clips)),
            ("actiond_clip", "Bytes of evidence clips written", Some(Unit::Bytes), erase(&self.clip_bytes)),
            ("actiond_clips_deleted", "Evidence clips deleted by retention", None, erase(&self.clips_deleted)),
            ("actiond_clips_skipped", "Events not recorded because free space was below record.min_free_bytes", None, erase(&self.clips_skipped)),
        ];
        for (name, help, unit, metric) in table {
            match unit {
                Some(unit) => registry.register_with_unit(name, help, unit, metric),
                None => registry.register(name, help, metric),
            }
        }
    }
}

/// Help of `actiond_inference_seconds`.
const INFERENCE_HELP: &str = "Time of one ONNX Runtime run (one batch of frames)";
/// Help of `actiond_prediction_latency_seconds`.
const LATENCY_HELP: &str = "Capture of a clip's last frame to publishing its prediction";
/// Help of `actiond_mqtt_connections`.
const MQTT_CONNECTIONS_HELP: &str = "Successful connections to the MQTT broker";
/// Help of `actiond_mqtt_messages`.
const MQTT_MESSAGES_HELP: &str = "MQTT messages handed to the broker connection (each time: again after a broken link) or dropped because the queue was full";

/// An instrument of any type, so that they can be registered from one table.
trait Instrument: EncodeMetric + Send + Sync + fmt::Debug {}
impl<T: EncodeMetric + Send + Sync + fmt::Debug> Instrument for T {}

#[derive(Debug)]
struct Erased(Box<dyn Instrument>);

fn erase(m: &(impl Instrument + Clone + 'static)) -> Erased {
    Erased(Box::new(m.clone()))
}

impl EncodeMetric for Erased {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The process's instruments.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// One stream's figures at scrape time.
#[derive(Debug, Clone)]
pub struct StreamSnapshot {
    /// Stream name.
    pub name: String,
    /// Current state.
    pub state: StreamState,
    /// Its counters, named as the metrics.
    pub counters: StreamCounters,
}

/// What the scrape-time collector reads.
pub trait Source: Send + Sync + 'static {
    /// Every stream's figures.
    fn streams(&self) -> Vec<StreamSnapshot>;
    /// Connected socket subscribers.
    fn subscribers(&self) -> u64;
    /// Daemon version and model name.
    fn info(&self) -> (String, String);
}

/// Reads per-stream and process figures at scrape time.
pub struct ScrapeCollector(pub Arc<dyn Source>);

impl fmt::Debug for ScrapeCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScrapeCollector")
    }
}

/// A label set and its value: one metric of a family.
type Row<'a, N> = (Vec<(&'a str, &'a str)>, N);

/// One family of constant metrics, counters or gauges by `kind`: its descriptor,
/// then one metric per row.
fn family<V: EncodeCounterValue + EncodeGaugeValue + Copy>(
    kind: MetricType,
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    rows: &[Row<'_, V>],
) -> Result<(), fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, unit, kind)?;
    for (labels, v) in rows {
        let metric = family.encode_family(labels)?;
        match kind {
            MetricType::Counter => ConstCounter::new(*v).encode(metric)?,
            _ => ConstGauge::new(*v).encode(metric)?,
        }
    }
    Ok(())
}

/// Help of `actiond_stream_frames_sampled`.
const SAMPLED_HELP: &str = "Frames kept by sampling (sample_fps) and offered to inference";
/// Help of `actiond_stream_reconnects`.
const RECONNECTS_HELP: &str = "Pipeline rebuilds after an error, end of a live stream or a stall";
/// Help of `actiond_stream_retries`.
const RETRIES_HELP: &str = "Pipeline rebuilds by reason: error (the pipeline failed), eos (a live or HTTP source ended), stall (no frame for stall_timeout_s), start_failed (it could not be built or started), rewind_failed (a looping file could not be rewound)";
/// Help of `actiond_stream_pipelines_abandoned`.
const ABANDONED_HELP: &str =
    "Pipelines that did not stop within the teardown limit and were abandoned";
/// Help of `actiond_stream_frames_corrupt`.
const CORRUPT_HELP: &str = "Decoded frames the decoder marked corrupted (a stream joined between key frames, lost packets), dropped before the sampler";
/// Help of `actiond_stream_decoders`.
const DECODERS_HELP: &str = "Video decoders created for the stream's pipelines (one per build; a camera with regions decodes once for all of them)";
/// Help of `actiond_stream_frames_dropped`.
const DROPPED_HELP: &str = "Sampled frames not classified, by reason: inference_busy (a newer frame replaced it before inference was free), pipeline_restart (its pipeline was torn down), unusable (unexpected size or format)";

/// The per-stream frame and reconnect counters.
fn encode_stream_counters(
    encoder: &mut DescriptorEncoder,
    streams: &[StreamSnapshot],
) -> Result<(), fmt::Error> {
    let per = |f: fn(&StreamCounters) -> u64| -> Vec<Row<'_, u64>> {
        streams
            .iter()
            .map(|s| (vec![("stream", s.name.as_str())], f(&s.counters)))
            .collect()
    };
    // Rows of a family with a `reason` label: each stream's (reason, count) pairs.
    let by_reason = |f: fn(&StreamCounters) -> Vec<(&'static str, u64)>| -> Vec<Row<'_, u64>> {
        streams
            .iter()
            .flat_map(|s| {
                f(&s.counters)
                    .into_iter()
                    .map(|(reason, n)| (vec![("stream", s.name.as_str()), ("reason", reason)], n))
            })
            .collect()
    };
    let dropped = by_reason(|c| c.dropped_by_reason().to_vec());
    let retries = by_reason(|c| c.retries.clone());
    #[rustfmt::skip]
    let families = [
        ("actiond_stream_frames_received", "Decoded frames that reached the sampler", per(|c| c.received)),
        ("actiond_stream_decoders", DECODERS_HELP, per(|c| c.decoders)),
        ("actiond_stream_frames_corrupt", CORRUPT_HELP, per(|c| c.corrupt)),
        ("actiond_stream_frames_sampled", SAMPLED_HELP, per(|c| c.sampled)),
        ("actiond_stream_frames_dropped", DROPPED_HELP, dropped),
        ("actiond_stream_frames_classified", "Frames classified by the model", per(|c| c.classified)),
        ("actiond_stream_reconnects", RECONNECTS_HELP, per(|c| c.reconnects)),
        ("actiond_stream_retries", RETRIES_HELP, retries),
        ("actiond_stream_pipelines_abandoned", ABANDONED_HELP, per(|c| c.abandoned)),
    ];
    for (name, help, rows) in &families {
        family(MetricType::Counter, encoder, name, help, None, rows)?;
    }
    Ok(())
}

/// The per-stream state (one gauge per state) and latest-frame age.
fn encode_stream_gauges(
    encoder: &mut DescriptorEncoder,
    streams: &[StreamSnapshot],
) -> Result<(), fmt::Error> {
    let mut states = Vec::new();
    for s in streams {
        for st in StreamState::ALL {
            let v = u64::from(s.state == st);
            states.push((vec![("stream", s.name.as_str()), ("state", st.as_str())], v));
        }
    }
    family(
        MetricType::Gauge,
        encoder,
        "actiond_stream_state",
        "1 for the stream's current state, 0 for the others",
        None,
        &states,
    )?;
    let ages: Vec<Row<'_, f64>> = streams
        .iter()
        .filter_map(|s| {
            Some((
                vec![("stream", s.name.as_str())],
                s.counters.since_last_frame_s?,
            ))
        })
        .collect();
    family(
        MetricType::Gauge,
        encoder,
        "actiond_stream_last_frame_age",
        "Seconds since the stream's latest sampled frame",
        Some(&Unit::Seconds),
        &ages,
    )
}

impl Collector for ScrapeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let streams = self.0.streams();
        encode_stream_counters(&mut encoder, &streams)?;
        encode_stream_gauges(&mut encoder, &streams)?;
        family(
            MetricType::Gauge,
            &mut encoder,
            "actiond_socket_subscribers",
            "Clients connected to the Unix socket",
            None,
            &[(vec![], self.0.subscribers())],
        )?;
        let (version, model) = self.0.info();
        family(
            MetricType::Gauge,
            &mut encoder,
            "actiond_build_info",
            "Always 1; the daemon's version and model as labels",
            None,
            &[(
                vec![("version", version.as_str()), ("model", model.as_str())],
                1u64,
            )],
        )?;
        encode_process(&mut encoder)
    }
}

fn encode_process(encoder: &mut DescriptorEncoder) -> Result<(), fmt::Error> {
    let Some(p) = crate::sys::procfs::process_stats() else {
        return Ok(());
    };
    let bytes = Some(&Unit::Bytes);
    let gauges = [
        (
            "process_resident_memory",
            "Resident memory size",
            bytes,
            p.rss_bytes,
        ),
        (
            "process_virtual_memory",
            "Virtual memory size",
            bytes,
            p.virtual_bytes,
        ),
        ("process_threads", "OS threads", None, p.threads),
        (
            "process_open_fds",
            "Open file descriptors",
            None,
            p.open_fds,
        ),
    ];
    for (name, help, unit, v) in gauges {
        family(MetricType::Gauge, encoder, name, help, unit, &[(vec![], v)])?;
    }
    family(
        MetricType::Counter,
        encoder,
        "process_cpu",
        "User and system CPU time",
        Some(&Unit::Seconds),
        &[(vec![], p.cpu_seconds)],
    )?;
    match p.start_time_s {
        Some(t) => family(
            MetricType::Gauge,
            encoder,
            "process_start_time",
            "Start time of the process since the Unix epoch",
            Some(&Unit::Seconds),
            &[(vec![], t)],
        ),
        None => Ok(()),
    }
}

/// A registry with every instrument of [`global`] and a scrape-time collector over `source`.
pub fn registry(source: Arc<dyn Source>) -> Registry {
    let mut registry = Registry::default();
    global().register(&mut registry);
    registry.register_collector(Box::new(ScrapeCollector(source)));
    registry
}

/// Encodes `registry` in the Prometheus text format 0.0.4.
pub fn encode_prometheus(registry: &Registry) -> String {
    let mut out = String::with_capacity(8192);
    prometheus_client::encoding::prometheus_text::encode(&mut out, registry)
        .expect("writing to a String cannot fail");
    out
}

/// Encodes `registry` in the OpenMetrics text format 1.0.
pub fn encode_openmetrics(registry: &Registry) -> String {
    let mut out = String::with_capacity(8192);
    prometheus_client::encoding::text::encode(&mut out, registry)
        .expect("writing to a String cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake;
    impl Source for Fake {
        fn streams(&self) -> Vec<StreamSnapshot> {
            vec![StreamSnapshot {
                name: "cam-1".into(),
                state: StreamState::Running,
                counters: StreamCounters {
                    received: 30,
                    decoders: 1,
                    corrupt: 3,
                    sampled: 5,
                    dropped_busy: 1,
                    dropped_restart: 0,
                    dropped_unusable: 0,
                    classified: 4,
                    reconnects: 2,
                    retries: vec![("error", 0), ("stall", 2)],
                    abandoned: 1,
                    since_last_frame_s: Some(0.25),
                },
            }]
        }
        fn subscribers(&self) -> u64 {
            3
        }
        fn info(&self) -> (String, String) {
            ("0.1.0".into(), "m".into())
        }
    }

    #[test]
    fn scrape_has_stream_process_and_instrument_families() {
        global().inference(2, Duration::from_millis(7));
        let text = encode_prometheus(&registry(Arc::new(Fake)));
        for line in [
            "actiond_stream_frames_received_total{stream=\"cam-1\"} 30",
            "actiond_stream_frames_sampled_total{stream=\"cam-1\"} 5",
            "actiond_stream_frames_dropped_total{stream=\"cam-1\",reason=\"inference_busy\"} 1",
            "actiond_stream_frames_dropped_total{stream=\"cam-1\",reason=\"pipeline_restart\"} 0",
            "actiond_stream_frames_classified_total{stream=\"cam-1\"} 4",
            "actiond_stream_frames_corrupt_total{stream=\"cam-1\"} 3",
            "actiond_stream_reconnects_total{stream=\"cam-1\"} 2",
            "actiond_stream_retries_total{stream=\"cam-1\",reason=\"stall\"} 2",
            "actiond_stream_retries_total{stream=\"cam-1\",reason=\"error\"} 0",
            "actiond_stream_pipelines_abandoned_total{stream=\"cam-1\"} 1",
            "actiond_stream_state{stream=\"cam-1\",state=\"running\"} 1",
            "actiond_stream_state{stream=\"cam-1\",state=\"stalled\"} 0",
            "actiond_socket_subscribers 3",
            "actiond_build_info{version=\"0.1.0\",model=\"m\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
        for prefix in [
            "actiond_inference_seconds_bucket{le=\"0.01\"} ",
            "actiond_inference_batch_frames_count ",
            "process_resident_memory_bytes ",
            "process_cpu_seconds_total ",
            "process_start_time_seconds ",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(prefix)),
                "no {prefix:?} in\n{text}"
            );
        }
    }
}
