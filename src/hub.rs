//! The hand-off between stream pipelines and the inference workers: one
//! latest-frame slot per stream (a newer frame replaces an unclaimed one and
//! counts as dropped), and the workers' progress. Each slot belongs to a lane,
//! one per model: a model's worker takes only the frames of its lane. The hub
//! starts with lane 0; [`FrameHub::open_lane`] adds one per further model.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::stats::StreamStats;
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
    /// When it was handed to the hub.
    pub arrived: std::time::Instant,
    /// The stream it belongs to ([`StreamStats::id`]); a slot may be reused by
    /// another stream after a reload, and this tells them apart.
    pub stream_id: u64,
}

/// A stream's place in the hub: its slot index and its counters.
#[derive(Debug, Clone)]
pub struct StreamSlot {
    /// Slot index (reused after the stream is removed).
    pub index: usize,
    /// The stream's counters; `stats.id` owns the slot.
    pub stats: Arc<StreamStats>,
}

struct Slots {
    frames: Vec<Option<Frame>>,
    /// Id of the stream owning each slot; 0 = free.
    owners: Vec<u64>,
    /// Counters of the stream owning each slot.
    stats: Vec<Option<Arc<StreamStats>>>,
    /// Snapshot tap: the latest frame the worker took of each slot, kept only
    /// while someone watches (see [`FrameHub::watch`]).
    seen: Vec<Option<SeenFrame>>,
    /// The lane of each slot.
    lane: Vec<usize>,
    /// Every lane opened so far, by id.
    lanes: Vec<Lane>,
    shutdown: bool,
}

/// One model's share of the hub.
struct Lane {
    /// False once closed: its worker's `take` returns false.
    open: bool,
    /// Milliseconds since the hub's epoch of its worker's latest progress.
    progress_ms: u64,
}

/// The latest frame the inference worker took of a stream (the model's input
/// size and channel order), kept for the status page's snapshots.
#[derive(Clone)]
pub struct SeenFrame {
    /// The GStreamer sample (buffer + caps), not copied.
    pub sample: gstreamer::Sample,
    /// Wall-clock capture time (best estimate).
    pub capture: SystemTime,
}

/// The latest-frame slots, one per stream, and a condition variable for the worker.
/// Streams are attached and detached at run time (configuration reload); slots of
/// removed streams are reused, so the hub never grows beyond the most streams
/// configured at once. Offering a frame never allocates.
pub struct FrameHub {
    slots: Mutex<Slots>,
    ready: Condvar,
    progress: AtomicU64,
    epoch: Instant,
    next_id: AtomicU64,
    /// Snapshot tap: frames are kept until this many ms since `epoch` (0 = never watched).
    watched_until_ms: AtomicU64,
}

