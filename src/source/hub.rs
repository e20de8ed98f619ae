//! The hand-off between stream pipelines and the inference worker: one
//! latest-frame slot per stream (a newer frame replaces an unclaimed one and
//! counts as dropped), and per-stream counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// One sampled frame waiting for inference.
pub struct Frame {
    /// The GStreamer sample (buffer + caps), not copied.
    pub sample: gstreamer::Sample,
    /// Presentation timestamp in the stream, if known.
    pub pts_ns: Option<u64>,
    /// Wall-clock capture time (best estimate).
    pub capture: SystemTime,
    /// Pipeline generation the frame came from (changes on every rebuild).
    pub generation: u64,
}

/// Counters and liveness of one stream, shared between its pipeline, supervisor and the worker.
#[derive(Debug)]
pub struct StreamStats {
    /// Decoded frames that reached the sampler (before `sample_fps` drops any).
    pub decoded: AtomicU64,
    /// Frames that reached the appsink (after sampling).
    pub received: AtomicU64,
    /// Frames replaced in the slot before inference took them.
    pub dropped: AtomicU64,
    /// Frames discarded from the slot because their pipeline was torn down.
    pub flushed: AtomicU64,
    /// Frames inference could not use (unexpected size or format).
    pub unusable: AtomicU64,
    /// Frames classified.
    pub classified: AtomicU64,
    /// Pipeline rebuilds after a failure.
    pub reconnects: AtomicU64,
    /// Current pipeline generation.
    pub generation: AtomicU64,
    /// Milliseconds since `epoch` of the latest frame (0 = none yet).
    last_frame_ms: AtomicU64,
    epoch: Instant,
}

impl StreamStats {
    fn new() -> Self {
        StreamStats {
            decoded: AtomicU64::new(0),
            received: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            unusable: AtomicU64::new(0),
            classified: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            last_frame_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }

    /// Records that a frame arrived now.
    pub fn touch(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_frame_ms.store(ms.max(1), Ordering::Relaxed);
    }

    /// Time since the latest frame, or None if none arrived yet.
    pub fn since_last_frame(&self) -> Option<Duration> {
        match self.last_frame_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(
                self.epoch
                    .elapsed()
                    .saturating_sub(Duration::from_millis(ms)),
            ),
        }
    }
}

struct Slots {
    frames: Vec<Option<Frame>>,
    shutdown: bool,
}

/// The set of latest-frame slots, one per stream, and a condition variable for the worker.
pub struct FrameHub {
    slots: Mutex<Slots>,
    ready: Condvar,
    stats: Vec<Arc<StreamStats>>,
    progress: AtomicU64,
}

impl FrameHub {
    /// A hub for `streams` streams.
    pub fn new(streams: usize) -> Arc<Self> {
        Arc::new(FrameHub {
            slots: Mutex::new(Slots {
                frames: (0..streams).map(|_| None).collect(),
                shutdown: false,
            }),
            ready: Condvar::new(),
            stats: (0..streams).map(|_| Arc::new(StreamStats::new())).collect(),
            progress: AtomicU64::new(0),
        })
    }

    /// Counters of stream `index`.
    pub fn stats(&self, index: usize) -> &Arc<StreamStats> {
        &self.stats[index]
    }

    /// Number of streams.
    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// True when there are no streams.
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// Offers a frame from stream `index`; an unclaimed older frame is dropped and counted.
    pub fn offer(&self, index: usize, frame: Frame) {
        let stats = &self.stats[index];
        stats.received.fetch_add(1, Ordering::Relaxed);
        stats.touch();
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.frames[index].replace(frame).is_some() {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        drop(slots);
        self.ready.notify_one();
    }

    /// Discards a pending frame of stream `index` (its pipeline is going away).
    pub fn clear(&self, index: usize) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.frames[index].take().is_some() {
            self.stats[index].flushed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Waits up to `timeout` for frames, then moves up to `out.capacity()` of them into `out`,
    /// starting after stream `*cursor` (round robin). Returns false once shut down.
    pub fn take(
        &self,
        out: &mut Vec<(usize, Frame)>,
        max: usize,
        cursor: &mut usize,
        timeout: Duration,
    ) -> bool {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if !slots.shutdown && slots.frames.iter().all(Option::is_none) {
            slots = self
                .ready
                .wait_timeout(slots, timeout)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if slots.shutdown {
            return false;
        }
        let n = slots.frames.len();
        for k in 0..n {
            if out.len() >= max {
                break;
            }
            let i = (*cursor + 1 + k) % n;
            if let Some(f) = slots.frames[i].take() {
                out.push((i, f));
            }
        }
        if let Some((last, _)) = out.last() {
            *cursor = *last;
        }
        true
    }

    /// True if any frame is waiting for inference.
    pub fn pending(&self) -> bool {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.frames.iter().any(Option::is_some)
    }

    /// Records that the worker finished a batch.
    pub fn note_progress(&self) {
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// Number of batches finished so far.
    pub fn progress(&self) -> u64 {
        self.progress.load(Ordering::Relaxed)
    }

    /// Wakes the worker and makes `take` return false from now on.
    pub fn shutdown(&self) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.shutdown = true;
        for f in slots.frames.iter_mut() {
            *f = None;
        }
        drop(slots);
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(generation: u64) -> Frame {
        gstreamer::init().unwrap();
        let buffer = gstreamer::Buffer::with_size(3).unwrap();
        Frame {
            sample: gstreamer::Sample::builder().buffer(&buffer).build(),
            pts_ns: Some(generation),
            capture: SystemTime::now(),
            generation,
        }
    }

    #[test]
    fn newer_frame_replaces_and_counts_drop() {
        let hub = FrameHub::new(2);
        hub.offer(0, frame(1));
        hub.offer(0, frame(2));
        assert_eq!(hub.stats(0).received.load(Ordering::Relaxed), 2);
        assert_eq!(hub.stats(0).dropped.load(Ordering::Relaxed), 1);
        let mut out = Vec::new();
        let mut cursor = 0;
        assert!(hub.take(&mut out, 4, &mut cursor, Duration::from_millis(1)));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.pts_ns, Some(2), "the latest frame wins");
        assert!(!hub.pending());
    }

    #[test]
    fn clearing_a_pending_frame_counts_it_as_flushed() {
        let hub = FrameHub::new(1);
        hub.clear(0);
        assert_eq!(hub.stats(0).flushed.load(Ordering::Relaxed), 0);
        hub.offer(0, frame(1));
        hub.clear(0);
        assert_eq!(hub.stats(0).flushed.load(Ordering::Relaxed), 1);
        assert!(!hub.pending());
    }

    #[test]
    fn take_is_round_robin_and_bounded() {
        let hub = FrameHub::new(3);
        for i in 0..3 {
            hub.offer(i, frame(i as u64));
        }
        let mut out = Vec::new();
        let mut cursor = 0;
        hub.take(&mut out, 2, &mut cursor, Duration::ZERO);
        let got: Vec<usize> = out.iter().map(|(i, _)| *i).collect();
        assert_eq!(got, [1, 2]);
        out.clear();
        hub.take(&mut out, 2, &mut cursor, Duration::ZERO);
        assert_eq!(out[0].0, 0);
    }

    #[test]
    fn shutdown_wakes_and_stops() {
        let hub = FrameHub::new(1);
        let h2 = hub.clone();
        let t = std::thread::spawn(move || {
            let mut out = Vec::new();
            let mut c = 0;
            h2.take(&mut out, 1, &mut c, Duration::from_secs(10))
        });
        std::thread::sleep(Duration::from_millis(50));
        hub.shutdown();
        assert!(!t.join().unwrap());
    }
}
