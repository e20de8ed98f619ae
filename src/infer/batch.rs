//! One batch of the worker: take the latest frames from the hub, preprocess each
//! into a row of the model's input, run the model once, and hand each row's
//! result to the dispatcher. Nothing here allocates once the buffers are warm
//! (tested below); a frame the worker has no room for stays in its hub slot,
//! where a newer one replaces it (dropped, never queued).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;

use super::streams::{StreamCtx, Streams};
use super::temporal::TemporalSpec;
use crate::hub::{Frame, FrameHub};
use crate::model::{Classifier, ModelError, ModelKind};

/// How long [`Batch::take`] waits for a frame before returning an empty batch.
const TAKE_WAIT: Duration = Duration::from_millis(200);

/// The model as the batch path sees it: rows to fill and one run over the first n.
pub(super) trait Model {
    /// Frame width and height the model takes.
    fn frame_size(&self) -> (usize, usize);
    /// Number of classes per row of results.
    fn classes(&self) -> usize;
    /// Preprocesses packed 3-byte pixels into row `row`.
    fn fill(&mut self, row: usize, pixels: &[u8], stride: usize) -> Result<(), ModelError>;
    /// Runs the first `n` rows; returns `n × classes` probabilities.
    fn run(&mut self, n: usize) -> Result<&[f32], ModelError>;
    /// Clip models: preprocesses packed pixels into `dst` (a ring slot).
    fn preprocess(
        &self,
        _pixels: &[u8],
        _stride: usize,
        _dst: &mut [f32],
    ) -> Result<(), ModelError> {
        Err(ModelError::Run("not a clip model".into()))
    }
    /// Clip models: writes T preprocessed frames (oldest first) into row `row`.
    fn fill_clip<'f>(&mut self, _row: usize, _frames: impl Iterator<Item = &'f [f32]>) {}
    /// Stateful models: state input `pair` of row `row`.
    fn state_in_mut(&mut self, _pair: usize, _row: usize) -> &mut [f32] {
        &mut []
    }
    /// Stateful models: state output `pair` of row `row` after the last run.
    fn state_out(&self, _pair: usize, _row: usize) -> &[f32] {
        &[]
    }
}

impl Model for Classifier {
    fn frame_size(&self) -> (usize, usize) {
        (self.manifest.input.width, self.manifest.input.height)
    }
    fn classes(&self) -> usize {
        Classifier::classes(self)
    }
    fn fill(&mut self, row: usize, pixels: &[u8], stride: usize) -> Result<(), ModelError> {
        Classifier::fill(self, row, pixels, stride)
    }
    fn run(&mut self, n: usize) -> Result<&[f32], ModelError> {
        Classifier::run(self, n)
    }
    fn preprocess(&self, pixels: &[u8], stride: usize, dst: &mut [f32]) -> Result<(), ModelError> {
        Classifier::preprocess(self, pixels, stride, dst)
    }
    fn fill_clip<'f>(&mut self, row: usize, frames: impl Iterator<Item = &'f [f32]>) {
        Classifier::fill_clip(self, row, frames)
    }
    fn state_in_mut(&mut self, pair: usize, row: usize) -> &mut [f32] {
        Classifier::state_in_mut(self, pair, row)
    }
    fn state_out(&self, pair: usize, row: usize) -> &[f32] {
        Classifier::state_out(self, pair, row)
    }
}

/// The frames of one batch and the rows they filled; reused from batch to batch.
pub(super) struct Batch {
    /// Frames taken from the hub, as (slot, frame).
    frames: Vec<(usize, Frame)>,
    /// One entry per filled row: (index in `frames`, slot).
    rows: Vec<(usize, usize)>,
    /// Most frames one batch takes.
    max: usize,
    /// Slot taken last, for round robin.
    cursor: usize,
    /// Failed model runs so far.
    failures: u64,
    /// The model's kind, T and state sizes.
    spec: TemporalSpec,
    /// The hub lane whose frames this batch takes (its model's).
    lane: usize,
}

impl Batch {
    /// An empty batch of at most `max` frames.
    pub fn new(max: usize) -> Self {
        Batch {
            frames: Vec::with_capacity(max),
            rows: Vec::with_capacity(max),
            max,
            cursor: 0,
            failures: 0,
            spec: TemporalSpec::frame(),
            lane: 0,
        }
    }

    /// The same batch taking the frames of hub lane `lane`.
    pub fn in_lane(mut self, lane: usize) -> Self {
        self.lane = lane;
        self
    }

