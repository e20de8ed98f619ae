//! Per-stream counters, owned here and named like the metrics they become
//! (`received` is `actiond_stream_frames_received_total`, …), and the one
//! [`StreamStats::snapshot`] that logs, `/api/streams` and `/metrics` all read.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::source::RetryReason;

/// Counters and liveness of one stream, shared between its pipeline, supervisor and the worker.
#[derive(Debug)]
pub struct StreamStats {
    /// Unique (per daemon run) id of this stream; a stream changed by a reload keeps it.
    pub id: u64,
    /// The stream's name.
    pub name: String,
    /// Decoded frames that reached the sampler (before `sample_fps` drops any).
    pub received: AtomicU64,
    /// Video decoders created in the stream's pipelines (one per build; none for raw sources).
    pub decoders: AtomicU64,
    /// Decoded frames the decoder marked corrupted, dropped before the sampler (`corrupt`).
    pub corrupt: AtomicU64,
    /// Frames kept by sampling and offered to inference (they reached the appsink).
    pub sampled: AtomicU64,
    /// Sampled frames replaced in the slot before inference took them (`inference_busy`).
    pub dropped_busy: AtomicU64,
    /// Sampled frames of a pipeline already torn down or abandoned (`pipeline_restart`).
    pub dropped_restart: AtomicU64,
    /// Sampled frames inference could not use: unexpected caps or size (`unusable`).
    pub dropped_unusable: AtomicU64,
    /// Frames classified.
    pub classified: AtomicU64,
    /// Pipeline rebuilds after a failure.
    pub reconnects: AtomicU64,
    /// The same rebuilds, counted by reason.
    pub retries: RetryCounts,
    /// Pipelines that did not stop within the teardown limit and were abandoned.
    pub abandoned: AtomicU64,
    /// Current pipeline generation (not a counter); frames of any other are stale.
    pub generation: AtomicU64,
    /// Milliseconds since `epoch` of the latest frame (0 = none yet).
    last_frame_ms: AtomicU64,
    epoch: Instant,
}

/// One stream's counters at one moment, named as in `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamCounters {
    /// Decoded frames that reached the sampler.
    pub received: u64,
    /// Video decoders created in the stream's pipelines.
    pub decoders: u64,
    /// Decoded frames the decoder marked corrupted (joined between key frames, lost
    /// packets), dropped before the sampler.
    pub corrupt: u64,
    /// Frames kept by sampling (`sample_fps`).
    pub sampled: u64,
    /// Sampled frames replaced before inference took them.
    pub dropped_busy: u64,
    /// Sampled frames discarded when their pipeline was torn down.
    pub dropped_restart: u64,
    /// Sampled frames inference could not use.
    pub dropped_unusable: u64,
    /// Frames classified.
    pub classified: u64,
    /// Pipeline rebuilds.
    pub reconnects: u64,
    /// Pipeline rebuilds by reason (`error`, `eos`, `stall`, …), in [`RetryReason::ALL`] order.
    pub retries: Vec<(&'static str, u64)>,
    /// Pipelines abandoned because they did not stop in time.
    pub abandoned: u64,
    /// Seconds since the latest frame, if any arrived.
    pub since_last_frame_s: Option<f64>,
}

impl StreamCounters {
    /// Sampled frames not classified, for any reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_busy + self.dropped_restart + self.dropped_unusable
    }

    /// The `actiond_stream_frames_dropped_total` rows: each `reason` label and its count.
    pub fn dropped_by_reason(&self) -> [(&'static str, u64); 3] {
        [
            ("inference_busy", self.dropped_busy),
            ("pipeline_restart", self.dropped_restart),
            ("unusable", self.dropped_unusable),
        ]
    }
}

impl std::fmt::Display for StreamCounters {
    /// One line for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} frames received, {} corrupt (dropped at the decoder), {} sampled, {} classified, \
             {} dropped (inference busy), {} dropped (pipeline restart), {} dropped (unusable), \
             {} reconnects, {} pipelines abandoned",
            self.received,
            self.corrupt,
            self.sampled,
            self.classified,
            self.dropped_busy,
            self.dropped_restart,
            self.dropped_unusable,
            self.reconnects,
            self.abandoned,
        )
    }
}

