//! Configuration: the TOML schema, its defaults and validation.
//!
//! [`Config::load`] reads a file; every problem is reported as a
//! [`ConfigError`] naming the file, the 1-based line and column, and the key
//! as a dotted path such as `stream[1].sample_fps`. Unknown keys are rejected
//! everywhere. Relative paths are resolved against the config file's directory.
//!
//! The structs below are the schema: serde derives their parsing (each key's
//! type, range and default sit on its field); `validate.rs` adds what serde
//! cannot say (unknown keys in document order, cross-field rules, URIs).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::DeTable;

mod de;
mod effective;
mod raw;
mod record;
mod reference;
mod region;
mod secret;
mod services;
mod source;
mod validate;

pub use effective::Effective;
use raw::{Ctx, Table};
pub use record::RecordConfig;
use reference::Resolver;
pub use region::{Crop, Rect, RegionConfig};
pub use secret::{scrub, Redacted, Secret};
pub use services::{
    hostname, HttpConfig, MqttConfig, MqttPassword, MqttScheme, DEFAULT_HTTP_LISTEN,
};
pub use source::{redact_uri, TEST_FRAME, TEST_PATTERNS};

/// A configuration problem, always naming the file it is in.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file that could not be read.
        file: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The file is not valid TOML or not a valid configuration.
    #[error("{file}:{line}:{column}: {key}: {message}")]
    Invalid {
        /// The file the problem is in.
        file: PathBuf,
        /// 1-based line of the offending key or value.
        line: usize,
        /// 1-based column (in characters) of the offending key or value.
        column: usize,
        /// Dotted key path, e.g. `stream[1].sample_fps`; `syntax` for TOML syntax errors.
        key: String,
        /// What is wrong, e.g. `must be at least 1, got 0`.
        message: String,
    },
}

/// The whole configuration of the daemon.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[runtime]`: ONNX Runtime settings.
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// `[model]`, or `[[model]]` tables: the models, in file order (at least one). A
    /// stream without `model` uses the first; `[model]` alone is named `default`.
    #[serde(rename = "model", deserialize_with = "validate::models")]
    pub models: Vec<ModelConfig>,
    /// `[smoothing]`: how frame results become clip predictions and events.
    #[serde(default)]
    pub smoothing: SmoothingConfig,
    /// `[output]`: where predictions are published.
    #[serde(default)]
    pub output: OutputConfig,
    /// `[[stream]]`: the video streams, in file order (at least one).
    #[serde(rename = "stream")]
    pub streams: Vec<StreamConfig>,
    /// `[mqtt]`: publish to an MQTT broker (off unless the table is present).
    pub mqtt: Option<MqttConfig>,
    /// `[http]`: metrics, health and status over HTTP (off unless the table is present).
    pub http: Option<HttpConfig>,
    /// `[record]`: evidence clips around events (off unless the table is present).
    pub record: Option<RecordConfig>,
    /// The file the configuration came from (not a TOML key).
    #[serde(skip)]
    pub source_path: Option<PathBuf>,
}

/// `[runtime]`: ONNX Runtime settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Path to `libonnxruntime.so`; else `$ORT_DYLIB_PATH`, else the project-local copy.
    ///
    /// A relative path is resolved against the config file's directory; a bare
    /// file name (no `/`) is kept as is, for the system loader's search path.
    #[serde(deserialize_with = "de::some_path")]
    pub onnxruntime: Option<PathBuf>,
    /// Execution providers, tried in order; non-empty, no duplicates (default `["cpu"]`).
    #[serde(deserialize_with = "validate::providers")]
    pub providers: Vec<Provider>,
    /// Intra-op threads; 0 = ONNX Runtime's default (default 0).
    #[serde(deserialize_with = "de::count::<_, 0>")]
    pub intra_threads: usize,
    /// ONNX Runtime sessions per model, each on an inference thread of its own,
    /// 0..=16; 0 = auto: one per core (at most 4) of one thread each when
    /// `intra_threads` is 0 and the providers are `["cpu"]`, else 1 (default 0).
    #[serde(deserialize_with = "de::int::<_, usize, 0, 16>")]
    pub sessions: usize,
    /// Most frames (from several streams) per inference run, 1..=64 (default 4).
    #[serde(deserialize_with = "de::int::<_, usize, 1, 64>")]
    pub max_batch: usize,
    /// Let ONNX Runtime's worker threads spin while waiting (default false).
    #[serde(deserialize_with = "de::bool")]
    pub allow_spinning: bool,
    /// Use ONNX Runtime's CPU memory arena (default false).
    #[serde(deserialize_with = "de::bool")]
    pub cpu_arena: bool,
    /// Seconds without inference progress while frames wait before the worker counts as wedged (default 30).
    #[serde(deserialize_with = "de::positive")]
    pub inference_stall_s: f64,
    /// Nice increment of the streams' GStreamer threads over inference's, 0..=19 (default 5).
    #[serde(deserialize_with = "de::int::<_, usize, 0, 19>")]
    pub stream_nice: usize,
}

/// Most sessions `sessions = 0` (auto) makes: each holds its own copy of the weights.
const AUTO_SESSIONS_MAX: usize = 4;

impl RuntimeConfig {
    /// Sessions per model and intra-op threads per session (0 = ONNX Runtime's
    /// default) on a machine of `cores` cores. Auto (`sessions = 0`) makes one
    /// single-threaded session per core (at most 4) when `intra_threads` is 0 and
    /// only the CPU provider is listed, else one session; several sessions with
    /// `intra_threads = 0` share the cores between them.
    pub fn session_plan(&self, cores: usize) -> (usize, usize) {
        let cores = cores.max(1);
        let cpu_only = self.providers == [Provider::Cpu];
        let sessions = match self.sessions {
            0 if self.intra_threads == 0 && cpu_only => cores.min(AUTO_SESSIONS_MAX),
            0 => 1,
            n => n,
        };
        let threads = match self.intra_threads {
            0 if sessions > 1 => (cores / sessions).max(1),
            n => n,
        };
        (sessions, threads)
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            onnxruntime: None,
            providers: vec![Provider::Cpu],
            intra_threads: 0,
            sessions: 0,
            max_batch: 4,
            allow_spinning: false,
            cpu_arena: false,
            inference_stall_s: 30.0,
            stream_nice: 5,
        }
    }
}

/// An ONNX Runtime execution provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// `"cpu"`: the default CPU provider.
    Cpu,
    /// `"cuda"`: NVIDIA CUDA.
    Cuda,
    /// `"tensorrt"`: NVIDIA TensorRT.
    TensorRt,
    /// `"openvino"`: Intel OpenVINO.
    OpenVino,
}

de::named_enum!(
    Provider,
    "provider",
    [
        Cpu = "cpu",
        Cuda = "cuda",
        TensorRt = "tensorrt",
        OpenVino = "openvino"
    ]
);

impl Provider {
    /// Every provider, in the order listed in messages.
    pub const ALL: [Provider; 4] = [
        Provider::Cpu,
        Provider::Cuda,
        Provider::TensorRt,
        Provider::OpenVino,
    ];
}

/// The name of `[model]` (a single model table without `name`).
pub const DEFAULT_MODEL: &str = "default";

