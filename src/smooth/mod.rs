//! Per-stream clip aggregation and label-change events.
//!
//! A [`Smoother`] takes one frame's class probabilities at a time (already
//! softmaxed, see [`softmax_in_place`]) and every so often emits a [`Clip`]:
//!
//! * [`Method::Mean`]: the clip probabilities are the arithmetic mean of the
//!   last `window` frames' probabilities. The first clip comes once `window`
//!   frames have arrived (frame `window`), then one every `stride` frames
//!   (frames `window + stride`, `window + 2·stride`, …).
//! * [`Method::Ema`]: `p ← α·x + (1−α)·p` with `α = 2/(window+1)`, starting
//!   from `p = x` on the first frame; a clip is emitted after every `stride`-th
//!   frame (frames `stride`, `2·stride`, …).
//!
//! For both methods a clip spans the last `window` frames (fewer right after a
//! start or [`Smoother::reset`]): its `start` and `end` are the oldest and the
//! newest of them, `frames` is how many there are.
//!
//! Label changes use hysteresis. The confirmed label starts as `None`. For each
//! clip with top-1 label `L` and score `s`: if `L` is the confirmed label the
//! streak is reset; otherwise if `s ≥ threshold`, `L` extends the streak when it
//! is the streak's candidate or starts a new streak of 1 when it is not, and
//! once the streak reaches `confirm` clips the clip carries a [`LabelChange`]
//! from the confirmed label to `L`, `L` becomes the confirmed label and the
//! streak is reset; otherwise (`s < threshold`) the streak is reset. So an
//! event needs `confirm` consecutive clips whose top-1 is the same new label
//! with a score of at least `threshold`; the very first confirmed label is an
//! event with `from: None`.
//!
//! After construction nothing on [`Smoother::push`] allocates except the
//! `top` list of an emitted clip.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::time::SystemTime;

/// Turns logits into probabilities in place: `exp(x − max) / Σ exp(x − max)`, in f32.
///
/// Subtracting the maximum keeps it stable for large logits. Edge cases: an
/// empty slice is left alone; if any entry is NaN all entries become NaN; if
/// all entries are −∞ the result is uniform; if some entries are +∞ they
/// share the probability equally and the rest get 0.
pub fn softmax_in_place(x: &mut [f32]) {
    if x.is_empty() {
        return;
    }
    if x.iter().any(|v| v.is_nan()) {
        x.fill(f32::NAN);
        return;
    }
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        let p = 1.0 / x.len() as f32;
        x.fill(p);
        return;
    }
    if max == f32::INFINITY {
        let n = x.iter().filter(|&&v| v == f32::INFINITY).count() as f32;
        for v in x.iter_mut() {
            *v = if *v == f32::INFINITY { 1.0 / n } else { 0.0 };
        }
        return;
    }
    let mut sum = 0.0f32;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    // sum ≥ 1: the maximum contributes exp(0).
    let inv = 1.0 / sum;
    for v in x.iter_mut() {
        *v *= inv;
    }
}

/// How frame probabilities are aggregated into clip probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Arithmetic mean over the last `window` frames; first clip at frame `window`, then every `stride`.
    Mean,
    /// Exponential moving average with `α = 2/(window+1)`; a clip every `stride` frames.
    Ema,
}

/// Smoothing parameters, as in the `[smoothing]` config section.
#[derive(Debug, Clone, PartialEq)]
pub struct SmootherSettings {
    /// Aggregation method.
    pub method: Method,
    /// Frames per clip (mean) or EMA span (`α = 2/(window+1)`); 0 is treated as 1.
    pub window: usize,
    /// A clip every `stride` frames; 0 is treated as 1.
    pub stride: usize,
    /// Minimum top-1 score for a clip to count towards a label change.
    pub threshold: f32,
    /// Consecutive qualifying clips needed for a label change; 0 behaves like 1.
    pub confirm: usize,
    /// How many labels a clip's `top` list holds (at most the number of classes).
    pub top_k: usize,
}

impl Default for SmootherSettings {
    /// The config defaults: mean, window 16, stride 8, threshold 0.5, confirm 2, top_k 5.
    fn default() -> Self {
        Self {
            method: Method::Mean,
            window: 16,
            stride: 8,
            threshold: 0.5,
            confirm: 2,
            top_k: 5,
        }
    }
}

/// Timestamps of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTimes {
    /// The buffer's presentation timestamp in nanoseconds, if it had one.
    pub pts_ns: Option<u64>,
    /// Wall-clock time the frame was captured (or arrived).
    pub capture: SystemTime,
}

/// One smoothed prediction, emitted every `stride` frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// Per-stream sequence number: 1, 2, 3, … (not reset by [`Smoother::reset`]).
    pub seq: u64,
    /// Top-1 label index of the clip probabilities (lowest index on ties).
    pub label: usize,
    /// Clip probability of `label`.
    pub score: f32,
    /// `min(top_k, classes)` `(label, score)` pairs by descending score, ties by lower index.
    pub top: Vec<(usize, f32)>,
    /// Number of frames the clip spans (at most `window`).
    pub frames: usize,
    /// Timestamps of the oldest frame in the span.
    pub start: FrameTimes,
    /// Timestamps of the newest frame in the span (the frame that triggered the clip).
    pub end: FrameTimes,
    /// The label-change event this clip confirmed, if any.
    pub change: Option<LabelChange>,
}

