//! ONNX Runtime: loading the library, the model and its manifest, checking them
//! against each other, and running batches.

pub mod manifest;
pub mod preprocess;
pub mod runtime;
mod state;

use std::path::{Path, PathBuf};

use ort::ep::{self, ExecutionProvider};
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::Session;
use ort::session::SessionInputValue;
use ort::value::{TensorElementType, TensorRef, ValueType};

use crate::config::{Provider, RuntimeConfig};
use crate::model::preprocess::{Layout, Normalizer, PreprocessError};
use crate::smooth::softmax_in_place;
pub use manifest::{
    ChannelOrder, Manifest, ManifestError, ModelKind, OutputKind, Resize, StatePair,
};

/// Why the model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No candidate ONNX Runtime library could be loaded.
    #[error("could not load the ONNX Runtime library; tried:{}\n(set [runtime] onnxruntime or ORT_DYLIB_PATH, or run scripts/setup.sh)", fmt_tried(.tried))]
    RuntimeNotFound {
        /// Each path tried and why it failed.
        tried: Vec<(PathBuf, String)>,
    },
    /// The model file does not exist.
    #[error("model file {0}: not found")]
    ModelMissing(PathBuf),
    /// The manifest is missing or invalid.
    #[error("model {model}: {source}")]
    Manifest {
        /// The model file.
        model: PathBuf,
        /// The manifest problem.
        source: ManifestError,
    },
    /// Neither model.toml nor ONNX metadata holds a manifest.
    #[error("model {0}: no manifest: put model.toml beside it or the key `actiond.manifest` in its ONNX metadata")]
    NoManifest(PathBuf),
    /// ONNX Runtime refused the model or a setting.
    #[error("model {model}: ONNX Runtime: {message}")]
    Session {
        /// The model file.
        model: PathBuf,
        /// ONNX Runtime's message.
        message: String,
    },
    /// The model's tensors disagree with the manifest.
    #[error("model {model}: {tensor_kind} `{tensor}`: {message}")]
    Mismatch {
        /// The model file.
        model: PathBuf,
        /// "input" or "output".
        tensor_kind: &'static str,
        /// The tensor's name.
        tensor: String,
        /// What disagrees, with both shapes.
        message: String,
    },
    /// A frame could not be preprocessed.
    #[error("preprocessing: {0}")]
    Preprocess(#[from] PreprocessError),
    /// Running the model failed.
    #[error("inference: {0}")]
    Run(String),
}

fn fmt_tried(tried: &[(PathBuf, String)]) -> String {
    tried
        .iter()
        .map(|(p, why)| format!("\n  {}: {why}", p.display()))
        .collect()
}

