//! Static shape inference through an ONNX graph (batch 1) and the
//! multiply-accumulates of its compute-heavy operators. Each operator has a
//! small rule ([`rule`]) from what is known of its inputs to its first
//! output's shape, its integer value when constant (shapes computed in the
//! graph), and its multiply-accumulates.

use std::collections::HashMap;

use super::{attr, ints_of, numel, ports, Dim, ModelProto, NodeProto};

/// Multiply-accumulate count of one inference (batch 1) and how complete it is.
#[derive(Debug, Clone, PartialEq, Default)]
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

/// Shape inference with batch 1 (symbolic dimensions of graph inputs become 1)
/// and the multiply-accumulates of the compute-heavy operators.
pub fn count_macs(model: &ModelProto) -> MacCount {
    let mut result = MacCount::default();
    let Some(g) = &model.graph else {
        return result;
    };
    let mut known = Known::of_inputs(model);
    for proto in &g.node {
        let node = Node {
            proto,
            known: &known,
        };
        let inferred = rule(&proto.op_type).and_then(|r| r(&node));
        result.note(proto, inferred.as_ref());
        if let (Some(y), Some(name)) = (inferred, proto.output.first()) {
            known.insert(name, y);
        }
    }
    result
}

impl MacCount {
    /// Counts a node's result: its MACs if heavy, or its operator as unknown.
    fn note(&mut self, n: &NodeProto, inferred: Option<&Inferred>) {
        let heavy = matches!(
            n.op_type.as_str(),
            "Conv" | "ConvTranspose" | "Gemm" | "MatMul"
        );
        match inferred {
            Some(y) => {
                self.macs += y.macs;
                if heavy {
                    self.counted += 1;
                }
            }
            None if heavy => self.uncounted.push(if n.name.is_empty() {
                n.op_type.clone()
            } else {
                n.name.clone()
            }),
            None => {
                // Known operators that only lacked an input's shape.
                let known_op_missing_input = matches!(
                    n.op_type.as_str(),
                    "Relu" | "Add" | "Transpose" | "Reshape" | "Pad" | "Squeeze" | "Unsqueeze"
                );
                if !known_op_missing_input && !self.unknown_ops.contains(&n.op_type) {
                    self.unknown_ops.push(n.op_type.clone());
                }
            }
        }
    }
}

/// What shape inference knows so far: shapes of values, and the integer
/// contents of constant ones.
struct Known {
    shapes: HashMap<String, Vec<i64>>,
    consts: HashMap<String, Vec<i64>>,
}

impl Known {
    /// The initializers and the graph inputs (symbolic dimensions as 1).
    fn of_inputs(model: &ModelProto) -> Self {
        let mut known = Known {
            shapes: HashMap::new(),
            consts: HashMap::new(),
        };
        for t in model.graph.iter().flat_map(|g| &g.initializer) {
            known.shapes.insert(t.name.clone(), t.dims.clone());
            if let Some(v) = ints_of(t) {
                known.consts.insert(t.name.clone(), v);
            }
        }
        for p in ports(model).0 {
            if let Some(s) = p.shape {
                let dims = s
                    .iter()
                    .map(|d| match d {
                        Dim::Fixed(n) => *n,
                        _ => 1,
                    })
                    .collect();
                known.shapes.insert(p.name, dims);
            }
        }
        known
    }

    fn insert(&mut self, name: &str, y: Inferred) {
        self.shapes.insert(name.to_string(), y.shape);
        if let Some(c) = y.consts {
            self.consts.insert(name.to_string(), c);
        }
    }
}

/// A node with what is known of its inputs.
struct Node<'a> {
    proto: &'a NodeProto,
    known: &'a Known,
}