/// `[model]` or one `[[model]]`: a model streams can use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Unique name streams refer to, 1..=64 characters of `[A-Za-z0-9_.-]`
    /// (required in `[[model]]`; `[model]` takes none: it is `default`).
    #[serde(
        default = "ModelConfig::default_name",
        deserialize_with = "validate::model_name"
    )]
    pub name: String,
    /// The `.onnx` file (required), resolved against the config file's directory.
    #[serde(deserialize_with = "de::path")]
    pub path: PathBuf,
}

impl ModelConfig {
    /// `default`, the name of a `[model]` without `name`.
    fn default_name() -> String {
        DEFAULT_MODEL.to_string()
    }
}

impl Config {
    /// The first model: what streams without `model` use.
    pub fn default_model(&self) -> &ModelConfig {
        &self.models[0]
    }

    /// The model named `name`, if configured.
    pub fn model(&self, name: &str) -> Option<&ModelConfig> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// How per-frame probabilities are combined into clip probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmoothingMethod {
    /// `"mean"`: average over the last `window` sampled frames.
    #[default]
    Mean,
    /// `"ema"`: exponential moving average with α = 2/(window+1).
    Ema,
}

de::named_enum!(SmoothingMethod, "method", [Mean = "mean", Ema = "ema"]);

/// `[smoothing]`: how frame results become clip predictions and events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmoothingConfig {
    /// `"mean"` or `"ema"` (default `"mean"`).
    pub method: SmoothingMethod,
    /// Sampled frames per clip, at least 1 (default 16).
    #[serde(deserialize_with = "de::count::<_, 1>")]
    pub window: usize,
    /// A clip prediction every `stride` sampled frames, at least 1 (default 8).
    #[serde(deserialize_with = "de::count::<_, 1>")]
    pub stride: usize,
    /// Score a new label needs for a label-change event, 0..=1 (default 0.5).
    #[serde(deserialize_with = "de::fraction")]
    pub threshold: f32,
    /// Consecutive clips a new label needs for a label-change event, at least 1 (default 2).
    #[serde(deserialize_with = "de::count::<_, 1>")]
    pub confirm: usize,
    /// Labels listed in each prediction's `top`, at least 1 (default 5).
    #[serde(deserialize_with = "de::count::<_, 1>")]
    pub top_k: usize,
}

impl Default for SmoothingConfig {
    fn default() -> Self {
        SmoothingConfig {
            method: SmoothingMethod::Mean,
            window: 16,
            stride: 8,
            threshold: 0.5,
            confirm: 2,
            top_k: 5,
        }
    }
}

/// `[output]`: where predictions are published.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// Unix socket path (default `/run/actiond/predictions.sock`), resolved against the config file's directory.
    #[serde(deserialize_with = "de::path")]
    pub socket: PathBuf,
    /// Socket file permissions, written in TOML as octal digits like `"0660"`, at most `0777` (default 0o660).
    #[serde(deserialize_with = "validate::socket_mode")]
    pub socket_mode: u32,
    /// Group to own the socket file (default: the daemon's group).
    #[serde(deserialize_with = "de::some_non_empty")]
    pub socket_group: Option<String>,
    /// Also write every message to stdout (default false).
    #[serde(deserialize_with = "de::bool")]
    pub stdout: bool,
    /// Also publish each frame's result (default false).
    #[serde(deserialize_with = "de::bool")]
    pub per_frame: bool,
    /// Messages queued per subscriber before that subscriber is dropped, at least 16 (default 1024).
    #[serde(deserialize_with = "de::count::<_, 16>")]
    pub subscriber_buffer: usize,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            socket: PathBuf::from("/run/actiond/predictions.sock"),
            socket_mode: 0o660,
            socket_group: None,
            stdout: false,
            per_frame: false,
            subscriber_buffer: 1024,
        }
    }
}

/// RTSP lower transport for `rtspsrc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RtspTransport {
    /// `"tcp"`: interleaved in the RTSP connection only (strict; survives NAT and loss).
    Tcp,
    /// `"udp"`: RTP over UDP only (strict).
    Udp,
    /// `"auto"` (default): RTP over TCP first, UDP when the camera refuses TCP, TCP again
    /// when UDP gets no packets; what worked is kept for the next reconnect.
    #[default]
    Auto,
}

de::named_enum!(
    RtspTransport,
    "transport",
    [Tcp = "tcp", Udp = "udp", Auto = "auto"]
);

/// Where a stream's video comes from. `Debug` hides URI credentials.
#[derive(Clone, PartialEq)]
pub enum SourceKind {
    /// `rtsp://` or `rtsps://` URI, as written (credentials included).
    Rtsp(String),
    /// A video file: `file:///abs/path`, or a plain path resolved against the config file's directory.
    File(PathBuf),
    /// `http://` or `https://` URI, as written (credentials included).
    Http(String),
    /// `v4l2:///dev/videoN`: the device path.
    V4l2(PathBuf),
    /// `test:<pattern>`: GStreamer `videotestsrc` with this pattern nick.
    Test(String),
    /// A gst-launch fragment that produces raw video (the `pipeline` key).
    Pipeline(String),
}

impl std::fmt::Debug for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (variant, text): (&str, &dyn std::fmt::Debug) = match self {
            SourceKind::Rtsp(uri) => ("Rtsp", &Redacted::from(uri.as_str())),
            SourceKind::File(path) => ("File", path),
            SourceKind::Http(uri) => ("Http", &Redacted::from(uri.as_str())),
            SourceKind::V4l2(path) => ("V4l2", path),
            SourceKind::Test(pattern) => ("Test", pattern),
            SourceKind::Pipeline(p) => ("Pipeline", &Redacted::from(p.as_str())),
        };
        f.debug_tuple(variant).field(text).finish()
    }
}

/// `[[stream]]`: one video stream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default = "StreamConfig::unnamed", deny_unknown_fields)]
pub struct StreamConfig {
    /// Unique name, 1..=64 characters of `[A-Za-z0-9_.-]`.
    #[serde(deserialize_with = "validate::stream_name")]
    pub name: String,
    /// The source, from exactly one of the keys `uri` and `pipeline`.
    #[serde(skip)]
    pub source: SourceKind,
    /// The `uri` value as written (may hold credentials: `Debug` redacts it).
    #[serde(deserialize_with = "validate::some_text")]
    pub uri: Option<Redacted>,
    /// The `pipeline` value as written.
    #[serde(deserialize_with = "validate::some_text")]
    pub pipeline: Option<Redacted>,
    /// Frames per second passed to the model, 0..=1000; 0 = every decoded frame (default 5).
    #[serde(deserialize_with = "de::fps")]
    pub sample_fps: f64,
    /// Leave undecoded the non-reference H.264/H.265 frames `sample_fps` is certain to drop (default true).
    #[serde(deserialize_with = "de::bool")]
    pub skip_unsampled: bool,
    /// RTSP transport (default `"auto"`).
    pub rtsp_transport: RtspTransport,
    /// `rtspsrc` jitterbuffer latency in milliseconds (default 200).
    #[serde(deserialize_with = "de::int::<_, u32, 0, { u32::MAX as i128 }>")]
    pub latency_ms: u32,
    /// TOML `loop`: restart a file stream at its end instead of stopping (default false).
    #[serde(deserialize_with = "de::bool")]
    pub r#loop: bool,
    /// A `pipeline` fragment that ends for good: `stopped` at its end instead of rebuilt (default false).
    #[serde(deserialize_with = "de::bool")]
    pub finite: bool,
    /// Record clips of this stream's events when `[record]` is present (default true).
    #[serde(deserialize_with = "de::bool")]
    pub record: bool,
    /// Names and values carried in every message of this stream (`site`, `location`; default none).
    #[serde(deserialize_with = "validate::tags")]
    pub tags: crate::publish::Tags,
    /// The model this stream runs (a `[[model]]` name; default: the first model).
    /// Regions without a `model` of their own run it too.
    #[serde(deserialize_with = "validate::model_name")]
    pub model: String,
    /// `[[stream.region]]`: regions analyzed as streams of their own (default none: the whole frame).
    #[serde(rename = "region")]
    pub regions: Vec<RegionConfig>,
    /// Seconds without a frame before the stream counts as stalled and is rebuilt, > 0 (default 10).
    #[serde(deserialize_with = "de::positive")]
    pub stall_timeout_s: f64,
    /// First reconnect delay in seconds, > 0 (default 1).
    #[serde(deserialize_with = "de::positive")]
    pub reconnect_min_s: f64,
    /// Longest reconnect delay in seconds, >= `reconnect_min_s` (default 30).
    #[serde(deserialize_with = "de::positive")]
    pub reconnect_max_s: f64,
    /// Run this stream (default true).
    #[serde(deserialize_with = "de::bool")]
    pub enabled: bool,
}

