//! Video sources: one GStreamer pipeline per stream, its supervisor, and the
//! latest-frame hand-off to inference.

pub mod hub;
pub mod pipeline;
pub mod supervisor;

pub use hub::{Frame, FrameHub, StreamSlot, StreamStats};
pub use pipeline::{set_stream_nice, share_decoder_threads, Target};
pub use supervisor::{StatusFn, StatusUpdate, StreamState, Supervisor, TEARDOWN_LIMIT};
