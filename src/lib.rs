//! actiond: real-time action recognition on live video.
//!
//! GStreamer pipelines sample frames ([`source`]), one inference worker runs the
//! ONNX model on them ([`infer`], [`model`], [`preprocess`]), per-stream smoothing
//! turns frames into clip predictions ([`smooth`]) and [`publish`] sends them to
//! subscribers. [`daemon`] wires it together.

pub mod config;
pub mod daemon;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod infer;
pub mod model;
pub mod notify;
pub mod preprocess;
pub mod publish;
pub mod smooth;
pub mod source;
