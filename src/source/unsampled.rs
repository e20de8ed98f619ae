//! Which encoded non-reference pictures the sampler is certain to drop, so that they
//! need not be decoded: a mirror of `videorate drop-only=true skip-to-first=true`.
//!
//! `videorate` in drop-only mode passes a frame at `pts` when `pts >= next`, and then
//! sets `next = base + k·period` for the k-th frame passed (`base`: the first frame's
//! PTS after a start or flush). Frames it drops change nothing, so a frame it would
//! drop may be removed before decoding without changing which frames it passes. While
//! consecutive frames are less than a period apart, `next` after a frame at `t` is the
//! first grid point above `t`; so a frame at `t` is dropped when no grid point lies in
//! `(t_prev, t]`, `t_prev` being the frame just before it in presentation order, which
//! is at least any earlier frame already seen. The decoder side ([`Mirror::keep`])
//! decides with what it has seen; the sampler side ([`Mirror::sampled`]) follows
//! `videorate`'s own state exactly, so the decision starts from a known `next`.

use std::collections::VecDeque;

/// How many presentation timestamps the decoder side remembers.
const SEEN: usize = 64;

/// One stream's mirror of its sampler, shared by a probe before the decoder and one
/// on the sampler's input.
#[derive(Debug)]
pub struct Mirror {
    /// The sampler's period as a fraction of a second: `den / num` (its rate is num/den).
    rate: (u64, u64),
    /// The grid's origin: the first frame's PTS after a start or flush (None: not yet known).
    base: Option<u64>,
    /// Whether the next frame at the sampler sets `base` (after a start or a flush).
    awaiting_base: bool,
    /// Frames the sampler has passed since `base`.
    passed: u64,
    /// The last PTS the sampler saw, and whether `next` was above it then.
    last: Option<(u64, bool)>,
    /// False after an event whose effect on the grid is not mirrored (until a flush).
    clean: bool,
    /// Presentation timestamps seen before the decoder since the last flush, ascending.
    seen: VecDeque<u64>,
    /// Frames left undecoded (for tests and logs).
    pub skipped: u64,
}

impl Mirror {
    /// A mirror of a sampler at `num/den` frames per second, as at a pipeline's start.
    pub fn new(num: u64, den: u64) -> Self {
        Mirror {
            rate: (num.max(1), den.max(1)),
            base: None,
            awaiting_base: true,
            passed: 0,
            last: None,
            clean: true,
            seen: VecDeque::with_capacity(SEEN),
            skipped: 0,
        }
    }

    /// The sampler's period in nanoseconds (rounded down, as `videorate` does).
    fn period(&self) -> u64 {
        grid_offset(1, self.rate)
    }

    /// The `k`-th grid point.
    fn grid(&self, base: u64, k: u64) -> u64 {
        base.saturating_add(grid_offset(k, self.rate))
    }

    /// Whether some grid point lies in `(after, upto]`.
    fn grid_point_in(&self, base: u64, after: u64, upto: u64) -> bool {
        if upto < base {
            return false;
        }
        if after < base {
            return true;
        }
        // The first k whose grid point is above `after`, then check it is within `upto`.
        let (num, den) = self.rate;
        let k =
            (u128::from(after - base) * u128::from(num) / (u128::from(den) * 1_000_000_000)) as u64;
        (k..k + 3)
            .map(|k| self.grid(base, k))
            .find(|&g| g > after)
            .is_some_and(|g| g <= upto)
    }

    /// Sampler side: a frame at `pts` reaches the sampler (mirrors its decision).
    pub fn sampled(&mut self, pts: u64) {
        if self.awaiting_base {
            self.awaiting_base = false;
            self.base = Some(pts);
            self.passed = 0;
        }
        let Some(base) = self.base else {
            return;
        };
        if pts >= self.grid(base, self.passed) {
            self.passed += 1;
        }
        let ahead = self.grid(base, self.passed) > pts;
        self.last = Some((pts, ahead));
    }