    /// The same batch for a model of kind `spec` (clip or stateful).
    pub fn with_spec(mut self, spec: TemporalSpec) -> Self {
        self.spec = spec;
        self
    }

    /// Waits briefly for frames and takes the latest of each stream (round robin,
    /// up to the batch size). Returns false once the hub shut down.
    pub fn take(&mut self, hub: &FrameHub) -> bool {
        let (frames, cursor) = (&mut self.frames, &mut self.cursor);
        hub.take_lane(self.lane, frames, self.max, cursor, TAKE_WAIT)
    }

    /// Fills the rows, runs the model and calls `dispatch` for each row's result
    /// that still belongs to a current pipeline of its stream. Returns the number
    /// of rows filled (run or, when the run failed, not).
    pub fn process<M: Model>(
        &mut self,
        model: &mut M,
        streams: &mut Streams,
        mut dispatch: impl FnMut(&mut StreamCtx, &Frame, &[f32]),
    ) -> usize {
        let n = self.fill_rows(model, streams);
        if n == 0 {
            return 0;
        }
        let classes = model.classes();
        let Some(probs) = run(model, n, &mut self.failures) else {
            return n;
        };
        for (row, &(k, slot)) in self.rows.iter().enumerate() {
            let frame = &self.frames[k].1;
            let Some(ctx) = streams.get_mut(slot, frame.stream_id) else {
                continue;
            };
            if current(ctx, frame) {
                dispatch(ctx, frame, &probs[row * classes..(row + 1) * classes]);
            }
        }
        self.scatter_states(model, streams);
        n
    }

    /// Stateful models: each row's state outputs become its stream's state for the next call.
    fn scatter_states<M: Model>(&self, model: &M, streams: &mut Streams) {
        if self.spec.kind != ModelKind::Stateful {
            return;
        }
        for (row, &(k, slot)) in self.rows.iter().enumerate() {
            let frame = &self.frames[k].1;
            if let Some(ctx) = streams.get_mut(slot, frame.stream_id) {
                for (pair, state) in ctx.temporal.states.iter_mut().enumerate() {
                    state.copy_from_slice(model.state_out(pair, row));
                }
            }
        }
    }

    /// Releases the frames (their buffers go back to the pipelines' pools).
    pub fn clear(&mut self) {
        self.frames.clear();
        self.rows.clear();
    }

    /// Preprocesses each taken frame of a known stream into the next row; a frame
    /// that cannot be used is skipped and counted. Returns the number of rows.
    fn fill_rows<M: Model>(&mut self, model: &mut M, streams: &mut Streams) -> usize {
        self.rows.clear();
        for (k, (slot, frame)) in self.frames.iter().enumerate() {
            let Some(ctx) = streams.get_mut(*slot, frame.stream_id) else {
                continue;
            };
            if self.spec.kind != ModelKind::Frame {
                check_continuity(ctx, frame);
            }
            match fill_row(model, ctx, &self.spec, self.rows.len(), frame) {
                Ok(true) => self.rows.push((k, *slot)),
                Ok(false) => {}
                Err(e) => {
                    let n = ctx.stats.dropped_unusable.fetch_add(1, Ordering::Relaxed) + 1;
                    if n.is_power_of_two() {
                        tracing::warn!(stream = %ctx.name, "frame skipped ({n} so far): {e}");
                    }
                }
            }
        }
        self.rows.len()
    }
}

/// Resets the stream's clip ring and model state when its pipeline changed or its
/// timestamps jumped; the reason is logged now and published with its next result.
fn check_continuity(ctx: &mut StreamCtx, frame: &Frame) {
    let t = &mut ctx.temporal;
    if let Some(reason) = t.continuity.observe(frame.generation, frame.pts_ns) {
        t.reset();
        tracing::info!(stream = %ctx.name, "model state reset: {reason}");
        t.notice = Some(reason);
    }
}