impl Node<'_> {
    fn op(&self) -> &str {
        &self.proto.op_type
    }

    fn inputs(&self) -> usize {
        self.proto.input.len()
    }

    /// Shape of input `i`, when known.
    fn shape(&self, i: usize) -> Option<Vec<i64>> {
        self.known.shapes.get(self.proto.input.get(i)?).cloned()
    }

    /// Integer contents of input `i`, when constant.
    fn consts(&self, i: usize) -> Option<Vec<i64>> {
        self.known.consts.get(self.proto.input.get(i)?).cloned()
    }

    fn int(&self, name: &str, default: i64) -> i64 {
        attr(self.proto, name).map(|a| a.i).unwrap_or(default)
    }

    fn ints(&self, name: &str) -> Option<Vec<i64>> {
        attr(self.proto, name).map(|a| a.ints.clone())
    }

    fn text(&self, name: &str) -> String {
        attr(self.proto, name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
            .unwrap_or_default()
    }

    /// `axes` from the attribute (older opsets) or input `input` (newer ones).
    fn axes(&self, input: usize) -> Option<Vec<i64>> {
        self.ints("axes").or_else(|| self.consts(input))
    }
}

/// What a rule derived for a node's first output.
struct Inferred {
    shape: Vec<i64>,
    /// Its integer contents, when constant.
    consts: Option<Vec<i64>>,
    /// Multiply-accumulates of the node.
    macs: u64,
}

impl Inferred {
    fn shape(shape: Vec<i64>) -> Option<Self> {
        Self::with_consts(shape, None)
    }

    fn with_consts(shape: Vec<i64>, consts: Option<Vec<i64>>) -> Option<Self> {
        Some(Inferred {
            shape,
            consts,
            macs: 0,
        })
    }
}

/// A shape-inference rule of one operator; None when an input's shape is unknown.
type Rule = fn(&Node) -> Option<Inferred>;

/// The rule of operator `op`, if shape inference knows it.
fn rule(op: &str) -> Option<Rule> {
    Some(match op {
        "Conv" | "ConvTranspose" => conv,
        "Gemm" => gemm,
        "MatMul" => matmul,
        "Identity" | "Cast" => pass_through,
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
        | "Dropout"
        | "BatchNormalization"
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
        | "DequantizeLinear" => same_shape,
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Sum" | "Mean" | "Equal"
        | "Less" | "Greater" | "Where" | "PRelu" => broadcast_inputs,
        "Transpose" => transpose,
        "GlobalAveragePool" | "GlobalMaxPool" => global_pool,
        "MaxPool" | "AveragePool" => pool,
        "Pad" => pad,
        "ReduceMean" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceL2" => reduce,
        "Flatten" => flatten,
        "Reshape" => reshape,
        "Squeeze" => squeeze,
        "Unsqueeze" => unsqueeze,
        "Shape" => shape,
        "Gather" => gather,
        "Concat" => concat,
        "Constant" => constant,
        _ => return None,
    })
}

/// Strides, dilations, pads and auto_pad of a sliding-window operator.
struct Window {
    spatial: usize,
    strides: Vec<i64>,
    dilations: Vec<i64>,
    pads: Vec<i64>,
    auto_pad: String,
}

impl Window {
    fn of(n: &Node, spatial: usize) -> Self {
        Window {
            spatial,
            strides: n.ints("strides").unwrap_or_else(|| vec![1; spatial]),
            dilations: n.ints("dilations").unwrap_or_else(|| vec![1; spatial]),
            pads: n.ints("pads").unwrap_or_else(|| vec![0; 2 * spatial]),
            auto_pad: n.text("auto_pad"),
        }
    }

    /// Output size along spatial axis `i`.
    fn out(&self, i: usize, size: i64, kernel: i64, ceil: bool) -> i64 {
        let pads = (self.pads[i], self.pads[i + self.spatial]);
        let (stride, dilation) = (self.strides[i], self.dilations[i]);
        window_out(size, kernel, stride, dilation, pads, &self.auto_pad, ceil)
    }

    /// Output size along spatial axis `i` of a transposed convolution.
    fn transposed(&self, i: usize, size: i64, kernel: i64, output_padding: i64) -> i64 {
        self.strides[i] * (size - 1) + output_padding + ((kernel - 1) * self.dilations[i] + 1)
            - self.pads[i]
            - self.pads[i + self.spatial]
    }
}

