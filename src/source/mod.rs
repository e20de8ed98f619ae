//! Video sources: one GStreamer pipeline per stream and its supervisor, which drives
//! the stream's lifecycle (a pure state machine).

pub mod decoders;
pub mod diagnose;
pub mod http;
pub mod lifecycle;
pub mod nal;
pub mod pipeline;
pub mod regions;
pub mod rtsp;
mod skipping;
pub mod supervisor;
pub mod threads;
pub mod unsampled;

pub use lifecycle::RetryReason;
pub use pipeline::Target;
pub use regions::RegionTarget;
pub use supervisor::{StatusFn, StatusUpdate, Supervisor, TEARDOWN_LIMIT};
pub use threads::PipelineSettings;

pub use crate::publish::StreamState;
