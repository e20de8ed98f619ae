//! The inference worker: the one owner of the ONNX Runtime session. It takes the
//! latest frame of each stream (round robin, up to the batch size), preprocesses
//! them straight into the batch tensor, runs the model, smooths per stream and
//! publishes.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use crate::hub::{Frame, FrameHub, StreamSlot, StreamStats};
use crate::model::Classifier;
use crate::publish::{rfc3339, EventKind, Message, Publisher, Scored, VERSION};
use crate::smooth::{top_k, Clip, FrameTimes, Smoother, SmootherSettings};

/// What the worker needs besides the classifier.
pub struct WorkerSettings {
    /// Smoothing settings applied to every stream.
    pub smoothing: SmootherSettings,
    /// Top-k size for frame messages.
    pub top_k: usize,
    /// Also publish each frame's result.
    pub per_frame: bool,
}

struct StreamCtx {
    name: String,
    stats: Arc<StreamStats>,
    smoother: Smoother,
    generation: u64,
    info: Option<(gst::Caps, gst_video::VideoInfo)>,
}

/// A change to the set of streams, applied by the worker before it looks at the
/// frames it took next (so a stream is always known before its first frame).
enum Command {
    /// A stream now owns `slot`: a fresh smoother (seq from 1).
    Attach { slot: StreamSlot, name: String },
    /// The stream of `slot` is gone: its smoother is dropped.
    Detach { slot: StreamSlot },
}

/// The running inference worker.
pub struct Worker {
    thread: JoinHandle<()>,
    commands: mpsc::Sender<Command>,
}

impl Worker {
    /// Introduces a stream; call before its pipeline can deliver frames.
    pub fn attach(&self, slot: &StreamSlot, name: &str) {
        let _ = self.commands.send(Command::Attach {
            slot: slot.clone(),
            name: name.to_string(),
        });
    }

    /// Forgets a stream; call after it was detached from the hub.
    pub fn detach(&self, slot: &StreamSlot) {
        let _ = self.commands.send(Command::Detach { slot: slot.clone() });
    }

