//! The worker thread: its handle, the stream commands it applies between
//! batches, and its loop (take → fill rows → run → dispatch, until shutdown).

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::batch::{Batch, Model};
use super::dispatch::Dispatcher;
use super::streams::Streams;
use super::temporal::TemporalSpec;
use crate::hub::{FrameHub, StreamSlot};
use crate::model::{Classifier, ModelKind};
use crate::publish::Publisher;
use crate::smooth::SmootherSettings;

/// What the worker needs besides the classifier.
pub struct WorkerSettings {
    /// Smoothing settings applied to every stream.
    pub smoothing: SmootherSettings,
    /// Top-k size for frame messages.
    pub top_k: usize,
    /// Also publish each frame's result.
    pub per_frame: bool,
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

/// Starts the worker thread `thread` (its name) of `classifier` on hub lane `lane`; it
/// runs until the hub shuts down or the lane closes. Streams are introduced with
/// [`Worker::attach`]. The command channel carries only configuration changes (a few
/// per reload), never frames.
pub fn spawn(
    (classifier, thread): (Classifier, String),
    hub: Arc<FrameHub>,
    lane: usize,
    settings: WorkerSettings,
    publisher: Arc<Publisher>,
) -> Worker {
    let (commands, rx) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(thread)
        .spawn(move || run(classifier, (&hub, lane), settings, &publisher, &rx))
        .expect("spawning the inference thread");
    Worker { thread, commands }
}

/// The worker loop: one batch per turn, each ending in the same progress note
/// (the watchdog's proof of life), empty or not.
fn run(
    mut classifier: Classifier,
    (hub, lane): (&FrameHub, usize),
    settings: WorkerSettings,
    publisher: &Publisher,
    commands: &mpsc::Receiver<Command>,
) {
    let labels = classifier.manifest.labels.clone();
    let model = classifier.manifest.name.clone();
    let out = Dispatcher {
        publisher,
        settings: &settings,
        labels: &labels,
        model: &model,
    };
    let max_batch = classifier.max_batch();
    let spec = TemporalSpec::of(&classifier, settings.smoothing.stride);
    let smoothing = smoothing_for(&spec, &settings.smoothing);
    let mut streams = Streams::default();
    let mut batch = Batch::new(max_batch).with_spec(spec.clone()).in_lane(lane);
    // The largest batch run so far.
    let mut warmed = 0usize;
    while batch.take(hub) {
        let new_stream = |streams: &mut Streams, slot, name| {
            streams.attach(slot, name, &smoothing, classifier.classes(), &spec)
        };
        if apply(&mut streams, commands, new_stream) {
            let largest = streams.len().min(max_batch);
            warm_up(&mut classifier, largest, &mut warmed);
        }
        let rows = batch.process(&mut classifier, &mut streams, |ctx, frame, probs| {
            out.dispatch(ctx, frame, probs)
        });
        warmed = warmed.max(rows);
        batch.clear();
        hub.note_lane_progress(lane);
    }
    tracing::debug!(model = %model, "inference worker stopped");
}

/// The smoother of a stream: as configured, except for clip models, whose every
/// run (one every `stride` sampled frames) is one entry of a smoother that emits
/// a prediction per entry and averages the entries of the last `window` frames.
fn smoothing_for(spec: &TemporalSpec, configured: &SmootherSettings) -> SmootherSettings {
    if spec.kind != ModelKind::Clip {
        return configured.clone();
    }
    SmootherSettings {
        window: configured.window.max(1).div_ceil(spec.run_every).max(1),
        stride: 1,
        ..configured.clone()
    }
}

/// Applies the pending commands (`attach` makes a stream's context); returns
/// whether a stream was attached.
fn apply(
    streams: &mut Streams,
    commands: &mpsc::Receiver<Command>,
    mut attach: impl FnMut(&mut Streams, StreamSlot, String),
) -> bool {
    let mut attached = false;
    while let Ok(cmd) = commands.try_recv() {
        match cmd {
            Command::Attach { slot, name } => {
                attach(streams, slot, name);
                attached = true;
            }
            Command::Detach { slot } => streams.detach(&slot),
        }
    }
    attached
}

/// Runs the largest batch the attached streams can make once, when it is larger
/// than any run so far, so that its buffers are allocated now and not at some
/// moment much later, when the streams' frames first coincide (a run of a batch
/// size not seen before extends the heap: +9 MiB for 2 frames of MobileNetV2 224).
/// A batch of one runs with the first frame anyway.
fn warm_up<M: Model>(model: &mut M, largest: usize, warmed: &mut usize) {
    if largest < 2 || largest <= *warmed {
        return;
    }
    *warmed = largest;
    // The batch tensor's contents do not matter; the results are not used.
    let started = Instant::now();
    match model.run(largest) {
        Ok(_) => tracing::debug!("warmed up a batch of {largest} in {:?}", started.elapsed()),
        Err(e) => tracing::warn!(
            "warming up a batch of {largest} failed (the first real one may be slow): {e}"
        ),
    }
}