impl StreamConfig {
    /// A stream with every optional setting at its default; `uri` and `pipeline` are `None`.
    pub fn new(name: impl Into<String>, source: SourceKind) -> Self {
        StreamConfig {
            name: name.into(),
            source,
            uri: None,
            pipeline: None,
            sample_fps: 5.0,
            skip_unsampled: true,
            rtsp_transport: RtspTransport::Auto,
            latency_ms: 200,
            r#loop: false,
            finite: false,
            record: true,
            tags: crate::publish::Tags::new(),
            stall_timeout_s: 10.0,
            reconnect_min_s: 1.0,
            reconnect_max_s: 30.0,
            enabled: true,
            model: DEFAULT_MODEL.to_string(),
            regions: Vec::new(),
        }
    }

    /// The defaults serde starts a `[[stream]]` from; the source is set by validation.
    fn unnamed() -> Self {
        StreamConfig::new("", SourceKind::Pipeline(String::new()))
    }
}

impl Config {
    /// Reads, parses and validates the config file at `path`; relative paths
    /// in it are resolved against the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let base = absolute.parent().unwrap_or(Path::new(""));
        parse_with_base(&text, path, base)
    }

    /// Parses and validates `text`; `origin` names it in errors, and relative
    /// paths are resolved against `origin`'s parent directory.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        parse_with_base(text, origin, origin.parent().unwrap_or(Path::new("")))
    }
}

