//! The running models: one loaded session and one inference worker each, on a lane
//! of the frame hub of its own, so that streams sharing a model are batched together
//! and one model's burst never holds back another's.

use std::hash::Hasher;
use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, ModelConfig, RuntimeConfig, StreamConfig};
use crate::hub::FrameHub;
use crate::infer::{self, WorkerSettings};
use crate::model::{Classifier, Manifest, ModelError};
use crate::publish::{ModelInfo, Publisher};
use crate::source::Target;

/// A model loaded from its files, not yet running.
pub(super) struct Loaded {
    /// Its `[model]` / `[[model]]` settings.
    pub config: ModelConfig,
    /// The session.
    pub classifier: Classifier,
    /// Its files' fingerprint when they were read.
    pub fingerprint: u64,
}

/// Loads `models` (blocking: seconds each), each with the fingerprint of its files.
pub(super) fn load(runtime: &RuntimeConfig, models: &[ModelConfig]) -> anyhow::Result<Vec<Loaded>> {
    models
        .iter()
        .map(|m| {
            let fingerprint = fingerprint(&m.path);
            let classifier = Classifier::load(runtime, &m.path)
                .map_err(|e: ModelError| anyhow::anyhow!("model `{}`: {e}", m.name))?;
            Ok(Loaded {
                config: m.clone(),
                classifier,
                fingerprint,
            })
        })
        .collect()
}

/// A hash of a model's files: the `.onnx`, the `model.toml` beside it and the labels
/// its manifest reads (a missing file hashes as absent). A replaced file changes it.
pub fn fingerprint(path: &Path) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    let manifest = path.with_file_name("model.toml");
    for p in [path, manifest.as_path()] {
        match std::fs::read(p) {
            Ok(bytes) => h.write(&bytes),
            Err(_) => h.write_u8(0),
        }
    }
    if let Ok(m) = Manifest::load(&manifest) {
        for l in &m.labels {
            h.write(l.as_bytes());
            h.write_u8(b'\n');
        }
    }
    h.finish()
}

/// One running model.
pub(super) struct RunningModel {
    /// Its settings.
    pub config: ModelConfig,
    /// Its manifest (labels, input).
    pub manifest: Manifest,
    /// What its streams' pipelines scale and convert frames to.
    pub target: Target,
    /// Its lane in the hub.
    pub lane: usize,
    /// Its inference worker.
    pub worker: infer::Worker,
    /// Its files' fingerprint when loaded.
    pub fingerprint: u64,
}

/// The running models, in file order (the first is the default).
pub(super) struct Models {
    /// The models.
    pub running: Vec<RunningModel>,
}

/// What starting a model's worker needs besides the model.
pub(super) struct WorkerParts<'a> {
    /// The hub whose lane the worker takes frames from.
    pub hub: &'a Arc<FrameHub>,
    /// The bus predictions go to.
    pub publisher: &'a Arc<Publisher>,
    /// Smoothing and output settings (from the running configuration).
    pub config: &'a Config,
}

impl Models {
    /// Starts a worker for each of `loaded`: the first on the hub's lane 0 when
    /// `first_lane_zero`, every other on a lane of its own.
    pub fn start(loaded: Vec<Loaded>, parts: &WorkerParts<'_>, first_lane_zero: bool) -> Models {
        let mut running = Vec::new();
        for (i, l) in loaded.into_iter().enumerate() {
            let lane = if i == 0 && first_lane_zero {
                0
            } else {
                parts.hub.open_lane()
            };
            running.push(start_one(l, lane, parts));
        }
        Models { running }
    }

    /// The model named `name`.
    pub fn get(&self, name: &str) -> Option<&RunningModel> {
        self.running.iter().find(|m| m.config.name == name)
    }

    /// Each model's name and manifest, in file order (for `hello`).
    pub fn described(&self) -> Vec<(String, Manifest)> {
        let each = |m: &RunningModel| (m.config.name.clone(), m.manifest.clone());
        self.running.iter().map(each).collect()
    }

    /// Every model's labels (for checking `[record] labels`).
    pub fn all_labels(&self) -> Vec<String> {
        let mut labels: Vec<String> = Vec::new();
        for m in &self.running {
            for l in &m.manifest.labels {
                if !labels.contains(l) {
                    labels.push(l.clone());
                }
            }
        }
        labels
    }

    /// Stops every worker (its lane closes) and waits for them.
    pub fn stop(self, hub: &FrameHub) {
        for m in &self.running {
            hub.close_lane(m.lane);
        }
        for m in self.running {
            m.worker.join();
        }
    }
}

/// `hello`'s list: each of `models` (name, manifest) and the enabled streams (and
/// regions) that run it.
pub(super) fn info(models: &[(String, Manifest)], streams: &[StreamConfig]) -> Vec<ModelInfo> {
    models
        .iter()
        .map(|(name, m)| ModelInfo {
            name: name.clone(),
            model: m.name.clone(),
            labels: m.labels.clone(),
            streams: users(streams, name),
        })
        .collect()
}

/// Starts the worker of `l` on `lane`.
pub(super) fn start_one(l: Loaded, lane: usize, parts: &WorkerParts<'_>) -> RunningModel {
    let manifest = l.classifier.manifest.clone();
    tracing::info!(model = %l.config.name, name = %manifest.name, lane, "model running");
    let worker = infer::spawn(
        l.classifier,
        parts.hub.clone(),
        lane,
        worker_settings(parts.config),
        parts.publisher.clone(),
    );
    RunningModel {
        target: target(&manifest),
        manifest,
        config: l.config,
        lane,
        worker,
        fingerprint: l.fingerprint,
    }
}

/// The published names of `streams` (and their regions) that run model `name`; a
/// stream with regions runs only its regions' models.
pub(super) fn users(streams: &[StreamConfig], name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in streams.iter().filter(|s| s.enabled) {
        if s.regions.is_empty() && s.model == name {
            out.push(s.name.clone());
        }
        for r in s.regions.iter().filter(|r| r.model == name) {
            out.push(r.full_name(&s.name));
        }
    }
    out
}

/// What a stream's pipeline scales and converts frames to: the model's input.
pub(super) fn target(manifest: &Manifest) -> Target {
    Target {
        width: manifest.input.width,
        height: manifest.input.height,
        channel_order: manifest.input.channel_order,
        resize: manifest.input.resize,
    }
}

/// An inference worker's settings from `[smoothing]` and `[output]`.
pub(super) fn worker_settings(config: &Config) -> WorkerSettings {
    use crate::smooth::{Method, SmootherSettings};
    let s = &config.smoothing;
    WorkerSettings {
        smoothing: SmootherSettings {
            method: match s.method {
                crate::config::SmoothingMethod::Mean => Method::Mean,
                crate::config::SmoothingMethod::Ema => Method::Ema,
            },
            window: s.window,
            stride: s.stride,
            threshold: s.threshold,
            confirm: s.confirm,
            top_k: s.top_k,
        },
        top_k: s.top_k,
        per_frame: config.output.per_frame,
    }
}