fn conv(n: &Node) -> Option<Inferred> {
    let x = n.shape(0)?;
    let w = n.shape(1)?;
    if x.len() < 3 || w.len() != x.len() {
        return None;
    }
    let spatial = x.len() - 2;
    let group = n.int("group", 1).max(1);
    let kernel = n.ints("kernel_shape").unwrap_or_else(|| w[2..].to_vec());
    let window = Window::of(n, spatial);
    let transpose = n.op() == "ConvTranspose";
    let out_ch = if transpose { w[1] * group } else { w[0] };
    let mut y = vec![x[0], out_ch];
    for i in 0..spatial {
        y.push(if transpose {
            let op = n.ints("output_padding").map(|v| v[i]).unwrap_or(0);
            window.transposed(i, x[2 + i], kernel[i], op)
        } else {
            window.out(i, x[2 + i], kernel[i], false)
        });
    }
    // Each output (transpose: input) element takes (C_in/group)·k… multiply-adds.
    let macs = if transpose {
        numel(&x) * (w[1] as u64) * numel(&w[2..])
    } else {
        numel(&y) * numel(&w[1..])
    };
    Some(Inferred {
        shape: y,
        consts: None,
        macs,
    })
}

fn gemm(n: &Node) -> Option<Inferred> {
    let a = n.shape(0)?;
    let b = n.shape(1)?;
    if a.len() != 2 || b.len() != 2 {
        return None;
    }
    let (m, k) = if n.int("transA", 0) != 0 {
        (a[1], a[0])
    } else {
        (a[0], a[1])
    };
    let nn = if n.int("transB", 0) != 0 { b[0] } else { b[1] };
    Some(Inferred {
        shape: vec![m, nn],
        consts: None,
        macs: (m * k * nn).max(0) as u64,
    })
}

fn matmul(n: &Node) -> Option<Inferred> {
    let a = n.shape(0)?;
    let b = n.shape(1)?;
    // Vectors are promoted to matrices, and the added axis dropped from the result.
    let a2 = if a.len() == 1 {
        vec![1, a[0]]
    } else {
        a.clone()
    };
    let b2 = if b.len() == 1 {
        vec![b[0], 1]
    } else {
        b.clone()
    };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let nn = b2[b2.len() - 1];
    let batch = broadcast(&a2[..a2.len() - 2], &b2[..b2.len() - 2])?;
    let macs = numel(&batch) * (m * k * nn).max(0) as u64;
    let mut y = batch;
    if a.len() > 1 {
        y.push(m);
    }
    if b.len() > 1 {
        y.push(nn);
    }
    Some(Inferred {
        shape: y,
        consts: None,
        macs,
    })
}

fn same_shape(n: &Node) -> Option<Inferred> {
    Inferred::shape(n.shape(0)?)
}

/// Identity and Cast: the shape, and the contents when constant.
fn pass_through(n: &Node) -> Option<Inferred> {
    Inferred::with_consts(n.shape(0)?, n.consts(0))
}

fn broadcast_inputs(n: &Node) -> Option<Inferred> {
    let mut s = n.shape(0);
    for i in 1..n.inputs() {
        s = s.and_then(|a| broadcast(&a, &n.shape(i)?));
    }
    Inferred::shape(s?)
}

fn transpose(n: &Node) -> Option<Inferred> {
    let x = n.shape(0)?;
    let perm = n
        .ints("perm")
        .unwrap_or_else(|| (0..x.len() as i64).rev().collect());
    Inferred::shape(perm.iter().map(|&p| x[p as usize]).collect())
}

fn global_pool(n: &Node) -> Option<Inferred> {
    let mut x = n.shape(0)?;
    for d in x.iter_mut().skip(2) {
        *d = 1;
    }
    Inferred::shape(x)
}

fn pool(n: &Node) -> Option<Inferred> {
    let x = n.shape(0)?;
    let spatial = x.len().checked_sub(2)?;
    let kernel = n.ints("kernel_shape")?;
    let window = Window::of(n, spatial);
    let ceil = n.int("ceil_mode", 0) != 0;
    let mut y = x[..2].to_vec();
    for i in 0..spatial {
        y.push(window.out(i, x[2 + i], kernel[i], ceil));
    }
    Inferred::shape(y)
}