impl StreamStats {
    /// Fresh counters of the stream `name` with the run-unique `id`.
    pub fn new(id: u64, name: &str) -> Self {
        StreamStats {
            id,
            name: name.to_string(),
            received: AtomicU64::new(0),
            decoders: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
            sampled: AtomicU64::new(0),
            dropped_busy: AtomicU64::new(0),
            dropped_restart: AtomicU64::new(0),
            dropped_unusable: AtomicU64::new(0),
            classified: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            retries: RetryCounts::default(),
            abandoned: AtomicU64::new(0),
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

    /// Every counter now: what logs, `/api/streams` and `/metrics` show.
    pub fn snapshot(&self) -> StreamCounters {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StreamCounters {
            received: n(&self.received),
            decoders: n(&self.decoders),
            corrupt: n(&self.corrupt),
            sampled: n(&self.sampled),
            dropped_busy: n(&self.dropped_busy),
            dropped_restart: n(&self.dropped_restart),
            dropped_unusable: n(&self.dropped_unusable),
            classified: n(&self.classified),
            reconnects: n(&self.reconnects),
            retries: self.retries.snapshot(),
            abandoned: n(&self.abandoned),
            since_last_frame_s: self.since_last_frame().map(|d| d.as_secs_f64()),
        }
    }
}

/// Retries of one stream, counted by reason.
#[derive(Debug, Default)]
pub struct RetryCounts([AtomicU64; RetryReason::ALL.len()]);

impl RetryCounts {
    /// Counts one retry for `reason`.
    pub fn add(&self, reason: RetryReason) {
        self.0[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Retries for `reason` so far.
    pub fn get(&self, reason: RetryReason) -> u64 {
        self.0[reason as usize].load(Ordering::Relaxed)
    }

    /// Every reason's name and count, in [`RetryReason::ALL`] order.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        RetryReason::ALL
            .iter()
            .map(|r| (r.as_str(), self.get(*r)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reads_every_counter_under_its_metric_name() {
        let s = StreamStats::new(1, "cam");
        for (i, c) in [
            &s.received,
            &s.sampled,
            &s.dropped_busy,
            &s.dropped_restart,
            &s.dropped_unusable,
            &s.classified,
            &s.reconnects,
            &s.abandoned,
            &s.corrupt,
        ]
        .into_iter()
        .enumerate()
        {
            c.store(10 + i as u64, Ordering::Relaxed);
        }
        s.retries.add(RetryReason::Stall);
        s.retries.add(RetryReason::Stall);
        let c = s.snapshot();
        assert_eq!(
            (c.received, c.sampled, c.dropped_busy, c.dropped_restart),
            (10, 11, 12, 13)
        );
        assert_eq!(
            (c.dropped_unusable, c.classified, c.reconnects, c.abandoned),
            (14, 15, 16, 17)
        );
        assert_eq!(c.corrupt, 18);
        assert_eq!(c.dropped(), 12 + 13 + 14);
        assert!(c.retries.contains(&("stall", 2)), "{:?}", c.retries);
        assert_eq!(c.since_last_frame_s, None);
        let line = c.to_string();
        assert!(
            line.starts_with("10 frames received, 18 corrupt (dropped at the decoder), 11 sampled, 15 classified"),
            "{line}"
        );
    }

    #[test]
    fn retry_counts_keep_reasons_apart() {
        let r = RetryCounts::default();
        r.add(RetryReason::Error);
        r.add(RetryReason::Eos);
        r.add(RetryReason::Eos);
        assert_eq!(r.get(RetryReason::Error), 1);
        assert_eq!(r.get(RetryReason::Eos), 2);
        assert_eq!(r.get(RetryReason::Stall), 0);
        let names: Vec<&str> = r.snapshot().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["error", "eos", "stall", "start_failed", "rewind_failed"]
        );
    }
}
