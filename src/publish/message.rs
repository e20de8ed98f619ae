//! The message schema: one JSON object per line, each with `type` and `v`.

use std::time::SystemTime;

use serde::Serialize;

use crate::source::StreamState;

/// Protocol version carried in every message as `v`.
pub const VERSION: u32 = 1;

/// A label and its score.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scored {
    /// Class label.
    pub label: String,
    /// Probability in [0, 1].
    pub score: f32,
}

/// Every message the daemon publishes.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// Sent first on every connection.
    Hello {
        /// Protocol version.
        v: u32,
        /// Daemon version.
        version: String,
        /// Model name.
        model: String,
        /// Model labels, in output order.
        labels: Vec<String>,
        /// Stream names.
        streams: Vec<String>,
    },
    /// A clip prediction.
    Prediction {
        /// Protocol version.
        v: u32,
        /// Stream name.
        stream: String,
        /// Per-stream clip counter, from 1.
        seq: u64,
        /// Top-1 label.
        label: String,
        /// Top-1 score.
        score: f32,
        /// Top-k labels by descending score.
        top: Vec<Scored>,
        /// Frames the clip spans.
        frames: usize,
        /// Wall-clock capture time of the clip's first frame (RFC 3339).
        clip_start: String,
        /// Wall-clock capture time of the clip's last frame (RFC 3339).
        clip_end: String,
        /// Stream PTS of the first frame, ns.
        pts_start_ns: Option<u64>,
        /// Stream PTS of the last frame, ns.
        pts_end_ns: Option<u64>,
        /// Capture of the clip's last frame → publish, ms.
        latency_ms: f64,
        /// Model name.
        model: String,
    },
    /// One frame's result (only with `per_frame`).
    Frame {
        /// Protocol version.
        v: u32,
        /// Stream name.
        stream: String,
        /// Stream PTS, ns.
        pts_ns: Option<u64>,
        /// Top-k labels of this frame.
        top: Vec<Scored>,
    },
    /// A confirmed label change.
    Event {
        /// Protocol version.
        v: u32,
        /// Stream name.
        stream: String,
        /// Always "label_changed".
        event: &'static str,
        /// Previous confirmed label (null for the first).
        from: Option<String>,
        /// New label.
        to: String,
        /// Score of the confirming clip.
        score: f32,
    },
    /// A stream's state change.
    Status {
        /// Protocol version.
        v: u32,
        /// Stream name.
        stream: String,
        /// New state.
        state: StreamState,
        /// Why.
        reason: String,
    },
    /// Sent to a subscriber just before the daemon disconnects it.
    Goodbye {
        /// Protocol version.
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
                stream: "cam-1".into(),
                event: "label_changed",
                from: None,
                to: "a".into(),
                score: 0.9,
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
        for m in every_variant() {
            let value: serde_json::Value = serde_json::from_str(&m.to_line()).unwrap();
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
    fn rfc3339_round_trips() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        let s = rfc3339(t);
        assert_eq!(s, "2023-11-14T22:13:20.123Z");
    }
}