/// Formats an ONNX shape with symbolic dimensions shown as `?`.
fn fmt_shape(dims: &[i64]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| {
            if *d < 0 {
                "?".to_string()
            } else {
                d.to_string()
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// A loaded, checked classifier: one ONNX Runtime session and its reused buffers.
pub struct Classifier {
    session: Session,
    _env: ort::environment::Environment,
    /// The validated manifest.
    pub manifest: Manifest,
    /// The model file.
    pub model_path: PathBuf,
    /// The ONNX Runtime library that was loaded.
    pub runtime_path: PathBuf,
    /// Name of the execution provider that runs the model.
    pub provider: String,
    normalizer: Normalizer,
    max_batch: usize,
    frame_len: usize,
    /// Values per batch row: T frames for a clip model, else one.
    row_len: usize,
    classes: usize,
    input: Vec<f32>,
    probs: Vec<f32>,
    states: Vec<state::StateSlot>,
}

impl Classifier {
    /// Loads ONNX Runtime and the model, checks it against its manifest and prepares buffers.
    pub fn load(rt: &RuntimeConfig, model_path: &Path) -> Result<Self, ModelError> {
        Self::load_shared(rt, model_path, None)
    }

    /// The sessions of one model as `rt.session_plan` says for `cores` cores: each a
    /// classifier of its own, all sharing one container of prepacked weights.
    pub fn load_sessions(
        rt: &RuntimeConfig,
        model_path: &Path,
        cores: usize,
    ) -> Result<Vec<Self>, ModelError> {
        let (n, threads) = rt.session_plan(cores);
        let rt = RuntimeConfig {
            intra_threads: threads,
            ..rt.clone()
        };
        if n == 1 {
            return Ok(vec![Self::load_shared(&rt, model_path, None)?]);
        }
        // The container can only be made once ONNX Runtime is loaded.
        runtime::init(rt.onnxruntime.as_deref())?;
        let shared = ort::session::builder::PrepackedWeights::new();
        let all = (0..n)
            .map(|_| Self::load_shared(&rt, model_path, Some(&shared)))
            .collect::<Result<Vec<_>, _>>()?;
        tracing::info!(model = %model_path.display(), sessions = n, intra_threads = threads, "sessions ready");
        Ok(all)
    }

    /// [`Classifier::load`] with a container of prepacked weights shared with other sessions.
    fn load_shared(
        rt: &RuntimeConfig,
        model_path: &Path,
        prepacked: Option<&ort::session::builder::PrepackedWeights>,
    ) -> Result<Self, ModelError> {
        if !model_path.is_file() {
            return Err(ModelError::ModelMissing(model_path.to_path_buf()));
        }
        let (env, runtime_path) = runtime::init(rt.onnxruntime.as_deref())?;
        tracing::info!(library = %runtime_path.display(), "loaded ONNX Runtime");
        let (session, provider) = open_session(&env, rt, model_path, prepacked)?;
        let manifest = find_manifest(&session, model_path)?;
        let dynamic_batch = check_input(&session, &manifest, model_path)?;
        let classes = check_output(&session, &manifest, model_path)?;
        let i = &manifest.input;
        let normalizer = Normalizer::new(i.scale, i.mean, i.std)?;
        let max_batch = if dynamic_batch {
            rt.max_batch.max(1)
        } else {
            1
        };
        let frame_len = 3 * i.width * i.height;
        let row_len = manifest.frames() * frame_len;
        let states = state::check_states(&session, &manifest.states, model_path, max_batch)?;
        tracing::info!(
            model = %model_path.display(),
            name = %manifest.name,
            kind = manifest.kind().name(),
            frames = manifest.frames(),
            classes,
            max_batch,
            provider = %provider,
            "model ready"
        );
        Ok(Classifier {
            session,
            _env: env,
            model_path: model_path.to_path_buf(),
            runtime_path,
            provider,
            normalizer,
            max_batch,
            frame_len,
            row_len,
            classes,
            input: vec![0.0; max_batch * row_len],
            probs: vec![0.0; max_batch * classes],
            states,
            manifest,
        })
    }

    /// Largest number of frames one run takes.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// Number of classes (= labels).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Preprocesses one frame (packed 3-byte pixels at the model's size) into batch slot `slot`.
    pub fn fill(&mut self, slot: usize, pixels: &[u8], stride: usize) -> Result<(), ModelError> {
        let dst = &mut self.input[slot * self.row_len..slot * self.row_len + self.frame_len];
        let i = &self.manifest.input;
        self.normalizer
            .fill(i.layout, i.width, i.height, pixels, stride, dst)?;
        Ok(())
    }

    /// Values in one preprocessed frame (`3 × width × height`).
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Preprocesses one frame into `dst` (`frame_len` values; planar for clip layouts).
    pub fn preprocess(
        &self,
        pixels: &[u8],
        stride: usize,
        dst: &mut [f32],
    ) -> Result<(), ModelError> {
        let i = &self.manifest.input;
        self.normalizer
            .fill(i.layout, i.width, i.height, pixels, stride, dst)?;
        Ok(())
    }

    /// Writes a clip of preprocessed frames (oldest first, T of them) into batch slot `slot`
    /// in the model's clip layout.
    pub fn fill_clip<'f>(&mut self, slot: usize, frames: impl Iterator<Item = &'f [f32]>) {
        let row = &mut self.input[slot * self.row_len..(slot + 1) * self.row_len];
        let t_all = self.manifest.frames();
        let plane = self.frame_len / 3;
        for (t, f) in frames.take(t_all).enumerate() {
            if self.manifest.input.layout == Layout::Ncthw {
                for c in 0..3 {
                    let at = (c * t_all + t) * plane;
                    row[at..at + plane].copy_from_slice(&f[c * plane..(c + 1) * plane]);
                }
            } else {
                row[t * self.frame_len..(t + 1) * self.frame_len].copy_from_slice(f);
            }
        }
    }

    /// Values per item of each state pair, in manifest order.
    pub fn state_lens(&self) -> impl Iterator<Item = usize> + '_ {
        self.states.iter().map(|s| s.len)
    }

    /// State input `pair` of batch slot `slot`, to fill before [`Classifier::run`].
    pub fn state_in_mut(&mut self, pair: usize, slot: usize) -> &mut [f32] {
        let s = &mut self.states[pair];
        &mut s.input[slot * s.len..(slot + 1) * s.len]
    }

    /// State output `pair` of batch slot `slot` from the last run.
    pub fn state_out(&self, pair: usize, slot: usize) -> &[f32] {
        let s = &self.states[pair];
        &s.output[slot * s.len..(slot + 1) * s.len]
    }

    /// Runs the first `n` filled slots; returns `n × classes` probabilities.
    pub fn run(&mut self, n: usize) -> Result<&[f32], ModelError> {
        assert!(
            n >= 1 && n <= self.max_batch,
            "batch {n} out of 1..={}",
            self.max_batch
        );
        let i = &self.manifest.input;
        let mut shape = input_dims(i.layout, self.manifest.frames(), i.width, i.height);
        shape[0] = n as i64;
        let run_err = |e: ort::Error| ModelError::Run(e.to_string());
        let data = &self.input[..n * self.row_len];
        let mut inputs: Vec<(std::borrow::Cow<str>, SessionInputValue)> = vec![(
            i.name.as_str().into(),
            TensorRef::from_array_view((shape, data))
                .map_err(run_err)?
                .into(),
        )];
        for s in &self.states {
            let view = (s.batch_shape(n), &s.input[..n * s.len]);
            let t = TensorRef::from_array_view(view).map_err(run_err)?;
            inputs.push((s.pair.input.as_str().into(), t.into()));
        }
        let outputs = self.session.run(inputs).map_err(run_err)?;
        for s in &mut self.states {
            let name = s.pair.output.as_str();
            let value = outputs
                .get(name)
                .ok_or_else(|| ModelError::Run(format!("state output `{name}` missing")))?;
            let (_, values) = value.try_extract_tensor::<f32>().map_err(run_err)?;
            if values.len() != n * s.len {
                return Err(ModelError::Run(format!(
                    "state output `{name}` has {} values for a batch of {n}, expected {}",
                    values.len(),
                    n * s.len
                )));
            }
            s.output[..n * s.len].copy_from_slice(values);
        }
        let out_name = self.manifest.output.name.as_str();
        let value = outputs
            .get(out_name)
            .ok_or_else(|| ModelError::Run(format!("output `{out_name}` missing")))?;
        let (shape, values) = value.try_extract_tensor::<f32>().map_err(run_err)?;
        if values.len() != n * self.classes {
            return Err(ModelError::Mismatch {
                model: self.model_path.clone(),
                tensor_kind: "output",
                tensor: out_name.to_string(),
                message: format!(
                    "produced shape {} for a batch of {n}, expected {n}×{} values (one per label)",
                    fmt_shape(shape),
                    self.classes
                ),
            });
        }
        let probs = &mut self.probs[..n * self.classes];
        probs.copy_from_slice(values);
        if self.manifest.output.kind == OutputKind::Logits {
            for row in probs.chunks_exact_mut(self.classes) {
                softmax_in_place(row);
            }
        }
        Ok(&self.probs[..n * self.classes])
    }
}

/// The input tensor's shape for `layout` with a dynamic batch axis (-1).
fn input_dims(layout: Layout, frames: usize, width: usize, height: usize) -> Vec<i64> {
    let (t, w, h) = (frames as i64, width as i64, height as i64);
    match layout {
        Layout::Nchw => vec![-1, 3, h, w],
        Layout::Nhwc => vec![-1, h, w, 3],
        Layout::Ntchw => vec![-1, t, 3, h, w],
        Layout::Ncthw => vec![-1, 3, t, h, w],
        Layout::NtchwStacked => vec![-1, 3 * t, h, w],
    }
}

/// Builds the session with the daemon's options (no parallel executor or memory
/// pattern, spinning as configured) and the configured execution providers;
/// returns it with the name of the provider that runs the model.
fn open_session(
    env: &ort::environment::Environment,
    rt: &RuntimeConfig,
    model_path: &Path,
    prepacked: Option<&ort::session::builder::PrepackedWeights>,
) -> Result<(Session, String), ModelError> {
    let sess_err = |e: &dyn std::fmt::Display| ModelError::Session {
        model: model_path.to_path_buf(),
        message: e.to_string(),
    };
    let mut builder = Session::builder(env)
        .and_then(|b| Ok(b.with_optimization_level(GraphOptimizationLevel::All)?))
        .and_then(|b| Ok(b.with_parallel_execution(false)?))
        .and_then(|b| Ok(b.with_intra_op_spinning(rt.allow_spinning)?))
        .and_then(|b| Ok(b.with_inter_op_spinning(false)?))
        .and_then(|b| Ok(b.with_memory_pattern(false)?))
        // Warnings and errors reach the log (runtime::log_ort); its chatter is not made.
        .and_then(|b| Ok(b.with_log_level(ort::logging::LogLevel::Warning)?))
        .and_then(|b| Ok(b.with_log_id("model")?))
        .map_err(|e| sess_err(&e))?;
    if rt.intra_threads > 0 {
        builder = builder
            .with_intra_threads(rt.intra_threads)
            .map_err(|e| sess_err(&e))?;
    }
    if let Some(p) = prepacked {
        builder = builder
            .with_prepacked_weights(p)
            .map_err(|e| sess_err(&e))?;
    }
    let provider = register_providers(&mut builder, rt);
    let session = builder
        .commit_from_file(model_path)
        .map_err(|e| sess_err(&e))?;
    Ok((session, provider))
}

/// The model's manifest: model.toml beside it, else the one in its ONNX metadata.
fn find_manifest(session: &Session, model_path: &Path) -> Result<Manifest, ModelError> {
    let manifest = match Manifest::beside(model_path) {
        Some(p) => Manifest::load(&p),
        None => {
            let text = session
                .metadata()
                .ok()
                .and_then(|m| m.custom(manifest::METADATA_KEY));
            let Some(t) = text else {
                return Err(ModelError::NoManifest(model_path.to_path_buf()));
            };
            let origin = format!(
                "{} metadata `{}`",
                model_path.display(),
                manifest::METADATA_KEY
            );
            Manifest::parse(&t, &origin, model_path.parent().unwrap_or(Path::new(".")))
        }
    };
    manifest.map_err(|source| ModelError::Manifest {
        model: model_path.to_path_buf(),
        source,
    })
}

/// Registers the configured execution providers in order; returns the name of the first that took.
fn register_providers(builder: &mut SessionBuilder, rt: &RuntimeConfig) -> String {
    let mut active: Option<String> = None;
    for p in &rt.providers {
        let (name, available, dispatch) = match p {
            Provider::Cpu => (
                ep::CPU::NAME,
                Ok(true),
                ep::CPU::default()
                    .with_arena_allocator(rt.cpu_arena)
                    .build(),
            ),
            Provider::Cuda => (
                ep::CUDA::NAME,
                ep::CUDA::is_available(),
                ep::CUDA::default().build(),
            ),
            Provider::TensorRt => (
                ep::TensorRT::NAME,
                ep::TensorRT::is_available(),
                ep::TensorRT::default().build(),
            ),
            Provider::OpenVino => (
                ep::OpenVINO::NAME,
                ep::OpenVINO::is_available(),
                ep::OpenVINO::default().build(),
            ),
        };
        match available {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(provider = %p, "execution provider skipped: this ONNX Runtime build does not include {name}");
                continue;
            }
            Err(e) => {
                tracing::warn!(provider = %p, "execution provider skipped: {e}");
                continue;
            }
        }
        match dispatch.register(builder) {
            Ok(()) => {
                if active.is_none() {
                    tracing::info!(provider = %p, "execution provider {name} runs the model");
                    active = Some(p.to_string());
                } else {
                    tracing::info!(provider = %p, "execution provider {name} registered as a fallback");
                }
            }
            Err(e) => tracing::warn!(provider = %p, "execution provider skipped: {e}"),
        }
        if *p == Provider::Cpu {
            break;
        }
    }
    active.unwrap_or_else(|| {
        tracing::warn!("none of the configured execution providers could be used; ONNX Runtime falls back to cpu");
        "cpu".to_string()
    })
}