    /// Sampler side: a flush reached the sampler (it starts a new grid at its next frame).
    pub fn sampler_flushed(&mut self) {
        self.awaiting_base = true;
        self.base = None;
        self.last = None;
        self.clean = true;
    }

    /// Sampler side: a new segment or new caps after frames: the grid may move in ways
    /// not mirrored, so nothing is skipped until the next flush.
    pub fn sampler_changed(&mut self) {
        if self.last.is_some() {
            self.clean = false;
        }
    }

    /// Decoder side: a flush reached the decoder; the grid is unknown until the sampler's.
    pub fn decoder_flushed(&mut self) {
        self.seen.clear();
        self.base = None;
        self.awaiting_base = false;
        self.last = None;
    }

    /// Decoder side: an encoded frame at `pts`, `droppable` if no picture refers to it.
    /// True to decode it; false when the sampler is certain to drop it.
    pub fn keep(&mut self, pts: u64, droppable: bool) -> bool {
        self.remember(pts);
        if !droppable || !self.clean {
            return true;
        }
        let (Some(base), Some((at, ahead))) = (self.base, self.last) else {
            return true;
        };
        // From the sampler's last frame (where `next` is known to be above it) to `pts`,
        // the frames seen must leave no gap of a period: then no frame before `pts`
        // moves `next` past a grid point it has not reached.
        if !ahead || at >= pts || !self.seen.contains(&at) {
            return true;
        }
        let period = self.period();
        let mut prev = at;
        for &t in self.seen.iter().filter(|&&t| t > at && t < pts) {
            if t - prev >= period {
                return true;
            }
            prev = t;
        }
        if pts - prev >= period || self.grid_point_in(base, prev, pts) {
            return true;
        }
        self.skipped += 1;
        false
    }

    /// Adds `pts` to the timestamps seen, keeping them ascending and bounded.
    fn remember(&mut self, pts: u64) {
        let at = self.seen.partition_point(|&t| t < pts);
        if self.seen.get(at) == Some(&pts) {
            return;
        }
        self.seen.insert(at, pts);
        if self.seen.len() > SEEN {
            self.seen.pop_front();
        }
    }
}

