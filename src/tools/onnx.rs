//! Reading an ONNX model file without ONNX Runtime: a subset of `onnx.proto`
//! (the fields `inspect-model` needs; everything else is skipped by the
//! decoder), parameter counting, and static shape inference through the graph
//! to count multiply-accumulates.
//!
//! Field numbers follow `onnx/onnx.proto` (IR version 10); the messages are
//! declared with `prost`'s derive, so no code generation step is needed.

use std::collections::HashMap;
use std::path::Path;

use bytes::Bytes;

/// `ModelProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// IR version.
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// Operator sets the model uses.
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// Tool that wrote the model.
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// Its version.
    #[prost(string, tag = "3")]
    pub producer_version: String,
    /// Model namespace.
    #[prost(string, tag = "4")]
    pub domain: String,
    /// Model version.
    #[prost(int64, tag = "5")]
    pub model_version: i64,
    /// Free text.
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The graph.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// Metadata key/value pairs.
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// `OperatorSetIdProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// Domain ("" = ai.onnx).
    #[prost(string, tag = "1")]
    pub domain: String,
    /// Opset version.
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// `StringStringEntryProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// Key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `GraphProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// Nodes in topological order.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// Graph name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Constant tensors (weights).
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// Free text.
    #[prost(string, tag = "10")]
    pub doc_string: String,
    /// Graph inputs (may include initializers in old IR versions).
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// Graph outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
    /// Shapes of intermediate values, when the writer recorded them.
    #[prost(message, repeated, tag = "13")]
    pub value_info: Vec<ValueInfoProto>,
}

/// `NodeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// Input value names ("" = omitted optional input).
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// Output value names.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// Node name.
    #[prost(string, tag = "3")]
    pub name: String,
    /// Operator.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// Operator domain.
    #[prost(string, tag = "7")]
    pub domain: String,
    /// Attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// `AttributeProto` (scalar, list and tensor values).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Float value.
    #[prost(float, tag = "2")]
    pub f: f32,
    /// Integer value.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// Bytes value.
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    /// Tensor value.
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    /// Float list.
    #[prost(float, repeated, tag = "7")]
    pub floats: Vec<f32>,
    /// Integer list.
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
    /// Attribute type (1 float, 2 int, 3 string, 4 tensor, 6 floats, 7 ints, …).
    #[prost(int32, tag = "20")]
    pub r#type: i32,
}

/// `TensorProto` (data kept as bytes; never copied out of the file buffer).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// Shape.
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// Element type (1 float, 6 int32, 7 int64, 10 float16, 11 double, …).
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// Float elements (when not in `raw_data`).
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// Int32 elements (also for narrower types).
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    /// Int64 elements.
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    /// Name.
    #[prost(string, tag = "8")]
    pub name: String,
    /// Little-endian packed elements.
    #[prost(bytes = "bytes", tag = "9")]
    pub raw_data: Bytes,
    /// Where data stored outside the file lives (`location`, `offset`, `length`).
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
    /// 0 = in this message, 1 = external.
    #[prost(int32, tag = "14")]
    pub data_location: i32,
}

/// `ValueInfoProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// Value name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its type.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
}

/// `TypeProto` (tensor types only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// The tensor type, when the value is a tensor.
    #[prost(message, optional, tag = "1")]
    pub tensor_type: Option<TensorTypeProto>,
}

/// `TypeProto.Tensor`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorTypeProto {
    /// Element type.
    #[prost(int32, tag = "1")]
    pub elem_type: i32,
    /// Shape, when known.
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
}

/// `TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// Dimensions.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<DimensionProto>,
}

/// `TensorShapeProto.Dimension`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DimensionProto {
    /// A fixed size.
    #[prost(int64, optional, tag = "1")]
    pub dim_value: Option<i64>,
    /// A symbolic size (e.g. `batch`).
    #[prost(string, optional, tag = "2")]
    pub dim_param: Option<String>,
}

