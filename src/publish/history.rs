//! The status page's memory: each stream's clip predictions of the last
//! [`WINDOW`] (compact: time, label index, score) and its last few label-change
//! events, so that a page opened now shows the timeline right away.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::hub::SeenFrame;
use crate::publish::Message;

/// How far back the timelines go.
pub const WINDOW: Duration = Duration::from_secs(600);
/// Most predictions kept per stream (a bound on memory whatever the clip rate).
pub const MAX_POINTS: usize = 3000;
/// Label-change events kept per stream.
pub const MAX_EVENTS: usize = 8;

/// One clip prediction on a timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    /// Publish time, ms since the Unix epoch.
    t_ms: u64,
    /// Index into the labels (`u16::MAX`: not a label of the model).
    label: u16,
    score: f32,
}

/// One label change.
#[derive(Clone)]
struct Change {
    t_ms: u64,
    from: Option<String>,
    to: String,
    score: f32,
    /// The frame the model saw then (a copy), kept only while someone watched.
    frame: Option<SeenFrame>,
    /// The evidence clip's and snapshot's URLs (`[record]` with `[http]`).
    urls: [Option<String>; 2],
}

#[derive(Default)]
struct Track {
    name: String,
    points: VecDeque<Point>,
    events: VecDeque<Change>,
}

/// Recent predictions and events of every stream that published any.
#[derive(Default)]
pub struct History {
    labels: Vec<String>,
    tracks: Vec<Track>,
}

