//! Developer and operator tools beside the daemon: benchmark, model inspection,
//! frame extraction, the ONNX reader and the parser properties used by fuzzing.

pub mod bench;
pub mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod inspect;
pub mod onnx;