fn tensor_shape(t: &ValueType) -> Option<(TensorElementType, Vec<i64>)> {
    match t {
        ValueType::Tensor { ty, shape, .. } => Some((*ty, shape.iter().copied().collect())),
        _ => None,
    }
}

fn list_outlets(outlets: &[ort::value::Outlet]) -> String {
    outlets
        .iter()
        .map(|o| match tensor_shape(o.dtype()) {
            Some((_, s)) => format!("`{}` {}", o.name(), fmt_shape(&s)),
            None => format!("`{}` (not a tensor)", o.name()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One tensor the manifest names, for finding it in the model and reporting
/// where they disagree.
struct Tensor<'a> {
    model: &'a Path,
    /// "input" or "output".
    kind: &'static str,
    name: &'a str,
}

impl Tensor<'_> {
    fn mismatch(&self, message: String) -> ModelError {
        ModelError::Mismatch {
            model: self.model.to_path_buf(),
            tensor_kind: self.kind,
            tensor: self.name.to_string(),
            message,
        }
    }

    /// The model's outlet of this name; if none, the error lists the ones it has.
    fn find<'o>(
        &self,
        outlets: &'o [ort::value::Outlet],
    ) -> Result<&'o ort::value::Outlet, ModelError> {
        outlets
            .iter()
            .find(|o| o.name() == self.name)
            .ok_or_else(|| {
                self.mismatch(format!(
                    "not in the model; its {}s are {}",
                    self.kind,
                    list_outlets(outlets)
                ))
            })
    }

    /// The outlet's element type and shape, if it is a tensor.
    fn shape(
        &self,
        outlet: &ort::value::Outlet,
    ) -> Result<(TensorElementType, Vec<i64>), ModelError> {
        tensor_shape(outlet.dtype()).ok_or_else(|| self.mismatch("is not a tensor".into()))
    }
}