/// ONNX element type names.
pub fn elem_type_name(t: i32) -> &'static str {
    match t {
        1 => "float32",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "float64",
        12 => "uint32",
        13 => "uint64",
        16 => "bfloat16",
        _ => "other",
    }
}

/// Reads and decodes an ONNX file.
pub fn load(path: &Path) -> anyhow::Result<ModelProto> {
    use anyhow::Context;
    use prost::Message;
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let model = ModelProto::decode(Bytes::from(data)).with_context(|| {
        format!(
            "{} is not an ONNX model (protobuf decoding failed)",
            path.display()
        )
    })?;
    if model.graph.is_none() {
        anyhow::bail!("{} is not an ONNX model: it has no graph", path.display());
    }
    Ok(model)
}

/// A dimension as declared: a size, a symbol, or unknown.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    /// A fixed size.
    Fixed(i64),
    /// A named symbolic size.
    Symbol(String),
    /// Not declared.
    Unknown,
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbol(s) => f.write_str(s),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// A graph input or output: name, element type and declared shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Port {
    /// Name.
    pub name: String,
    /// Element type name.
    pub elem_type: &'static str,
    /// Shape (None when undeclared).
    pub shape: Option<Vec<Dim>>,
}

fn port(v: &ValueInfoProto) -> Port {
    let tensor = v.r#type.as_ref().and_then(|t| t.tensor_type.as_ref());
    Port {
        name: v.name.clone(),
        elem_type: tensor
            .map(|t| elem_type_name(t.elem_type))
            .unwrap_or("other"),
        shape: tensor.and_then(|t| t.shape.as_ref()).map(|s| {
            s.dim
                .iter()
                .map(|d| match (&d.dim_value, &d.dim_param) {
                    (Some(n), _) => Dim::Fixed(*n),
                    (None, Some(p)) if !p.is_empty() => Dim::Symbol(p.clone()),
                    _ => Dim::Unknown,
                })
                .collect()
        }),
    }
}

/// The real inputs (graph inputs that are not initializers) and the outputs.
pub fn ports(model: &ModelProto) -> (Vec<Port>, Vec<Port>) {
    let Some(g) = &model.graph else {
        return (Vec::new(), Vec::new());
    };
    let inits: std::collections::HashSet<&str> =
        g.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs = g
        .input
        .iter()
        .filter(|v| !inits.contains(v.name.as_str()))
        .map(port)
        .collect();
    (inputs, g.output.iter().map(port).collect())
}

fn numel(dims: &[i64]) -> u64 {
    dims.iter().map(|&d| d.max(0) as u64).product()
}

/// Whether ONNX element type `t` is a floating-point type (weights; integer tensors are shapes or indices).
fn is_float(t: i32) -> bool {
    matches!(t, 1 | 10 | 11 | 16)
}

/// Learned parameters: the elements of every floating-point initializer of rank ≥ 1
/// (scalars are settings such as Clip bounds), plus floating-point `Constant` nodes
/// with more than one element. Integer tensors (shapes, pads, axes) are not counted.
pub fn parameter_count(model: &ModelProto) -> u64 {
    let Some(g) = &model.graph else { return 0 };
    let inits: u64 = g
        .initializer
        .iter()
        .filter(|t| is_float(t.data_type) && !t.dims.is_empty())
        .map(|t| numel(&t.dims))
        .sum();
    let constants: u64 = g
        .node
        .iter()
        .filter(|n| n.op_type == "Constant")
        .filter_map(|n| n.attribute.iter().find(|a| a.name == "value")?.t.as_ref())
        .filter(|t| is_float(t.data_type) && numel(&t.dims) > 1)
        .map(|t| numel(&t.dims))
        .sum();
    inits + constants
}