/// Maps the frame and hands its pixels to the model: into row `row` (frame and
/// stateful models, with the stream's state), or into the stream's clip ring and,
/// when a clip is due, the clip into row `row`. Returns whether the row was filled.
fn fill_row<M: Model>(
    model: &mut M,
    ctx: &mut StreamCtx,
    spec: &TemporalSpec,
    row: usize,
    frame: &Frame,
) -> Result<bool, String> {
    let caps = frame.sample.caps().ok_or("frame without caps")?;
    let buffer = frame.sample.buffer().ok_or("frame without buffer")?;
    let stale = ctx.info.as_ref().is_none_or(|(c, _)| c.as_ref() != caps);
    if stale {
        let info = gst_video::VideoInfo::from_caps(caps)
            .map_err(|e| format!("unusable caps {caps}: {e}"))?;
        ctx.info = Some((caps.to_owned(), info));
    }
    let (_, info) = ctx.info.as_ref().expect("set above");
    let (width, height) = model.frame_size();
    if info.width() as usize != width || info.height() as usize != height {
        return Err(format!(
            "frame is {}x{}, model wants {width}x{height}",
            info.width(),
            info.height(),
        ));
    }
    let vframe = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, info)
        .map_err(|_| "cannot map the frame".to_string())?;
    let stride = vframe.plane_stride()[0] as usize;
    let data = vframe.plane_data(0).map_err(|e| e.to_string())?;
    let t = &mut ctx.temporal;
    match spec.kind {
        ModelKind::Frame | ModelKind::Stateful => {
            model.fill(row, data, stride).map_err(|e| e.to_string())?;
            for (pair, state) in t.states.iter().enumerate() {
                model.state_in_mut(pair, row).copy_from_slice(state);
            }
            Ok(true)
        }
        ModelKind::Clip => {
            if !t.take_for_ring(spec) {
                return Ok(false);
            }
            let Some(ring) = t.ring.as_mut() else {
                return Ok(false);
            };
            model
                .preprocess(data, stride, ring.slot_mut())
                .map_err(|e| e.to_string())?;
            ring.commit();
            if !t.clip_due(spec) {
                return Ok(false);
            }
            if let Some(ring) = &t.ring {
                model.fill_clip(row, ring.oldest_first());
            }
            Ok(true)
        }
    }
}

/// Runs the first `n` rows, recording the run in the metrics; a failure is
/// counted and logged (at powers of two) and yields None.
fn run<'m, M: Model>(model: &'m mut M, n: usize, failures: &mut u64) -> Option<&'m [f32]> {
    let started = Instant::now();
    match model.run(n) {
        Ok(p) => {
            crate::publish::metrics::global().inference(n, started.elapsed());
            Some(p)
        }
        Err(e) => {
            crate::publish::metrics::global().inference_failed();
            *failures += 1;
            if failures.is_power_of_two() {
                tracing::error!("inference failed ({failures} times so far): {e}");
            }
            None
        }
    }
}

