//! Stateful models: each `[[state]]` pair checked against the model at load, and
//! the batch buffers its values are gathered into before a run and read from after.

use std::path::Path;

use ort::session::Session;
use ort::value::TensorElementType;

use super::manifest::StatePair;
use super::{fmt_shape, ModelError, Tensor};

/// One state pair's shape and batch buffers.
pub(crate) struct StateSlot {
    /// The pair's tensor names.
    pub pair: StatePair,
    /// Shape of one item (the batch axis left out).
    pub dims: Vec<i64>,
    /// Values per item.
    pub len: usize,
    /// State inputs of the batch: `max_batch × len`, gathered from the streams.
    pub input: Vec<f32>,
    /// State outputs of the last run: `max_batch × len`, scattered to the streams.
    pub output: Vec<f32>,
}

impl StateSlot {
    /// The input tensor's shape for a batch of `n`.
    pub fn batch_shape(&self, n: usize) -> Vec<i64> {
        std::iter::once(n as i64)
            .chain(self.dims.iter().copied())
            .collect()
    }
}

/// Checks every state pair (both tensors exist, are float32, agree in shape,
/// have fixed item dimensions and the model's batch axis); returns their slots.
pub(crate) fn check_states(
    session: &Session,
    pairs: &[StatePair],
    model: &Path,
    max_batch: usize,
) -> Result<Vec<StateSlot>, ModelError> {
    let mut slots = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let input = Tensor {
            model,
            kind: "state input",
            name: &pair.input,
        };
        let output = Tensor {
            model,
            kind: "state output",
            name: &pair.output,
        };
        let (ti, di) = input.shape(input.find(session.inputs())?)?;
        let (to, dout) = output.shape(output.find(session.outputs())?)?;
        for (t, ty) in [(&input, ti), (&output, to)] {
            if ty != TensorElementType::Float32 {
                return Err(t.mismatch(format!(
                    "element type is {ty:?}; only float32 states are supported"
                )));
            }
        }
        let item = |d: &[i64]| d.get(1..).map(<[i64]>::to_vec).unwrap_or_default();
        if di.is_empty() || di.len() != dout.len() || item(&di) != item(&dout) {
            return Err(input.mismatch(format!(
                "shape {} disagrees with its state output `{}` shape {}; a state is fed back, so both must have the same shape",
                fmt_shape(&di),
                pair.output,
                fmt_shape(&dout)
            )));
        }
        let dims = item(&di);
        if dims.iter().any(|d| *d <= 0) || !(di[0] < 0 || di[0] == 1) {
            return Err(input.mismatch(format!(
                "shape {} (output `{}` {}): a state needs fixed dimensions after the batch axis, and a batch axis of 1 or dynamic",
                fmt_shape(&di),
                pair.output,
                fmt_shape(&dout)
            )));
        }
        let len = dims.iter().product::<i64>() as usize;
        slots.push(StateSlot {
            pair: pair.clone(),
            dims,
            len,
            input: vec![0.0; max_batch * len],
            output: vec![0.0; max_batch * len],
        });
    }
    Ok(slots)
}
