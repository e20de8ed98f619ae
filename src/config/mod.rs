//! Configuration: the TOML schema, its defaults and validation.
//!
//! [`Config::load`] reads a file; every problem is reported as a
//! [`ConfigError`] naming the file, the 1-based line and column, and the key
//! as a dotted path such as `stream[1].sample_fps`. Unknown keys are rejected
//! everywhere. Relative paths are resolved against the config file's directory.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

mod raw;
mod source;

use raw::{Ctx, Table, Value};
pub use source::{redact_uri, TEST_PATTERNS};

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
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `[runtime]`: ONNX Runtime settings.
    pub runtime: RuntimeConfig,
    /// `[model]`: which model to run.
    pub model: ModelConfig,
    /// `[smoothing]`: how frame results become clip predictions and events.
    pub smoothing: SmoothingConfig,
    /// `[output]`: where predictions are published.
    pub output: OutputConfig,
    /// `[[stream]]`: the video streams, in file order (at least one).
    pub streams: Vec<StreamConfig>,
    /// The file the configuration came from (not a TOML key).
    pub source_path: Option<PathBuf>,
}

/// `[runtime]`: ONNX Runtime settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeConfig {
    /// Path to `libonnxruntime.so`; else `$ORT_DYLIB_PATH`, else the project-local copy.
    ///
    /// A relative path is resolved against the config file's directory; a bare
    /// file name (no `/`) is kept as is, for the system loader's search path.
    pub onnxruntime: Option<PathBuf>,
    /// Execution providers, tried in order; non-empty, no duplicates (default `["cpu"]`).
    pub providers: Vec<Provider>,
    /// Intra-op threads; 0 = ONNX Runtime's default (default 0).
    pub intra_threads: usize,
    /// Most frames (from several streams) per inference run, 1..=64 (default 4).
    pub max_batch: usize,
    /// Let ONNX Runtime's worker threads spin while waiting (default false).
    pub allow_spinning: bool,
    /// Use ONNX Runtime's CPU memory arena (default false).
    pub cpu_arena: bool,
    /// Seconds without inference progress while frames wait before the worker counts as wedged (default 30).
    pub inference_stall_s: f64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            onnxruntime: None,
            providers: vec![Provider::Cpu],
            intra_threads: 0,
            max_batch: 4,
            allow_spinning: false,
            cpu_arena: false,
            inference_stall_s: 30.0,
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

impl Provider {
    /// Every provider, in the order listed in messages.
    pub const ALL: [Provider; 4] = [
        Provider::Cpu,
        Provider::Cuda,
        Provider::TensorRt,
        Provider::OpenVino,
    ];

    /// The TOML name: `"cpu"`, `"cuda"`, `"tensorrt"` or `"openvino"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
            Provider::TensorRt => "tensorrt",
            Provider::OpenVino => "openvino",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[model]`: which model to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// The `.onnx` file (required), resolved against the config file's directory.
    pub path: PathBuf,
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

impl SmoothingMethod {
    /// The TOML name: `"mean"` or `"ema"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SmoothingMethod::Mean => "mean",
            SmoothingMethod::Ema => "ema",
        }
    }
}

