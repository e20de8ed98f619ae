//! actiond: real-time action recognition on live video.
//!
//! The modules in frame order, one line each: a stream's pipeline hands its latest
//! frame to the hub, inference runs the model on it, smoothing turns frame results
//! into clip predictions, and publishing sends them out.

pub mod config; // reads and checks the TOML configuration
pub mod source; // one GStreamer pipeline per stream and its supervisor
pub mod hub; // the latest-frame mailbox between sources and inference
pub mod stats; // per-stream counters named like the metrics, one snapshot()
pub mod infer; // the inference worker: batches frames from all streams
pub mod model; // ONNX Runtime session, manifest, providers, preprocessing
pub mod smooth; // clip aggregation, label-change hysteresis, ranking
pub mod publish; // messages and their outputs: socket, stdout, MQTT, HTTP
pub mod record; // evidence clips and snapshots around events, with retention
pub mod daemon; // start, run until shutdown, reload, stop
pub mod sys; // the OS around it: logging, systemd notify, /proc, malloc
pub mod tools; // developer tools: bench, inspect, extract, ONNX reader, fuzzing
pub mod cli; // the command line, one file per subcommand
