//! The operating system around the daemon: logging, systemd notify, process
//! figures and the allocator.

pub mod gst_log;
pub mod logging;
pub mod malloc;
pub mod notify;
pub mod procfs;