/// Counts the frame as classified and says whether its result may be published:
/// not when its pipeline was torn down while the model ran (stream stopping,
/// reconnecting or removed), since nothing of it may follow its status. A frame
/// of a new pipeline generation resets the stream's smoother.
fn current(ctx: &mut StreamCtx, frame: &Frame) -> bool {
    ctx.stats.classified.fetch_add(1, Ordering::Relaxed);
    if frame.generation != ctx.stats.generation.load(Ordering::Relaxed) {
        ctx.stats.dropped_restart.fetch_add(1, Ordering::Relaxed);
        return false;
    }
    if ctx.generation != frame.generation {
        if ctx.generation != 0 {
            ctx.smoother.reset();
        }
        ctx.generation = frame.generation;
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::time::SystemTime;

    use super::*;
    use crate::hub::StreamSlot;
    use crate::smooth::alloc_counter::allocations;
    use crate::smooth::SmootherSettings;

    const W: usize = 4;
    const H: usize = 2;
    const CLASSES: usize = 3;

    /// A model whose every class score is the first byte of the row's pixels.
    struct Fake {
        first: Vec<u8>,
        probs: Vec<f32>,
        fail: bool,
    }

    impl Fake {
        fn new(max: usize) -> Self {
            Fake {
                first: vec![0; max],
                probs: vec![0.0; max * CLASSES],
                fail: false,
            }
        }
    }

    impl Model for Fake {
        fn frame_size(&self) -> (usize, usize) {
            (W, H)
        }
        fn classes(&self) -> usize {
            CLASSES
        }
        fn fill(&mut self, row: usize, pixels: &[u8], stride: usize) -> Result<(), ModelError> {
            assert!(stride >= 3 * W && pixels.len() >= stride * (H - 1) + 3 * W);
            self.first[row] = pixels[0];
            Ok(())
        }
        fn run(&mut self, n: usize) -> Result<&[f32], ModelError> {
            if self.fail {
                return Err(ModelError::Run("failing on purpose".into()));
            }
            for (row, p) in self.probs.chunks_exact_mut(CLASSES).take(n).enumerate() {
                p.fill(f32::from(self.first[row]));
            }
            Ok(&self.probs[..n * CLASSES])
        }
    }

    fn frame(slot: &StreamSlot, value: u8, width: usize) -> Frame {
        gstreamer::init().unwrap();
        let info =
            gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, width as u32, H as u32)
                .build()
                .unwrap();
        let buffer = gstreamer::Buffer::from_mut_slice(vec![value; info.size()]);
        let caps = info.to_caps().unwrap();
        Frame {
            sample: gstreamer::Sample::builder()
                .buffer(&buffer)
                .caps(&caps)
                .build(),
            pts_ns: Some(u64::from(value)),
            capture: SystemTime::now(),
            arrived: Instant::now(),
            generation: slot.stats.generation.load(Ordering::Relaxed),
            stream_id: slot.stats.id,
        }
    }

    fn attach(hub: &FrameHub, streams: &mut Streams, name: &str) -> StreamSlot {
        let slot = hub.attach(name);
        streams.attach(
            slot.clone(),
            name.into(),
            &SmootherSettings::default(),
            CLASSES,
            &TemporalSpec::frame(),
        );
        slot
    }

    fn count(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }

    #[test]
    fn rows_reach_their_streams_and_warm_batches_do_not_allocate() {
        let hub = FrameHub::new();
        let mut streams = Streams::default();
        let slots = [
            attach(&hub, &mut streams, "a"),
            attach(&hub, &mut streams, "b"),
        ];
        let mut model = Fake::new(2);
        let mut batch = Batch::new(2);
        for round in 0..20u8 {
            for (i, s) in slots.iter().enumerate() {
                hub.offer(s, frame(s, 2 * round + i as u8, W));
            }
            // Per stream: (frames dispatched, last score), kept without allocating.
            let mut seen = [(0usize, 0.0f32); 2];
            let (rows, n) = allocations(|| {
                assert!(batch.take(&hub));
                let rows = batch.process(&mut model, &mut streams, |ctx, frame, probs| {
                    let i = usize::from(ctx.name == "b");
                    assert_eq!(frame.stream_id, slots[i].stats.id);
                    seen[i] = (seen[i].0 + 1, probs[0]);
                });
                batch.clear();
                rows
            });
            assert_eq!(rows, 2);
            assert_eq!(
                seen,
                [(1, f32::from(2 * round)), (1, f32::from(2 * round + 1))]
            );
            if round > 0 {
                assert_eq!(n, 0, "round {round}: {n} allocations");
            }
        }
        for s in &slots {
            assert_eq!(count(&s.stats.classified), 20);
            assert_eq!(count(&s.stats.dropped_busy), 0);
        }
    }

    /// One stream per entry of `widths`, each offered one frame of that width
    /// (pixel value = index + 1), and a batch that took them all.
    fn taken(widths: &[usize]) -> (Streams, Vec<StreamSlot>, Batch, Fake) {
        let hub = FrameHub::new();
        let mut streams = Streams::default();
        let mut slots = Vec::new();
        for (i, &width) in widths.iter().enumerate() {
            let s = attach(&hub, &mut streams, &format!("s{i}"));
            hub.offer(&s, frame(&s, i as u8 + 1, width));
            slots.push(s);
        }
        let mut batch = Batch::new(widths.len());
        assert!(batch.take(&hub));
        (streams, slots, batch, Fake::new(widths.len()))
    }

    #[test]
    fn stale_removed_and_unusable_frames_are_not_dispatched() {
        let (mut streams, slots, mut batch, mut model) = taken(&[W, W, W + 2, W]);
        let [torn, removed, odd, fine] = &slots[..] else {
            unreachable!()
        };
        // Torn down while its frame waited in the batch; removed before the batch ran.
        torn.stats.generation.fetch_add(1, Ordering::Relaxed);
        streams.detach(removed);
        let mut got = Vec::new();
        let rows = batch.process(&mut model, &mut streams, |ctx, _, probs| {
            got.push((ctx.name.clone(), probs[0]))
        });
        assert_eq!(rows, 2, "torn and fine fill rows; removed and odd do not");
        assert_eq!(got, [("s3".to_string(), 4.0)]);
        assert_eq!(
            (
                count(&torn.stats.classified),
                count(&torn.stats.dropped_restart)
            ),
            (1, 1)
        );
        assert_eq!(count(&removed.stats.classified), 0);
        assert_eq!(
            (
                count(&odd.stats.dropped_unusable),
                count(&odd.stats.classified)
            ),
            (1, 0)
        );
        assert_eq!(count(&fine.stats.classified), 1);
    }

    #[test]
    fn a_failed_run_dispatches_nothing() {
        let (mut streams, slots, mut batch, mut model) = taken(&[W]);
        model.fail = true;
        let rows = batch.process(&mut model, &mut streams, |_, _, _| panic!("dispatched"));
        assert_eq!((rows, batch.failures), (1, 1));
        assert_eq!(count(&slots[0].stats.classified), 0);
    }

    /// A clip model (score = sum of the first bytes of its T frames) or a
    /// stateful one (score = state + first byte; the state becomes the score).
    struct Temporal {
        first: Vec<f32>,
        clip_sum: Vec<f32>,
        state_in: Vec<f32>,
        state_out: Vec<f32>,
        probs: Vec<f32>,
    }

    impl Temporal {
        fn new(max: usize) -> Self {
            Temporal {
                first: vec![0.0; max],
                clip_sum: vec![0.0; max],
                state_in: vec![0.0; max],
                state_out: vec![0.0; max],
                probs: vec![0.0; max * CLASSES],
            }
        }
    }

    impl Model for Temporal {
        fn frame_size(&self) -> (usize, usize) {
            (W, H)
        }
        fn classes(&self) -> usize {
            CLASSES
        }
        fn fill(&mut self, row: usize, pixels: &[u8], _: usize) -> Result<(), ModelError> {
            self.first[row] = f32::from(pixels[0]);
            Ok(())
        }
        fn run(&mut self, n: usize) -> Result<&[f32], ModelError> {
            for row in 0..n {
                let v = self.clip_sum[row] + self.state_in[row] + self.first[row];
                self.state_out[row] = v;
                self.probs[row * CLASSES..(row + 1) * CLASSES].fill(v);
            }
            Ok(&self.probs[..n * CLASSES])
        }
        fn preprocess(&self, pixels: &[u8], _: usize, dst: &mut [f32]) -> Result<(), ModelError> {
            dst[0] = f32::from(pixels[0]);
            Ok(())
        }
        fn fill_clip<'f>(&mut self, row: usize, frames: impl Iterator<Item = &'f [f32]>) {
            self.first[row] = 0.0;
            self.clip_sum[row] = frames.map(|f| f[0]).sum();
        }
        fn state_in_mut(&mut self, _: usize, row: usize) -> &mut [f32] {
            &mut self.state_in[row..row + 1]
        }
        fn state_out(&self, _: usize, row: usize) -> &[f32] {
            &self.state_out[row..row + 1]
        }
    }

    /// Feeds `values` to two streams (the second gets value + 100) through a batch
    /// for `spec`; returns each stream's dispatched scores. Asserts that batches
    /// after the first allocate nothing.
    fn temporal_run(spec: TemporalSpec, values: &[u8]) -> [Vec<f32>; 2] {
        let hub = FrameHub::new();
        let mut streams = Streams::default();
        let slots = ["a", "b"].map(|name| {
            let slot = hub.attach(name);
            let s = SmootherSettings::default();
            streams.attach(slot.clone(), name.into(), &s, CLASSES, &spec);
            slot
        });
        let mut model = Temporal::new(2);
        let mut batch = Batch::new(2).with_spec(spec);
        let mut seen = [Vec::with_capacity(64), Vec::with_capacity(64)];
        for (round, &v) in values.iter().enumerate() {
            for (i, s) in slots.iter().enumerate() {
                hub.offer(s, frame(s, v + 100 * i as u8, W));
            }
            let ((), n) = allocations(|| {
                assert!(batch.take(&hub));
                batch.process(&mut model, &mut streams, |ctx, _, probs| {
                    seen[usize::from(ctx.name == "b")].push(probs[0]);
                });
                batch.clear();
            });
            if round > 0 {
                assert_eq!(n, 0, "round {round}: {n} allocations");
            }
        }
        seen
    }

    #[test]
    fn clip_rows_gather_the_last_t_frames_of_each_stream() {
        let [a, b] = temporal_run(TemporalSpec::test_clip(3, 2), &[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(a, [6.0, 12.0, 18.0], "clips 1-3, 3-5, 5-7");
        assert_eq!(b, [306.0, 312.0, 318.0]);
    }

    #[test]
    fn state_is_fed_back_per_stream_and_reset_when_timestamps_go_back() {
        let spec = TemporalSpec {
            kind: ModelKind::Stateful,
            frames: 1,
            state_lens: vec![1],
            ..TemporalSpec::test_clip(1, 1)
        };
        // pts = value: 1, 2, 3, then back to 1.
        let [a, b] = temporal_run(spec, &[1, 2, 3, 1, 2]);
        assert_eq!(a, [1.0, 3.0, 6.0, 1.0, 3.0]);
        assert_eq!(
            b,
            [101.0, 203.0, 306.0, 101.0, 203.0],
            "each stream its own state"
        );
    }
}