/// Integer elements of a constant tensor (int32 or int64; raw or typed storage).
fn ints_of(t: &TensorProto) -> Option<Vec<i64>> {
    match t.data_type {
        7 if !t.raw_data.is_empty() => Some(
            t.raw_data
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        7 => Some(t.int64_data.clone()),
        6 if !t.raw_data.is_empty() => Some(
            t.raw_data
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")) as i64)
                .collect(),
        ),
        6 => Some(t.int32_data.iter().map(|&x| x as i64).collect()),
        _ => None,
    }
}

/// Multiply-accumulate count of one inference (batch 1) and how complete it is.
#[derive(Debug, Clone, PartialEq)]
pub struct MacCount {
    /// Multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul nodes whose shapes are known.
    pub macs: u64,
    /// Nodes of those kinds counted.
    pub counted: usize,
    /// Nodes of those kinds whose shapes could not be inferred (not counted).
    pub uncounted: Vec<String>,
    /// Operators shape inference did not know (their outputs' shapes are unknown).
    pub unknown_ops: Vec<String>,
}

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

fn attr_i(n: &NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map(|a| a.i).unwrap_or(default)
}

fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}

fn attr_s(n: &NodeProto, name: &str) -> String {
    attr(n, name)
        .map(|a| String::from_utf8_lossy(&a.s).into_owned())
        .unwrap_or_default()
}

/// Numpy-style broadcast of two shapes.
fn broadcast(a: &[i64], b: &[i64]) -> Option<Vec<i64>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let x = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let y = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    (0..rank as i64).contains(&a).then_some(a as usize)
}

/// Output size of a sliding window along one axis.
fn window_out(
    size: i64,
    kernel: i64,
    stride: i64,
    dilation: i64,
    pads: (i64, i64),
    auto_pad: &str,
    ceil: bool,
) -> i64 {
    match auto_pad {
        "SAME_UPPER" | "SAME_LOWER" => (size + stride - 1) / stride,
        "VALID" => (size - dilation * (kernel - 1) - 1) / stride + 1,
        _ => {
            let span = size + pads.0 + pads.1 - dilation * (kernel - 1) - 1;
            if ceil {
                (span + stride - 1) / stride + 1
            } else {
                span / stride + 1
            }
        }
    }
}

