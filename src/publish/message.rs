//! The protocol types: one JSON object per line, each with `type` and `v`.

use std::sync::Arc;
use std::time::SystemTime;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::schema::{Score, StreamName, Timestamp, Version};

/// Protocol version carried in every message as `v`.
pub const VERSION: u32 = 1;

/// A stream's lifecycle state, as published in `status` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "state")]
pub enum StreamState {
    /// The pipeline is being built or waits for its first frame.
    Starting,
    /// Frames are flowing.
    Running,
    /// No frame arrived for `stall_timeout_s`.
    Stalled,
    /// Waiting to rebuild the pipeline after a failure.
    Reconnecting,
    /// The stream cannot run until the configuration or installation changes.
    Failed,
    /// The stream ended (a file without `loop`) or the daemon is stopping.
    Stopped,
}

impl StreamState {
    /// Every state, in lifecycle order.
    pub const ALL: [StreamState; 6] = [
        StreamState::Starting,
        StreamState::Running,
        StreamState::Stalled,
        StreamState::Reconnecting,
        StreamState::Failed,
        StreamState::Stopped,
    ];

    /// The state's name as published (`starting`, `running`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            StreamState::Starting => "starting",
            StreamState::Running => "running",
            StreamState::Stalled => "stalled",
            StreamState::Reconnecting => "reconnecting",
            StreamState::Failed => "failed",
            StreamState::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for StreamState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so that table columns (`{:<13}`) line up.
        f.pad(self.as_str())
    }
}

/// What an `event` message reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "event_kind")]
pub enum EventKind {
    /// The confirmed label changed.
    LabelChanged,
}

/// A label and its score.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[schemars(rename = "scored")]
pub struct Scored {
    /// Class label.
    pub label: String,
    /// Probability in [0, 1].
    #[schemars(with = "Score")]
    pub score: f32,
}

/// One model in `hello`: its names, labels and the streams that run it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[schemars(rename = "model_info")]
pub struct ModelInfo {
    /// The name streams use in the configuration (`default` for `[model]`).
    pub name: String,
    /// The model's own name, as in its predictions' `model`.
    pub model: String,
    /// Its labels, in output order.
    pub labels: Vec<String>,
    /// The enabled streams (and regions) that run it.
    #[schemars(with = "Vec<StreamName>")]
    pub streams: Vec<String>,
}

/// Every message the daemon publishes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// Sent first on every connection; retained on MQTT topic `<prefix>/hello`.
    Hello {
        /// Protocol version.
        #[schemars(with = "Version")]
        v: u32,
        /// Daemon version.
        version: String,
        /// Model name (the default model's, the first configured).
        model: String,
        /// Model labels, in output order (the default model's).
        labels: Vec<String>,
        /// Names of the enabled streams.
        #[schemars(with = "Vec<StreamName>")]
        streams: Vec<String>,
        /// Every configured model, in file order, with the streams that use it.
        #[serde(default)]
        models: Vec<ModelInfo>,
    },
    /// A smoothed clip prediction (MQTT topic `<prefix>/<stream>/prediction`).
    Prediction {
        /// Protocol version.
        #[schemars(with = "Version")]
        v: u32,
        /// Stream name.
        #[schemars(with = "StreamName")]
        stream: String,
        /// Per-stream clip counter, from 1.
        #[schemars(range(min = 1))]
        seq: u64,
        /// Top-1 label.
        label: String,
        /// Top-1 score.
        #[schemars(with = "Score")]
        score: f32,
        /// Top-k labels by descending score.
        #[schemars(length(min = 1))]
        top: Vec<Scored>,
        /// Frames the clip spans.
        #[schemars(range(min = 1))]
        frames: usize,
        /// Wall-clock capture time of the clip's first frame (RFC 3339).
        #[schemars(with = "Timestamp")]
        clip_start: String,
        /// Wall-clock capture time of the clip's last frame (RFC 3339).
        #[schemars(with = "Timestamp")]
        clip_end: String,
        /// Stream PTS of the first frame, ns.
        #[schemars(required, extend("type" = ["integer", "null"]))]
        pts_start_ns: Option<u64>,
        /// Stream PTS of the last frame, ns.
        #[schemars(required, extend("type" = ["integer", "null"]))]
        pts_end_ns: Option<u64>,
        /// Capture of the clip's last frame → publish, ms.
        #[schemars(range(min = 0))]
        latency_ms: f64,
        /// Model name.
        model: String,
    },
    /// One frame's result (only with `[output] per_frame`; MQTT `<prefix>/<stream>/frame`).
    Frame {
        /// Protocol version.
        #[schemars(with = "Version")]
        v: u32,
        /// Stream name.
        #[schemars(with = "StreamName")]
        stream: String,
        /// Stream PTS, ns.
        #[schemars(required, extend("type" = ["integer", "null"]))]
        pts_ns: Option<u64>,
        /// Top-k labels of this frame.
        #[schemars(length(min = 1))]
        top: Vec<Scored>,
    },
    /// A confirmed label change (MQTT topic `<prefix>/<stream>/event`).
    Event {
        /// Protocol version.
        #[schemars(with = "Version")]
        v: u32,
        /// Unique id of this event (16 hex digits), for deduplicating across outputs and boxes.
        #[serde(default)]
        #[schemars(required, regex(pattern = r"^[0-9a-f]{16}$"))]
        id: String,
        /// Stream name.
        #[schemars(with = "StreamName")]
        stream: String,
        /// Always `label_changed`.
        event: EventKind,
        /// Previous confirmed label (null for the first).
        #[schemars(required, extend("type" = ["string", "null"]))]
        from: Option<String>,
        /// New label.
        to: String,
        /// Score of the confirming clip.
        #[schemars(with = "Score")]
        score: f32,
        /// The clip being recorded around the event (with `[record]`), when complete.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "String")]
        clip: Option<String>,
        /// The JPEG snapshot of the frame at the event (with `[record]`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "String")]
        snapshot: Option<String>,
        /// The clip's URL on the daemon (with `[record]` and `[http]`; under /clips/, served once complete).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(
            with = "String",
            regex(pattern = r"^https?://[^\s]+/clips/[^\s]+\.mp4$")
        )]
        clip_url: Option<String>,
        /// The snapshot's URL on the daemon (with `[record]` and `[http]`; under /clips/).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(
            with = "String",
            regex(pattern = r"^https?://[^\s]+/clips/[^\s]+\.jpg$")
        )]
        snapshot_url: Option<String>,
    },
    /// A stream's state change; replayed after hello, retained on MQTT `<prefix>/<stream>/status`.
    Status {
        /// Protocol version.
        #[schemars(with = "Version")]
        v: u32,
        /// Stream name.
        #[schemars(with = "StreamName")]
        stream: String,
        /// New state.
        state: StreamState,
        /// Why.
        reason: String,
    },
    /// Sent to a socket subscriber just before the daemon disconnects it (not on MQTT).
    Goodbye {
        /// Protocol version.
        #[schemars(with = "Version")]
        v: u32,
        /// Why.
        reason: String,
    },
}