impl FrameHub {
    /// An empty hub.
    pub fn new() -> Arc<Self> {
        Arc::new(FrameHub {
            slots: Mutex::new(Slots {
                frames: Vec::new(),
                owners: Vec::new(),
                stats: Vec::new(),
                seen: Vec::new(),
                lane: Vec::new(),
                lanes: vec![Lane {
                    open: true,
                    progress_ms: 0,
                }],
                shutdown: false,
            }),
            ready: Condvar::new(),
            progress: AtomicU64::new(0),
            epoch: Instant::now(),
            next_id: AtomicU64::new(1),
            watched_until_ms: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives a new stream a slot (a free one if any) and fresh counters, in lane 0.
    pub fn attach(&self, name: &str) -> StreamSlot {
        self.attach_in(name, 0)
    }

    /// Opens a lane for another model's worker; its progress counts from now.
    pub fn open_lane(&self) -> usize {
        let progress_ms = self.epoch.elapsed().as_millis() as u64;
        let mut slots = self.lock();
        slots.lanes.push(Lane {
            open: true,
            progress_ms,
        });
        slots.lanes.len() - 1
    }

    /// Closes `lane`: its worker's `take` returns false, its progress no longer counts.
    pub fn close_lane(&self, lane: usize) {
        if let Some(l) = self.lock().lanes.get_mut(lane) {
            l.open = false;
        }
        self.ready.notify_all();
    }

    /// Gives a new stream a slot in `lane` (a free one if any) and fresh counters.
    pub fn attach_in(&self, name: &str, lane: usize) -> StreamSlot {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.lock();
        let index = match slots.owners.iter().position(|&o| o == 0) {
            Some(i) => i,
            None => {
                slots.owners.push(0);
                slots.frames.push(None);
                slots.stats.push(None);
                slots.seen.push(None);
                slots.lane.push(0);
                slots.owners.len() - 1
            }
        };
        slots.lane[index] = lane;
        let stats = Arc::new(StreamStats::new(id, name));
        slots.owners[index] = id;
        slots.frames[index] = None;
        slots.stats[index] = Some(stats.clone());
        slots.seen[index] = None;
        StreamSlot { index, stats }
    }

    /// Number of streams attached in `lane`.
    pub fn lane_streams(&self, lane: usize) -> usize {
        let slots = self.lock();
        let owned = slots.owners.iter().zip(&slots.lane);
        owned.filter(|&(&o, &l)| o != 0 && l == lane).count()
    }

    /// The lane of `slot`, while its stream owns it.
    pub fn lane_of(&self, slot: &StreamSlot) -> Option<usize> {
        let slots = self.lock();
        (slots.owners.get(slot.index) == Some(&slot.stats.id)).then(|| slots.lane[slot.index])
    }

    /// Counters of every attached stream, in slot order.
    pub fn streams(&self) -> Vec<Arc<StreamStats>> {
        self.lock().stats.iter().flatten().cloned().collect()
    }

    /// Frees a stream's slot; its pending frame is discarded and later offers are ignored.
    pub fn detach(&self, slot: &StreamSlot) {
        let mut slots = self.lock();
        if slots.owners.get(slot.index) == Some(&slot.stats.id) {
            slots.owners[slot.index] = 0;
            slots.frames[slot.index] = None;
            slots.stats[slot.index] = None;
            slots.seen[slot.index] = None;
        }
    }

    /// Number of slots in use.
    pub fn len(&self) -> usize {
        self.lock().owners.iter().filter(|&&o| o != 0).count()
    }

    /// True when no stream is attached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Offers a frame of `slot`'s stream. An unclaimed older frame is replaced (counted as
    /// dropped); a frame from a replaced pipeline generation, or for a slot the stream no
    /// longer owns, is discarded (counted as stale).
    pub fn offer(&self, slot: &StreamSlot, frame: Frame) {
        let stats = &slot.stats;
        if frame.generation != stats.generation.load(Ordering::Relaxed) {
            stats.dropped_restart.fetch_add(1, Ordering::Relaxed);
            return;
        }
        stats.sampled.fetch_add(1, Ordering::Relaxed);
        stats.touch();
        let mut slots = self.lock();
        if slots.owners.get(slot.index) != Some(&stats.id) {
            drop(slots);
            stats.dropped_restart.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let old = slots.frames[slot.index].replace(frame);
        drop(slots);
        if old.is_some() {
            stats.dropped_busy.fetch_add(1, Ordering::Relaxed);
        }
        drop(old);
        // Every lane's worker waits on the one condition variable; each checks its own.
        self.ready.notify_all();
    }

    /// True if `slot`'s stream has a frame that has waited at least `min` for the
    /// worker: the worker is behind, and a newer frame would only replace that one, so
    /// its pipeline may drop the newer one before converting it. (A frame offered just
    /// now is about to be taken.)
    pub fn waiting(&self, slot: &StreamSlot, min: Duration) -> bool {
        let slots = self.lock();
        slots.owners.get(slot.index) == Some(&slot.stats.id)
            && slots.frames[slot.index]
                .as_ref()
                .is_some_and(|f| f.arrived.elapsed() >= min)
    }

    /// Discards a pending frame of `slot` (its pipeline is going away).
    pub fn clear(&self, slot: &StreamSlot) {
        let mut slots = self.lock();
        if slots.owners.get(slot.index) == Some(&slot.stats.id)
            && slots.frames[slot.index].take().is_some()
        {
            slot.stats.dropped_restart.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// [`FrameHub::take_lane`] of lane 0.
    pub fn take(
        &self,
        out: &mut Vec<(usize, Frame)>,
        max: usize,
        cursor: &mut usize,
        timeout: Duration,
    ) -> bool {
        self.take_lane(0, out, max, cursor, timeout)
    }

    /// Waits up to `timeout` for frames of `lane`, then moves up to `max` of them into
    /// `out` as (slot index, frame), starting after slot `*cursor` (round robin).
    /// Returns false once the hub shut down or the lane closed.
    pub fn take_lane(
        &self,
        lane: usize,
        out: &mut Vec<(usize, Frame)>,
        max: usize,
        cursor: &mut usize,
        timeout: Duration,
    ) -> bool {
        let idle = |s: &mut Slots| {
            !s.shutdown
                && s.lanes.get(lane).is_some_and(|l| l.open)
                && !s
                    .frames
                    .iter()
                    .zip(&s.lane)
                    .any(|(f, &l)| l == lane && f.is_some())
        };
        let slots = self.lock();
        let (mut slots, _) = self
            .ready
            .wait_timeout_while(slots, timeout, idle)
            .unwrap_or_else(|p| p.into_inner());
        if slots.shutdown || !slots.lanes.get(lane).is_some_and(|l| l.open) {
            return false;
        }
        let n = slots.frames.len();
        let watched = self.watched();
        for k in 0..n {
            if out.len() >= max {
                break;
            }
            let i = (*cursor + 1 + k) % n;
            if slots.lane[i] != lane {
                continue;
            }
            if let Some(f) = slots.frames[i].take() {
                if watched {
                    slots.seen[i] = Some(SeenFrame {
                        sample: f.sample.clone(),
                        capture: f.capture,
                    });
                }
                out.push((i, f));
            }
        }
        if !watched && slots.seen.iter().any(Option::is_some) {
            slots.seen.iter_mut().for_each(|s| *s = None);
        }
        if let Some((last, _)) = out.last() {
            *cursor = *last;
        }
        true
    }

    /// True if any frame is waiting for inference.
    pub fn pending(&self) -> bool {
        self.lock().frames.iter().any(Option::is_some)
    }

    /// Records that lane 0's worker finished a batch.
    pub fn note_progress(&self) {
        self.note_lane_progress(0);
    }

    /// Records that `lane`'s worker finished a batch.
    pub fn note_lane_progress(&self, lane: usize) {
        self.progress.fetch_add(1, Ordering::Relaxed);
        let ms = self.epoch.elapsed().as_millis() as u64;
        if let Some(l) = self.lock().lanes.get_mut(lane) {
            l.progress_ms = ms;
        }
    }

    /// Number of batches finished so far.
    pub fn progress(&self) -> u64 {
        self.progress.load(Ordering::Relaxed)
    }

    /// How long the slowest open lane's worker has made no progress (since its lane
    /// opened, before its first batch): what the systemd watchdog and `/healthz` judge.
    pub fn progress_age(&self) -> Duration {
        let oldest = self
            .lock()
            .lanes
            .iter()
            .filter(|l| l.open)
            .map(|l| l.progress_ms)
            .min();
        let at = Duration::from_millis(oldest.unwrap_or(u64::MAX));
        self.epoch.elapsed().saturating_sub(at)
    }

    /// Snapshot tap: keeps the latest frame the worker takes of each stream for
    /// `period` from now (a status page viewer asked). Unwatched, the hub keeps
    /// none: one atomic load per batch.
    pub fn watch(&self, period: Duration) {
        let until = (self.epoch.elapsed() + period).as_millis() as u64;
        self.watched_until_ms.fetch_max(until, Ordering::Relaxed);
    }

    /// True while someone watches (see [`FrameHub::watch`]).
    fn watched(&self) -> bool {
        let until = self.watched_until_ms.load(Ordering::Relaxed);
        until != 0 && (self.epoch.elapsed().as_millis() as u64) < until
    }

    /// Snapshot tap: the latest frame the worker took of stream `name` while watched.
    pub fn seen(&self, name: &str) -> Option<SeenFrame> {
        let slots = self.lock();
        let i = slots
            .stats
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| s.name == name))?;
        slots.seen[i].clone()
    }

    /// Wakes the worker and makes `take` return false from now on.
    pub fn shutdown(&self) {
        let mut slots = self.lock();
        slots.shutdown = true;
        for f in slots.frames.iter_mut() {
            *f = None;
        }
        slots.seen.iter_mut().for_each(|s| *s = None);
        drop(slots);
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(slot: &StreamSlot, pts: u64) -> Frame {
        gstreamer::init().unwrap();
        let buffer = gstreamer::Buffer::with_size(3).unwrap();
        Frame {
            sample: gstreamer::Sample::builder().buffer(&buffer).build(),
            pts_ns: Some(pts),
            capture: SystemTime::now(),
            arrived: std::time::Instant::now(),
            generation: slot.stats.generation.load(Ordering::Relaxed),
            stream_id: slot.stats.id,
        }
    }

    #[test]
    fn lane_streams_counts_the_streams_attached_in_a_lane() {
        let hub = FrameHub::new();
        let one = hub.open_lane();
        let a = hub.attach_in("a", 0);
        hub.attach_in("b", one);
        hub.attach_in("c", one);
        assert_eq!((hub.lane_streams(0), hub.lane_streams(one)), (1, 2));
        hub.detach(&a);
        assert_eq!((hub.lane_streams(0), hub.lane_streams(one)), (0, 2));
    }

    #[test]
    fn attached_streams_are_listed_until_detached() {
        let hub = FrameHub::new();
        let a = hub.attach("a");
        let b = hub.attach("b");
        let names = |h: &FrameHub| {
            h.streams()
                .iter()
                .map(|s| s.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&hub), ["a", "b"]);
        hub.detach(&a);
        assert_eq!(names(&hub), ["b"]);
        let c = hub.attach("c");
        assert_eq!(c.index, a.index, "the freed slot is reused");
        assert_eq!(names(&hub), ["c", "b"]);
        drop(b);
    }

    #[test]
    fn newer_frame_replaces_and_counts_drop() {
        let hub = FrameHub::new();
        let s = hub.attach("s");
        let _other = hub.attach("s");
        hub.offer(&s, frame(&s, 1));
        hub.offer(&s, frame(&s, 2));
        assert_eq!(s.stats.sampled.load(Ordering::Relaxed), 2);
        assert_eq!(s.stats.dropped_busy.load(Ordering::Relaxed), 1);
        let mut out = Vec::new();
        let mut cursor = 0;
        assert!(hub.take(&mut out, 4, &mut cursor, Duration::from_millis(1)));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.pts_ns, Some(2), "the latest frame wins");
        assert!(!hub.pending());
    }

    #[test]
    fn waiting_says_whether_the_stream_has_an_unclaimed_frame() {
        let hub = FrameHub::new();
        let s = hub.attach("s");
        let t = hub.attach("t");
        let min = Duration::from_millis(30);
        assert!(!hub.waiting(&s, min));
        hub.offer(&s, frame(&s, 1));
        assert!(!hub.waiting(&s, min), "offered just now: about to be taken");
        std::thread::sleep(min);
        assert!(hub.waiting(&s, min), "the worker is behind");
        assert!(
            !hub.waiting(&t, Duration::ZERO),
            "only the stream's own slot counts"
        );
        let mut out = Vec::new();
        hub.take(&mut out, 4, &mut 0, Duration::ZERO);
        assert!(!hub.waiting(&s, Duration::ZERO), "taken by the worker");
        hub.offer(&s, frame(&s, 2));
        hub.detach(&s);
        assert!(
            !hub.waiting(&s, Duration::ZERO),
            "a detached stream owns no slot"
        );
    }

    #[test]
    fn take_is_round_robin_and_bounded() {
        let hub = FrameHub::new();
        let slots: Vec<_> = (0..3).map(|_| hub.attach("s")).collect();
        for (i, s) in slots.iter().enumerate() {
            hub.offer(s, frame(s, i as u64));
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
    fn frames_of_a_replaced_generation_are_stale() {
        let hub = FrameHub::new();
        let s = hub.attach("s");
        let old = frame(&s, 1);
        s.stats.generation.fetch_add(1, Ordering::Relaxed);
        hub.offer(&s, old);
        assert!(!hub.pending());
        assert_eq!(s.stats.dropped_restart.load(Ordering::Relaxed), 1);
        assert_eq!(s.stats.sampled.load(Ordering::Relaxed), 0);
        hub.offer(&s, frame(&s, 2));
        assert!(hub.pending());
    }

    #[test]
    fn a_detached_slot_is_reused_and_ignores_its_old_owner() {
        let hub = FrameHub::new();
        let a = hub.attach("s");
        let b = hub.attach("s");
        hub.offer(&a, frame(&a, 1));
        hub.detach(&a);
        assert!(!hub.pending(), "detach discards the pending frame");
        assert_eq!(hub.len(), 1);
        let c = hub.attach("s");
        assert_eq!(c.index, a.index, "the free slot is reused");
        assert_ne!(c.stats.id, a.stats.id);
        hub.offer(&a, frame(&a, 2));
        assert!(
            !hub.pending(),
            "the old owner cannot write into the reused slot"
        );
        assert_eq!(a.stats.dropped_restart.load(Ordering::Relaxed), 1);
        hub.offer(&c, frame(&c, 3));
        let mut out = Vec::new();
        hub.take(&mut out, 4, &mut 0, Duration::ZERO);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.stream_id, c.stats.id);
        let d = hub.attach("s");
        assert_eq!(d.index, 2, "a new slot only when none is free");
        drop(b);
    }

    #[test]
    fn frames_are_kept_for_snapshots_only_while_watched() {
        let hub = FrameHub::new();
        let s = hub.attach("s");
        let mut out = Vec::new();
        hub.offer(&s, frame(&s, 1));
        hub.take(&mut out, 4, &mut 0, Duration::ZERO);
        assert!(hub.seen("s").is_none(), "nobody watches: nothing kept");
        hub.watch(Duration::from_millis(80));
        hub.offer(&s, frame(&s, 2));
        hub.take(&mut out, 4, &mut 0, Duration::ZERO);
        assert!(hub.seen("s").is_some(), "watched: the taken frame is kept");
        assert!(hub.seen("other").is_none());
        std::thread::sleep(Duration::from_millis(100));
        hub.take(&mut out, 4, &mut 0, Duration::ZERO);
        assert!(hub.seen("s").is_none(), "no longer watched: released");
    }

    #[test]
    fn each_lane_takes_only_its_frames_and_a_closed_lane_stops() {
        let hub = FrameHub::new();
        let other = hub.open_lane();
        let a = hub.attach("a");
        let b = hub.attach_in("b", other);
        assert_eq!((hub.lane_of(&a), hub.lane_of(&b)), (Some(0), Some(other)));
        hub.offer(&a, frame(&a, 1));
        hub.offer(&b, frame(&b, 2));
        let mut out = Vec::new();
        assert!(hub.take_lane(other, &mut out, 4, &mut 0, Duration::ZERO));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.stream_id, b.stats.id, "only lane {other}'s frame");
        out.clear();
        hub.take(&mut out, 4, &mut 0, Duration::ZERO);
        assert_eq!(out[0].1.stream_id, a.stats.id);
        // A stalled lane makes the hub's progress old; a closed one no longer counts.
        std::thread::sleep(Duration::from_millis(30));
        hub.note_progress();
        assert!(
            hub.progress_age() >= Duration::from_millis(30),
            "lane {other} is stuck"
        );
        hub.close_lane(other);
        assert!(hub.progress_age() < Duration::from_millis(30));
        assert!(!hub.take_lane(other, &mut out, 4, &mut 0, Duration::from_secs(5)));
        assert!(
            hub.take(&mut out, 4, &mut 0, Duration::ZERO),
            "lane 0 goes on"
        );
    }

    #[test]
    fn shutdown_wakes_and_stops() {
        let hub = FrameHub::new();
        hub.attach("s");
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