/// A confirmed change of a stream's label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelChange {
    /// The previously confirmed label; `None` for the stream's first confirmed label.
    pub from: Option<usize>,
    /// The newly confirmed label.
    pub to: usize,
    /// Top-1 score of the clip that confirmed the change.
    pub score: f32,
}

/// Per-stream clip aggregation and label-change hysteresis.
#[derive(Debug, Clone)]
pub struct Smoother {
    /// Effective settings (`window`, `stride` at least 1).
    settings: SmootherSettings,
    /// Number of classes per frame.
    classes: usize,
    /// EMA weight of the newest frame.
    alpha: f32,
    /// Mean only: `window × classes` ring of frame probabilities.
    ring: Vec<f32>,
    /// Mean only: ring slot the next frame is written to.
    head: usize,
    /// EMA only: the running average.
    ema: Vec<f32>,
    /// Timestamps of the last `window` frames, oldest first.
    times: VecDeque<FrameTimes>,
    /// Frames since construction or the last reset.
    frames: u64,
    /// Clip probabilities of the last emitted clip.
    probs: Vec<f32>,
    /// Scratch for ranking labels.
    order: Vec<usize>,
    /// Sequence number of the last emitted clip.
    seq: u64,
    /// Confirmed label.
    confirmed: Option<usize>,
    /// Label the current streak is for.
    candidate: Option<usize>,
    /// Length of the current streak.
    streak: usize,
}

impl Smoother {
    /// Creates a smoother for `classes` labels, preallocating all buffers; panics if `classes` is 0.
    pub fn new(settings: SmootherSettings, classes: usize) -> Self {
        assert!(classes > 0, "a smoother needs at least one class");
        let settings = SmootherSettings {
            window: settings.window.max(1),
            stride: settings.stride.max(1),
            ..settings
        };
        let window = settings.window;
        let (ring, ema) = match settings.method {
            Method::Mean => (vec![0.0; window * classes], Vec::new()),
            Method::Ema => (Vec::new(), vec![0.0; classes]),
        };
        Self {
            alpha: (2.0 / (window as f64 + 1.0)) as f32,
            ring,
            head: 0,
            ema,
            times: VecDeque::with_capacity(window),
            frames: 0,
            probs: vec![0.0; classes],
            order: Vec::with_capacity(classes),
            seq: 0,
            confirmed: None,
            candidate: None,
            streak: 0,
            settings,
            classes,
        }
    }

    /// Feeds one frame's class probabilities (`len == classes`); returns a clip when one is due.
    ///
    /// A wrong length is a bug (debug builds panic); release builds ignore extra
    /// entries and count missing classes as probability 0.
    pub fn push(&mut self, probs: &[f32], times: FrameTimes) -> Option<Clip> {
        debug_assert_eq!(probs.len(), self.classes, "frame probabilities length");
        let n = probs.len().min(self.classes);
        let (probs, missing) = (&probs[..n], self.classes - n);

        if self.times.len() == self.settings.window {
            self.times.pop_front();
        }
        self.times.push_back(times);
        self.frames += 1;

        let window = self.settings.window as u64;
        let stride = self.settings.stride as u64;
        let due = match self.settings.method {
            Method::Mean => {
                let start = self.head * self.classes;
                let slot = &mut self.ring[start..start + self.classes];
                slot[..n].copy_from_slice(probs);
                slot[n..].fill(0.0);
                self.head = (self.head + 1) % self.settings.window;
                let due = self.frames >= window && (self.frames - window).is_multiple_of(stride);
                if due {
                    self.mean_into_probs();
                }
                due
            }
            Method::Ema => {
                if self.frames == 1 {
                    self.ema[..n].copy_from_slice(probs);
                } else {
                    let (a, b) = (self.alpha, 1.0 - self.alpha);
                    for (p, &x) in self.ema.iter_mut().zip(probs) {
                        *p = a * x + b * *p;
                    }
                }
                if missing > 0 {
                    // Absent classes count as probability 0.
                    let b = if self.frames == 1 {
                        0.0
                    } else {
                        1.0 - self.alpha
                    };
                    for p in &mut self.ema[n..] {
                        *p *= b;
                    }
                }
                let due = self.frames.is_multiple_of(stride);
                if due {
                    self.probs.copy_from_slice(&self.ema);
                }
                due
            }
        };
        if due {
            Some(self.emit())
        } else {
            None
        }
    }

    /// Clip probabilities of the last emitted clip (all zeros before the first clip).
    pub fn probabilities(&self) -> &[f32] {
        &self.probs
    }

    /// Stream restarted: forgets frames, timestamps, EMA state and the streak; keeps `seq` and the confirmed label.
    pub fn reset(&mut self) {
        self.head = 0;
        self.times.clear();
        self.frames = 0;
        self.reset_streak();
    }

    /// The currently confirmed label (`None` until the first label-change event).
    pub fn confirmed(&self) -> Option<usize> {
        self.confirmed
    }