    /// Waits for the worker to end (after the hub shut down).
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// Starts the worker thread; it runs until the hub shuts down. Streams are
/// introduced with [`Worker::attach`]. The command channel carries only
/// configuration changes (a few per reload), never frames.
pub fn spawn(
    classifier: Classifier,
    hub: Arc<FrameHub>,
    settings: WorkerSettings,
    publisher: Arc<Publisher>,
) -> Worker {
    let (commands, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("inference".into())
        .spawn(move || run(classifier, &hub, settings, &publisher, &rx))
        .expect("spawning the inference thread");
    Worker { thread, commands }
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

fn apply(
    ctxs: &mut Vec<Option<StreamCtx>>,
    cmd: Command,
    settings: &WorkerSettings,
    classes: usize,
) {
    match cmd {
        Command::Attach { slot, name } => {
            if ctxs.len() <= slot.index {
                ctxs.resize_with(slot.index + 1, || None);
            }
            ctxs[slot.index] = Some(StreamCtx {
                name,
                stats: slot.stats,
                smoother: Smoother::new(settings.smoothing.clone(), classes),
                generation: 0,
                info: None,
            });
        }
        Command::Detach { slot } => {
            if let Some(c) = ctxs.get_mut(slot.index) {
                if c.as_ref().is_some_and(|c| c.stats.id == slot.stats.id) {
                    *c = None;
                }
            }
        }
    }
}

/// Runs the largest batch the attached streams can make once, when it is larger
/// than any run so far, so that its buffers are allocated now and not at some
/// moment much later, when the streams' frames first coincide (a run of a batch
/// size not seen before extends the heap: +9 MiB for 2 frames of MobileNetV2 224).
/// A batch of one runs with the first frame anyway.
fn warm_up(classifier: &mut Classifier, largest: usize, warmed: &mut usize) {
    if largest < 2 || largest <= *warmed {
        return;
    }
    *warmed = largest;
    // The batch tensor's contents do not matter; the results are not used.
    let started = std::time::Instant::now();
    match classifier.run(largest) {
        Ok(_) => tracing::debug!("warmed up a batch of {largest} in {:?}", started.elapsed()),
        Err(e) => tracing::warn!(
            "warming up a batch of {largest} failed (the first real one may be slow): {e}"
        ),
    }
}

fn run(
    mut classifier: Classifier,
    hub: &FrameHub,
    settings: WorkerSettings,
    publisher: &Publisher,
    commands: &mpsc::Receiver<Command>,
) {
    let labels = classifier.manifest.labels.clone();
    let model_name = classifier.manifest.name.clone();
    let classes = classifier.classes();
    let max_batch = classifier.max_batch();
    // By hub slot; a slot's context belongs to the stream whose id it holds.
    let mut ctxs: Vec<Option<StreamCtx>> = Vec::new();
    let mut batch: Vec<(usize, Frame)> = Vec::with_capacity(max_batch);
    let mut used: Vec<(usize, usize)> = Vec::with_capacity(max_batch); // (batch index, slot)
    let mut cursor = 0usize;
    let mut failures = 0u64;
    // The largest batch run so far.
    let mut warmed = 0usize;
    while hub.take(
        &mut batch,
        max_batch,
        &mut cursor,
        Duration::from_millis(200),
    ) {
        let mut attached = false;
        while let Ok(cmd) = commands.try_recv() {
            attached |= matches!(cmd, Command::Attach { .. });
            apply(&mut ctxs, cmd, &settings, classes);
        }
        if attached {
            let largest = ctxs.iter().flatten().count().min(max_batch);
            warm_up(&mut classifier, largest, &mut warmed);
        }
        if batch.is_empty() {
            hub.note_progress();
            continue;
        }
        used.clear();
        for (k, (slot, frame)) in batch.iter().enumerate() {
            // A frame taken just before its stream was removed (or its slot reused).
            let Some(ctx) = ctxs
                .get_mut(*slot)
                .and_then(Option::as_mut)
                .filter(|c| c.stats.id == frame.stream_id)
            else {
                continue;
            };
            match fill(&mut classifier, ctx, used.len(), frame) {
                Ok(()) => used.push((k, *slot)),
                Err(e) => {
                    let n = ctx.stats.skipped.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_power_of_two() {
                        tracing::warn!(stream = %ctx.name, "frame skipped ({n} so far): {e}");
                    }
                }
            }
        }
        if used.is_empty() {
            batch.clear();
            hub.note_progress();
            continue;
        }
        let started = std::time::Instant::now();
        warmed = warmed.max(used.len());
        let probs = match classifier.run(used.len()) {
            Ok(p) => {
                crate::publish::metrics::global().inference(used.len(), started.elapsed());
                p
            }
            Err(e) => {
                crate::publish::metrics::global().inference_failed();
                failures += 1;
                if failures.is_power_of_two() {
                    tracing::error!("inference failed ({failures} times so far): {e}");
                }
                batch.clear();
                hub.note_progress();
                continue;
            }
        };
        for (row, &(k, slot)) in used.iter().enumerate() {
            let frame = &batch[k].1;
            let Some(ctx) = ctxs[slot].as_mut() else {
                continue;
            };
            ctx.stats.classified.fetch_add(1, Ordering::Relaxed);
            // Its pipeline was torn down while the model ran (stream stopping,
            // reconnecting or removed): nothing of it may follow its status.
            if frame.generation != ctx.stats.generation.load(Ordering::Relaxed) {
                ctx.stats.stale.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if ctx.generation != frame.generation {
                if ctx.generation != 0 {
                    ctx.smoother.reset();
                }
                ctx.generation = frame.generation;
            }
            let p = &probs[row * classes..(row + 1) * classes];
            if settings.per_frame {
                publisher.publish(Message::Frame {
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
    publisher.publish(Message::Prediction {
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
        publisher.publish(Message::Event {
            v: VERSION,
            stream: stream.to_string(),
            event: EventKind::LabelChanged,
            from: change.from.map(|i| labels[i].clone()),
            to: labels[change.to].clone(),
            score: change.score,
        });
    }
}
