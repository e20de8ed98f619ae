//! actiond: real-time action recognition on live video.

pub mod preprocess;
pub mod smooth;