impl fmt::Display for SmoothingMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[smoothing]`: how frame results become clip predictions and events.
#[derive(Debug, Clone, PartialEq)]
pub struct SmoothingConfig {
    /// `"mean"` or `"ema"` (default `"mean"`).
    pub method: SmoothingMethod,
    /// Sampled frames per clip, at least 1 (default 16).
    pub window: usize,
    /// A clip prediction every `stride` sampled frames, at least 1 (default 8).
    pub stride: usize,
    /// Score a new label needs for a label-change event, 0..=1 (default 0.5).
    pub threshold: f32,
    /// Consecutive clips a new label needs for a label-change event, at least 1 (default 2).
    pub confirm: usize,
    /// Labels listed in each prediction's `top`, at least 1 (default 5).
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
#[derive(Debug, Clone, PartialEq)]
pub struct OutputConfig {
    /// Unix socket path (default `/run/actiond/predictions.sock`), resolved against the config file's directory.
    pub socket: PathBuf,
    /// Socket file permissions, written in TOML as octal digits like `"0660"`, at most `0777` (default 0o660).
    pub socket_mode: u32,
    /// Group to own the socket file (default: the daemon's group).
    pub socket_group: Option<String>,
    /// Also write every message to stdout (default false).
    pub stdout: bool,
    /// Also publish each frame's result (default false).
    pub per_frame: bool,
    /// Messages queued per subscriber before that subscriber is dropped, at least 16 (default 1024).
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
    /// `"tcp"`: interleaved in the RTSP connection (default; survives NAT and loss).
    #[default]
    Tcp,
    /// `"udp"`: RTP over UDP.
    Udp,
    /// `"auto"`: let `rtspsrc` try UDP, then TCP.
    Auto,
}

impl RtspTransport {
    /// The TOML name: `"tcp"`, `"udp"` or `"auto"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RtspTransport::Tcp => "tcp",
            RtspTransport::Udp => "udp",
            RtspTransport::Auto => "auto",
        }
    }
}

impl fmt::Display for RtspTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

impl fmt::Debug for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceKind::Rtsp(uri) => f.debug_tuple("Rtsp").field(&redact_uri(uri)).finish(),
            SourceKind::File(path) => f.debug_tuple("File").field(path).finish(),
            SourceKind::Http(uri) => f.debug_tuple("Http").field(&redact_uri(uri)).finish(),
            SourceKind::V4l2(path) => f.debug_tuple("V4l2").field(path).finish(),
            SourceKind::Test(pattern) => f.debug_tuple("Test").field(pattern).finish(),
            SourceKind::Pipeline(p) => f.debug_tuple("Pipeline").field(&redact_uri(p)).finish(),
        }
    }
}

/// `[[stream]]`: one video stream. `Debug` hides URI credentials.
#[derive(Clone, PartialEq)]
pub struct StreamConfig {
    /// Unique name, 1..=64 characters of `[A-Za-z0-9_.-]`.
    pub name: String,
    /// The source, from exactly one of the keys `uri` and `pipeline`.
    pub source: SourceKind,
    /// The `uri` value as written (may hold credentials: log it through [`redact_uri`]).
    pub uri: Option<String>,
    /// The `pipeline` value as written.
    pub pipeline: Option<String>,
    /// Frames per second passed to the model, 0..=1000; 0 = every decoded frame (default 5).
    pub sample_fps: f64,
    /// RTSP transport (default `"tcp"`).
    pub rtsp_transport: RtspTransport,
    /// `rtspsrc` jitterbuffer latency in milliseconds (default 200).
    pub latency_ms: u32,
    /// TOML `loop`: restart a file stream at its end instead of stopping (default false).
    pub r#loop: bool,
    /// Seconds without a frame before the stream counts as stalled and is rebuilt, > 0 (default 10).
    pub stall_timeout_s: f64,
    /// First reconnect delay in seconds, > 0 (default 1).
    pub reconnect_min_s: f64,
    /// Longest reconnect delay in seconds, >= `reconnect_min_s` (default 30).
    pub reconnect_max_s: f64,
    /// Run this stream (default true).
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
            rtsp_transport: RtspTransport::Tcp,
            latency_ms: 200,
            r#loop: false,
            stall_timeout_s: 10.0,
            reconnect_min_s: 1.0,
            reconnect_max_s: 30.0,
            enabled: true,
        }
    }
}

