//! A row's result on its way out: the per-frame message (when configured), the
//! stream's smoother, and the prediction and label-change messages of a clip.

use std::time::SystemTime;

use super::streams::StreamCtx;
use super::WorkerSettings;
use crate::hub::Frame;
use crate::publish::{rfc3339, EventKind, Message, Publisher, Scored, StreamState, VERSION};
use crate::smooth::{top_k, Clip, FrameTimes};

/// What every dispatch needs: where to publish, how, and the model's names.
pub(super) struct Dispatcher<'a> {
    /// The fan-out to subscribers.
    pub publisher: &'a Publisher,
    /// Top-k size and whether each frame is published.
    pub settings: &'a WorkerSettings,
    /// The model's labels, by class index.
    pub labels: &'a [String],
    /// The model's name, for predictions.
    pub model: &'a str,
}

impl Dispatcher<'_> {
    /// Publishes a pending model-state reset notice, the frame's result if
    /// configured, and feeds it to the stream's smoother, publishing the clip it
    /// completes, if any.
    pub fn dispatch(&self, ctx: &mut StreamCtx, frame: &Frame, probs: &[f32]) {
        if let Some(reason) = ctx.temporal.notice.take() {
            // The stream runs (this result is from its current pipeline); the
            // reason says why the clip or state starts afresh with this result.
            self.publisher.publish(Message::Status {
                v: VERSION,
                stream: ctx.name.clone(),
                state: StreamState::Running,
                reason: format!("model state reset: {reason}"),
            });
        }
        if self.settings.per_frame {
            self.publisher.publish(Message::Frame {
                v: VERSION,
                stream: ctx.name.clone(),
                pts_ns: frame.pts_ns,
                top: scored(self.labels, &top_k(probs, self.settings.top_k)),
            });
        }
        let times = FrameTimes {
            pts_ns: frame.pts_ns,
            capture: frame.capture,
        };
        if let Some(clip) = ctx.smoother.push(probs, times) {
            self.clip(&ctx.name, clip, &frame.sample);
        }
    }

    /// Publishes a clip's prediction and, when the confirmed label changed, the event.
    fn clip(&self, stream: &str, clip: Clip, sample: &gstreamer::Sample) {
        let labels = self.labels;
        let latency_ms = SystemTime::now()
            .duration_since(clip.end.capture)
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0;
        self.publisher.publish(Message::Prediction {
            v: VERSION,
            stream: stream.to_string(),
            seq: clip.seq,
            label: labels[clip.label].clone(),
            score: clip.score,
            top: scored(labels, &clip.top),
            frames: clip.frames,
            clip_start: rfc3339(clip.start.capture),
            clip_end: rfc3339(clip.end.capture),
            pts_start_ns: clip.start.pts_ns,
            pts_end_ns: clip.end.pts_ns,
            latency_ms: (latency_ms * 10.0).round() / 10.0,
            model: self.model.to_string(),
        });
        if let Some(change) = clip.change {
            tracing::info!(
                stream,
                "label changed to {} ({:.2})",
                labels[change.to],
                change.score
            );
            let to = &labels[change.to];
            let rec = crate::record::on_event(stream, to, Some(sample));
            if let Some(reason) = rec.notice {
                self.publisher.publish(Message::Status {
                    v: VERSION,
                    stream: stream.to_string(),
                    state: StreamState::Running,
                    reason,
                });
            }
            let path = |p: Option<std::path::PathBuf>| p.map(|p| p.display().to_string());
            self.publisher.publish(Message::Event {
                v: VERSION,
                id: crate::publish::message::event_id(),
                stream: stream.to_string(),
                event: EventKind::LabelChanged,
                from: change.from.map(|i| labels[i].clone()),
                to: to.clone(),
                score: change.score,
                clip: path(rec.clip),
                snapshot: path(rec.snapshot),
                clip_url: rec.clip_url,
                snapshot_url: rec.snapshot_url,
            });
        }
    }
}

fn scored(labels: &[String], top: &[(usize, f32)]) -> Vec<Scored> {
    top.iter()
        .map(|&(i, score)| Scored {
            label: labels[i].clone(),
            score,
        })
        .collect()
}
