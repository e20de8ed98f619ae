//! The inference worker: the one owner of the ONNX Runtime session. It takes the
//! latest frame of each stream (round robin, up to the batch size), preprocesses
//! them straight into the batch tensor, runs the model, smooths per stream and
//! publishes.
//!
//! - `worker`: the thread, its stream commands and its loop;
//! - `batch`: take frames → fill rows → run the model;
//! - `dispatch`: each row's result to its stream's smoother and the publisher;
//! - `streams`: the worker's per-stream state;
//! - `temporal`: clip rings, model state and their resets, per stream.

mod batch;
mod dispatch;
mod streams;
mod temporal;
mod worker;

pub use worker::{spawn, Worker, WorkerSettings};