/// A score with three decimals (as JSON numbers print short).
fn round3(score: f32) -> f64 {
    (f64::from(score) * 1000.0).round() / 1000.0
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

impl History {
    /// The model's labels (from `hello`); a change of labels forgets the points.
    pub fn set_labels(&mut self, labels: &[String]) {
        if self.labels != labels {
            self.labels = labels.to_vec();
            self.tracks.iter_mut().for_each(|t| t.points.clear());
        }
    }

    fn track(&mut self, stream: &str) -> &mut Track {
        let i = match self.tracks.iter().position(|t| t.name == stream) {
            Some(i) => i,
            None => {
                self.tracks.push(Track {
                    name: stream.to_string(),
                    ..Track::default()
                });
                self.tracks.len() - 1
            }
        };
        &mut self.tracks[i]
    }

    /// Records a prediction or an event published at `now`; other messages are ignored.
    pub fn record(&mut self, msg: &Message, now: SystemTime) {
        let t_ms = ms(now);
        let horizon = t_ms.saturating_sub(WINDOW.as_millis() as u64);
        match msg {
            Message::Prediction {
                stream,
                label,
                score,
                ..
            } => {
                let label = self
                    .labels
                    .iter()
                    .position(|l| l == label)
                    .map_or(u16::MAX, |i| i.min(u16::MAX as usize - 1) as u16);
                let track = self.track(stream);
                while track.points.len() >= MAX_POINTS
                    || track.points.front().is_some_and(|p| p.t_ms < horizon)
                {
                    track.points.pop_front();
                }
                track.points.push_back(Point {
                    t_ms,
                    label,
                    score: *score,
                });
            }
            Message::Event {
                stream,
                from,
                to,
                score,
                clip_url,
                snapshot_url,
                ..
            } => {
                let track = self.track(stream);
                if track.events.len() >= MAX_EVENTS {
                    track.events.pop_front();
                }
                track.events.push_back(Change {
                    t_ms,
                    from: from.clone(),
                    to: to.clone(),
                    score: *score,
                    frame: None,
                    urls: [clip_url.clone(), snapshot_url.clone()],
                });
            }
            _ => {}
        }
    }

    /// Keeps `frame` as the snapshot of `stream`'s latest label change.
    pub fn keep_frame(&mut self, stream: &str, frame: SeenFrame) {
        if let Some(change) = self.track(stream).events.back_mut() {
            change.frame = Some(frame);
        }
    }

    /// The frame kept for `stream`'s label change at `t_ms`, if any.
    pub fn event_frame(&self, stream: &str, t_ms: u64) -> Option<SeenFrame> {
        let track = self.tracks.iter().find(|t| t.name == stream)?;
        let change = track.events.iter().find(|e| e.t_ms == t_ms)?;
        change.frame.clone()
    }

    /// The timelines of `streams` (in that order) as of `now`: points as
    /// `[t_ms, label index, score]`, label index -1 for an unknown label.
    pub fn to_json(&self, streams: &[String], now: SystemTime) -> Value {
        let horizon = ms(now).saturating_sub(WINDOW.as_millis() as u64);
        let list: Vec<Value> = streams
            .iter()
            .map(|name| {
                let track = self.tracks.iter().find(|t| &t.name == name);
                let points: Vec<Value> = track
                    .into_iter()
                    .flat_map(|t| t.points.iter())
                    .filter(|p| p.t_ms >= horizon)
                    .map(|p| {
                        let label = if p.label == u16::MAX {
                            -1
                        } else {
                            i64::from(p.label)
                        };
                        json!([p.t_ms, label, round3(p.score)])
                    })
                    .collect();
                let events: Vec<Value> = track
                    .into_iter()
                    .flat_map(|t| t.events.iter())
                    .map(|e| {
                        json!({
                            "t_ms": e.t_ms, "from": e.from, "to": e.to,
                            "score": round3(e.score), "snapshot": e.frame.is_some(),
                            "clip_url": e.urls[0], "snapshot_url": e.urls[1],
                        })
                    })
                    .collect();
                json!({"name": name, "points": points, "events": events})
            })
            .collect();
        json!({
            "labels": self.labels,
            "window_s": WINDOW.as_secs(),
            "now_ms": ms(now),
            "streams": list,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{EventKind, VERSION};

    fn prediction(stream: &str, label: &str, score: f32) -> Message {
        Message::Prediction {
            v: VERSION,
            stream: stream.into(),
            seq: 1,
            label: label.into(),
            score,
            top: vec![],
            frames: 1,
            clip_start: String::new(),
            clip_end: String::new(),
            pts_start_ns: None,
            pts_end_ns: None,
            latency_ms: 0.0,
            model: "m".into(),
        }
    }

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + s)
    }

    #[test]
    fn points_older_than_the_window_are_dropped() {
        let mut h = History::default();
        h.set_labels(&["a".into(), "b".into()]);
        h.record(&prediction("s", "a", 0.5), at(0));
        h.record(&prediction("s", "b", 0.75), at(300));
        h.record(&prediction("s", "zzz", 0.25), at(601));
        let body = h.to_json(&["s".into(), "t".into()], at(601));
        let points = body["streams"][0]["points"].as_array().unwrap();
        assert_eq!(points.len(), 2, "{body}");
        assert_eq!(points[0][1], 1);
        assert_eq!(points[0][2], 0.75);
        assert_eq!(points[1][1], -1, "unknown label");
        assert_eq!(body["streams"][1]["points"].as_array().unwrap().len(), 0);
        assert_eq!(body["labels"][1], "b");
    }

    #[test]
    fn a_label_change_keeps_its_frame_when_given_one() {
        gstreamer::init().unwrap();
        let mut h = History::default();
        let change = |to: &str| Message::Event {
            v: VERSION,
            id: "0123456789abcdef".into(),
            stream: "s".into(),
            event: EventKind::LabelChanged,
            from: None,
            to: to.into(),
            score: 0.9,
            clip: None,
            snapshot: None,
            clip_url: None,
            snapshot_url: None,
        };
        h.record(&change("a"), at(1));
        h.record(&change("b"), at(2));
        let frame = SeenFrame {
            sample: gstreamer::Sample::builder().build(),
            capture: at(2),
        };
        h.keep_frame("s", frame);
        let t = |s| ms(at(s));
        assert!(
            h.event_frame("s", t(2)).is_some(),
            "the latest change has it"
        );
        assert!(h.event_frame("s", t(1)).is_none());
        assert!(h.event_frame("other", t(2)).is_none());
        let body = h.to_json(&["s".into()], at(3));
        let events = &body["streams"][0]["events"];
        assert_eq!(events[0]["snapshot"], false);
        assert_eq!(events[1]["snapshot"], true);
    }

    #[test]
    fn memory_is_bounded_whatever_the_rate() {
        let mut h = History::default();
        h.set_labels(&["a".into()]);
        for i in 0..(MAX_POINTS as u64 + 50) {
            h.record(&prediction("s", "a", 0.5), at(0) + Duration::from_millis(i));
        }
        for i in 0..20 {
            let e = Message::Event {
                v: VERSION,
                id: "0123456789abcdef".into(),
                stream: "s".into(),
                event: EventKind::LabelChanged,
                from: None,
                to: format!("to{i}"),
                score: 0.9,
                clip: None,
                snapshot: None,
                clip_url: None,
                snapshot_url: None,
            };
            h.record(&e, at(1));
        }
        assert_eq!(h.tracks[0].points.len(), MAX_POINTS);
        assert_eq!(h.tracks[0].events.len(), MAX_EVENTS);
        assert_eq!(h.tracks[0].events.back().unwrap().to, "to19");
    }
}