    /// The effective settings (`window` and `stride` raised to at least 1).
    pub fn settings(&self) -> &SmootherSettings {
        &self.settings
    }

    /// Number of classes per frame.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Mean of the full ring into `probs`, accumulated per class in f64.
    fn mean_into_probs(&mut self) {
        let (classes, window) = (self.classes, self.settings.window);
        for (c, out) in self.probs.iter_mut().enumerate() {
            let sum: f64 = self
                .ring
                .iter()
                .skip(c)
                .step_by(classes)
                .map(|&p| f64::from(p))
                .sum();
            *out = (sum / window as f64) as f32;
        }
    }

    /// Builds the clip for the current `probs` and runs the hysteresis.
    fn emit(&mut self) -> Clip {
        self.seq += 1;
        let probs = &self.probs;
        let cmp = |a: &usize, b: &usize| rank(probs, *a, *b);
        let label = (0..self.classes).min_by(cmp).expect("at least one class");
        let score = probs[label];

        let top = top_k_with(probs, self.settings.top_k, &mut self.order);

        let change = self.hysteresis(label, score);
        Clip {
            seq: self.seq,
            label,
            score,
            top,
            frames: self.times.len(),
            start: *self.times.front().expect("a clip has frames"),
            end: *self.times.back().expect("a clip has frames"),
            change,
        }
    }

    /// Applies one clip's top-1 to the label-change state machine.
    fn hysteresis(&mut self, label: usize, score: f32) -> Option<LabelChange> {
        if self.confirmed == Some(label) {
            self.reset_streak();
            return None;
        }
        if score >= self.settings.threshold {
            if self.candidate == Some(label) {
                self.streak += 1;
            } else {
                self.candidate = Some(label);
                self.streak = 1;
            }
            if self.streak >= self.settings.confirm {
                let from = self.confirmed.replace(label);
                self.reset_streak();
                return Some(LabelChange {
                    from,
                    to: label,
                    score,
                });
            }
            None
        } else {
            // Below threshold (or NaN).
            self.reset_streak();
            None
        }
    }

    /// Forgets the current streak.
    fn reset_streak(&mut self) {
        self.candidate = None;
        self.streak = 0;
    }
}

/// Ranking of labels `a` and `b`: higher probability first (NaN last), then lower index.
/// The `k` best classes as `(index, score)`, by descending score, ties by lower index, NaN last.
pub fn top_k(probs: &[f32], k: usize) -> Vec<(usize, f32)> {
    top_k_with(probs, k, &mut Vec::with_capacity(probs.len()))
}

/// [`top_k`] with a caller-kept index buffer (no allocation but the result).
fn top_k_with(probs: &[f32], k: usize, order: &mut Vec<usize>) -> Vec<(usize, f32)> {
    let k = k.min(probs.len());
    if k == 0 {
        return Vec::new();
    }
    let cmp = |a: &usize, b: &usize| rank(probs, *a, *b);
    order.clear();
    order.extend(0..probs.len());
    if k < probs.len() {
        order.select_nth_unstable_by(k - 1, cmp);
    }
    order[..k].sort_unstable_by(cmp);
    order[..k].iter().map(|&i| (i, probs[i])).collect()
}

