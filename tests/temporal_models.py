"""Tiny ONNX models with known outputs for tests/e2e_temporal.rs.

usage: temporal_models.py KIND OUT.onnx W H [T] [--metadata MANIFEST.toml]
  clip-NTCHW | clip-NCTHW | clip-NTCHW_STACKED: scores = A * mean(frames) + B per channel,
      the mean over the T frames and all pixels of each channel (input `frames`).
  stateful: scores = h + K * mean(frame) per channel; h_out = scores (input `frame`, state `h`).
  --batch1: a fixed batch axis of 1 instead of a dynamic one.
  --unused-initializer: adds an initializer no node uses (ONNX Runtime warns about it).
  bad-state: like stateful but h_out has 4 values per item, not 3.
"""
import sys

import onnx
from onnx import TensorProto, helper

# Outputs stay within [0, 1] (a message's score is a probability) for inputs in [0, 1].
A = [1.0, 0.5, 0.25]
B = [0.0, 0.25, 0.5]
K = 1.0 / 64.0


def clip(layout, w, h, t):
    shape = {
        "NTCHW": ["N", t, 3, h, w],
        "NCTHW": ["N", 3, t, h, w],
        "NTCHW_STACKED": ["N", 3 * t, h, w],
    }[layout]
    nodes, src = [], "frames"
    if layout == "NTCHW_STACKED":
        nodes.append(helper.make_node("Reshape", ["frames", "shape5"], ["f5"]))
        src = "f5"
    axes = [2, 3, 4] if layout == "NCTHW" else [1, 3, 4]
    nodes += [
        helper.make_node("ReduceMean", [src, "axes"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "a"], ["am"]),
        helper.make_node("Add", ["am", "b"], ["scores"]),
    ]
    inits = [
        helper.make_tensor("axes", TensorProto.INT64, [3], axes),
        helper.make_tensor("a", TensorProto.FLOAT, [3], A),
        helper.make_tensor("b", TensorProto.FLOAT, [3], B),
    ]
    if layout == "NTCHW_STACKED":
        inits.append(helper.make_tensor("shape5", TensorProto.INT64, [5], [-1, t, 3, h, w]))
    ins = [helper.make_tensor_value_info("frames", TensorProto.FLOAT, shape)]
    outs = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 3])]
    return nodes, inits, ins, outs


def stateful(w, h, bad):
    nodes = [
        helper.make_node("ReduceMean", ["frame", "axes"], ["m0"], keepdims=0),
        helper.make_node("Mul", ["m0", "k"], ["m"]),
        helper.make_node("Add", ["h", "m"], ["scores"]),
    ]
    if bad:
        nodes += [
            helper.make_node("ReduceMean", ["m", "axes1"], ["m1"], keepdims=1),
            helper.make_node("Concat", ["scores", "m1"], ["h_out"], axis=1),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["scores"], ["h_out"]))
    inits = [
        helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3]),
        helper.make_tensor("k", TensorProto.FLOAT, [], [K]),
    ]
    if bad:
        inits.append(helper.make_tensor("axes1", TensorProto.INT64, [1], [1]))
    ins = [
        helper.make_tensor_value_info("frame", TensorProto.FLOAT, ["N", 3, h, w]),
        helper.make_tensor_value_info("h", TensorProto.FLOAT, ["N", 3]),
    ]
    outs = [
        helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 3]),
        helper.make_tensor_value_info("h_out", TensorProto.FLOAT, ["N", 4 if bad else 3]),
    ]
    return nodes, inits, ins, outs


def main(argv):
    meta = None
    if "--metadata" in argv:
        i = argv.index("--metadata")
        meta = open(argv[i + 1]).read()
        argv = argv[:i] + argv[i + 2:]
    batch1 = "--batch1" in argv
    unused = "--unused-initializer" in argv
    argv = [a for a in argv if a not in ("--batch1", "--unused-initializer")]
    kind, out, w, h = argv[0], argv[1], int(argv[2]), int(argv[3])
    if kind.startswith("clip-"):
        parts = clip(kind[5:], w, h, int(argv[4]))
    else:
        parts = stateful(w, h, kind == "bad-state")
    nodes, inits, ins, outs = parts
    if unused:
        inits.append(helper.make_tensor("unused_weight", TensorProto.FLOAT, [1], [0.0]))
    if batch1:
        for v in ins + outs:
            v.type.tensor_type.shape.dim[0].dim_value = 1
    graph = helper.make_graph(nodes, kind, ins, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    if meta is not None:
        helper.set_model_props(model, {"actiond.manifest": meta})
    onnx.checker.check_model(model)
    onnx.save(model, out)


if __name__ == "__main__":
    main(sys.argv[1:])