/// Parses `text` (named `origin` in errors), resolving relative paths against `base`.
fn parse_with_base(text: &str, origin: &Path, base: &Path) -> Result<Config, ConfigError> {
    let ctx = Ctx::new(origin, text);
    let doc = DeTable::parse(text).map_err(|e| ctx.syntax_error(&e))?;
    let root = Table::new(
        &ctx,
        String::new(),
        0..0,
        doc.get_ref(),
        de::keys::<Config>(),
    )?;
    validate::shape(&root)?;
    let deserializer = toml::de::Deserializer::from(doc.clone());
    let mut config =
        Config::deserialize(deserializer).map_err(|e| ctx.serde_error(doc.get_ref(), &e))?;
    config.source_path = Some(origin.to_path_buf());
    let env = |name: &str| std::env::var_os(name);
    validate::finish(&mut config, &root, base, &Resolver::new(&env, base))?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where test documents pretend to live.
    const ORIGIN: &str = "/etc/actiond/actiond.toml";

    /// The smallest valid configuration.
    pub(super) const MINIMAL: &str =
        "[model]\npath = \"m.onnx\"\n\n[[stream]]\nname = \"a\"\nuri = \"test:ball\"\n";

    /// Parses `text` as if read from [`ORIGIN`].
    pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new(ORIGIN))
    }

    /// The (line, column, key, message) of the error `text` must produce.
    fn invalid(text: &str) -> (usize, usize, String, String) {
        match parse(text) {
            Err(ConfigError::Invalid {
                file,
                line,
                column,
                key,
                message,
            }) => {
                assert_eq!(file, Path::new(ORIGIN));
                (line, column, key, message)
            }
            other => panic!("expected an Invalid error for\n{text}\ngot {other:?}"),
        }
    }

    /// Asserts the error of `text` is at `line` for `key` with a message containing `fragment`.
    pub(super) fn assert_invalid(
        text: &str,
        key: &str,
        line: usize,
        fragment: &str,
    ) -> (usize, String) {
        let (l, column, k, message) = invalid(text);
        assert_eq!((k.as_str(), l), (key, line), "{message}\nin\n{text}");
        assert!(
            message.contains(fragment),
            "message {message:?} lacks {fragment:?}"
        );
        (column, message)
    }

    /// MINIMAL (6 lines), a blank line 7, `[section]` on line 8 and `line` on line 9.
    pub(super) fn in_section(section: &str, line: &str) -> String {
        format!("{MINIMAL}\n[{section}]\n{line}\n")
    }

    /// MINIMAL plus a second stream `b` on lines 8-10 and `line` on line 11.
    fn in_stream(line: &str) -> String {
        format!("{MINIMAL}\n[[stream]]\nname = \"b\"\nuri = \"test:snow\"\n{line}\n")
    }

    /// 1-based column of the value in a `key = value` line.
    fn value_column(line: &str) -> usize {
        line.find('=').unwrap() + 3
    }

    /// Two `[[model]]`s (lines 1-3 and 5-7), then `streams` from line 9.
    fn two_models(streams: &str) -> String {
        format!("[[model]]\nname = \"sports\"\npath = \"s.onnx\"\n\n[[model]]\nname = \"falls\"\npath = \"f.onnx\"\n\n{streams}")
    }

    #[test]
    fn named_models_are_chosen_per_stream_and_region() {
        let c = parse(&two_models(
            "[[stream]]\nname = \"a\"\nuri = \"test:ball\"\n\
             [[stream]]\nname = \"b\"\nuri = \"test:ball\"\nmodel = \"falls\"\n\
             [[stream.region]]\nname = \"l\"\nrect = [0.0, 0.0, 0.5, 1.0]\n\
             [[stream.region]]\nname = \"r\"\nrect = [0.5, 0.0, 0.5, 1.0]\nmodel = \"sports\"\n",
        ))
        .unwrap();
        let names: Vec<&str> = c.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["sports", "falls"]);
        assert_eq!(c.models[1].path, Path::new("/etc/actiond/f.onnx"));
        assert_eq!(c.default_model().name, "sports");
        assert_eq!(
            c.streams[0].model, "sports",
            "the first model is the default"
        );
        assert_eq!(c.streams[1].model, "falls");
        assert_eq!(c.streams[1].regions[0].model, "falls", "a region inherits");
        assert_eq!(c.streams[1].regions[1].model, "sports");
        assert_eq!(parse(MINIMAL).unwrap().default_model().name, "default");
        let c2 = parse(&c.effective().to_toml()).unwrap();
        assert_eq!(c2, c, "{}", c.effective().to_toml());
    }

    #[test]
    fn model_errors_name_file_line_and_key() {
        let s = "[[stream]]\nname = \"a\"\nuri = \"test:ball\"\n";
        let unknown = two_models(&format!("{s}model = \"gate\"\n"));
        let (_, m) = assert_invalid(&unknown, "stream[0].model", 12, "unknown model `gate`");
        assert!(m.contains("sports, falls"), "{m}");
        let region = format!(
            "{s}[[stream.region]]\nname = \"l\"\nrect = [0.0, 0.0, 0.5, 1.0]\nmodel = \"x\"\n"
        );
        assert_invalid(
            &two_models(&region),
            "stream[0].region[0].model",
            15,
            "unknown model `x`",
        );
        let dup = two_models(s).replace("\"falls\"", "\"sports\"");
        assert_invalid(&dup, "model[1].name", 6, "duplicate model name `sports`");
        let nameless = two_models(s).replace("name = \"falls\"\n", "");
        assert_invalid(&nameless, "model[1].name", 5, "missing required key `name`");
        let bad = two_models(s).replace("\"falls\"", "\"no/slash\"");
        assert_invalid(&bad, "model[1].name", 6, "invalid model name");
        let unknown_key = two_models(s).replace("name = \"falls\"", "nom = \"falls\"");
        assert_invalid(&unknown_key, "model[1].nom", 6, "unknown key `nom`");
        let both = format!("[model]\npath = \"m.onnx\"\n{}", two_models(s));
        assert_invalid(&both, "syntax", 3, "duplicate key `model`");
    }

    #[test]
    fn minimal_config_gets_every_default() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.source_path.as_deref(), Some(Path::new(ORIGIN)));
        assert_eq!(c.runtime, RuntimeConfig::default());
        assert_eq!(c.runtime.onnxruntime, None);
        assert_eq!(c.runtime.providers, vec![Provider::Cpu]);
        assert_eq!(c.runtime.intra_threads, 0);
        assert_eq!(c.runtime.max_batch, 4);
        assert!(!c.runtime.allow_spinning);
        assert!(!c.runtime.cpu_arena);
        assert_eq!(c.runtime.inference_stall_s, 30.0);
        assert_eq!(c.runtime.stream_nice, 5);
        assert_eq!(c.default_model().path, Path::new("/etc/actiond/m.onnx"));
        assert_eq!(c.smoothing, SmoothingConfig::default());
        assert_eq!(c.smoothing.method, SmoothingMethod::Mean);
        assert_eq!(c.smoothing.window, 16);
        assert_eq!(c.smoothing.stride, 8);
        assert_eq!(c.smoothing.threshold, 0.5);
        assert_eq!(c.smoothing.confirm, 2);
        assert_eq!(c.smoothing.top_k, 5);
        assert_eq!(c.output, OutputConfig::default());
        assert_eq!(c.output.socket, Path::new("/run/actiond/predictions.sock"));
        assert_eq!(c.output.socket_mode, 0o660);
        assert_eq!(c.output.socket_group, None);
        assert!(!c.output.stdout);
        assert!(!c.output.per_frame);
        assert_eq!(c.output.subscriber_buffer, 1024);
        assert_eq!(c.streams.len(), 1);
        let s = &c.streams[0];
        let mut expected = StreamConfig::new("a", SourceKind::Test("ball".into()));
        expected.uri = Some("test:ball".into());
        assert_eq!(*s, expected);
        assert_eq!(s.name, "a");
        assert_eq!(s.source, SourceKind::Test("ball".into()));
        assert_eq!(s.uri.as_deref(), Some("test:ball"));
        assert_eq!(s.pipeline, None);
        assert_eq!(s.sample_fps, 5.0);
        assert_eq!(s.rtsp_transport, RtspTransport::Auto);
        assert_eq!(s.latency_ms, 200);
        assert!(!s.r#loop);
        assert_eq!(s.stall_timeout_s, 10.0);
        assert_eq!(s.reconnect_min_s, 1.0);
        assert_eq!(s.reconnect_max_s, 30.0);
        assert!(s.enabled);
    }

    #[test]
    fn auto_sessions_are_one_single_threaded_session_per_core_on_the_cpu() {
        let rt = RuntimeConfig::default();
        assert_eq!(rt.session_plan(2), (2, 1));
        assert_eq!(rt.session_plan(1), (1, 0));
        assert_eq!(rt.session_plan(16), (4, 4));
        let threads = RuntimeConfig {
            intra_threads: 2,
            ..RuntimeConfig::default()
        };
        assert_eq!(threads.session_plan(2), (1, 2));
        let gpu = RuntimeConfig {
            providers: vec![Provider::Cuda, Provider::Cpu],
            ..RuntimeConfig::default()
        };
        assert_eq!(gpu.session_plan(8), (1, 0));
        let three = RuntimeConfig {
            sessions: 3,
            ..RuntimeConfig::default()
        };
        assert_eq!(three.session_plan(2), (3, 1));
        assert_eq!(three.session_plan(12), (3, 4));
    }

    #[test]
    fn full_config_sets_every_key() {
        let text = r#"
[runtime]
onnxruntime = "lib/libonnxruntime.so.1.32.0"
providers = ["tensorrt", "cuda", "openvino", "cpu"]
intra_threads = 2
sessions = 3
max_batch = 64
allow_spinning = true
cpu_arena = true
inference_stall_s = 12.5
stream_nice = 0

[model]
path = "models/ucf/model.onnx"

[smoothing]
method = "ema"
window = 1
stride = 1
threshold = 1
confirm = 3
top_k = 1

[output]
socket = "/tmp/p.sock"
socket_mode = "0600"
socket_group = "video"
stdout = true
per_frame = true
subscriber_buffer = 16

[[stream]]
name = "court-1"
uri = "rtsp://admin:pw@10.0.0.5:554/s1"
sample_fps = 0
rtsp_transport = "udp"
latency_ms = 0
loop = true
stall_timeout_s = 0.5
reconnect_min_s = 2
reconnect_max_s = 2
enabled = false
tags = { site = "hall", "camera.id" = "north-2" }

[[stream]]
name = "Gate_2.b"
pipeline = "videotestsrc is-live=true"
rtsp_transport = "auto"
finite = true

[[stream]]
name = "file"
uri = "clips/a.mp4"

[[stream]]
name = "web"
uri = "https://cam/x.mjpg"

[[stream]]
name = "usb"
uri = "v4l2:///dev/video0"

[[stream]]
name = "abs"
uri = "file:///srv/b.mkv"
"#;
        let c = parse(text).unwrap();
        assert_eq!(
            c.runtime,
            RuntimeConfig {
                onnxruntime: Some("/etc/actiond/lib/libonnxruntime.so.1.32.0".into()),
                providers: vec![
                    Provider::TensorRt,
                    Provider::Cuda,
                    Provider::OpenVino,
                    Provider::Cpu
                ],
                intra_threads: 2,
                sessions: 3,
                max_batch: 64,
                allow_spinning: true,
                cpu_arena: true,
                inference_stall_s: 12.5,
                stream_nice: 0,
            }
        );
        assert_eq!(
            c.default_model().path,
            Path::new("/etc/actiond/models/ucf/model.onnx")
        );
        assert_eq!(
            c.smoothing,
            SmoothingConfig {
                method: SmoothingMethod::Ema,
                window: 1,
                stride: 1,
                threshold: 1.0,
                confirm: 3,
                top_k: 1,
            }
        );
        assert_eq!(
            c.output,
            OutputConfig {
                socket: "/tmp/p.sock".into(),
                socket_mode: 0o600,
                socket_group: Some("video".into()),
                stdout: true,
                per_frame: true,
                subscriber_buffer: 16,
            }
        );
        let s = &c.streams[0];
        assert_eq!(
            *s,
            StreamConfig {
                name: "court-1".into(),
                source: SourceKind::Rtsp("rtsp://admin:pw@10.0.0.5:554/s1".into()),
                uri: Some("rtsp://admin:pw@10.0.0.5:554/s1".into()),
                pipeline: None,
                sample_fps: 0.0,
                skip_unsampled: true,
                rtsp_transport: RtspTransport::Udp,
                latency_ms: 0,
                r#loop: true,
                finite: false,
                record: true,
                tags: [("site", "hall"), ("camera.id", "north-2")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                stall_timeout_s: 0.5,
                reconnect_min_s: 2.0,
                reconnect_max_s: 2.0,
                enabled: false,
                model: "default".into(),
                regions: Vec::new(),
            }
        );
        let s = &c.streams[1];
        assert_eq!(s.name, "Gate_2.b");
        assert!(s.finite);
        assert_eq!(
            s.source,
            SourceKind::Pipeline("videotestsrc is-live=true".into())
        );
        assert_eq!(s.uri, None);
        assert_eq!(s.pipeline.as_deref(), Some("videotestsrc is-live=true"));
        assert_eq!(s.rtsp_transport, RtspTransport::Auto);
        assert_eq!(
            c.streams[2].source,
            SourceKind::File("/etc/actiond/clips/a.mp4".into())
        );
        assert_eq!(c.streams[2].uri.as_deref(), Some("clips/a.mp4"));
        assert_eq!(
            c.streams[3].source,
            SourceKind::Http("https://cam/x.mjpg".into())
        );
        assert_eq!(c.streams[4].source, SourceKind::V4l2("/dev/video0".into()));
        assert_eq!(c.streams[5].source, SourceKind::File("/srv/b.mkv".into()));
    }

    #[test]
    fn inline_and_dotted_forms_work() {
        let text = "model.path = \"m.onnx\"\nstream = [{ name = \"a\", uri = \"test:red\" }]\n";
        let c = parse(text).unwrap();
        assert_eq!(c.default_model().path, Path::new("/etc/actiond/m.onnx"));
        assert_eq!(c.streams[0].source, SourceKind::Test("red".into()));
    }

    #[test]
    fn runtime_errors() {
        let cases = [
            (
                "providers = []",
                "runtime.providers",
                "at least one provider",
            ),
            (
                "providers = \"cpu\"",
                "runtime.providers",
                "expected an array, got a string",
            ),
            (
                "providers = [\"qnn\"]",
                "runtime.providers[0]",
                "unknown provider `qnn`; expected one of: cpu, cuda, tensorrt, openvino",
            ),
            (
                "providers = [1]",
                "runtime.providers[0]",
                "expected a string, got an integer",
            ),
            (
                "max_batch = 0",
                "runtime.max_batch",
                "must be at least 1, got 0",
            ),
            (
                "max_batch = 65",
                "runtime.max_batch",
                "must be at most 64, got 65",
            ),
            (
                "intra_threads = -1",
                "runtime.intra_threads",
                "must be at least 0, got -1",
            ),
            (
                "sessions = 17",
                "runtime.sessions",
                "must be at most 16, got 17",
            ),
            (
                "stream_nice = 20",
                "runtime.stream_nice",
                "must be at most 19, got 20",
            ),
            (
                "inference_stall_s = 0",
                "runtime.inference_stall_s",
                "must be greater than 0, got 0",
            ),
            (
                "inference_stall_s = nan",
                "runtime.inference_stall_s",
                "finite",
            ),
            (
                "allow_spinning = \"yes\"",
                "runtime.allow_spinning",
                "expected a boolean",
            ),
            ("cpu_arena = 1", "runtime.cpu_arena", "expected a boolean"),
            (
                "onnxruntime = \"\"",
                "runtime.onnxruntime",
                "must not be empty",
            ),
            (
                "onnxruntime = 3",
                "runtime.onnxruntime",
                "expected a string, got an integer",
            ),
        ];
        for (line, key, fragment) in cases {
            let (column, _) = assert_invalid(&in_section("runtime", line), key, 9, fragment);
            let expected = if key.ends_with(']') {
                line.find('[').unwrap() + 2
            } else {
                value_column(line)
            };
            assert_eq!(column, expected, "{line}");
        }
    }

    #[test]
    fn duplicate_provider_points_at_the_second_one() {
        let line = "providers = [\"cpu\", \"cuda\", \"cpu\"]";
        let (column, message) = assert_invalid(
            &in_section("runtime", line),
            "runtime.providers[2]",
            9,
            "more than once",
        );
        assert_eq!(column, line.rfind("\"cpu\"").unwrap() + 1);
        assert_eq!(message, "provider `cpu` is listed more than once");
    }

    #[test]
    fn smoothing_errors() {
        let cases = [
            (
                "window = 0",
                "smoothing.window",
                "must be at least 1, got 0",
            ),
            (
                "window = 16.0",
                "smoothing.window",
                "expected an integer, got a float",
            ),
            (
                "stride = 0",
                "smoothing.stride",
                "must be at least 1, got 0",
            ),
            (
                "confirm = 0",
                "smoothing.confirm",
                "must be at least 1, got 0",
            ),
            ("top_k = 0", "smoothing.top_k", "must be at least 1, got 0"),
            (
                "threshold = 1.5",
                "smoothing.threshold",
                "must be at most 1, got 1.5",
            ),
            (
                "threshold = -0.1",
                "smoothing.threshold",
                "must be at least 0, got -0.1",
            ),
            (
                "method = \"median\"",
                "smoothing.method",
                "unknown method `median`; expected one of: mean, ema",
            ),
        ];
        for (line, key, fragment) in cases {
            let (column, _) = assert_invalid(&in_section("smoothing", line), key, 9, fragment);
            assert_eq!(column, value_column(line), "{line}");
        }
    }

    #[test]
    fn error_display_names_file_line_column_and_key() {
        let err = parse(&in_section("smoothing", "window = 0")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/actiond/actiond.toml:9:10: smoothing.window: must be at least 1, got 0"
        );
    }

    #[test]
    fn output_errors() {
        let cases = [
            ("socket_mode = \"0999\"", "`0999` is not an octal mode"),
            ("socket_mode = \"abc\"", "`abc` is not an octal mode"),
            ("socket_mode = \"\"", "is not an octal mode"),
            ("socket_mode = \"01777\"", "`01777` is above 0777"),
            ("socket_mode = \"77777777777777\"", "is above 0777"),
            (
                "socket_mode = 0o660",
                "expected a string of octal digits like \"0660\", got an integer",
            ),
        ];
        for (line, fragment) in cases {
            let (column, _) = assert_invalid(
                &in_section("output", line),
                "output.socket_mode",
                9,
                fragment,
            );
            assert_eq!(column, value_column(line), "{line}");
        }
        let cases = [
            (
                "subscriber_buffer = 15",
                "output.subscriber_buffer",
                "must be at least 16, got 15",
            ),
            ("socket = \"\"", "output.socket", "must not be empty"),
            (
                "socket_group = \" \"",
                "output.socket_group",
                "must not be empty",
            ),
            ("stdout = \"true\"", "output.stdout", "expected a boolean"),
            ("per_frame = 0", "output.per_frame", "expected a boolean"),
        ];
        for (line, key, fragment) in cases {
            let (column, _) = assert_invalid(&in_section("output", line), key, 9, fragment);
            assert_eq!(column, value_column(line), "{line}");
        }
    }

    #[test]
    fn socket_modes() {
        for (text, mode) in [
            ("0660", 0o660),
            ("660", 0o660),
            ("0", 0),
            ("0777", 0o777),
            ("00600", 0o600),
        ] {
            let c = parse(&in_section("output", &format!("socket_mode = \"{text}\""))).unwrap();
            assert_eq!(c.output.socket_mode, mode, "{text}");
        }
    }

    #[test]
    fn stream_value_errors() {
        let cases = [
            (
                "sample_fps = -1",
                "stream[1].sample_fps",
                "must be at least 0, got -1",
            ),
            (
                "sample_fps = 1001",
                "stream[1].sample_fps",
                "must be at most 1000, got 1001",
            ),
            (
                "sample_fps = inf",
                "stream[1].sample_fps",
                "must be a finite number",
            ),
            (
                "sample_fps = \"5\"",
                "stream[1].sample_fps",
                "expected a number, got a string",
            ),
            (
                "rtsp_transport = \"http\"",
                "stream[1].rtsp_transport",
                "unknown transport `http`; expected one of: tcp, udp, auto",
            ),
            (
                "latency_ms = -1",
                "stream[1].latency_ms",
                "must be at least 0, got -1",
            ),
            (
                "latency_ms = 4294967296",
                "stream[1].latency_ms",
                "must be at most 4294967295",
            ),
            ("loop = 1", "stream[1].loop", "expected a boolean"),
            (
                "enabled = \"no\"",
                "stream[1].enabled",
                "expected a boolean",
            ),
            (
                "stall_timeout_s = 0",
                "stream[1].stall_timeout_s",
                "must be greater than 0, got 0",
            ),
            (
                "reconnect_min_s = 0",
                "stream[1].reconnect_min_s",
                "must be greater than 0, got 0",
            ),
            (
                "reconnect_max_s = -3",
                "stream[1].reconnect_max_s",
                "must be greater than 0, got -3",
            ),
            (
                "reconnect_max_s = 0.5",
                "stream[1].reconnect_max_s",
                "must be at least reconnect_min_s (1), got 0.5",
            ),
            (
                "reconnect_min_s = 60",
                "stream[1].reconnect_min_s",
                "must be at most reconnect_max_s (30, the default), got 60",
            ),
            ("name = \"c\"", "syntax", "duplicate key `name`"),
            (
                "tags = { \"a b\" = \"x\" }",
                "stream[1].tags",
                "invalid tag name `a b`",
            ),
            (
                "tags = { site = \"a\\u0007\" }",
                "stream[1].tags",
                "tag `site`: at most 256 characters, no control characters",
            ),
            ("tags = \"site\"", "stream[1].tags", "expected a map"),
        ];
        for (line, key, fragment) in cases {
            let (column, _) = assert_invalid(&in_stream(line), key, 11, fragment);
            if key != "syntax" {
                assert_eq!(column, value_column(line), "{line}");
            }
        }
        // A tag of the wrong type is named down to the tag.
        let text = in_stream("tags = { site = 3 }");
        assert_invalid(&text, "stream[1].tags.site", 11, "expected a string");
        let many: Vec<String> = (0..17).map(|i| format!("t{i} = \"x\"")).collect();
        let text = in_stream(&format!("tags = {{ {} }}", many.join(", ")));
        assert_invalid(&text, "stream[1].tags", 11, "17 tags; at most 16");
    }

    #[test]
    fn reconnect_max_below_min_points_at_max() {
        let text = in_stream("reconnect_max_s = 5\nreconnect_min_s = 6");
        let (_, message) = assert_invalid(&text, "stream[1].reconnect_max_s", 11, "");
        assert_eq!(message, "must be at least reconnect_min_s (6), got 5");
    }

    #[test]
    fn integers_are_accepted_for_float_keys() {
        let c = parse(&in_stream("sample_fps = 0\nstall_timeout_s = 3")).unwrap();
        assert_eq!(c.streams[1].sample_fps, 0.0);
        assert_eq!(c.streams[1].stall_timeout_s, 3.0);
        let c = parse(&in_section("smoothing", "threshold = 0")).unwrap();
        assert_eq!(c.smoothing.threshold, 0.0);
        let c = parse(&in_stream("sample_fps = 2.5\nlatency_ms = 1_000")).unwrap();
        assert_eq!(c.streams[1].sample_fps, 2.5);
        assert_eq!(c.streams[1].latency_ms, 1000);
    }

    #[test]
    fn unknown_top_level_key() {
        let text = format!("colour = 1\n{MINIMAL}");
        let (column, message) = assert_invalid(&text, "colour", 1, "unknown key `colour`");
        assert_eq!(column, 1);
        assert_eq!(
            message,
            "unknown key `colour`; expected one of: runtime, model, smoothing, output, stream, mqtt, http, record"
        );
        // An unknown table (here one the config does not have) points at its header.
        let text = format!("{MINIMAL}\n[kafka]\nurl = \"kafka://x\"\n");
        let (column, _) = assert_invalid(&text, "kafka", 8, "unknown key `kafka`");
        assert_eq!(column, 2);
    }

    #[test]
    fn unknown_key_in_a_table() {
        let (column, message) = assert_invalid(
            &in_section("smoothing", "windw = 3"),
            "smoothing.windw",
            9,
            "",
        );
        assert_eq!(column, 1);
        assert_eq!(
            message,
            "unknown key `windw`; expected one of: method, window, stride, threshold, confirm, top_k"
        );
        assert_invalid(
            &MINIMAL.replace("[model]\n", "[model]\nname = \"x\"\n"),
            "model.name",
            2,
            "expected one of: path",
        );
        // A sub-table of a known table is an unknown key too.
        let text = format!("{MINIMAL}\n[runtime.cuda]\ndevice = 0\n");
        assert_invalid(&text, "runtime.cuda", 8, "unknown key `cuda`");
    }

    #[test]
    fn unknown_key_in_a_stream() {
        let text = "[model]\npath = \"m.onnx\"\n[[stream]]\nname = \"a\"\ncolour = \"red\"\nuri = \"test:ball\"\n";
        let (column, message) = assert_invalid(text, "stream[0].colour", 5, "unknown key `colour`");
        assert_eq!(column, 1);
        assert!(message.starts_with("unknown key `colour`; expected one of: name, uri, pipeline, "));
        let (_, message) = assert_invalid(&in_stream("colour = 1"), "stream[1].colour", 11, "");
        assert!(message.ends_with("reconnect_max_s, enabled"), "{message}");
    }

    #[test]
    fn first_unknown_key_in_document_order_is_reported() {
        // Keys are stored sorted; the report must still follow the file.
        let text = in_section("smoothing", "zeta = 1\nalpha = 2");
        assert_invalid(&text, "smoothing.zeta", 9, "unknown key `zeta`");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let text = "[model]\npath = \"m.onnx\"\n\n[smoothing]\nwindow = \n";
        let (line, _, key, _) = invalid(text);
        assert_eq!((line, key.as_str()), (5, "syntax"));

        let text = "[model]\npath = \"m.onnx\n[[stream]]\n";
        let (line, _, key, _) = invalid(text);
        assert_eq!((line, key.as_str()), (2, "syntax"));

        let text = "[model]\npath = \"a\"\n\n[model]\npath = \"b\"\n";
        let (line, column, key, message) = invalid(text);
        assert_eq!((line, column, key.as_str()), (4, 2, "syntax"));
        assert_eq!(message, "duplicate key `model`");
    }

    #[test]
    fn missing_model_path() {
        let text = "[runtime]\nmax_batch = 1\n\n[model]\n\n[[stream]]\nname = \"a\"\nuri = \"test:ball\"\n";
        let (column, message) =
            assert_invalid(text, "model.path", 4, "missing required key `path`");
        assert_eq!(column, 1);
        assert!(!message.is_empty());
        let text = "\n[[stream]]\nname = \"a\"\nuri = \"test:ball\"\n";
        let (column, _) = assert_invalid(text, "model.path", 1, "missing required key");
        assert_eq!(column, 1);
        assert_invalid(
            &MINIMAL.replace("path = \"m.onnx\"", "path = \"\""),
            "model.path",
            2,
            "must not be empty",
        );
        assert_invalid(
            &MINIMAL.replace("[model]\npath = \"m.onnx\"", "model = \"m.onnx\"\n"),
            "model",
            1,
            "expected a table, got a string",
        );
    }

    #[test]
    fn streams_are_required() {
        assert_invalid(
            "[model]\npath = \"m\"\n",
            "stream",
            1,
            "at least one [[stream]] is required",
        );
        assert_invalid(
            "stream = []\n[model]\npath = \"m\"\n",
            "stream",
            1,
            "at least one [[stream]]",
        );
        assert_invalid(
            "[model]\npath = \"m\"\n[stream]\nname = \"a\"\n",
            "stream",
            3,
            "write [[stream]], not [stream]",
        );
    }

    #[test]
    fn duplicate_stream_names() {
        let text = in_stream("").replace("name = \"b\"", "name = \"a\"");
        let (column, message) = assert_invalid(&text, "stream[1].name", 9, "");
        assert_eq!(column, 8);
        assert_eq!(
            message,
            "duplicate stream name `a`; stream[0] already uses it"
        );
    }

    #[test]
    fn stream_names() {
        for bad in ["", "a b", "ä", "x/y", &"n".repeat(65)] {
            let text = MINIMAL.replace("name = \"a\"", &format!("name = \"{bad}\""));
            assert_invalid(&text, "stream[0].name", 5, "invalid stream name");
        }
        let long = "n".repeat(64);
        let text = MINIMAL.replace("name = \"a\"", &format!("name = \"{long}\""));
        assert_eq!(parse(&text).unwrap().streams[0].name, long);
        let text = MINIMAL.replace("name = \"a\"", "name = 7");
        assert_invalid(&text, "stream[0].name", 5, "expected a string");
        let text = MINIMAL.replace("name = \"a\"\n", "");
        let (column, _) = assert_invalid(&text, "stream[0].name", 4, "missing required key `name`");
        assert_eq!(column, 1);
    }

    #[test]
    fn unresolvable_references_name_the_key_and_never_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "hunter2\n").unwrap();
        let missing = dir.path().join("missing");
        /// MINIMAL plus a stream `b` on lines 8-9 whose source (line 10) is `line`.
        fn stream_b(line: &str) -> String {
            format!("{MINIMAL}\n[[stream]]\nname = \"b\"\n{line}\n")
        }
        let cases = [
            (
                stream_b(&format!("pipeline = \"x ${{file:{}}}\"", missing.display())),
                "stream[1].pipeline",
                10,
                "cannot read".to_string(),
            ),
            (
                stream_b("uri = \"rtsp://u:${ACTIOND_TEST_UNSET_VAR}@h/x\""),
                "stream[1].uri",
                10,
                "`${ACTIOND_TEST_UNSET_VAR}`: environment variable ACTIOND_TEST_UNSET_VAR is not set".into(),
            ),
            (
                // Resolves, but not to a URI: the message quotes it as written.
                stream_b(&format!("uri = \"ftp://${{file:{}}}\"", pw.display())),
                "stream[1].uri",
                10,
                format!("`ftp://${{file:{}}}`", pw.display()),
            ),
            (
                in_section("mqtt", "username = \"u\"\npassword = \"${credential:a/b}\""),
                "mqtt.password",
                10,
                "`${credential:a/b}`".into(),
            ),
            (
                in_section("mqtt", "username = \"${vault:u}\""),
                "mqtt.username",
                9,
                "unknown reference kind `vault`".into(),
            ),
        ];
        for (text, key, line, fragment) in cases {
            let (_, message) = assert_invalid(&text, key, line, &fragment);
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn uri_and_pipeline_are_exclusive() {
        let (column, message) = assert_invalid(
            &in_stream("pipeline = \"videotestsrc\""),
            "stream[1].pipeline",
            11,
            "",
        );
        assert_eq!(column, 12);
        assert_eq!(message, "set either `uri` or `pipeline`, not both");

        let text = format!("{MINIMAL}\n[[stream]]\nname = \"b\"\n");
        let (column, message) = assert_invalid(&text, "stream[1].uri", 8, "");
        assert_eq!(column, 1);
        assert!(message.contains("`uri` (or `pipeline`)"), "{message}");

        assert_invalid(
            &MINIMAL.replace("uri = \"test:ball\"", "pipeline = \"  \""),
            "stream[0].pipeline",
            6,
            "must not be empty",
        );
    }

    #[test]
    fn bad_scheme_is_reported_without_credentials() {
        let text = MINIMAL.replace("test:ball", "ftp://bob:hunter2@cam/x");
        let err = parse(&text).unwrap_err();
        let shown = err.to_string();
        assert!(
            !shown.contains("hunter2") && !shown.contains("bob"),
            "{shown}"
        );
        assert!(!format!("{err:?}").contains("hunter2"));
        let (column, message) =
            assert_invalid(&text, "stream[0].uri", 6, "unsupported scheme `ftp`");
        assert_eq!(column, 7);
        assert!(message.contains("ftp://***@cam/x"), "{message}");
        for accepted in [
            "rtsp://",
            "rtsps://",
            "http://",
            "https://",
            "file:///",
            "v4l2:///dev/videoN",
            "test:<pattern>",
            "file path",
        ] {
            assert!(message.contains(accepted), "{message} lacks {accepted}");
        }
    }

    #[test]
    fn bad_uris() {
        let cases = [
            (
                "test:plasma",
                "unknown test pattern `plasma`; expected one of: smpte, snow,",
            ),
            ("test:", "unknown test pattern ``"),
            ("rtsp://", "has no host"),
            ("file://relative/a.mp4", "not an absolute file URI"),
            ("v4l2:/dev/video0", "v4l2:///dev/videoN"),
            ("", "must not be empty"),
        ];
        for (uri, fragment) in cases {
            let text = MINIMAL.replace("test:ball", uri);
            let (column, _) = assert_invalid(&text, "stream[0].uri", 6, fragment);
            assert_eq!(column, 7);
        }
        let text = MINIMAL.replace("uri = \"test:ball\"", "uri = [\"test:ball\"]");
        assert_invalid(&text, "stream[0].uri", 6, "expected a string, got an array");
    }

    #[test]
    fn every_test_pattern_is_accepted() {
        assert_eq!(TEST_PATTERNS.len(), 26);
        for pattern in TEST_PATTERNS {
            let c = parse(&MINIMAL.replace("ball", pattern)).unwrap();
            assert_eq!(c.streams[0].source, SourceKind::Test(pattern.to_string()));
        }
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let text = r#"
[runtime]
onnxruntime = "libonnxruntime.so.1"
[model]
path = "./models/x/model.onnx"
[output]
socket = "run/p.sock"
[[stream]]
name = "a"
uri = "../clips/a.mp4"
[[stream]]
name = "b"
uri = "/abs/b.mp4"
"#;
        let c = parse(text).unwrap();
        // A bare library name is left for the dynamic loader to find.
        assert_eq!(
            c.runtime.onnxruntime.as_deref(),
            Some(Path::new("libonnxruntime.so.1"))
        );
        assert_eq!(
            c.default_model().path,
            Path::new("/etc/actiond/models/x/model.onnx")
        );
        assert_eq!(c.output.socket, Path::new("/etc/actiond/run/p.sock"));
        assert_eq!(
            c.streams[0].source,
            SourceKind::File("/etc/actiond/../clips/a.mp4".into())
        );
        assert_eq!(c.streams[1].source, SourceKind::File("/abs/b.mp4".into()));

        // An origin without a directory leaves relative paths relative.
        let c = Config::parse(MINIMAL, Path::new("actiond.toml")).unwrap();
        assert_eq!(c.default_model().path, Path::new("m.onnx"));
        let c = Config::parse(MINIMAL, Path::new("conf/actiond.toml")).unwrap();
        assert_eq!(c.default_model().path, Path::new("conf/m.onnx"));
    }

    #[test]
    fn load_reads_the_file_and_resolves_against_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("actiond.toml");
        std::fs::write(&path, MINIMAL).unwrap();
        let c = Config::load(&path).unwrap();
        assert_eq!(c.source_path.as_deref(), Some(path.as_path()));
        assert_eq!(c.default_model().path, dir.path().join("m.onnx"));

        std::fs::write(&path, in_section("smoothing", "window = 0")).unwrap();
        match Config::load(&path) {
            Err(ConfigError::Invalid {
                file, line, key, ..
            }) => {
                assert_eq!(
                    (file, line, key.as_str()),
                    (path.clone(), 9, "smoothing.window")
                );
            }
            other => panic!("{other:?}"),
        }

        let missing = dir.path().join("nope.toml");
        let err = Config::load(&missing).unwrap_err();
        assert!(
            matches!(&err, ConfigError::Io { file, .. } if *file == missing),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .starts_with(&format!("{}: cannot read: ", missing.display())));
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        // `x` is the 30th character but the 32nd byte of its line.
        let text = "model.path = \"m\"\nstream = [{ pipeline = \"ää\", x = 1 }]\n";
        let (column, _) = assert_invalid(text, "stream[0].x", 2, "unknown key `x`");
        assert_eq!(column, 30);
        let text = "model.path = \"ää\" # ä\nstream = [{ name = \"ää\", uri = \"test:ball\" }]\n";
        let (column, _) = assert_invalid(text, "stream[0].name", 2, "invalid stream name");
        assert_eq!(column, 20);
    }

    #[test]
    fn debug_output_hides_credentials() {
        let text =
            in_stream("").replace("uri = \"test:snow\"", "uri = \"rtsp://bob:hunter2@cam/x\"");
        let c = parse(&text).unwrap();
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("bob"),
            "{debug}"
        );
        assert!(debug.contains("rtsp://***@cam/x"), "{debug}");
        let p = SourceKind::Pipeline("rtspsrc location=rtsp://u:secret@cam ! fakesink".into());
        assert!(!format!("{p:?}").contains("secret"));
    }

    #[test]
    fn names_display_as_in_toml() {
        let names: Vec<String> = Provider::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(names, ["cpu", "cuda", "tensorrt", "openvino"]);
        assert_eq!(SmoothingMethod::Ema.to_string(), "ema");
        assert_eq!(RtspTransport::Auto.to_string(), "auto");
    }

    #[test]
    fn errors_inside_arrays_and_inline_tables_name_the_element() {
        let text = "model.path = \"m\"\nstream = [{ name = \"a\", uri = \"test:ball\", sample_fps = \"x\" }]\n";
        let (column, _) = assert_invalid(
            text,
            "stream[0].sample_fps",
            2,
            "expected a number, got a string",
        );
        assert_eq!(
            column,
            text.lines().nth(1).unwrap().find("\"x\"").unwrap() + 1
        );
        let line = "providers = [\"cpu\", 3]";
        let (column, _) = assert_invalid(
            &in_section("runtime", line),
            "runtime.providers[1]",
            9,
            "expected a string, got an integer",
        );
        assert_eq!(column, line.find('3').unwrap() + 1);
    }

    #[test]
    fn type_errors_name_the_kind_and_never_echo_the_value() {
        for (line, fragment) in [
            (
                "latency_ms = 2024-01-01T00:00:00Z",
                "expected an integer, got a datetime",
            ),
            ("latency_ms = { a = 1 }", "expected an integer, got a table"),
            (
                "latency_ms = 0x7fffffffffffffff",
                "must be at most 4294967295",
            ),
        ] {
            assert_invalid(&in_stream(line), "stream[1].latency_ms", 11, fragment);
        }
        let text = MINIMAL.replace("\"test:ball\"", "[\"rtsp://bob:hunter2@cam/x\"]");
        let (_, message) =
            assert_invalid(&text, "stream[0].uri", 6, "expected a string, got an array");
        assert!(!message.contains("hunter2"), "{message}");
        let text = in_section("mqtt", "username = \"u\"\npassword = [\"hunter2\"]");
        let (_, message) = assert_invalid(
            &text,
            "mqtt.password",
            10,
            "expected a string, got an array",
        );
        assert!(!message.contains("hunter2"), "{message}");
        let text = format!("mqtt = \"mqtt://bob:hunter2@b\"\n{MINIMAL}");
        let (_, message) = assert_invalid(&text, "mqtt", 1, "expected a table, got a string");
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn allowed_keys_are_the_struct_fields() {
        assert_eq!(
            de::keys::<Config>(),
            [
                "runtime",
                "model",
                "smoothing",
                "output",
                "stream",
                "mqtt",
                "http",
                "record"
            ]
        );
        let stream = de::keys::<StreamConfig>();
        assert_eq!(stream.len(), 17, "{stream:?}");
        assert!(
            stream.contains(&"loop") && !stream.contains(&"source"),
            "{stream:?}"
        );
        assert!(de::keys::<MqttConfig>().contains(&"password_file"));
    }
}