fn rank(probs: &[f32], a: usize, b: usize) -> Ordering {
    let key = |i: usize| {
        let p = probs[i];
        if p.is_nan() {
            f32::NEG_INFINITY
        } else {
            p
        }
    };
    key(b)
        .partial_cmp(&key(a))
        .unwrap_or(Ordering::Equal)
        .then(a.cmp(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const TOL: f64 = 1e-6;

    fn settings(method: Method, window: usize, stride: usize) -> SmootherSettings {
        SmootherSettings {
            method,
            window,
            stride,
            threshold: 0.5,
            confirm: 2,
            top_k: 3,
        }
    }

    /// Frame `i` (1-based): pts `i·100` ns, captured `i` ms after the epoch.
    fn t(i: u64) -> FrameTimes {
        FrameTimes {
            pts_ns: Some(i * 100),
            capture: UNIX_EPOCH + Duration::from_millis(i),
        }
    }

    fn assert_close(got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(g) - w).abs() <= TOL,
                "index {i}: got {g}, want {w} (all: {got:?} vs {want:?})"
            );
        }
    }

    const FRAMES: [[f32; 3]; 6] = [
        [0.1, 0.2, 0.7],
        [0.3, 0.3, 0.4],
        [0.5, 0.4, 0.1],
        [0.9, 0.05, 0.05],
        [0.2, 0.6, 0.2],
        [0.0, 0.0, 1.0],
    ];

    /// Pushes `frames` numbered from `first`; returns (frame number, clip) for each clip.
    fn feed(s: &mut Smoother, frames: &[[f32; 3]], first: u64) -> Vec<(u64, Clip)> {
        frames
            .iter()
            .zip(first..)
            .filter_map(|(f, i)| s.push(f, t(i)).map(|c| (i, c)))
            .collect()
    }

    fn clip_frames(method: Method, window: usize, stride: usize, n: u64) -> Vec<u64> {
        let mut s = Smoother::new(settings(method, window, stride), 3);
        (1..=n)
            .filter(|&i| s.push(&[1.0, 0.0, 0.0], t(i)).is_some())
            .collect()
    }

    // ---- softmax ----

    #[test]
    fn softmax_known_values() {
        let mut x = [0.0, 2.0f32.ln()];
        softmax_in_place(&mut x);
        assert_close(&x, &[1.0 / 3.0, 2.0 / 3.0]);

        let mut x = [0.0f32; 4];
        softmax_in_place(&mut x);
        assert_close(&x, &[0.25; 4]);

        let mut x = [1.0, 2.0, 3.0f32];
        softmax_in_place(&mut x);
        let e = [1f64.exp(), 2f64.exp(), 3f64.exp()];
        let s: f64 = e.iter().sum();
        assert_close(&x, &[e[0] / s, e[1] / s, e[2] / s]);

        let mut x = [5.0f32];
        softmax_in_place(&mut x);
        assert_eq!(x, [1.0]);
    }

    #[test]
    fn softmax_sums_to_one() {
        let mut x = [-3.5, 0.25, 7.0, 1e-3, -20.0, 2.5f32];
        softmax_in_place(&mut x);
        let sum: f64 = x.iter().map(|&v| f64::from(v)).sum();
        assert!((sum - 1.0).abs() <= TOL, "sum {sum}");
        assert!(x.iter().all(|&v| (0.0..=1.0).contains(&v)));
        // Order is preserved.
        assert!(x[2] > x[5] && x[5] > x[1] && x[1] > x[3] && x[3] > x[0] && x[0] > x[4]);
    }

    #[test]
    fn softmax_is_stable_for_large_logits() {
        let mut x = [1000.0f32, 1000.0];
        softmax_in_place(&mut x);
        assert_eq!(x, [0.5, 0.5]);

        // 1000.5 is exact in f32 (1000 + ln 2 is not: f32 spacing there is 6e-5).
        let mut x = [1000.0f32, 1000.5];
        softmax_in_place(&mut x);
        let e = 0.5f64.exp();
        assert_close(&x, &[1.0 / (1.0 + e), e / (1.0 + e)]);

        let mut x = [1000.0f32, 0.0, -1000.0];
        softmax_in_place(&mut x);
        assert_close(&x, &[1.0, 0.0, 0.0]);
        assert!(x.iter().all(|v| v.is_finite()));

        let mut x = [-1000.0f32, -1000.0];
        softmax_in_place(&mut x);
        assert_eq!(x, [0.5, 0.5]);
    }

    #[test]
    fn softmax_edge_cases() {
        let mut x: [f32; 0] = [];
        softmax_in_place(&mut x);

        let mut x = [f32::NEG_INFINITY, 0.0];
        softmax_in_place(&mut x);
        assert_eq!(x, [0.0, 1.0]);

        let mut x = [f32::NEG_INFINITY; 4];
        softmax_in_place(&mut x);
        assert_eq!(x, [0.25; 4]);

        let mut x = [f32::INFINITY, 3.0, f32::INFINITY, f32::NEG_INFINITY];
        softmax_in_place(&mut x);
        assert_eq!(x, [0.5, 0.0, 0.5, 0.0]);

        let mut x = [1.0, f32::NAN, 2.0];
        softmax_in_place(&mut x);
        assert!(x.iter().all(|v| v.is_nan()));
    }

    // ---- cadence ----

    #[test]
    fn mean_cadence() {
        assert_eq!(clip_frames(Method::Mean, 3, 2, 10), [3, 5, 7, 9]);
        assert_eq!(clip_frames(Method::Mean, 3, 5, 14), [3, 8, 13]);
        assert_eq!(clip_frames(Method::Mean, 4, 1, 7), [4, 5, 6, 7]);
        assert_eq!(clip_frames(Method::Mean, 1, 1, 3), [1, 2, 3]);
        assert_eq!(clip_frames(Method::Mean, 16, 8, 40), [16, 24, 32, 40]);
    }

    #[test]
    fn ema_cadence() {
        assert_eq!(clip_frames(Method::Ema, 3, 2, 9), [2, 4, 6, 8]);
        assert_eq!(clip_frames(Method::Ema, 3, 5, 14), [5, 10]);
        assert_eq!(clip_frames(Method::Ema, 16, 8, 40), [8, 16, 24, 32, 40]);
        assert_eq!(clip_frames(Method::Ema, 5, 1, 3), [1, 2, 3]);
    }

    #[test]
    fn zero_window_and_stride_act_as_one() {
        assert_eq!(clip_frames(Method::Mean, 0, 0, 3), [1, 2, 3]);
        assert_eq!(clip_frames(Method::Ema, 0, 0, 3), [1, 2, 3]);
        let s = Smoother::new(settings(Method::Ema, 0, 0), 3);
        assert_eq!((s.settings().window, s.settings().stride), (1, 1));
        assert_eq!(s.classes(), 3);
    }

    // ---- values ----

    #[test]
    fn mean_values() {
        let mut s = Smoother::new(settings(Method::Mean, 3, 2), 3);
        assert_eq!(s.probabilities(), [0.0; 3]);
        let clips = feed(&mut s, &FRAMES, 1);
        let at: Vec<u64> = clips.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [3, 5]);

        // Frame 3: mean of frames 1..=3 = [0.9, 0.9, 1.2] / 3.
        let c = &clips[0].1;
        assert_eq!(c.seq, 1);
        assert_eq!((c.label, c.top[0].0), (2, 2));
        assert!((f64::from(c.score) - 0.4).abs() <= TOL);
        assert_close(&probs_of(c), &[0.3, 0.3, 0.4]);

        // Frame 5: mean of frames 3..=5 = [1.6, 1.05, 0.35] / 3.
        let c = &clips[1].1;
        assert_eq!(c.seq, 2);
        let want5 = [1.6 / 3.0, 1.05 / 3.0, 0.35 / 3.0];
        assert_close(s.probabilities(), &want5);
        assert_eq!(c.label, 0);
        assert!((f64::from(c.score) - 1.6 / 3.0).abs() <= TOL);
        assert_eq!(c.top.iter().map(|p| p.0).collect::<Vec<_>>(), [0, 1, 2]);
        assert_close(&c.top.iter().map(|p| p.1).collect::<Vec<_>>(), &want5);
    }

    #[test]
    fn mean_value_at_first_clip() {
        let mut s = Smoother::new(settings(Method::Mean, 3, 2), 3);
        feed(&mut s, &FRAMES[..3], 1);
        assert_close(s.probabilities(), &[0.3, 0.3, 0.4]);
        // Frame 4 is not a clip frame: probabilities stay those of the last clip.
        assert!(s.push(&FRAMES[3], t(4)).is_none());
        assert_close(s.probabilities(), &[0.3, 0.3, 0.4]);
    }

    #[test]
    fn mean_uses_exactly_the_last_window_frames() {
        // window 2, stride 1: every clip is the mean of the two newest frames.
        let mut s = Smoother::new(settings(Method::Mean, 2, 1), 3);
        let clips = feed(&mut s, &FRAMES, 1);
        assert_eq!(clips.len(), 5);
        for (k, (i, c)) in clips.iter().enumerate() {
            assert_eq!(*i, k as u64 + 2);
            let (a, b) = (FRAMES[k], FRAMES[k + 1]);
            let want: Vec<f64> = (0..3)
                .map(|j| (f64::from(a[j]) + f64::from(b[j])) / 2.0)
                .collect();
            assert_close(&probs_of(c), &want);
        }
    }

    /// The clip's full probability vector, rebuilt from `top` (top_k = classes here).
    fn probs_of(c: &Clip) -> [f32; 3] {
        assert_eq!(c.top.len(), 3);
        let mut v = [f32::NAN; 3];
        for &(l, p) in &c.top {
            v[l] = p;
        }
        v
    }

    #[test]
    fn ema_values() {
        // window 3: α = 2/4 = 0.5; stride 2.
        let mut s = Smoother::new(settings(Method::Ema, 3, 2), 3);
        let clips = feed(&mut s, &FRAMES[..5], 1);
        assert_eq!(clips.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [2, 4]);
        // p1 = [0.1, 0.2, 0.7]
        // p2 = 0.5·[0.3, 0.3, 0.4] + 0.5·p1 = [0.2, 0.25, 0.55]
        let c = &clips[0].1;
        assert_close(&probs_of(c), &[0.2, 0.25, 0.55]);
        assert_eq!((c.label, c.seq), (2, 1));
        // p3 = 0.5·[0.5, 0.4, 0.1] + 0.5·p2 = [0.35, 0.325, 0.325]
        // p4 = 0.5·[0.9, 0.05, 0.05] + 0.5·p3 = [0.625, 0.1875, 0.1875]
        let c = &clips[1].1;
        assert_close(&probs_of(c), &[0.625, 0.1875, 0.1875]);
        assert_close(s.probabilities(), &[0.625, 0.1875, 0.1875]);
        assert_eq!((c.label, c.seq), (0, 2));
        // Labels 1 and 2 tie only up to f32 rounding, so their order is not asserted.
        assert_eq!(c.top[0].0, 0);
        // Frame 5 is not a clip frame: probabilities stay those of frame 4's clip.
        assert_close(s.probabilities(), &[0.625, 0.1875, 0.1875]);
    }

    #[test]
    fn ema_values_window_4() {
        // window 4: α = 2/5 = 0.4; stride 1 so every frame is a clip.
        let mut s = Smoother::new(settings(Method::Ema, 4, 1), 3);
        let clips = feed(&mut s, &FRAMES[..3], 1);
        assert_eq!(clips.len(), 3);
        // p1 = x1
        assert_close(&probs_of(&clips[0].1), &[0.1, 0.2, 0.7]);
        // p2 = 0.4·[0.3, 0.3, 0.4] + 0.6·[0.1, 0.2, 0.7] = [0.18, 0.24, 0.58]
        assert_close(&probs_of(&clips[1].1), &[0.18, 0.24, 0.58]);
        // p3 = 0.4·[0.5, 0.4, 0.1] + 0.6·[0.18, 0.24, 0.58] = [0.308, 0.304, 0.388]
        assert_close(&probs_of(&clips[2].1), &[0.308, 0.304, 0.388]);
    }

    // ---- top-k ----

    #[test]
    fn free_top_k_orders_ties_by_index_and_nan_last() {
        assert_eq!(
            top_k(&[0.1, 0.5, 0.5, 0.2], 3),
            vec![(1, 0.5), (2, 0.5), (3, 0.2)]
        );
        assert_eq!(top_k(&[1.0], 5), vec![(0, 1.0)]);
        let t = top_k(&[f32::NAN, 0.3], 2);
        assert_eq!(t[0], (1, 0.3));
        assert_eq!(t[1].0, 0);
    }

    #[test]
    fn top_k_ordering_and_ties() {
        let mut st = settings(Method::Mean, 1, 1);

        st.top_k = 2;
        let mut s = Smoother::new(st.clone(), 3);
        let c = s.push(&[0.25, 0.5, 0.25], t(1)).unwrap();
        assert_eq!((c.label, c.score), (1, 0.5));
        assert_eq!(c.top, [(1, 0.5), (0, 0.25)]);

        st.top_k = 5; // more than classes: all of them
        let mut s = Smoother::new(st.clone(), 3);
        let c = s.push(&[0.25, 0.5, 0.25], t(1)).unwrap();
        assert_eq!(c.top, [(1, 0.5), (0, 0.25), (2, 0.25)]);

        // All equal: lowest index wins, top in index order.
        let mut s = Smoother::new(st.clone(), 4);
        let c = s.push(&[0.25; 4], t(1)).unwrap();
        assert_eq!((c.label, c.score), (0, 0.25));
        assert_eq!(c.top, [(0, 0.25), (1, 0.25), (2, 0.25), (3, 0.25)]);

        // Tie for the top spot.
        let mut s = Smoother::new(st.clone(), 3);
        let c = s.push(&[0.125, 0.4375, 0.4375], t(1)).unwrap();
        assert_eq!((c.label, c.score), (1, 0.4375));
        assert_eq!(c.top, [(1, 0.4375), (2, 0.4375), (0, 0.125)]);

        st.top_k = 0; // no list, but label and score still set
        let mut s = Smoother::new(st.clone(), 3);
        let c = s.push(&[0.25, 0.125, 0.625], t(1)).unwrap();
        assert_eq!((c.label, c.score), (2, 0.625));
        assert!(c.top.is_empty());
    }

    #[test]
    fn top_k_partial_selection_with_many_classes() {
        let mut st = settings(Method::Mean, 1, 1);
        st.top_k = 4;
        let mut s = Smoother::new(st, 10);
        let p = [
            0.0625, 0.125, 0.0, 0.25, 0.125, 0.0625, 0.25, 0.0, 0.125, 0.0,
        ];
        let c = s.push(&p, t(1)).unwrap();
        assert_eq!((c.label, c.score), (3, 0.25));
        assert_eq!(c.top, [(3, 0.25), (6, 0.25), (1, 0.125), (4, 0.125)]);
    }

    #[test]
    fn nan_probabilities_rank_last() {
        let mut s = Smoother::new(settings(Method::Mean, 1, 1), 3);
        let c = s.push(&[f32::NAN, 0.25, 0.5], t(1)).unwrap();
        assert_eq!((c.label, c.score), (2, 0.5));
        assert_eq!(c.top[..2], [(2, 0.5), (1, 0.25)]);
        assert_eq!(c.top[2].0, 0);
        assert!(c.change.is_none());
    }

    // ---- seq and timestamps ----

    #[test]
    fn seq_increments() {
        for method in [Method::Mean, Method::Ema] {
            let mut s = Smoother::new(settings(method, 2, 1), 3);
            let seqs: Vec<u64> = (1..=5)
                .filter_map(|i| s.push(&[1.0, 0.0, 0.0], t(i)).map(|c| c.seq))
                .collect();
            let want: Vec<u64> = (1..=seqs.len() as u64).collect();
            assert_eq!(seqs, want, "{method:?}");
        }
    }

    #[test]
    fn mean_timestamps_span_the_window() {
        let mut s = Smoother::new(settings(Method::Mean, 3, 2), 3);
        let clips = feed(&mut s, &FRAMES, 1);
        let spans: Vec<_> = clips
            .iter()
            .map(|(_, c)| (c.frames, c.start, c.end))
            .collect();
        assert_eq!(spans, [(3, t(1), t(3)), (3, t(3), t(5))]);
    }

    #[test]
    fn ema_timestamps_span_at_most_the_window() {
        let mut s = Smoother::new(settings(Method::Ema, 3, 2), 3);
        let clips = feed(&mut s, &FRAMES, 1);
        let spans: Vec<_> = clips
            .iter()
            .map(|(i, c)| (*i, c.frames, c.start, c.end))
            .collect();
        assert_eq!(
            spans,
            [(2, 2, t(1), t(2)), (4, 3, t(2), t(4)), (6, 3, t(4), t(6))]
        );

        // window 2, stride 4: each clip spans only the 2 newest frames.
        let mut s = Smoother::new(settings(Method::Ema, 2, 4), 3);
        let c = feed(&mut s, &FRAMES[..4], 1).pop().unwrap().1;
        assert_eq!((c.frames, c.start, c.end), (2, t(3), t(4)));
    }

    #[test]
    fn missing_pts_is_carried_through() {
        let mut s = Smoother::new(settings(Method::Mean, 2, 1), 3);
        let a = FrameTimes {
            pts_ns: None,
            capture: UNIX_EPOCH,
        };
        assert!(s.push(&FRAMES[0], a).is_none());
        let c = s.push(&FRAMES[1], t(2)).unwrap();
        assert_eq!((c.start, c.end), (a, t(2)));
    }

    // ---- hysteresis ----

    const A: [f32; 3] = [0.8, 0.1, 0.1];
    const B: [f32; 3] = [0.05, 0.9, 0.05];
    const C: [f32; 3] = [0.1, 0.1, 0.8];
    /// Top-1 is label 1 but below the 0.5 threshold.
    const B_WEAK: [f32; 3] = [0.3, 0.4, 0.3];

    /// window 1, stride 1 mean: each frame is a clip with exactly its probabilities.
    fn direct(confirm: usize) -> Smoother {
        let mut st = settings(Method::Mean, 1, 1);
        st.confirm = confirm;
        Smoother::new(st, 3)
    }

    fn changes(s: &mut Smoother, frames: &[[f32; 3]]) -> Vec<Option<LabelChange>> {
        frames
            .iter()
            .map(|f| s.push(f, t(1)).unwrap().change)
            .collect()
    }

    fn change(from: Option<usize>, to: usize, score: f32) -> Option<LabelChange> {
        Some(LabelChange { from, to, score })
    }

    #[test]
    fn first_event_has_from_none_and_needs_confirm_clips() {
        let mut s = direct(2);
        assert_eq!(s.confirmed(), None);
        assert_eq!(changes(&mut s, &[A, A]), [None, change(None, 0, 0.8)]);
        assert_eq!(s.confirmed(), Some(0));
    }

    #[test]
    fn no_event_while_the_label_stays() {
        let mut s = direct(2);
        changes(&mut s, &[A, A]);
        assert_eq!(changes(&mut s, &[A, A, A, A]), [None; 4]);
        assert_eq!(s.confirmed(), Some(0));
    }

    #[test]
    fn change_needs_two_consecutive_clips() {
        let mut s = direct(2);
        changes(&mut s, &[A, A]);
        assert_eq!(changes(&mut s, &[B, B]), [None, change(Some(0), 1, 0.9)]);
        assert_eq!(s.confirmed(), Some(1));
        // And back.
        assert_eq!(changes(&mut s, &[A, A]), [None, change(Some(1), 0, 0.8)]);
    }

    #[test]
    fn below_threshold_clip_breaks_the_streak() {
        let mut s = direct(2);
        changes(&mut s, &[A, A]);
        assert_eq!(
            changes(&mut s, &[B, B_WEAK, B, B]),
            [None, None, None, change(Some(0), 1, 0.9)]
        );
    }

    #[test]
    fn interleaved_other_label_breaks_the_streak() {
        let mut s = direct(2);
        changes(&mut s, &[A, A]);
        assert_eq!(
            changes(&mut s, &[B, C, B, C, C]),
            [None, None, None, None, change(Some(0), 2, 0.8)]
        );
        // And on to B, again through an interleaved streak.
        assert_eq!(
            changes(&mut s, &[B, C, B, B]),
            [None, None, None, change(Some(2), 1, 0.9)]
        );
    }

    #[test]
    fn confirmed_label_in_between_breaks_the_streak() {
        let mut s = direct(2);
        changes(&mut s, &[A, A]);
        assert_eq!(changes(&mut s, &[B, A, B]), [None; 3]);
        assert_eq!(s.confirmed(), Some(0));
    }

    #[test]
    fn threshold_is_inclusive_and_confirm_one_fires_at_once() {
        let mut s = direct(1);
        assert_eq!(
            changes(&mut s, &[[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]]),
            [change(None, 0, 0.5), change(Some(0), 2, 0.5)]
        );
        assert_eq!(changes(&mut s, &[B_WEAK]), [None]);

        let mut s = direct(0); // behaves like 1
        assert_eq!(changes(&mut s, &[A]), [change(None, 0, 0.8)]);
    }

    #[test]
    fn confirm_three() {
        let mut s = direct(3);
        assert_eq!(
            changes(&mut s, &[A, A, B, A, A, A]),
            [None, None, None, None, None, change(None, 0, 0.8)]
        );
    }

    #[test]
    fn hysteresis_on_smoothed_clips() {
        // Mean, window 3, stride 2: clips at frames 3, 5, 7, 9.
        let mut s = Smoother::new(settings(Method::Mean, 3, 2), 3);
        let frames = [A, A, A, A, A, B, B, B, B];
        let got: Vec<_> = feed(&mut s, &frames, 1)
            .into_iter()
            .map(|(i, c)| (i, c.label, c.change.map(|e| (e.from, e.to))))
            .collect();
        // Frame 3: A (1st), 5: A (2nd → event), 7: mean(A,B,B) → B 0.6333 (1st), 9: B (2nd → event).
        assert_eq!(
            got,
            [
                (3, 0, None),
                (5, 0, Some((None, 0))),
                (7, 1, None),
                (9, 1, Some((Some(0), 1))),
            ]
        );
    }

    // ---- allocation ----

    #[test]
    fn push_allocates_only_the_top_list_of_a_clip() {
        use super::alloc_counter::allocations;
        for method in [Method::Mean, Method::Ema] {
            let st = SmootherSettings {
                method,
                ..SmootherSettings::default()
            };
            let classes = 101;
            let mut s = Smoother::new(st, classes);
            let mut p = vec![0.0f32; classes];
            let mut clips = 0;
            for i in 1..=200u64 {
                p.fill(0.5 / (classes - 1) as f32);
                p[(i as usize / 20) % classes] = 0.5;
                let (clip, n) = allocations(|| s.push(&p, t(i)));
                let want = usize::from(clip.is_some());
                assert_eq!(n, want, "{method:?} frame {i}: {n} allocations");
                clips += want;
                if i == 100 {
                    s.reset();
                }
            }
            assert!(clips > 20, "{method:?}: only {clips} clips");
        }
    }

    // ---- reset ----

    #[test]
    fn mean_reset_needs_a_fresh_window() {
        let mut s = Smoother::new(settings(Method::Mean, 3, 2), 3);
        let before = feed(&mut s, &FRAMES[..4], 1);
        assert_eq!(before.len(), 1);
        s.reset();
        // Post-reset frames 1..=6 carry timestamps 101..=106.
        let after = feed(&mut s, &FRAMES, 101);
        let got: Vec<_> = after
            .iter()
            .map(|(i, c)| (*i, c.seq, c.frames, c.start, c.end))
            .collect();
        assert_eq!(
            got,
            [(103, 2, 3, t(101), t(103)), (105, 3, 3, t(103), t(105)),]
        );
        // Only post-reset frames count: mean of FRAMES[2..5].
        assert_close(s.probabilities(), &[1.6 / 3.0, 1.05 / 3.0, 0.35 / 3.0]);
    }

    #[test]
    fn mean_reset_discards_old_frames_from_the_mean() {
        let mut s = Smoother::new(settings(Method::Mean, 2, 1), 3);
        feed(&mut s, &[[1.0, 0.0, 0.0]; 5], 1);
        s.reset();
        assert!(s.push(&[0.0, 0.5, 0.5], t(10)).is_none());
        let c = s.push(&[0.0, 0.25, 0.75], t(11)).unwrap();
        assert_eq!(s.probabilities(), [0.0, 0.375, 0.625]);
        assert_eq!((c.frames, c.start, c.end), (2, t(10), t(11)));
    }

    #[test]
    fn ema_reset_restarts_from_the_next_frame() {
        let mut s = Smoother::new(settings(Method::Ema, 3, 2), 3);
        let before = feed(&mut s, &FRAMES[..3], 1);
        assert_eq!(before.len(), 1);
        s.reset();
        // First post-reset frame: p = x (no clip); second: clip with 0.5·x2 + 0.5·x1.
        assert!(s.push(&FRAMES[3], t(21)).is_none());
        let c = s.push(&FRAMES[4], t(22)).unwrap();
        // 0.5·[0.2, 0.6, 0.2] + 0.5·[0.9, 0.05, 0.05] = [0.55, 0.325, 0.125]
        assert_close(s.probabilities(), &[0.55, 0.325, 0.125]);
        assert_eq!(c.seq, 2);
        assert_eq!((c.frames, c.start, c.end), (2, t(21), t(22)));
        assert_eq!(c.label, 0);
    }

    #[test]
    fn reset_keeps_confirmed_label_and_forgets_the_streak() {
        let mut s = direct(2);
        changes(&mut s, &[A, A]);
        s.reset();
        assert_eq!(s.confirmed(), Some(0));
        // Same label after a restart: no event.
        assert_eq!(changes(&mut s, &[A, A]), [None, None]);
        // A streak of one B is forgotten by reset.
        assert_eq!(changes(&mut s, &[B]), [None]);
        s.reset();
        assert_eq!(changes(&mut s, &[B, B]), [None, change(Some(0), 1, 0.9)]);
    }

    #[test]
    fn reset_keeps_last_clip_probabilities() {
        let mut s = Smoother::new(settings(Method::Mean, 3, 2), 3);
        feed(&mut s, &FRAMES[..3], 1);
        s.reset();
        assert_close(s.probabilities(), &[0.3, 0.3, 0.4]);
    }
}

/// Test-only global allocator that counts allocations per thread, to check the hot paths.
#[cfg(test)]
pub(crate) mod alloc_counter {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    }

    struct Counting;

    fn count() {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }

    // SAFETY: forwards every call unchanged to the system allocator.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            count();
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            count();
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            count();
            unsafe { System.realloc(ptr, layout, new_size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    /// Runs `f` and returns its result with the number of allocations it made on this thread.
    pub(crate) fn allocations<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let before = ALLOCATIONS.with(Cell::get);
        let r = f();
        (r, ALLOCATIONS.with(Cell::get) - before)
    }
}
