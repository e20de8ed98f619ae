//! The running streams: one supervisor each, attached to the hub and to the worker
//! of the model they run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Config, StreamConfig};
use crate::hub::{FrameHub, StreamSlot};
use crate::source::{PipelineSettings, RegionTarget, StatusFn, Supervisor};

use super::models::{Models, RunningModel};

/// The streams the daemon runs: enabled ones, in file order.
pub fn enabled(config: &Config) -> Vec<StreamConfig> {
    config
        .streams
        .iter()
        .filter(|s| s.enabled)
        .cloned()
        .collect()
}

/// The names a stream publishes under: its own, then `<stream>/<region>` for each region.
pub fn published_names(stream: &StreamConfig) -> impl Iterator<Item = String> + '_ {
    std::iter::once(stream.name.clone())
        .chain(stream.regions.iter().map(|r| r.full_name(&stream.name)))
}

/// One running stream.
pub(super) struct Running {
    /// Its settings.
    pub config: StreamConfig,
    /// Its mailbox in the hub (and counters).
    pub slot: StreamSlot,
    /// Its regions, each with a slot of its own (none: the whole frame goes to `slot`).
    pub regions: Vec<RegionTarget>,
    /// The thread that runs and rebuilds its pipeline.
    pub supervisor: Supervisor,
}

/// The running streams and what starting one needs.
pub(super) struct Fleet {
    /// The latest-frame mailboxes.
    pub hub: Arc<FrameHub>,
    /// The running models and their workers.
    pub models: Models,
    /// Publishes a stream's state changes.
    pub status: StatusFn,
    /// Thread settings of every stream pipeline (the decoder-thread share changes on reload).
    pub pipeline_settings: Arc<PipelineSettings>,
    /// The running streams, in file order.
    pub streams: Vec<Running>,
}

impl Fleet {
    /// Starts a new stream in a slot of its own (and its regions in theirs).
    pub fn add(&mut self, config: StreamConfig) {
        let slot = self.attach(&config.name, &config.model);
        self.spawn(config, slot, Vec::new());
    }

    /// The running model named `name` (validation makes sure there is one; else the
    /// default).
    fn model(&self, name: &str) -> Option<&RunningModel> {
        self.models.get(name).or(self.models.running.first())
    }

    /// A new slot for `name` in the lane of model `model` and in its worker.
    pub fn attach(&self, name: &str, model: &str) -> StreamSlot {
        let Some(m) = self.model(model) else {
            return self.hub.attach(name);
        };
        m.attach(&self.hub, name)
    }

    /// Whether `slot` is in the lane of the running model `model` (it can keep it).
    pub fn runs(&self, slot: &StreamSlot, model: &str) -> bool {
        let lane = self.hub.lane_of(slot);
        self.models.get(model).is_some_and(|m| m.has_lane(lane))
    }

    /// Starts the supervisor of `config` on `slot` (new, or kept from the stream's
    /// previous config); regions of `config` named as one of `kept` keep its slot (and
    /// its seq), the others of `kept` are detached.
    pub fn spawn(&mut self, config: StreamConfig, slot: StreamSlot, kept: Vec<RegionTarget>) {
        let mut kept = kept;
        let regions: Vec<RegionTarget> = config
            .regions
            .iter()
            .map(|r| {
                let name = r.full_name(&config.name);
                let same = |k: &RegionTarget| k.name == name && self.runs(&k.slot, &r.model);
                let slot = match kept.iter().position(same) {
                    Some(i) => kept.swap_remove(i).slot,
                    None => self.attach(&name, &r.model),
                };
                let region = RegionTarget::new(name, r.rect, slot);
                match self.model(&r.model) {
                    Some(m) => region.with_target(m.target),
                    None => region,
                }
            })
            .collect();
        for k in &kept {
            self.detach(&k.slot);
        }
        let Some(target) = self.model(&config.model).map(|m| m.target) else {
            tracing::error!(stream = %config.name, "no model runs; the stream is not started");
            self.detach(&slot);
            self.detach_regions(&regions);
            return;
        };
        let supervisor = Supervisor::spawn(
            config.clone(),
            target,
            self.hub.clone(),
            slot.clone(),
            regions.clone(),
            self.status.clone(),
            self.pipeline_settings.clone(),
        );
        self.streams.push(Running {
            config,
            slot,
            regions,
            supervisor,
        });
    }

    /// Forgets a stopped stream's slot in the hub and in its model's worker.
    pub fn detach(&self, slot: &StreamSlot) {
        let lane = self.hub.lane_of(slot);
        self.hub.detach(slot);
        if let Some(m) = self.models.running.iter().find(|m| m.has_lane(lane)) {
            m.detach(slot, lane);
        }
    }

    /// Forgets a stopped stream's regions' slots.
    pub fn detach_regions(&self, regions: &[RegionTarget]) {
        for r in regions {
            self.detach(&r.slot);
        }
    }

    /// Logs each stream's counters and the resident memory.
    pub fn log_stats(&self) {
        let rss = crate::sys::procfs::rss_kib().map_or_else(
            || "unknown".into(),
            |k| format!("{:.1} MiB", k as f64 / 1024.0),
        );
        tracing::info!(
            "stats: resident memory {rss}, {} stream(s)",
            self.streams.len()
        );
        for r in &self.streams {
            tracing::info!(stream = %r.config.name, "stats: {}", r.slot.stats.snapshot());
            for g in &r.regions {
                tracing::info!(stream = %g.name, "stats: {}", g.slot.stats.snapshot());
            }
        }
    }
}

/// A stream that was asked to stop: its config, its slot, and whether it stopped in time.
pub(super) struct Stopped {
    /// Its settings.
    pub config: StreamConfig,
    /// Its slot, to reuse or detach.
    pub slot: StreamSlot,
    /// Its regions, to reuse or detach.
    pub regions: Vec<RegionTarget>,
    /// Whether its supervisor finished within the limit.
    pub in_time: bool,
}

/// Stops `streams` in parallel, off the async runtime, waiting at most `limit` in all.
pub(super) async fn stop_all(
    streams: Vec<(Running, &'static str)>,
    limit: Duration,
) -> Vec<Stopped> {
    for (r, why) in &streams {
        r.supervisor.request_stop_with(why);
    }
    let deadline = Instant::now() + limit;
    let joined = tokio::task::spawn_blocking(move || {
        streams
            .into_iter()
            .map(|(r, _)| Stopped {
                in_time: r
                    .supervisor
                    .join(deadline.saturating_duration_since(Instant::now())),
                config: r.config,
                slot: r.slot,
                regions: r.regions,
            })
            .collect::<Vec<_>>()
    });
    joined.await.unwrap_or_default()
}
