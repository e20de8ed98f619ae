//! What the worker keeps per stream for clip and stateful models: the ring of the
//! last T preprocessed frames, the state tensors fed back from call to call, and
//! the continuity check that resets both when the stream restarts or its
//! timestamps jump.

use crate::model::{Classifier, ModelKind};

/// A gap of more than this many sampling intervals resets a stream's model state.
pub(super) const GAP_INTERVALS: u64 = 4;

/// The model's kind as the batch path needs it.
#[derive(Debug, Clone)]
pub(super) struct TemporalSpec {
    /// Frame, clip or stateful.
    pub kind: ModelKind,
    /// Frames per clip (T; 1 for other kinds).
    pub frames: usize,
    /// Clip models: every k-th sampled frame enters the ring.
    pub frame_stride: usize,
    /// Clip models: a run every this many sampled frames (the smoothing stride).
    pub run_every: usize,
    /// Values per preprocessed frame.
    pub frame_len: usize,
    /// Values per item of each state pair.
    pub state_lens: Vec<usize>,
}

impl TemporalSpec {
    /// A frame model's spec (nothing temporal).
    pub fn frame() -> Self {
        TemporalSpec {
            kind: ModelKind::Frame,
            frames: 1,
            frame_stride: 1,
            run_every: 1,
            frame_len: 0,
            state_lens: Vec::new(),
        }
    }

    /// A clip spec of `frames` one-value frames, running every `run_every` (for tests).
    #[cfg(test)]
    pub fn test_clip(frames: usize, run_every: usize) -> Self {
        TemporalSpec {
            kind: ModelKind::Clip,
            frames,
            frame_stride: 1,
            run_every,
            frame_len: 1,
            state_lens: Vec::new(),
        }
    }

    /// The spec of a loaded classifier; clip models run every `stride` sampled frames.
    pub fn of(c: &Classifier, stride: usize) -> Self {
        TemporalSpec {
            kind: c.manifest.kind(),
            frames: c.manifest.frames(),
            frame_stride: c.manifest.frame_stride(),
            run_every: stride.max(1),
            frame_len: c.frame_len(),
            state_lens: c.state_lens().collect(),
        }
    }
}

/// The last T preprocessed frames of a stream; each written once, in place.
pub(super) struct FrameRing {
    buf: Vec<f32>,
    frame_len: usize,
    frames: usize,
    next: usize,
    filled: usize,
}

impl FrameRing {
    /// An empty ring of `frames` frames of `frame_len` values (allocated now, once).
    pub fn new(frames: usize, frame_len: usize) -> Self {
        FrameRing {
            buf: vec![0.0; frames * frame_len],
            frame_len,
            frames,
            next: 0,
            filled: 0,
        }
    }

    /// The slot the next frame is preprocessed into; [`FrameRing::commit`] keeps it.
    pub fn slot_mut(&mut self) -> &mut [f32] {
        &mut self.buf[self.next * self.frame_len..(self.next + 1) * self.frame_len]
    }

    /// Keeps the frame written into [`FrameRing::slot_mut`] as the newest.
    pub fn commit(&mut self) {
        self.next = (self.next + 1) % self.frames;
        self.filled = (self.filled + 1).min(self.frames);
    }

    /// Whether T frames are there.
    pub fn is_full(&self) -> bool {
        self.filled == self.frames
    }

    /// Forgets every frame.
    pub fn clear(&mut self) {
        self.next = 0;
        self.filled = 0;
    }

    /// The frames held, oldest first.
    pub fn oldest_first(&self) -> impl Iterator<Item = &[f32]> {
        let start = if self.is_full() { self.next } else { 0 };
        (0..self.filled).map(move |k| {
            let i = (start + k) % self.frames;
            &self.buf[i * self.frame_len..(i + 1) * self.frame_len]
        })
    }
}

/// Why a stream's model state was reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResetReason {
    /// A new pipeline (restart, reconnect, reload).
    Restarted,
    /// The timestamps went backwards (a file looped, a camera reset its clock).
    Backwards {
        /// Previous timestamp.
        from_ns: u64,
        /// This frame's timestamp.
        to_ns: u64,
    },
    /// The timestamps jumped forward by more than [`GAP_INTERVALS`] sampling intervals.
    Gap {
        /// The jump.
        gap_ns: u64,
        /// The usual interval.
        interval_ns: u64,
    },
}

impl std::fmt::Display for ResetReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |ns: u64| ns as f64 / 1e9;
        match *self {
            ResetReason::Restarted => write!(f, "the stream restarted"),
            ResetReason::Backwards { from_ns, to_ns } => write!(
                f,
                "timestamps went back from {:.3} s to {:.3} s",
                s(from_ns),
                s(to_ns)
            ),
            ResetReason::Gap {
                gap_ns,
                interval_ns,
            } => write!(
                f,
                "timestamps jumped {:.3} s (sampling interval {:.3} s)",
                s(gap_ns),
                s(interval_ns)
            ),
        }
    }
}

/// Follows a stream's pipeline generation and timestamps; says when they break.
#[derive(Debug, Default)]
pub(super) struct Continuity {
    generation: u64,
    last_pts: Option<u64>,
    interval_ns: Option<u64>,
}

