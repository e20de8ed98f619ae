"""The reference side of the parity tests: ONNX Runtime's Python API on raw frames, and
model variants (NCHW input, logits output) made from an exported model by graph
surgery, so both layouts and both output kinds can be checked against the daemon."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np

from .evaluate import OnnxClassifier


def load_manifest(model: Path) -> dict:
    return tomllib.loads((model.parent / "model.toml").read_text())


def reference(model: Path, frames_file: Path, out: Path, history: bool = True) -> dict:
    """Probabilities (softmax applied to logits, as the daemon does) of every frame in
    `frames_file` (H×W×3 uint8 frames back to back, the model's size); for a stateful
    model with the state carried from frame to frame, for a clip model one output per
    frame from the T-th on (the last T frames). `history=False` drops the past
    (zero state on every call, or the newest frame T times)."""
    from .temporal_export import classifier

    man = load_manifest(model)
    h, w = man["input"]["height"], man["input"]["width"]
    raw = np.fromfile(frames_file, np.uint8)
    if raw.size % (h * w * 3):
        raise SystemExit(f"{frames_file}: {raw.size} bytes is not a whole number of {w}x{h} RGB frames")
    frames = raw.reshape(-1, h, w, 3)
    clf = classifier(model, man, threads=1, history=history)
    if type(clf) is OnnxClassifier:
        # One frame per run, as the daemon's single stream sends them.
        probs = np.concatenate([clf.probabilities(frames[i:i + 1]) for i in range(len(frames))])
    else:
        probs = clf.probabilities(frames)
    res = {"labels": man["labels"], "kind": man["output"]["kind"], "layout": man["input"]["layout"],
           "frames": int(man["input"].get("frames", 1)), "states": len(man.get("state", [])),
           "probabilities": probs.astype(float).tolist()}
    out.write_text(json.dumps(res))
    return res


def variant(model: Path, layout: str, kind: str, out_dir: Path) -> Path:
    """Writes `out_dir/model.onnx` + `model.toml`: `model` (NHWC, probabilities) with an
    NCHW input (a Transpose in front) and/or logits output (its final Softmax removed)."""
    import onnx
    from onnx import helper

    man = load_manifest(model)
    m = onnx.load(str(model))
    g = m.graph
    in_name, out_name = man["input"]["name"], man["output"]["name"]
    if man["input"]["layout"] != "NHWC" or man["output"]["kind"] != "probabilities":
        raise SystemExit("variant expects an NHWC model with probabilities output")
    if layout == "NCHW":
        old = next(i for i in g.input if i.name == in_name)
        dims = [d.dim_param or d.dim_value for d in old.type.tensor_type.shape.dim]
        for node in g.node:
            node.input[:] = ["input_nhwc" if n == in_name else n for n in node.input]
        new = helper.make_tensor_value_info(in_name, onnx.TensorProto.FLOAT, [dims[0], dims[3], dims[1], dims[2]])
        g.input.remove(old)
        g.input.insert(0, new)
        g.node.insert(0, helper.make_node("Transpose", [in_name], ["input_nhwc"], name="nchw_to_nhwc",
                                          perm=[0, 2, 3, 1]))
    new_out = out_name
    if kind == "logits":
        last = next(n for n in g.node if out_name in n.output)
        if last.op_type != "Softmax":
            raise SystemExit(f"the output comes from {last.op_type}, not Softmax")
        logits_tensor = last.input[0]
        g.node.remove(last)
        new_out = "logits"
        for node in g.node:
            node.output[:] = [new_out if n == logits_tensor else n for n in node.output]
            node.input[:] = [new_out if n == logits_tensor else n for n in node.input]
        g.output[0].name = new_out
    text = (model.parent / "model.toml").read_text()
    text = text.replace('layout = "NHWC"', f'layout = "{layout}"')
    text = text.replace(f'name = "{out_name}"\nkind = "probabilities"', f'name = "{new_out}"\nkind = "{kind}"')
    for p in m.metadata_props:
        if p.key == "actiond.manifest":
            p.value = text
    onnx.checker.check_model(m, full_check=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(out_dir / "model.onnx"))
    (out_dir / "model.toml").write_text(text)
    return out_dir / "model.onnx"