/// Shape inference with batch 1 (symbolic dimensions of graph inputs become 1)
/// and the multiply-accumulates of the compute-heavy operators.
pub fn count_macs(model: &ModelProto) -> MacCount {
    let mut result = MacCount {
        macs: 0,
        counted: 0,
        uncounted: Vec::new(),
        unknown_ops: Vec::new(),
    };
    let Some(g) = &model.graph else {
        return result;
    };
    let mut shapes: HashMap<String, Vec<i64>> = HashMap::new();
    let mut consts: HashMap<String, Vec<i64>> = HashMap::new();
    for t in &g.initializer {
        shapes.insert(t.name.clone(), t.dims.clone());
        if let Some(v) = ints_of(t) {
            consts.insert(t.name.clone(), v);
        }
    }
    let (inputs, _) = ports(model);
    for p in inputs {
        if let Some(s) = p.shape {
            let dims = s
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => *n,
                    _ => 1,
                })
                .collect();
            shapes.insert(p.name, dims);
        }
    }
    for n in &g.node {
        let shape_of = |i: usize| -> Option<Vec<i64>> {
            let name = n.input.get(i)?;
            shapes.get(name).cloned()
        };
        let const_of = |i: usize| -> Option<Vec<i64>> {
            let name = n.input.get(i)?;
            consts.get(name).cloned()
        };
        let heavy = matches!(
            n.op_type.as_str(),
            "Conv" | "ConvTranspose" | "Gemm" | "MatMul"
        );
        let mut out_consts: Option<Vec<i64>> = None;
        let out: Option<Vec<i64>> = match n.op_type.as_str() {
            "Conv" | "ConvTranspose" => (|| {
                let x = shape_of(0)?;
                let w = shape_of(1)?;
                if x.len() < 3 || w.len() != x.len() {
                    return None;
                }
                let spatial = x.len() - 2;
                let group = attr_i(n, "group", 1).max(1);
                let kernel = attr_ints(n, "kernel_shape").unwrap_or_else(|| w[2..].to_vec());
                let strides = attr_ints(n, "strides").unwrap_or_else(|| vec![1; spatial]);
                let dil = attr_ints(n, "dilations").unwrap_or_else(|| vec![1; spatial]);
                let pads = attr_ints(n, "pads").unwrap_or_else(|| vec![0; 2 * spatial]);
                let auto = attr_s(n, "auto_pad");
                let mut y = vec![x[0]];
                let transpose = n.op_type == "ConvTranspose";
                let out_ch = if transpose { w[1] * group } else { w[0] };
                y.push(out_ch);
                for i in 0..spatial {
                    let size = if transpose {
                        let op = attr_ints(n, "output_padding").map(|v| v[i]).unwrap_or(0);
                        strides[i] * (x[2 + i] - 1) + op + ((kernel[i] - 1) * dil[i] + 1)
                            - pads[i]
                            - pads[i + spatial]
                    } else {
                        window_out(
                            x[2 + i],
                            kernel[i],
                            strides[i],
                            dil[i],
                            (pads[i], pads[i + spatial]),
                            &auto,
                            false,
                        )
                    };
                    y.push(size);
                }
                // Each output (transpose: input) element takes (C_in/group)·k… multiply-adds.
                let per = numel(&w[1..]);
                let macs = if transpose {
                    numel(&x) * (w[1] as u64) * numel(&w[2..])
                } else {
                    numel(&y) * per
                };
                result.macs += macs;
                Some(y)
            })(),
            "Gemm" => (|| {
                let a = shape_of(0)?;
                let b = shape_of(1)?;
                if a.len() != 2 || b.len() != 2 {
                    return None;
                }
                let (m, k) = if attr_i(n, "transA", 0) != 0 {
                    (a[1], a[0])
                } else {
                    (a[0], a[1])
                };
                let nn = if attr_i(n, "transB", 0) != 0 {
                    b[0]
                } else {
                    b[1]
                };
                result.macs += (m * k * nn).max(0) as u64;
                Some(vec![m, nn])
            })(),
            "MatMul" => (|| {
                let a = shape_of(0)?;
                let b = shape_of(1)?;
                let (a2, b2) = (
                    if a.len() == 1 {
                        vec![1, a[0]]
                    } else {
                        a.clone()
                    },
                    if b.len() == 1 {
                        vec![b[0], 1]
                    } else {
                        b.clone()
                    },
                );
                let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
                let nn = b2[b2.len() - 1];
                let batch = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2])?;
                result.macs += numel(&batch) * (m * k * nn).max(0) as u64;
                let mut y = batch;
                if a.len() > 1 {
                    y.push(m);
                }
                if b.len() > 1 {
                    y.push(nn);
                }
                Some(y)
            })(),
            "Relu"
            | "Clip"
            | "Sigmoid"
            | "HardSigmoid"
            | "HardSwish"
            | "Tanh"
            | "LeakyRelu"
            | "Elu"
            | "Selu"
            | "Softmax"
            | "LogSoftmax"
            | "Identity"
            | "Dropout"
            | "BatchNormalization"
            | "Cast"
            | "Sqrt"
            | "Exp"
            | "Log"
            | "Neg"
            | "Abs"
            | "Reciprocal"
            | "Erf"
            | "Gelu"
            | "InstanceNormalization"
            | "LayerNormalization"
            | "LRN"
            | "Floor"
            | "Ceil"
            | "Round"
            | "Not"
            | "QuantizeLinear"
            | "DequantizeLinear" => {
                if n.op_type == "Identity" || n.op_type == "Cast" {
                    out_consts = const_of(0);
                }
                shape_of(0)
            }
            "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Sum" | "Mean" | "Equal"
            | "Less" | "Greater" | "Where" | "PRelu" => {
                let mut s = shape_of(0);
                for i in 1..n.input.len() {
                    s = s.and_then(|a| broadcast(&a, &shape_of(i)?));
                }
                s
            }
            "Transpose" => shape_of(0).map(|x| {
                let perm =
                    attr_ints(n, "perm").unwrap_or_else(|| (0..x.len() as i64).rev().collect());
                perm.iter().map(|&p| x[p as usize]).collect()
            }),
            "GlobalAveragePool" | "GlobalMaxPool" => shape_of(0).map(|mut x| {
                for d in x.iter_mut().skip(2) {
                    *d = 1;
                }
                x
            }),
            "MaxPool" | "AveragePool" => (|| {
                let x = shape_of(0)?;
                let spatial = x.len().checked_sub(2)?;
                let kernel = attr_ints(n, "kernel_shape")?;
                let strides = attr_ints(n, "strides").unwrap_or_else(|| vec![1; spatial]);
                let dil = attr_ints(n, "dilations").unwrap_or_else(|| vec![1; spatial]);
                let pads = attr_ints(n, "pads").unwrap_or_else(|| vec![0; 2 * spatial]);
                let auto = attr_s(n, "auto_pad");
                let ceil = attr_i(n, "ceil_mode", 0) != 0;
                let mut y = x[..2].to_vec();
                for i in 0..spatial {
                    y.push(window_out(
                        x[2 + i],
                        kernel[i],
                        strides[i],
                        dil[i],
                        (pads[i], pads[i + spatial]),
                        &auto,
                        ceil,
                    ));
                }
                Some(y)
            })(),
            "Pad" => (|| {
                let x = shape_of(0)?;
                let pads = attr_ints(n, "pads").or_else(|| const_of(1))?;
                let r = x.len();
                let axes = const_of(3);
                let mut y = x.clone();
                match axes {
                    Some(axes) => {
                        for (j, &a) in axes.iter().enumerate() {
                            let a = norm_axis(a, r)?;
                            y[a] += pads[j] + pads[j + axes.len()];
                        }
                    }
                    None => {
                        for i in 0..r {
                            y[i] += pads[i] + pads[i + r];
                        }
                    }
                }
                Some(y)
            })(),
            "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceL2" => (|| {
                let x = shape_of(0)?;
                let keep = attr_i(n, "keepdims", 1) != 0;
                let axes = attr_ints(n, "axes").or_else(|| const_of(1));
                let axes: Vec<usize> = match axes {
                    Some(a) if !a.is_empty() => a
                        .iter()
                        .map(|&a| norm_axis(a, x.len()))
                        .collect::<Option<_>>()?,
                    _ => (0..x.len()).collect(),
                };
                Some(
                    x.iter()
                        .enumerate()
                        .filter_map(|(i, &d)| match (axes.contains(&i), keep) {
                            (true, true) => Some(1),
                            (true, false) => None,
                            _ => Some(d),
                        })
                        .collect(),
                )
            })(),
            "Flatten" => shape_of(0).and_then(|x| {
                let axis = norm_axis(attr_i(n, "axis", 1), x.len() + 1)?;
                Some(vec![x[..axis].iter().product(), x[axis..].iter().product()])
            }),
            "Reshape" => (|| {
                let x = shape_of(0)?;
                let target = const_of(1)?;
                let total: i64 = x.iter().product();
                let mut y: Vec<i64> = target
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| {
                        if d == 0 {
                            x.get(i).copied().unwrap_or(0)
                        } else {
                            d
                        }
                    })
                    .collect();
                if let Some(pos) = y.iter().position(|&d| d == -1) {
                    let known: i64 = y.iter().filter(|&&d| d != -1).product();
                    y[pos] = if known > 0 { total / known } else { 0 };
                }
                Some(y)
            })(),
            "Squeeze" => (|| {
                let x = shape_of(0)?;
                let axes = attr_ints(n, "axes").or_else(|| const_of(1));
                let y: Vec<i64> = match axes {
                    Some(a) => {
                        let a: Vec<usize> = a
                            .iter()
                            .map(|&a| norm_axis(a, x.len()))
                            .collect::<Option<_>>()?;
                        x.iter()
                            .enumerate()
                            .filter(|(i, _)| !a.contains(i))
                            .map(|(_, &d)| d)
                            .collect()
                    }
                    None => x.iter().copied().filter(|&d| d != 1).collect(),
                };
                Some(y)
            })(),
            "Unsqueeze" => (|| {
                let x = shape_of(0)?;
                let axes = attr_ints(n, "axes").or_else(|| const_of(1))?;
                let r = x.len() + axes.len();
                let mut axes: Vec<usize> = axes
                    .iter()
                    .map(|&a| norm_axis(a, r))
                    .collect::<Option<_>>()?;
                axes.sort_unstable();
                let mut y = Vec::with_capacity(r);
                let mut it = x.iter();
                for i in 0..r {
                    if axes.contains(&i) {
                        y.push(1);
                    } else {
                        y.push(*it.next()?);
                    }
                }
                if let Some(v) = const_of(0) {
                    out_consts = Some(v);
                }
                Some(y)
            })(),
            "Shape" => shape_of(0).map(|x| {
                out_consts = Some(x.clone());
                vec![x.len() as i64]
            }),
            "Gather" => (|| {
                let data = const_of(0)?;
                let idx = const_of(1)?;
                let v: Vec<i64> = idx
                    .iter()
                    .map(|&i| {
                        let i = if i < 0 { i + data.len() as i64 } else { i };
                        data.get(i as usize).copied()
                    })
                    .collect::<Option<_>>()?;
                let idx_shape = shape_of(1).unwrap_or_default();
                out_consts = Some(v);
                Some(idx_shape)
            })(),
            "Concat" => (|| {
                let parts: Vec<Vec<i64>> =
                    (0..n.input.len()).map(shape_of).collect::<Option<_>>()?;
                let axis = norm_axis(attr_i(n, "axis", 0), parts.first()?.len())?;
                let mut y = parts[0].clone();
                y[axis] = parts.iter().map(|p| p[axis]).sum();
                if let Some(all) = (0..n.input.len()).map(const_of).collect::<Option<Vec<_>>>() {
                    out_consts = Some(all.concat());
                }
                Some(y)
            })(),
            "Constant" => (|| {
                let t = attr(n, "value")?.t.as_ref()?;
                out_consts = ints_of(t);
                Some(t.dims.clone())
            })(),
            _ => None,
        };
        match out {
            Some(y) => {
                if heavy {
                    result.counted += 1;
                }
                if let Some(name) = n.output.first() {
                    shapes.insert(name.clone(), y);
                    if let Some(c) = out_consts {
                        consts.insert(name.clone(), c);
                    }
                }
            }
            None if heavy => result.uncounted.push(if n.name.is_empty() {
                n.op_type.clone()
            } else {
                n.name.clone()
            }),
            None => {
                let known_op_missing_input = matches!(
                    n.op_type.as_str(),
                    "Relu" | "Add" | "Transpose" | "Reshape" | "Pad" | "Squeeze" | "Unsqueeze"
                );
                if !known_op_missing_input && !result.unknown_ops.contains(&n.op_type) {
                    result.unknown_ops.push(n.op_type.clone());
                }
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vi(name: &str, dims: &[i64]) -> ValueInfoProto {
        ValueInfoProto {
            name: name.into(),
            r#type: Some(TypeProto {
                tensor_type: Some(TensorTypeProto {
                    elem_type: 1,
                    shape: Some(TensorShapeProto {
                        dim: dims
                            .iter()
                            .map(|&d| DimensionProto {
                                dim_value: (d >= 0).then_some(d),
                                dim_param: (d < 0).then(|| "N".to_string()),
                            })
                            .collect(),
                    }),
                }),
            }),
        }
    }

    fn weight(name: &str, dims: &[i64]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: 1,
            ..Default::default()
        }
    }

    fn node(op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute: attrs,
            ..Default::default()
        }
    }

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            ints: v.to_vec(),
            r#type: 7,
            ..Default::default()
        }
    }

    fn int(name: &str, v: i64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            i: v,
            r#type: 2,
            ..Default::default()
        }
    }

    /// A 3×3/2 conv 3→32 on 224², a depthwise 3×3 on 112², GAP, flatten and a 32→10 Gemm.
    fn tiny() -> ModelProto {
        ModelProto {
            ir_version: 8,
            graph: Some(GraphProto {
                input: vec![vi("x", &[-1, 3, 224, 224])],
                output: vec![vi("y", &[-1, 10])],
                initializer: vec![
                    weight("w1", &[32, 3, 3, 3]),
                    weight("b1", &[32]),
                    weight("w2", &[32, 1, 3, 3]),
                    weight("fc", &[10, 32]),
                    weight("fcb", &[10]),
                    weight("six", &[]),
                    TensorProto {
                        name: "shape".into(),
                        dims: vec![2],
                        data_type: 7,
                        int64_data: vec![0, -1],
                        ..Default::default()
                    },
                ],
                node: vec![
                    node(
                        "Conv",
                        &["x", "w1", "b1"],
                        "c1",
                        vec![ints("strides", &[2, 2]), ints("pads", &[1, 1, 1, 1])],
                    ),
                    node("Clip", &["c1"], "r1", vec![]),
                    node(
                        "Conv",
                        &["r1", "w2"],
                        "c2",
                        vec![int("group", 32), ints("pads", &[1, 1, 1, 1])],
                    ),
                    node("GlobalAveragePool", &["c2"], "p", vec![]),
                    node("Reshape", &["p", "shape"], "f", vec![]),
                    node("Gemm", &["f", "fc", "fcb"], "y", vec![int("transB", 1)]),
                ],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn parameters_are_float_initializers() {
        assert_eq!(parameter_count(&tiny()), 864 + 32 + 288 + 320 + 10);
    }

    #[test]
    fn macs_follow_shapes_through_the_graph() {
        let c = count_macs(&tiny());
        let conv1 = 112 * 112 * 32 * 27;
        let dw = 112 * 112 * 32 * 9;
        let fc = 32 * 10;
        assert_eq!(c.macs, conv1 + dw + fc, "{c:?}");
        assert_eq!(c.counted, 3);
        assert!(c.uncounted.is_empty() && c.unknown_ops.is_empty(), "{c:?}");
    }

    #[test]
    fn ports_skip_initializers() {
        let mut m = tiny();
        m.graph
            .as_mut()
            .unwrap()
            .input
            .push(vi("w1", &[32, 3, 3, 3]));
        let (i, o) = ports(&m);
        assert_eq!(i.len(), 1);
        assert_eq!(i[0].shape.as_ref().unwrap()[0], Dim::Symbol("N".into()));
        assert_eq!(o[0].name, "y");
    }

    #[test]
    fn round_trips_through_protobuf() {
        use prost::Message;
        let bytes = tiny().encode_to_vec();
        let back = ModelProto::decode(Bytes::from(bytes)).unwrap();
        assert_eq!(back, tiny());
    }

    #[test]
    fn window_sizes() {
        assert_eq!(window_out(224, 3, 2, 1, (1, 1), "", false), 112);
        assert_eq!(window_out(224, 3, 2, 1, (0, 0), "SAME_UPPER", false), 112);
        assert_eq!(window_out(8, 3, 2, 1, (0, 0), "", true), 4);
        assert_eq!(window_out(8, 3, 2, 1, (0, 0), "", false), 3);
        assert_eq!(
            broadcast(&[1, 32, 1, 1], &[32, 1, 1]),
            Some(vec![1, 32, 1, 1])
        );
        assert_eq!(broadcast(&[2, 3], &[4, 3]), None);
    }
}