impl Message {
    /// Serializes to one NDJSON line (with the trailing newline).
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("messages always serialize");
        s.push('\n');
        s
    }

    /// The message's `type` as it appears on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "hello",
            Message::Prediction { .. } => "prediction",
            Message::Frame { .. } => "frame",
            Message::Event { .. } => "event",
            Message::Status { .. } => "status",
            Message::Goodbye { .. } => "goodbye",
        }
    }

    /// The stream the message is about; None for `hello` and `goodbye`.
    pub fn stream(&self) -> Option<&str> {
        match self {
            Message::Prediction { stream, .. }
            | Message::Frame { stream, .. }
            | Message::Event { stream, .. }
            | Message::Status { stream, .. } => Some(stream),
            Message::Hello { .. } | Message::Goodbye { .. } => None,
        }
    }
}

/// A message on the internal bus: the value, for outputs that look inside it, and
/// its JSON line (with the newline), serialized once, for outputs that write it.
#[derive(Debug)]
pub struct Published {
    /// The message.
    pub msg: Message,
    /// `msg` as one NDJSON line, with the trailing newline.
    pub line: String,
}

/// A stream's tags from its config (`[[stream]] tags`), carried in its messages.
pub type Tags = std::collections::BTreeMap<String, String>;

impl Published {
    /// Serializes `msg` once, stamped with `ts` (now), and wraps both for sharing.
    pub fn new(msg: Message) -> Arc<Published> {
        Self::stamped(msg, None)
    }

    /// As [`Published::new`], also carrying `tags` (a stream's, when it has any).
    pub fn stamped(msg: Message, tags: Option<&Tags>) -> Arc<Published> {
        let mut line = serde_json::to_string(&msg).expect("messages always serialize");
        line.pop(); // the object's closing brace
        line.push_str(",\"ts\":");
        line.push_str(&json_string(&rfc3339(SystemTime::now())));
        if let Some(tags) = tags.filter(|t| !t.is_empty()) {
            line.push_str(",\"tags\":");
            line.push_str(&serde_json::to_string(tags).expect("tags serialize"));
        }
        line.push_str("}\n");
        Arc::new(Published { msg, line })
    }

    /// The line without its newline (an MQTT payload, say).
    pub fn payload(&self) -> &str {
        self.line.trim_end_matches('\n')
    }
}

/// `s` as a JSON string.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// A new event id: 16 random hex digits.
pub fn event_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The value a reader of the JSON line sees for `x`: its shortest decimal as f64.
/// Printing that with few digits rounds as a reader of the line would.
pub fn decimal(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::from(x))
}