impl fmt::Debug for StreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamConfig")
            .field("name", &self.name)
            .field("source", &self.source)
            .field("uri", &self.uri.as_deref().map(redact_uri))
            .field("pipeline", &self.pipeline.as_deref().map(redact_uri))
            .field("sample_fps", &self.sample_fps)
            .field("rtsp_transport", &self.rtsp_transport)
            .field("latency_ms", &self.latency_ms)
            .field("loop", &self.r#loop)
            .field("stall_timeout_s", &self.stall_timeout_s)
            .field("reconnect_min_s", &self.reconnect_min_s)
            .field("reconnect_max_s", &self.reconnect_max_s)
            .field("enabled", &self.enabled)
            .finish()
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

/// Keys allowed at the top level.
const TOP_KEYS: &[&str] = &["runtime", "model", "smoothing", "output", "stream"];
/// Keys allowed in `[runtime]`.
const RUNTIME_KEYS: &[&str] = &[
    "onnxruntime",
    "providers",
    "intra_threads",
    "max_batch",
    "allow_spinning",
    "cpu_arena",
    "inference_stall_s",
];
/// Keys allowed in `[model]`.
const MODEL_KEYS: &[&str] = &["path"];
/// Keys allowed in `[smoothing]`.
const SMOOTHING_KEYS: &[&str] = &[
    "method",
    "window",
    "stride",
    "threshold",
    "confirm",
    "top_k",
];
/// Keys allowed in `[output]`.
const OUTPUT_KEYS: &[&str] = &[
    "socket",
    "socket_mode",
    "socket_group",
    "stdout",
    "per_frame",
    "subscriber_buffer",
];
/// Keys allowed in `[[stream]]`.
const STREAM_KEYS: &[&str] = &[
    "name",
    "uri",
    "pipeline",
    "sample_fps",
    "rtsp_transport",
    "latency_ms",
    "loop",
    "stall_timeout_s",
    "reconnect_min_s",
    "reconnect_max_s",
    "enabled",
];

/// Parses `text` (named `origin` in errors), resolving relative paths against `base`.
fn parse_with_base(text: &str, origin: &Path, base: &Path) -> Result<Config, ConfigError> {
    let ctx = Ctx::new(origin, text);
    let doc = DeTable::parse(text).map_err(|e| ctx.syntax_error(&e))?;
    let root = Table::new(&ctx, String::new(), 0..0, doc.get_ref(), TOP_KEYS)?;

    let runtime = match root.get("runtime") {
        Some(v) => runtime(&v.table(RUNTIME_KEYS)?, base)?,
        None => RuntimeConfig::default(),
    };
    let model = match root.get("model") {
        Some(v) => model(&v.table(MODEL_KEYS)?, base)?,
        None => {
            return Err(root.error(
                "model.path",
                "missing required key; add a [model] table with `path = \"…\"`",
            ))
        }
    };
    let smoothing = match root.get("smoothing") {
        Some(v) => smoothing(&v.table(SMOOTHING_KEYS)?)?,
        None => SmoothingConfig::default(),
    };
    let output = match root.get("output") {
        Some(v) => output(&v.table(OUTPUT_KEYS)?, base)?,
        None => OutputConfig::default(),
    };
    let streams = match root.get("stream") {
        Some(v) => streams(&v, base)?,
        None => return Err(root.error("stream", "at least one [[stream]] is required")),
    };
    Ok(Config {
        runtime,
        model,
        smoothing,
        output,
        streams,
        source_path: Some(origin.to_path_buf()),
    })
}

/// One of a fixed set of strings, mapped to its value; `what` names it in messages.
fn choice<T: Copy>(v: &Value<'_>, what: &str, options: &[(&str, T)]) -> Result<T, ConfigError> {
    let s = v.str()?;
    options
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            v.error(format!(
                "unknown {what} `{s}`; expected one of: {}",
                names.join(", ")
            ))
        })
}

/// Builds `[runtime]`.
fn runtime(t: &Table<'_>, base: &Path) -> Result<RuntimeConfig, ConfigError> {
    let mut rt = RuntimeConfig::default();
    if let Some(v) = t.get("onnxruntime") {
        let s = v.non_empty_str()?;
        rt.onnxruntime = Some(if s.contains('/') {
            source::resolve(base, Path::new(s))
        } else {
            PathBuf::from(s)
        });
    }
    if let Some(v) = t.get("providers") {
        rt.providers = providers(&v)?;
    }
    if let Some(v) = t.get("intra_threads") {
        rt.intra_threads = v.usize_in(0, usize::MAX)?;
    }
    if let Some(v) = t.get("max_batch") {
        rt.max_batch = v.usize_in(1, 64)?;
    }
    if let Some(v) = t.get("allow_spinning") {
        rt.allow_spinning = v.bool()?;
    }
    if let Some(v) = t.get("cpu_arena") {
        rt.cpu_arena = v.bool()?;
    }
    if let Some(v) = t.get("inference_stall_s") {
        rt.inference_stall_s = v.f64_in(0.0, false, f64::MAX)?;
    }
    Ok(rt)
}

