//! The running models: one or more loaded sessions each (`[runtime] sessions`), each
//! session with an inference worker on a lane of the frame hub of its own, so that
//! streams sharing a session are batched together and one model's burst never holds
//! back another's. A stream stays on the lane it was attached to (its smoother and
//! model state live in that lane's worker); a new one goes to the model's lane with
//! the fewest streams.

use std::hash::Hasher;
use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, ModelConfig, RuntimeConfig, StreamConfig};
use crate::hub::{FrameHub, StreamSlot};
use crate::infer::{self, WorkerSettings};
use crate::model::{Classifier, Manifest, ModelError};
use crate::publish::{ModelInfo, Publisher};
use crate::source::Target;

/// A model loaded from its files, not yet running.
pub(super) struct Loaded {
    /// Its `[model]` / `[[model]]` settings.
    pub config: ModelConfig,
    /// Its sessions (at least one).
    pub classifiers: Vec<Classifier>,
    /// Its files' fingerprint when they were read.
    pub fingerprint: u64,
}

impl Loaded {
    /// The model's manifest (the same in every session).
    pub fn manifest(&self) -> &Manifest {
        &self.classifiers[0].manifest
    }
}

/// Loads `models` (blocking: seconds each), each with the fingerprint of its files.
pub(super) fn load(runtime: &RuntimeConfig, models: &[ModelConfig]) -> anyhow::Result<Vec<Loaded>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    models
        .iter()
        .map(|m| {
            let fingerprint = fingerprint(&m.path);
            let classifiers = Classifier::load_sessions(runtime, &m.path, cores)
                .map_err(|e: ModelError| anyhow::anyhow!("model `{}`: {e}", m.name))?;
            Ok(Loaded {
                config: m.clone(),
                classifiers,
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
    /// Its sessions: each one's hub lane and inference worker.
    pub sessions: Vec<(usize, infer::Worker)>,
    /// Its files' fingerprint when loaded.
    pub fingerprint: u64,
}

impl RunningModel {
    /// A new slot for stream `name` in the lane (session) with the fewest streams,
    /// introduced to that lane's worker.
    pub fn attach(&self, hub: &FrameHub, name: &str) -> StreamSlot {
        let loads: Vec<usize> = self
            .sessions
            .iter()
            .map(|(l, _)| hub.lane_streams(*l))
            .collect();
        let (lane, worker) = &self.sessions[least_loaded(&loads)];
        let slot = hub.attach_in(name, *lane);
        worker.attach(&slot, name);
        slot
    }

    /// Whether `lane` is one of this model's.
    pub fn has_lane(&self, lane: Option<usize>) -> bool {
        self.sessions.iter().any(|(l, _)| Some(*l) == lane)
    }

    /// Forgets `slot`, of lane `lane`, in that lane's worker.
    pub fn detach(&self, slot: &StreamSlot, lane: Option<usize>) {
        if let Some((_, w)) = self.sessions.iter().find(|(l, _)| Some(*l) == lane) {
            w.detach(slot);
        }
    }

    /// Closes the model's lanes: its workers stop after their current batch.
    pub fn close(&self, hub: &FrameHub) {
        for (lane, _) in &self.sessions {
            hub.close_lane(*lane);
        }
    }

    /// Waits for the model's workers to end (after [`RunningModel::close`]).
    pub fn join(self) {
        for (_, w) in self.sessions {
            w.join();
        }
    }
}

/// The dispatch rule: the first of the lanes with the fewest streams (`loads`, one
/// entry per session; never empty).
fn least_loaded(loads: &[usize]) -> usize {
    let min = loads.iter().copied().min().unwrap_or(0);
    loads.iter().position(|&l| l == min).unwrap_or(0)
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
    /// Starts a worker for each session of `loaded`: the first model's first session
    /// on the hub's lane 0 when `first_lane_zero`, every other on a lane of its own.
    pub fn start(loaded: Vec<Loaded>, parts: &WorkerParts<'_>, first_lane_zero: bool) -> Models {
        let mut running = Vec::new();
        for (i, l) in loaded.into_iter().enumerate() {
            running.push(start_one(l, i == 0 && first_lane_zero, parts));
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
            m.close(hub);
        }
        for m in self.running {
            m.join();
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

/// One line for each enabled stream that samples at another rate than its model (or a
/// region's model) was trained on (the manifest's `[input] sample_fps`): motion at the
/// wrong rate reads as another action (a walk sampled at half the rate looks like a run).
pub(super) fn rate_mismatches(
    models: &[(String, Manifest)],
    streams: &[StreamConfig],
) -> Vec<String> {
    let mut out = Vec::new();
    for (name, m) in models {
        let Some(trained) = m.input.sample_fps else {
            continue;
        };
        for s in streams.iter().filter(|s| s.enabled) {
            let runs = (s.regions.is_empty() && s.model == *name)
                || s.regions.iter().any(|r| r.model == *name);
            if runs && (s.sample_fps - trained).abs() > 1e-6 {
                let rate = if s.sample_fps > 0.0 {
                    format!("samples at {} fps", s.sample_fps)
                } else {
                    "takes every decoded frame (sample_fps = 0)".to_string()
                };
                out.push(format!(
                    "stream `{}` {rate}, but model `{name}` ({}) learned from frames at {trained} fps: \
                     set sample_fps = {trained} in its [[stream]] table",
                    s.name, m.name
                ));
            }
        }
    }
    out
}

/// Starts a worker for each session of `l`, each on a lane of its own (the first on
/// lane 0 when `lane_zero`). The first session's thread is named `inference`, the
/// others `inference-N` (N from 1).
pub(super) fn start_one(l: Loaded, lane_zero: bool, parts: &WorkerParts<'_>) -> RunningModel {
    let manifest = l.manifest().clone();
    let mut sessions = Vec::new();
    for (i, classifier) in l.classifiers.into_iter().enumerate() {
        let lane = if i == 0 && lane_zero {
            0
        } else {
            parts.hub.open_lane()
        };
        let thread = match i {
            0 => "inference".to_string(),
            i => format!("inference-{i}"),
        };
        tracing::info!(model = %l.config.name, name = %manifest.name, lane, session = i, thread = %thread, "model running");
        let worker = infer::spawn(
            (classifier, thread),
            parts.hub.clone(),
            lane,
            worker_settings(parts.config),
            parts.publisher.clone(),
        );
        sessions.push((lane, worker));
    }
    RunningModel {
        target: target(&manifest),
        manifest,
        config: l.config,
        sessions,
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

#[cfg(test)]
mod tests {
    use super::{least_loaded, rate_mismatches};
    use crate::config::Config;
    use crate::model::Manifest;
    use std::path::Path;

    fn manifest(rate: &str) -> Manifest {
        let text = format!(
            "name = \"people\"\nlabels = [\"a\"]\n[input]\nname = \"i\"\nlayout = \"NHWC\"\n\
             width = 8\nheight = 8\n{rate}\n[output]\nname = \"o\"\nkind = \"logits\"\n"
        );
        Manifest::parse(&text, "t", Path::new(".")).unwrap()
    }

    #[test]
    fn streams_sampling_at_another_rate_than_their_model_learned_are_named() {
        let c = Config::parse(
            "[[model]]\nname = \"tsm\"\npath = \"t.onnx\"\n\
             [[model]]\nname = \"old\"\npath = \"o.onnx\"\n\
             [[stream]]\nname = \"right\"\nuri = \"test:ball\"\nsample_fps = 10\n\
             [[stream]]\nname = \"slow\"\nuri = \"test:ball\"\n\
             [[stream]]\nname = \"all\"\nuri = \"test:ball\"\nsample_fps = 0\n\
             [[stream]]\nname = \"off\"\nuri = \"test:ball\"\nenabled = false\n\
             [[stream]]\nname = \"other\"\nuri = \"test:ball\"\nmodel = \"old\"\n\
             [[stream]]\nname = \"split\"\nuri = \"test:ball\"\nmodel = \"old\"\n\
             [[stream.region]]\nname = \"l\"\nrect = [0.0, 0.0, 0.5, 1.0]\nmodel = \"tsm\"\n",
            Path::new("/etc/actiond/actiond.toml"),
        )
        .unwrap();
        let models = [
            ("tsm".to_string(), manifest("sample_fps = 10")),
            ("old".to_string(), manifest("")),
        ];
        let lines = rate_mismatches(&models, &c.streams);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].starts_with("stream `slow` samples at 5 fps")
                && lines[0].contains("sample_fps = 10")
        );
        assert!(lines[1].starts_with("stream `all` takes every decoded frame"));
        assert!(lines[2].starts_with("stream `split` samples at 5 fps"));
        assert!(lines.iter().all(|l| l.contains("model `tsm` (people)")));
    }

    #[test]
    fn a_new_stream_goes_to_the_first_session_with_the_fewest_streams() {
        assert_eq!(least_loaded(&[0]), 0);
        assert_eq!(least_loaded(&[0, 0]), 0);
        assert_eq!(least_loaded(&[1, 0]), 1);
        assert_eq!(least_loaded(&[1, 1]), 0);
        assert_eq!(least_loaded(&[2, 1, 1]), 1);
        assert_eq!(least_loaded(&[3, 2, 4]), 1);
    }
}