/// Formats a wall-clock time as RFC 3339 (UTC, nanoseconds trimmed to micro).
pub fn rfc3339(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    let dt = dt
        .replace_nanosecond(dt.nanosecond() / 1000 * 1000)
        .unwrap_or(dt);
    dt.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_type_and_v() {
        let m = Message::Status {
            v: VERSION,
            stream: "a".into(),
            state: StreamState::Reconnecting,
            reason: "x".into(),
        };
        let j: serde_json::Value = serde_json::from_str(&m.to_line()).unwrap();
        assert_eq!(j["type"], "status");
        assert_eq!(j["v"], 1);
        assert_eq!(j["state"], "reconnecting");
        assert!(m.to_line().ends_with('\n'));
    }

    /// The published schema (schema/messages.schema.json).
    fn schema() -> jsonschema::Validator {
        let text = include_str!("../../schema/messages.schema.json");
        jsonschema::validator_for(&serde_json::from_str(text).unwrap()).unwrap()
    }

    fn scored(label: &str, score: f32) -> Scored {
        Scored {
            label: label.into(),
            score,
        }
    }

    /// One message of every variant, as the daemon builds them.
    fn every_variant() -> Vec<Message> {
        let t = rfc3339(SystemTime::now());
        vec![
            Message::Hello {
                v: VERSION,
                version: "0.1.0".into(),
                model: "m".into(),
                labels: vec!["a".into(), "b".into()],
                streams: vec!["cam-1".into()],
                models: vec![],
            },
            Message::Prediction {
                v: VERSION,
                stream: "cam-1".into(),
                seq: 1,
                label: "a".into(),
                score: 0.75,
                top: vec![scored("a", 0.75), scored("b", 0.25)],
                frames: 16,
                clip_start: t.clone(),
                clip_end: t,
                pts_start_ns: Some(0),
                pts_end_ns: None,
                latency_ms: 12.5,
                model: "m".into(),
            },
            Message::Frame {
                v: VERSION,
                stream: "cam-1".into(),
                pts_ns: Some(33_000_000),
                top: vec![scored("b", 1.0)],
            },
            Message::Event {
                v: VERSION,
                id: "0123456789abcdef".into(),
                stream: "cam-1".into(),
                event: EventKind::LabelChanged,
                from: None,
                to: "a".into(),
                score: 0.9,
                clip: None,
                snapshot: None,
                clip_url: None,
                snapshot_url: None,
            },
            Message::Status {
                v: VERSION,
                stream: "cam-1".into(),
                state: StreamState::Stalled,
                reason: "no frame for 10.0 s".into(),
            },
            Message::Goodbye {
                v: VERSION,
                reason: "too slow".into(),
            },
        ]
    }

    #[test]
    fn every_variant_matches_the_published_schema() {
        let schema = schema();
        let tags: Tags = [("site", "hall"), ("camera", "north 2")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for m in every_variant() {
            // As published: with `ts`, and a stream's tags on its messages.
            let with_tags = m.stream().is_some().then_some(&tags);
            let line = Published::stamped(m, with_tags).line.clone();
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert!(value["ts"].is_string(), "{value}");
            assert_eq!(value["tags"].is_object(), with_tags.is_some(), "{value}");
            let errors: Vec<String> = schema.iter_errors(&value).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{value}\n{errors:#?}");
        }
    }

    #[test]
    fn the_schema_rejects_drift() {
        let schema = schema();
        let good: serde_json::Value = serde_json::from_str(&every_variant()[1].to_line()).unwrap();
        let mut extra = good.clone();
        extra["colour"] = "red".into();
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("label");
        let mut version = good.clone();
        version["v"] = 2.into();
        let mut kind = good.clone();
        kind["type"] = "predictions".into();
        let mut score = good.clone();
        score["score"] = 1.5.into();
        let mut time = good;
        time["clip_end"] = "yesterday".into();
        for bad in [extra, missing, version, kind, score, time] {
            assert!(!schema.is_valid(&bad), "accepted {bad}");
        }
    }

    #[test]
    fn every_variant_reads_back_into_the_same_line() {
        for m in every_variant() {
            let line = m.to_line();
            let back: Message = serde_json::from_str(&line).unwrap();
            assert_eq!(back.to_line(), line);
            let j: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(j["type"], m.kind(), "{line}");
            assert_eq!(j["stream"].as_str(), m.stream(), "{line}");
        }
    }

    #[test]
    fn state_names_match_the_protocol() {
        use StreamState::*;
        for s in [Starting, Running, Stalled, Reconnecting, Failed, Stopped] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.to_string());
        }
    }

    #[test]
    fn state_names_pad_in_columns() {
        assert_eq!(StreamState::ALL.len(), 6);
        assert_eq!(format!("{:<9}|", StreamState::Failed), "failed   |");
    }

    #[test]
    fn decimal_is_what_a_reader_of_the_line_sees() {
        let line = serde_json::to_string(&0.055f32).unwrap();
        assert_eq!(decimal(0.055), line.parse::<f64>().unwrap());
        // The f32 itself is just below 0.055; the line says 0.055.
        assert_eq!(format!("{:.2}", 0.055f32), "0.05");
        assert_eq!(format!("{:.2}", decimal(0.055)), "0.06");
    }

    #[test]
    fn rfc3339_round_trips() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        let s = rfc3339(t);
        assert_eq!(s, "2023-11-14T22:13:20.123Z");
    }
}