/// Builds `runtime.providers`: known names, non-empty, no duplicates.
fn providers(v: &Value<'_>) -> Result<Vec<Provider>, ConfigError> {
    let items = v.array()?;
    if items.is_empty() {
        return Err(v.error(format!(
            "must list at least one provider, e.g. [\"cpu\"]; known: {}",
            Provider::ALL.map(Provider::as_str).join(", ")
        )));
    }
    let options = Provider::ALL.map(|p| (p.as_str(), p));
    let mut providers = Vec::with_capacity(items.len());
    for item in &items {
        let p = choice(item, "provider", &options)?;
        if providers.contains(&p) {
            return Err(item.error(format!("provider `{p}` is listed more than once")));
        }
        providers.push(p);
    }
    Ok(providers)
}

/// Builds `[model]`.
fn model(t: &Table<'_>, base: &Path) -> Result<ModelConfig, ConfigError> {
    let v = t.get("path").ok_or_else(|| t.missing("path"))?;
    Ok(ModelConfig {
        path: source::resolve(base, Path::new(v.non_empty_str()?)),
    })
}

/// Builds `[smoothing]`.
fn smoothing(t: &Table<'_>) -> Result<SmoothingConfig, ConfigError> {
    let mut s = SmoothingConfig::default();
    if let Some(v) = t.get("method") {
        s.method = choice(
            &v,
            "method",
            &[
                ("mean", SmoothingMethod::Mean),
                ("ema", SmoothingMethod::Ema),
            ],
        )?;
    }
    if let Some(v) = t.get("window") {
        s.window = v.usize_in(1, usize::MAX)?;
    }
    if let Some(v) = t.get("stride") {
        s.stride = v.usize_in(1, usize::MAX)?;
    }
    if let Some(v) = t.get("threshold") {
        s.threshold = v.f64_in(0.0, true, 1.0)? as f32;
    }
    if let Some(v) = t.get("confirm") {
        s.confirm = v.usize_in(1, usize::MAX)?;
    }
    if let Some(v) = t.get("top_k") {
        s.top_k = v.usize_in(1, usize::MAX)?;
    }
    Ok(s)
}

/// Builds `[output]`.
fn output(t: &Table<'_>, base: &Path) -> Result<OutputConfig, ConfigError> {
    let mut o = OutputConfig::default();
    if let Some(v) = t.get("socket") {
        o.socket = source::resolve(base, Path::new(v.non_empty_str()?));
    }
    if let Some(v) = t.get("socket_mode") {
        o.socket_mode = socket_mode(&v)?;
    }
    if let Some(v) = t.get("socket_group") {
        o.socket_group = Some(v.non_empty_str()?.to_string());
    }
    if let Some(v) = t.get("stdout") {
        o.stdout = v.bool()?;
    }
    if let Some(v) = t.get("per_frame") {
        o.per_frame = v.bool()?;
    }
    if let Some(v) = t.get("subscriber_buffer") {
        o.subscriber_buffer = v.usize_in(16, usize::MAX)?;
    }
    Ok(o)
}

/// Parses `output.socket_mode`: a string of octal digits, at most `0777`.
fn socket_mode(v: &Value<'_>) -> Result<u32, ConfigError> {
    let s = v
        .str()
        .map_err(|_| v.type_error("a string of octal digits like \"0660\""))?;
    if s.is_empty() || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(v.error(format!(
            "`{s}` is not an octal mode; use digits 0-7, like \"0660\""
        )));
    }
    match u32::from_str_radix(s, 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(v.error(format!("`{s}` is above 0777"))),
    }
}