fn pad(n: &Node) -> Option<Inferred> {
    let mut y = n.shape(0)?;
    let pads = n.ints("pads").or_else(|| n.consts(1))?;
    let r = y.len();
    match n.consts(3) {
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
    Inferred::shape(y)
}

fn reduce(n: &Node) -> Option<Inferred> {
    let x = n.shape(0)?;
    let keep = n.int("keepdims", 1) != 0;
    let axes = match n.axes(1) {
        Some(a) if !a.is_empty() => norm_axes(&a, x.len())?,
        _ => (0..x.len()).collect(),
    };
    let y = x
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keep) {
            (true, true) => Some(1),
            (true, false) => None,
            _ => Some(d),
        });
    Inferred::shape(y.collect())
}

fn flatten(n: &Node) -> Option<Inferred> {
    let x = n.shape(0)?;
    let axis = norm_axis(n.int("axis", 1), x.len() + 1)?;
    Inferred::shape(vec![x[..axis].iter().product(), x[axis..].iter().product()])
}

fn reshape(n: &Node) -> Option<Inferred> {
    let x = n.shape(0)?;
    let target = n.consts(1)?;
    let total: i64 = x.iter().product();
    // 0 copies the input's dimension; one -1 takes what is left.
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
    Inferred::shape(y)
}

fn squeeze(n: &Node) -> Option<Inferred> {
    let x = n.shape(0)?;
    let y = match n.axes(1) {
        Some(a) => {
            let a = norm_axes(&a, x.len())?;
            let kept = x.iter().enumerate().filter(|(i, _)| !a.contains(i));
            kept.map(|(_, &d)| d).collect()
        }
        None => x.iter().copied().filter(|&d| d != 1).collect(),
    };
    Inferred::shape(y)
}

fn unsqueeze(n: &Node) -> Option<Inferred> {
    let x = n.shape(0)?;
    let axes = n.axes(1)?;
    let r = x.len() + axes.len();
    let mut axes = norm_axes(&axes, r)?;
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
    Inferred::with_consts(y, n.consts(0))
}

fn shape(n: &Node) -> Option<Inferred> {
    let x = n.shape(0)?;
    Inferred::with_consts(vec![x.len() as i64], Some(x))
}

/// Gather on constant data (a shape being taken apart): the indexed values.
fn gather(n: &Node) -> Option<Inferred> {
    let data = n.consts(0)?;
    let idx = n.consts(1)?;
    let v: Vec<i64> = idx
        .iter()
        .map(|&i| {
            let i = if i < 0 { i + data.len() as i64 } else { i };
            data.get(i as usize).copied()
        })
        .collect::<Option<_>>()?;
    Inferred::with_consts(n.shape(1).unwrap_or_default(), Some(v))
}

fn concat(n: &Node) -> Option<Inferred> {
    let parts: Vec<Vec<i64>> = (0..n.inputs()).map(|i| n.shape(i)).collect::<Option<_>>()?;
    let axis = norm_axis(n.int("axis", 0), parts.first()?.len())?;
    let mut y = parts[0].clone();
    y[axis] = parts.iter().map(|p| p[axis]).sum();
    let all = (0..n.inputs()).map(|i| n.consts(i));
    let consts = all.collect::<Option<Vec<_>>>().map(|c| c.concat());
    Inferred::with_consts(y, consts)
}

fn constant(n: &Node) -> Option<Inferred> {
    let t = attr(n.proto, "value")?.t.as_ref()?;
    Inferred::with_consts(t.dims.clone(), ints_of(t))
}

fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    (0..rank as i64).contains(&a).then_some(a as usize)
}

/// Every axis normalised, or None if any is out of range.
fn norm_axes(axes: &[i64], rank: usize) -> Option<Vec<usize>> {
    axes.iter().map(|&a| norm_axis(a, rank)).collect()
}

/// Numpy-style broadcast of two shapes.
pub(super) fn broadcast(a: &[i64], b: &[i64]) -> Option<Vec<i64>> {
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

/// Output size of a sliding window along one axis.
pub(super) fn window_out(
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
