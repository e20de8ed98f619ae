//! Video sources: one GStreamer pipeline per stream and its supervisor.

pub mod pipeline;
pub mod supervisor;

pub use pipeline::{set_stream_nice, share_decoder_threads, Target};
pub use supervisor::{StatusFn, StatusUpdate, Supervisor, TEARDOWN_LIMIT};

pub use crate::publish::StreamState;