/// Checks the input tensor against the manifest; returns whether the batch dimension is dynamic.
fn check_input(session: &Session, m: &Manifest, model: &Path) -> Result<bool, ModelError> {
    let i = &m.input;
    let tensor = Tensor {
        model,
        kind: "input",
        name: &i.name,
    };
    let mismatch = |message: String| tensor.mismatch(message);
    let outlet = tensor.find(session.inputs())?;
    if session.inputs().len() != 1 + m.states.len() {
        return Err(mismatch(format!(
            "the model has {} inputs ({}); the manifest names {} (the frame input and {} [[state]] inputs)",
            session.inputs().len(),
            list_outlets(session.inputs()),
            1 + m.states.len(),
            m.states.len()
        )));
    }
    let (ty, dims) = tensor.shape(outlet)?;
    let layout = i.layout.name();
    let Some(frames) = i.frames.or((!i.layout.is_clip()).then_some(1)) else {
        let axis = match i.layout {
            Layout::Ntchw => dims.get(1).copied(),
            Layout::Ncthw => dims.get(2).copied(),
            _ => dims.get(1).map(|d| d / 3),
        };
        let hint = axis.filter(|t| *t > 0).map_or(String::new(), |t| {
            format!(" (its shape suggests `frames = {t}`)")
        });
        return Err(mismatch(format!(
            "layout {layout} is a clip layout and needs `frames = T` in [input]; the model declares {}{hint}",
            fmt_shape(&dims)
        )));
    };
    let expected = input_dims(i.layout, frames, i.width, i.height);
    let agree = dims.len() == expected.len()
        && dims
            .iter()
            .zip(&expected)
            .skip(1)
            .all(|(d, e)| *d < 0 || d == e);
    if !agree {
        let t = if i.layout.is_clip() {
            format!(", T = {frames}")
        } else {
            String::new()
        };
        return Err(mismatch(format!(
            "the manifest expects {} ({layout}, {}x{}{t}) but the model declares {} (rank {})",
            fmt_shape(&expected),
            i.width,
            i.height,
            fmt_shape(&dims),
            dims.len()
        )));
    }
    if ty != TensorElementType::Float32 {
        return Err(mismatch(format!(
            "element type is {ty:?}; only float32 inputs are supported"
        )));
    }
    match dims[0] {
        d if d < 0 => Ok(true),
        1 => Ok(false),
        d => Err(mismatch(format!(
            "fixed batch size {d} in {}; export the model with batch 1 or a dynamic batch",
            fmt_shape(&dims)
        ))),
    }
}

