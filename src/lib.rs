//! actiond: real-time action recognition on live video.
//!
//! GStreamer pipelines sample frames ([`source`]), one inference worker runs the
//! ONNX model on them ([`infer`], [`model`], [`preprocess`]), per-stream smoothing
//! turns frames into clip predictions ([`smooth`]) and [`publish`] sends them to
//! subscribers. [`daemon`] wires it together.

pub mod bench;
pub mod config;
pub mod daemon;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod infer;
pub mod inspect;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod mqtt;
pub mod notify;
pub mod onnx;
pub mod preprocess;
pub mod publish;
pub mod services;
pub mod smooth;
pub mod source;
pub mod tracker;