/// `k` periods of a `num/den` fps rate in nanoseconds, rounded down like GStreamer's
/// `gst_util_uint64_scale`.
fn grid_offset(k: u64, (num, den): (u64, u64)) -> u64 {
    (u128::from(k) * u128::from(den) * 1_000_000_000 / u128::from(num)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// `videorate drop-only skip-to-first` itself: the PTS it passes, in order.
    fn videorate(frames: &[u64], num: u64, den: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let mut base = None;
        let mut count = 0;
        for &t in frames {
            let b = *base.get_or_insert(t);
            if t >= b + grid_offset(count, (num, den)) {
                count += 1;
                out.push(t);
            }
        }
        out
    }

    /// Runs `decode_order` (pts, droppable) through a mirror, the decoder `lag` frames
    /// behind its input and passing frames on in presentation order (a frame leaves once
    /// every frame before it has been decoded or skipped). Returns what the sampler
    /// passes and how many frames were skipped.
    fn run(decode_order: &[(u64, bool)], num: u64, den: u64, lag: usize) -> (Vec<u64>, u64) {
        let order = presentation(decode_order);
        let mut done = vec![false; order.len()];
        let mut kept = vec![false; order.len()];
        let mut out_at = 0;
        let mut m = Mirror::new(num, den);
        let mut reached = Vec::new();
        let n = decode_order.len();
        for i in 0..n + lag {
            if let Some(&(pts, droppable)) = decode_order.get(i) {
                let at = order.binary_search(&pts).unwrap();
                kept[at] = m.keep(pts, droppable);
            }
            if let Some(&(pts, _)) = i.checked_sub(lag).and_then(|j| decode_order.get(j)) {
                done[order.binary_search(&pts).unwrap()] = true;
            }
            while out_at < order.len() && done[out_at] {
                if kept[out_at] {
                    m.sampled(order[out_at]);
                    reached.push(order[out_at]);
                }
                out_at += 1;
            }
        }
        assert_eq!(out_at, order.len());
        (videorate(&reached, num, den), m.skipped)
    }

    /// 30 fps in decode order with `b` non-reference B-frames between references.
    fn ibbp(frames: u64, b: u64) -> Vec<(u64, bool)> {
        let d = 1_000_000_000 / 30;
        let mut out = vec![(0, false)];
        let mut next = 1;
        while next < frames {
            let anchor = (next + b).min(frames - 1);
            out.push((anchor * d, false));
            for k in next..anchor {
                out.push((k * d, true));
            }
            next = anchor + 1;
        }
        out
    }

    fn presentation(frames: &[(u64, bool)]) -> Vec<u64> {
        let mut p: Vec<u64> = frames.iter().map(|f| f.0).collect();
        p.sort_unstable();
        p
    }

    #[test]
    fn skipping_keeps_exactly_the_frames_the_sampler_passes() {
        for (num, den) in [(5, 1), (1, 1), (10, 1), (5, 2), (3, 1), (7, 1), (15, 1)] {
            for b in [1, 2, 3, 7] {
                for lag in [0, 1, 3, 8] {
                    let frames = ibbp(300, b);
                    let want = videorate(&presentation(&frames), num, den);
                    let (got, skipped) = run(&frames, num, den, lag);
                    assert_eq!(got, want, "{num}/{den} fps, {b} B-frames, lag {lag}");
                    if lag <= 3 && num < 30 {
                        assert!(
                            skipped > 0,
                            "{num}/{den} fps, {b} B, lag {lag}: none skipped"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn gaps_and_irregular_timestamps_never_change_the_sampled_frames() {
        // Missing frames (a camera's hiccup), a gap longer than the period, jitter.
        let mut frames = ibbp(200, 3);
        frames.retain(|f| !(40..55).contains(&(f.0 / (1_000_000_000 / 30))));
        frames.retain(|f| !(100..110).contains(&(f.0 / (1_000_000_000 / 30))));
        for (i, f) in frames.iter_mut().enumerate() {
            f.0 += (i as u64 * 7919 % 11) * MS;
        }
        for lag in [0, 2, 5] {
            let want = videorate(&presentation(&frames), 5, 1);
            assert_eq!(run(&frames, 5, 1, lag).0, want, "lag {lag}");
        }
    }

    #[test]
    fn a_frame_near_a_grid_point_is_kept_and_nothing_is_skipped_before_the_grid_is_known() {
        let mut m = Mirror::new(5, 1);
        // No frame has reached the sampler: the grid is unknown.
        assert!(m.keep(0, false));
        assert!(m.keep(33 * MS, true));
        m.sampled(0);
        assert!(m.keep(100 * MS, false));
        assert!(!m.keep(66 * MS, true), "no grid point in (33, 66]");
        assert!(m.keep(200 * MS, false));
        assert!(!m.keep(166 * MS, true), "no grid point in (100, 166]");
        assert!(
            !m.keep(233 * MS, true),
            "200 passed at its grid point; next is 400"
        );
        assert!(m.keep(400 * MS, true), "on a grid point");
        assert!(m.keep(700 * MS, true), "a gap of a period before it: kept");
        assert!(m.keep(466 * MS, false), "references always decode");
        assert_eq!(m.skipped, 3);
    }

    #[test]
    fn flushes_and_unmirrored_changes_stop_skipping_until_the_grid_is_known_again() {
        let mut m = Mirror::new(5, 1);
        m.sampled(0);
        m.keep(0, false);
        m.keep(100 * MS, false);
        assert!(!m.keep(66 * MS, true));
        m.decoder_flushed();
        m.keep(0, false);
        assert!(m.keep(100 * MS, false));
        assert!(m.keep(66 * MS, true), "flushed: no grid yet");
        m.sampler_flushed();
        m.sampled(0);
        assert!(!m.keep(33 * MS, true));
        m.sampler_changed();
        assert!(m.keep(34 * MS, true), "a new segment mid-stream");
        m.sampler_flushed();
        m.sampled(0);
        assert!(!m.keep(35 * MS, true));
    }
}