impl Continuity {
    /// Notes a frame; returns why the model state must be reset before it, if it must.
    pub fn observe(&mut self, generation: u64, pts_ns: Option<u64>) -> Option<ResetReason> {
        if generation != self.generation {
            let first = self.generation == 0;
            *self = Continuity {
                generation,
                last_pts: pts_ns,
                interval_ns: None,
            };
            return (!first).then_some(ResetReason::Restarted);
        }
        let (Some(last), Some(pts)) = (self.last_pts, pts_ns) else {
            self.last_pts = pts_ns.or(self.last_pts);
            return None;
        };
        self.last_pts = Some(pts);
        if pts < last {
            return Some(ResetReason::Backwards {
                from_ns: last,
                to_ns: pts,
            });
        }
        let gap = pts - last;
        match self.interval_ns {
            Some(iv) if gap > GAP_INTERVALS * iv => Some(ResetReason::Gap {
                gap_ns: gap,
                interval_ns: iv,
            }),
            Some(iv) => {
                self.interval_ns = Some((3 * iv + gap) / 4);
                None
            }
            None => {
                self.interval_ns = (gap > 0).then_some(gap);
                None
            }
        }
    }
}

/// One stream's temporal state: ring (clip models), state tensors (stateful models).
pub(super) struct TemporalCtx {
    /// The last T preprocessed frames (clip models).
    pub ring: Option<FrameRing>,
    /// The state each pair feeds into the next call (stateful models).
    pub states: Vec<Vec<f32>>,
    /// Generation and timestamp follower.
    pub continuity: Continuity,
    /// Sampled frames since the last reset (for `frame_stride`).
    pub sampled: u64,
    /// Sampled frames since the last clip run.
    pub since_run: usize,
    /// A reset not yet announced in a status message.
    pub notice: Option<ResetReason>,
}

impl TemporalCtx {
    /// Allocates the stream's ring and states (zeros) for `spec`.
    pub fn new(spec: &TemporalSpec) -> Self {
        TemporalCtx {
            ring: (spec.kind == ModelKind::Clip)
                .then(|| FrameRing::new(spec.frames, spec.frame_len)),
            states: spec.state_lens.iter().map(|&n| vec![0.0; n]).collect(),
            continuity: Continuity::default(),
            sampled: 0,
            since_run: 0,
            notice: None,
        }
    }

    /// Empties the ring and zeroes the states (no allocation).
    pub fn reset(&mut self) {
        if let Some(r) = &mut self.ring {
            r.clear();
        }
        for s in &mut self.states {
            s.fill(0.0);
        }
        self.sampled = 0;
        self.since_run = 0;
    }

    /// Clip models: counts a sampled frame; whether it enters the ring (every `frame_stride`-th).
    pub fn take_for_ring(&mut self, spec: &TemporalSpec) -> bool {
        self.sampled += 1;
        self.since_run += 1;
        (self.sampled - 1).is_multiple_of(spec.frame_stride as u64)
    }

    /// Clip models: whether the clip runs now (T frames there and `run_every` frames since the last run).
    pub fn clip_due(&mut self, spec: &TemporalSpec) -> bool {
        let full = self.ring.as_ref().is_some_and(FrameRing::is_full);
        if full && self.since_run >= spec.run_every {
            self.since_run = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_gives_the_last_t_frames_oldest_first() {
        let mut r = FrameRing::new(3, 2);
        for v in 1..=5 {
            r.slot_mut().fill(v as f32);
            r.commit();
            let firsts: Vec<f32> = r.oldest_first().map(|f| f[0]).collect();
            let lo = (v - 2).max(1);
            let want: Vec<f32> = (lo..=v).map(|x| x as f32).collect();
            assert_eq!(firsts, want, "after {v}");
            assert_eq!(r.is_full(), v >= 3);
        }
        r.clear();
        assert_eq!(r.oldest_first().count(), 0);
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn continuity_resets_on_restart_backwards_and_gaps() {
        let mut c = Continuity::default();
        assert_eq!(c.observe(1, Some(0)), None, "first frame");
        assert_eq!(c.observe(1, Some(100 * MS)), None);
        assert_eq!(c.observe(1, Some(200 * MS)), None);
        assert_eq!(c.observe(1, Some(600 * MS)), None, "4 intervals is fine");
        assert_eq!(
            c.observe(1, Some(50 * MS)),
            Some(ResetReason::Backwards {
                from_ns: 600 * MS,
                to_ns: 50 * MS
            })
        );
        let interval = 175 * MS; // (3·100 + 400) / 4
        assert_eq!(
            c.observe(1, Some(50 * MS + 4 * interval + 1)),
            Some(ResetReason::Gap {
                gap_ns: 4 * interval + 1,
                interval_ns: interval
            })
        );
        assert_eq!(c.observe(2, Some(0)), Some(ResetReason::Restarted));
        assert_eq!(c.observe(2, None), None, "no timestamp: nothing to judge");
        assert_eq!(c.observe(2, Some(10 * MS)), None);
    }

    #[test]
    fn clip_runs_once_full_then_every_stride() {
        let spec = TemporalSpec::test_clip(3, 2);
        let mut t = TemporalCtx::new(&spec);
        let mut runs = Vec::new();
        for n in 1..=9 {
            assert!(t.take_for_ring(&spec));
            let ring = t.ring.as_mut().unwrap();
            ring.slot_mut()[0] = n as f32;
            ring.commit();
            if t.clip_due(&spec) {
                runs.push(n);
            }
        }
        assert_eq!(runs, [3, 5, 7, 9]);
        let spec2 = TemporalSpec {
            frame_stride: 2,
            ..spec
        };
        let taken: Vec<bool> = (0..5).map(|_| t.take_for_ring(&spec2)).collect();
        assert_eq!(
            taken,
            [false, true, false, true, false],
            "sampled continues at 10"
        );
        t.reset();
        assert!(
            t.take_for_ring(&spec2),
            "the first frame after a reset is taken"
        );
    }
}
