//! Reading an ONNX model file without ONNX Runtime: a subset of `onnx.proto`
//! (the fields `inspect-model` needs; everything else is skipped by the
//! decoder), parameter counting, and static shape inference through the graph
//! to count multiply-accumulates (`macs`).
//!
//! Field numbers follow `onnx/onnx.proto` (IR version 10); the messages are
//! declared with `prost`'s derive, so no code generation step is needed.

mod macs;

use std::path::Path;

use bytes::Bytes;

pub use macs::{count_macs, MacCount};

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

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::macs::{broadcast, window_out};
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

    /// Figures of the shipped models as counted before `count_macs` became a table
    /// of per-operator rules (MobileNetV2 at 96² and 224²).
    #[test]
    fn shipped_models_keep_their_counts() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        for (model, macs, params) in [
            ("default", 55_338_368, 2_543_430),
            ("provisional", 299_823_232, 2_542_912),
        ] {
            let m = load(&root.join(model).join("model.onnx")).unwrap();
            let want = MacCount {
                macs,
                counted: 54,
                uncounted: Vec::new(),
                unknown_ops: Vec::new(),
            };
            assert_eq!(count_macs(&m), want, "{model}");
            assert_eq!(parameter_count(&m), params, "{model}");
        }
    }
}
