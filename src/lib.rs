//! actiond: real-time action recognition on live video.

pub mod config;
pub mod preprocess;
pub mod smooth;
