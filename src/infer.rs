//! The inference worker: the one owner of the ONNX Runtime session. It takes the
//! latest frame of each stream (round robin, up to the batch size), preprocesses
//! them straight into the batch tensor, runs the model, smooths per stream and
//! publishes.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use crate::model::Classifier;
use crate::publish::{rfc3339, Message, Publisher, Scored, VERSION};
use crate::smooth::{top_k, Clip, FrameTimes, Smoother, SmootherSettings};
use crate::source::{Frame, FrameHub};

/// What the worker needs besides the classifier.
pub struct WorkerSettings {
    /// Stream names, by hub index.
    pub streams: Vec<String>,
    /// Smoothing settings applied to every stream.
    pub smoothing: SmootherSettings,
    /// Top-k size for frame messages.
    pub top_k: usize,
    /// Also publish each frame's result.
    pub per_frame: bool,
}

struct StreamCtx {
    name: String,
    smoother: Smoother,
    generation: u64,
    info: Option<(gst::Caps, gst_video::VideoInfo)>,
}

/// Starts the worker thread; it runs until the hub shuts down.
pub fn spawn(
    classifier: Classifier,
    hub: Arc<FrameHub>,
    settings: WorkerSettings,
    publisher: Arc<Publisher>,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("inference".into())
        .spawn(move || run(classifier, &hub, settings, &publisher))
        .expect("spawning the inference thread")
}

fn scored(labels: &[String], top: &[(usize, f32)]) -> Vec<Scored> {
    top.iter()
        .map(|&(i, score)| Scored {
            label: labels[i].clone(),
            score,
        })
        .collect()
}

/// Maps the frame and preprocesses it into batch slot `slot`.
fn fill(
    classifier: &mut Classifier,
    ctx: &mut StreamCtx,
    slot: usize,
    frame: &Frame,
) -> Result<(), String> {
    let caps = frame.sample.caps().ok_or("frame without caps")?;
    let buffer = frame.sample.buffer().ok_or("frame without buffer")?;
    let stale = ctx.info.as_ref().is_none_or(|(c, _)| c.as_ref() != caps);
    if stale {
        let info = gst_video::VideoInfo::from_caps(caps)
            .map_err(|e| format!("unusable caps {caps}: {e}"))?;
        ctx.info = Some((caps.to_owned(), info));
    }
    let (_, info) = ctx.info.as_ref().expect("set above");
    let m = &classifier.manifest.input;
    if info.width() as usize != m.width || info.height() as usize != m.height {
        return Err(format!(
            "frame is {}x{}, model wants {}x{}",
            info.width(),
            info.height(),
            m.width,
            m.height
        ));
    }
    let vframe = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info)
        .map_err(|_| "cannot map the frame".to_string())?;
    let stride = vframe.plane_stride()[0] as usize;
    let data = vframe.plane_data(0).map_err(|e| e.to_string())?;
    classifier
        .fill(slot, data, stride)
        .map_err(|e| e.to_string())
}

fn run(
    mut classifier: Classifier,
    hub: &FrameHub,
    settings: WorkerSettings,
    publisher: &Publisher,
) {
    let labels = classifier.manifest.labels.clone();
    let model_name = classifier.manifest.name.clone();
    let classes = classifier.classes();
    let max_batch = classifier.max_batch();
    let mut ctxs: Vec<StreamCtx> = settings
        .streams
        .iter()
        .map(|name| StreamCtx {
            name: name.clone(),
            smoother: Smoother::new(settings.smoothing.clone(), classes),
            generation: 0,
            info: None,
        })
        .collect();
    let mut batch: Vec<(usize, Frame)> = Vec::with_capacity(max_batch);
    let mut used: Vec<(usize, usize)> = Vec::with_capacity(max_batch); // (batch index, stream)
    let mut cursor = 0usize;
    let mut failures = 0u64;
    while hub.take(
        &mut batch,
        max_batch,
        &mut cursor,
        Duration::from_millis(200),
    ) {
        if batch.is_empty() {
            hub.note_progress();
            continue;
        }
        used.clear();
        for (k, (stream, frame)) in batch.iter().enumerate() {
            let ctx = &mut ctxs[*stream];
            match fill(&mut classifier, ctx, used.len(), frame) {
                Ok(()) => used.push((k, *stream)),
                Err(e) => {
                    hub.stats(*stream).unusable.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(stream = %ctx.name, "frame skipped: {e}")
                }
            }
        }
        if used.is_empty() {
            batch.clear();
            hub.note_progress();
            continue;
        }
        let started = std::time::Instant::now();
        let probs = match classifier.run(used.len()) {
            Ok(p) => {
                crate::metrics::global().inference(used.len(), started.elapsed());
                p
            }
            Err(e) => {
                crate::metrics::global().inference_failed();
                failures += 1;
                if failures.is_power_of_two() {
                    tracing::error!("inference failed ({failures} times so far): {e}");
                }
                batch.clear();
                hub.note_progress();
                continue;
            }
        };
        for (slot, &(k, stream)) in used.iter().enumerate() {
            let frame = &batch[k].1;
            let ctx = &mut ctxs[stream];
            hub.stats(stream).classified.fetch_add(1, Ordering::Relaxed);
            if ctx.generation != frame.generation {
                if ctx.generation != 0 {
                    ctx.smoother.reset();
                }
                ctx.generation = frame.generation;
            }
            let p = &probs[slot * classes..(slot + 1) * classes];
            if settings.per_frame {
                publisher.publish(&Message::Frame {
                    v: VERSION,
                    stream: ctx.name.clone(),
                    pts_ns: frame.pts_ns,
                    top: scored(&labels, &top_k(p, settings.top_k)),
                });
            }
            let times = FrameTimes {
                pts_ns: frame.pts_ns,
                capture: frame.capture,
            };
            if let Some(clip) = ctx.smoother.push(p, times) {
                publish_clip(publisher, &ctx.name, &model_name, &labels, clip);
            }
        }
        batch.clear();
        hub.note_progress();
    }
    tracing::debug!("inference worker stopped");
}

fn publish_clip(publisher: &Publisher, stream: &str, model: &str, labels: &[String], clip: Clip) {
    let latency_ms = SystemTime::now()
        .duration_since(clip.end.capture)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0;
    publisher.publish(&Message::Prediction {
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
        model: model.to_string(),
    });
    if let Some(change) = clip.change {
        tracing::info!(
            stream,
            "label changed to {} ({:.2})",
            labels[change.to],
            change.score
        );
        publisher.publish(&Message::Event {
            v: VERSION,
            stream: stream.to_string(),
            event: "label_changed",
            from: change.from.map(|i| labels[i].clone()),
            to: labels[change.to].clone(),
            score: change.score,
        });
    }
}
