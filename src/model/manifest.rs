//! The model manifest: labels, input geometry, normalisation and output kind.
//!
//! Read from `model.toml` beside the ONNX file, or from the ONNX metadata key
//! [`METADATA_KEY`] holding the same TOML text.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::preprocess::Layout;

/// ONNX metadata key whose value is the manifest's TOML text.
pub const METADATA_KEY: &str = "actiond.manifest";

/// Channel order of the pixels the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ChannelOrder {
    /// Red, green, blue.
    #[serde(rename = "RGB")]
    Rgb,
    /// Blue, green, red.
    #[serde(rename = "BGR")]
    Bgr,
}

/// How a frame is fitted to the model's input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resize {
    /// Scale both axes independently to the input size.
    Stretch,
    /// Crop the centre to the input's aspect ratio, then scale.
    CenterCrop,
    /// Scale to fit inside the input, padding with black borders.
    Letterbox,
}

/// What the output tensor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Raw scores: softmax is applied by the daemon.
    Logits,
    /// Class probabilities (softmax already applied in the model).
    Probabilities,
}

/// The `[input]` table of a manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Name of the input tensor in the ONNX graph.
    pub name: String,
    /// Tensor layout: "NCHW", "NHWC", or for clip models "NTCHW", "NCTHW", "NTCHW_STACKED".
    #[serde(deserialize_with = "de_layout")]
    pub layout: Layout,
    /// Clip models: frames per clip (T).
    #[serde(default)]
    pub frames: Option<usize>,
    /// Clip models: use every k-th sampled frame (default 1).
    #[serde(default)]
    pub frame_stride: Option<usize>,
    /// Frames per second the model was trained on (streams feeding it should sample at it).
    #[serde(default)]
    pub sample_fps: Option<f64>,
    /// Input width in pixels.
    pub width: usize,
    /// Input height in pixels.
    pub height: usize,
    /// Channel order of the pixels.
    #[serde(default = "default_channel_order")]
    pub channel_order: ChannelOrder,
    /// How frames are fitted to width×height.
    #[serde(default = "default_resize")]
    pub resize: Resize,
    /// Pixel divisor: x = (pixel / scale − mean) / std.
    #[serde(default = "default_scale")]
    pub scale: f32,
    /// Per-channel mean (after dividing by `scale`).
    #[serde(default = "default_mean")]
    pub mean: [f32; 3],
    /// Per-channel standard deviation (after dividing by `scale`).
    #[serde(default = "default_std")]
    pub std: [f32; 3],
}

/// The `[output]` table of a manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Name of the output tensor in the ONNX graph.
    pub name: String,
    /// Whether the output holds logits or probabilities.
    pub kind: OutputKind,
}

/// One `[[state]]` table: a state input fed with the previous call's `output`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatePair {
    /// State input tensor (zeros on the first call).
    pub input: String,
    /// Output tensor fed back into `input` on the next call.
    pub output: String,
}

/// What a model takes per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// One frame per call.
    Frame,
    /// T frames per call.
    Clip,
    /// One frame per call plus state carried from call to call.
    Stateful,
}

impl ModelKind {
    /// Lower-case name: "frame", "clip", "stateful".
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Frame => "frame",
            ModelKind::Clip => "clip",
            ModelKind::Stateful => "stateful",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    labels: Option<Vec<String>>,
    labels_file: Option<PathBuf>,
    input: InputSpec,
    output: OutputSpec,
    #[serde(default, rename = "state")]
    states: Vec<StatePair>,
}

/// A validated model manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Model name, reported in messages.
    pub name: String,
    /// Class labels, index = output position.
    pub labels: Vec<String>,
    /// Input tensor description.
    pub input: InputSpec,
    /// Output tensor description.
    pub output: OutputSpec,
    /// State pairs of a stateful model (empty otherwise).
    pub states: Vec<StatePair>,
}

impl Manifest {
    /// The model's kind: clip when the layout is a clip layout, stateful when it has state pairs.
    pub fn kind(&self) -> ModelKind {
        if self.input.layout.is_clip() {
            ModelKind::Clip
        } else if self.states.is_empty() {
            ModelKind::Frame
        } else {
            ModelKind::Stateful
        }
    }

    /// Frames per call: T for clip models, else 1.
    pub fn frames(&self) -> usize {
        self.input.frames.unwrap_or(1).max(1)
    }