/// Builds the `[[stream]]` list: at least one, names unique.
fn streams(v: &Value<'_>, base: &Path) -> Result<Vec<StreamConfig>, ConfigError> {
    let items = v
        .array()
        .map_err(|_| v.type_error("an array of tables: write [[stream]], not [stream]"))?;
    if items.is_empty() {
        return Err(v.error("at least one [[stream]] is required"));
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut streams = Vec::with_capacity(items.len());
    for item in &items {
        let (stream, name) = stream(item, base)?;
        if let Some(first) = seen.get(&stream.name) {
            return Err(name.error(format!(
                "duplicate stream name `{}`; {first} already uses it",
                stream.name
            )));
        }
        seen.insert(stream.name.clone(), item.key.clone());
        streams.push(stream);
    }
    Ok(streams)
}

/// Whether `name` is a valid stream name: 1..=64 of `[A-Za-z0-9_.-]`.
fn valid_stream_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Builds one `[[stream]]`; also returns its `name` value for later errors.
fn stream<'a>(item: &Value<'a>, base: &Path) -> Result<(StreamConfig, Value<'a>), ConfigError> {
    let t = item.table(STREAM_KEYS)?;
    let name_v = t.get("name").ok_or_else(|| t.missing("name"))?;
    let name = name_v.str()?;
    if !valid_stream_name(name) {
        return Err(name_v.error(format!(
            "invalid stream name `{name}`; use 1 to 64 characters of A-Z a-z 0-9 _ . -"
        )));
    }

    let (source, uri, pipeline) = match (t.get("uri"), t.get("pipeline")) {
        (Some(u), Some(p)) => {
            let later = if p.span.start > u.span.start { p } else { u };
            return Err(later.error("set either `uri` or `pipeline`, not both"));
        }
        (None, None) => {
            return Err(t.error(
                "uri",
                "missing `uri` (or `pipeline`); a stream needs exactly one",
            ))
        }
        (Some(u), None) => {
            let s = u.non_empty_str()?;
            let kind = source::parse_uri(s, base).map_err(|m| u.error(m))?;
            (kind, Some(s.to_string()), None)
        }
        (None, Some(p)) => {
            let s = p.non_empty_str()?;
            (
                SourceKind::Pipeline(s.to_string()),
                None,
                Some(s.to_string()),
            )
        }
    };

    let mut s = StreamConfig::new(name, source);
    s.uri = uri;
    s.pipeline = pipeline;
    if let Some(v) = t.get("sample_fps") {
        s.sample_fps = v.f64_in(0.0, true, 1000.0)?;
    }
    if let Some(v) = t.get("rtsp_transport") {
        s.rtsp_transport = choice(
            &v,
            "transport",
            &[
                ("tcp", RtspTransport::Tcp),
                ("udp", RtspTransport::Udp),
                ("auto", RtspTransport::Auto),
            ],
        )?;
    }
    if let Some(v) = t.get("latency_ms") {
        s.latency_ms = v.u32()?;
    }
    if let Some(v) = t.get("loop") {
        s.r#loop = v.bool()?;
    }
    if let Some(v) = t.get("enabled") {
        s.enabled = v.bool()?;
    }
    if let Some(v) = t.get("stall_timeout_s") {
        s.stall_timeout_s = v.f64_in(0.0, false, f64::MAX)?;
    }
    let min_v = t.get("reconnect_min_s");
    if let Some(v) = &min_v {
        s.reconnect_min_s = v.f64_in(0.0, false, f64::MAX)?;
    }
    match t.get("reconnect_max_s") {
        Some(v) => {
            s.reconnect_max_s = v.f64_in(0.0, false, f64::MAX)?;
            if s.reconnect_max_s < s.reconnect_min_s {
                return Err(v.error(format!(
                    "must be at least reconnect_min_s ({}), got {}",
                    s.reconnect_min_s, s.reconnect_max_s
                )));
            }
        }
        None => {
            if let Some(v) = min_v.filter(|_| s.reconnect_min_s > s.reconnect_max_s) {
                return Err(v.error(format!(
                    "must be at most reconnect_max_s ({}, the default), got {}",
                    s.reconnect_max_s, s.reconnect_min_s
                )));
            }
        }
    }
    Ok((s, name_v))
}