/// Checks the output tensor against the manifest's labels; returns the class count.
fn check_output(session: &Session, m: &Manifest, model: &Path) -> Result<usize, ModelError> {
    let tensor = Tensor {
        model,
        kind: "output",
        name: &m.output.name,
    };
    let mismatch = |message: String| tensor.mismatch(message);
    let (ty, dims) = tensor.shape(tensor.find(session.outputs())?)?;
    if ty != TensorElementType::Float32 {
        return Err(mismatch(format!(
            "element type is {ty:?}; only float32 outputs are supported"
        )));
    }
    let labels = m.labels.len();
    let expected = vec![-1, labels as i64];
    let per_item: Vec<i64> = dims.iter().skip(1).copied().filter(|d| *d != 1).collect();
    let classes_ok = match per_item.as_slice() {
        [c] => *c < 0 || *c as usize == labels,
        [] => labels == 1,
        _ => false,
    };
    if dims.is_empty() || !classes_ok {
        return Err(mismatch(format!(
            "the manifest's {labels} labels expect {} but the model declares {}",
            fmt_shape(&expected),
            fmt_shape(&dims)
        )));
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_show_symbolic_dims() {
        assert_eq!(fmt_shape(&[-1, 3, 224, 224]), "[?, 3, 224, 224]");
    }
}