    /// Clip models: sampled frames per ring entry (`frame_stride`, at least 1).
    pub fn frame_stride(&self) -> usize {
        self.input.frame_stride.unwrap_or(1).max(1)
    }
}

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The TOML is malformed or has wrong keys.
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// File (or metadata) the text came from.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The values are inconsistent.
    #[error("{origin}: {message}")]
    Invalid {
        /// File (or metadata) the text came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

fn default_channel_order() -> ChannelOrder {
    ChannelOrder::Rgb
}
fn default_resize() -> Resize {
    Resize::Stretch
}
fn default_scale() -> f32 {
    255.0
}
fn default_mean() -> [f32; 3] {
    [0.485, 0.456, 0.406]
}
fn default_std() -> [f32; 3] {
    [0.229, 0.224, 0.225]
}

fn de_layout<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Layout, D::Error> {
    let s = String::deserialize(d)?;
    match s.as_str() {
        "NCHW" => Ok(Layout::Nchw),
        "NHWC" => Ok(Layout::Nhwc),
        "NTCHW" => Ok(Layout::Ntchw),
        "NCTHW" => Ok(Layout::Ncthw),
        "NTCHW_STACKED" => Ok(Layout::NtchwStacked),
        other => Err(serde::de::Error::custom(format!(
            "unknown layout `{other}`; expected NCHW, NHWC, NTCHW, NCTHW or NTCHW_STACKED"
        ))),
    }
}

/// Largest T a clip model may take.
pub const MAX_FRAMES: usize = 256;

/// Checks the clip and state keys against each other and the layout, and the training rate.
fn check_temporal(i: &InputSpec, states: &[StatePair]) -> Result<(), String> {
    let layout = i.layout.name();
    // A clip layout without `frames` is refused at load, where the model's shape is known.
    match (i.layout.is_clip(), i.frames) {
        (true, Some(t)) if t == 0 || t > MAX_FRAMES => {
            return Err(format!(
                "input `{}`: frames must be 1..={MAX_FRAMES}, got {t}",
                i.name
            ))
        }
        (false, Some(t)) => {
            return Err(format!(
                "input `{}`: frames = {t} needs a clip layout (NTCHW, NCTHW or NTCHW_STACKED), not {layout}",
                i.name
            ))
        }
        _ => {}
    }
    if i.frame_stride == Some(0) || (i.frame_stride.is_some() && !i.layout.is_clip()) {
        return Err(format!(
            "input `{}`: frame_stride must be >= 1 and needs a clip layout",
            i.name
        ));
    }
    if let Some(fps) = i
        .sample_fps
        .filter(|f| !(f.is_finite() && *f > 0.0 && *f <= 1000.0))
    {
        return Err(format!(
            "input `{}`: sample_fps must be above 0 and at most 1000, got {fps}",
            i.name
        ));
    }
    if i.layout.is_clip() && !states.is_empty() {
        return Err("a model is either a clip model or a stateful one, not both".into());
    }
    let mut seen = std::collections::HashSet::new();
    for s in states {
        for name in [&s.input, &s.output] {
            if !seen.insert(name.as_str()) || *name == i.name {
                return Err(format!("[[state]] tensor `{name}` is named twice"));
            }
        }
    }
    Ok(())
}

/// Largest labels file read (a million labels of one byte; anything bigger is a mistake).
pub const MAX_LABELS_FILE: u64 = 1 << 20;

/// Reads a labels file defensively: a regular file (not a FIFO that would block,
/// nor a device that never ends) of at most [`MAX_LABELS_FILE`] bytes.
fn read_labels_file(p: &Path) -> Result<String, ManifestError> {
    use std::io::Read;
    let io = |source| ManifestError::Io {
        path: p.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(p).map_err(io)?;
    let invalid = |message: String| ManifestError::Invalid {
        origin: p.display().to_string(),
        message,
    };
    if !meta.is_file() {
        return Err(invalid("labels_file is not a regular file".into()));
    }
    let mut text = String::new();
    std::fs::File::open(p)
        .map_err(io)?
        .take(MAX_LABELS_FILE + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_LABELS_FILE {
        return Err(invalid(format!(
            "labels_file is larger than {MAX_LABELS_FILE} bytes"
        )));
    }
    Ok(text)
}

/// Byte offset → 1-based (line, column).
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

impl Manifest {
    /// Reads `model.toml` beside `model_path`, if it exists.
    pub fn beside(model_path: &Path) -> Option<PathBuf> {
        let p = model_path.with_file_name("model.toml");
        p.is_file().then_some(p)
    }

    /// Loads and validates a manifest file; `labels_file` is relative to it.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), dir)
    }

    /// Parses manifest text; `origin` names it in errors, `dir` resolves `labels_file`.
    pub fn parse(text: &str, origin: &str, dir: &Path) -> Result<Self, ManifestError> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            ManifestError::Parse {
                origin: origin.to_string(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
        let invalid = |message: String| ManifestError::Invalid {
            origin: origin.to_string(),
            message,
        };
        check_temporal(&raw.input, &raw.states).map_err(invalid)?;
        let labels = match (raw.labels, raw.labels_file) {
            (Some(l), None) => l,
            (None, Some(f)) => {
                let p = dir.join(f);
                let t = read_labels_file(&p)?;
                t.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect()
            }
            (Some(_), Some(_)) => {
                return Err(invalid("give `labels` or `labels_file`, not both".into()))
            }
            (None, None) => return Err(invalid("missing `labels` (or `labels_file`)".into())),
        };
        if labels.is_empty() {
            return Err(invalid("`labels` is empty".into()));
        }
        let i = &raw.input;
        if i.width == 0 || i.height == 0 || i.width > 8192 || i.height > 8192 {
            return Err(invalid(format!(
                "input.width/height must be 1..=8192, got {}x{}",
                i.width, i.height
            )));
        }
        if !(i.scale.is_finite() && i.scale > 0.0) {
            return Err(invalid(format!("input.scale must be > 0, got {}", i.scale)));
        }
        if i.std.iter().any(|s| !s.is_finite() || *s == 0.0)
            || i.mean.iter().any(|m| !m.is_finite())
        {
            return Err(invalid(format!(
                "input.mean must be finite and input.std finite and non-zero, got mean {:?} std {:?}",
                i.mean, i.std
            )));
        }
        Ok(Manifest {
            name: raw.name,
            labels,
            input: raw.input,
            output: raw.output,
            states: raw.states,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "m"
labels = ["a", "b"]
[input]
name = "input"
layout = "NCHW"
width = 224
height = 160
[output]
name = "logits"
kind = "logits"
"#;

    #[test]
    fn parses_with_defaults() {
        let m = Manifest::parse(GOOD, "t", Path::new(".")).unwrap();
        assert_eq!(m.labels, ["a", "b"]);
        assert_eq!(m.input.layout, Layout::Nchw);
        assert_eq!((m.input.width, m.input.height), (224, 160));
        assert_eq!(m.input.channel_order, ChannelOrder::Rgb);
        assert_eq!(m.input.resize, Resize::Stretch);
        assert_eq!(m.input.scale, 255.0);
        assert_eq!(m.output.kind, OutputKind::Logits);
    }

    #[test]
    fn unknown_key_names_line() {
        let text = GOOD.replace("height = 160", "height = 160\nhieght = 3");
        let e = Manifest::parse(&text, "x/model.toml", Path::new(".")).unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("x/model.toml:9:"), "{s}");
        assert!(s.contains("hieght"), "{s}");
    }

    #[test]
    fn the_training_rate_is_read_and_checked() {
        let m = Manifest::parse(GOOD, "t", Path::new(".")).unwrap();
        assert_eq!(m.input.sample_fps, None);
        let text = GOOD.replace("height = 160", "height = 160\nsample_fps = 10");
        let m = Manifest::parse(&text, "t", Path::new(".")).unwrap();
        assert_eq!(m.input.sample_fps, Some(10.0));
        for bad in ["0", "-5", "1e9", "nan"] {
            let text = GOOD.replace("height = 160", &format!("height = 160\nsample_fps = {bad}"));
            let e = Manifest::parse(&text, "x/model.toml", Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("x/model.toml") && e.contains("sample_fps"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn clip_and_stateful_manifests_parse() {
        let text = GOOD.replace(
            "layout = \"NCHW\"",
            "layout = \"NCTHW\"\nframes = 8\nframe_stride = 2",
        );
        let m = Manifest::parse(&text, "t", Path::new(".")).unwrap();
        assert_eq!(m.kind(), ModelKind::Clip);
        assert_eq!((m.frames(), m.frame_stride()), (8, 2));
        let text = format!("{GOOD}[[state]]\ninput = \"h0\"\noutput = \"h1\"\n");
        let m = Manifest::parse(&text, "t", Path::new(".")).unwrap();
        assert_eq!(m.kind(), ModelKind::Stateful);
        assert_eq!(m.states[0].output, "h1");
        assert_eq!(
            Manifest::parse(GOOD, "t", Path::new(".")).unwrap().kind(),
            ModelKind::Frame
        );
    }

    #[test]
    fn temporal_keys_out_of_place_are_refused() {
        let cases = [
            (
                GOOD.replace("height = 160", "height = 160\nframes = 4"),
                "clip layout",
            ),
            (
                GOOD.replace("\"NCHW\"", "\"NTCHW\"\nframes = 0"),
                "frames must be",
            ),
            (
                format!("{GOOD}[[state]]\ninput = \"s\"\noutput = \"s\"\n"),
                "`s` is named twice",
            ),
        ];
        for (text, want) in cases {
            let e = Manifest::parse(&text, "t", Path::new("."))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn labels_file_is_read_relative() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("labels.txt"), "x\n\ny\n").unwrap();
        let text = GOOD.replace("labels = [\"a\", \"b\"]", "labels_file = \"labels.txt\"");
        let m = Manifest::parse(&text, "t", dir.path()).unwrap();
        assert_eq!(m.labels, ["x", "y"]);
    }

    #[test]
    fn labels_file_must_be_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.txt");
        std::fs::write(&big, "x\n".repeat(MAX_LABELS_FILE as usize)).unwrap();
        for (file, want) in [
            ("big.txt", "larger than"),
            ("/dev/zero", "not a regular file"),
        ] {
            let text = GOOD.replace(
                "labels = [\"a\", \"b\"]",
                &format!("labels_file = \"{file}\""),
            );
            let err = Manifest::parse(&text, "t", dir.path())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{file}: {err}");
        }
    }

    #[test]
    fn zero_std_rejected() {
        let text = GOOD.replace("height = 160", "height = 160\nstd = [1.0, 0.0, 1.0]");
        let s = Manifest::parse(&text, "t", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(s.contains("std"), "{s}");
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
