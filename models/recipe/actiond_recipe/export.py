"""ONNX export with the manifest actiond reads, plus metadata (training config, data
fingerprint, metrics), and a check against Keras through ONNX Runtime."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np

# Keras' tf2onnx patch for numpy 2 probes np.object, which warns.
warnings.filterwarnings("ignore", category=FutureWarning, module="keras.src.export.tf2onnx_lib")

INPUT_NAME = "input"
# Opset 13 (ONNX Runtime >= 1.8): older vendor builds on edge devices load it too.
OPSET = 13
METADATA_MANIFEST = "actiond.manifest"


def manifest_toml(name: str, labels: list[str], layout: str, size: int, resize: str, channel_order: str,
                  norm: dict, output_name: str, kind: str, comment: str = "",
                  sample_fps: float | None = None) -> str:
    """The manifest's TOML; `sample_fps` (the training frames' rate, if sampled) tells the
    daemon at which rate streams should feed the model."""
    def floats(v):
        return "[" + ", ".join(repr(float(x)) for x in v) + "]"

    labels_s = ", ".join(json.dumps(x) for x in labels)
    head = "".join(f"# {line}\n" for line in comment.splitlines()) if comment else ""
    return (f"{head}name = {json.dumps(name)}\nlabels = [{labels_s}]\n\n[input]\nname = \"{INPUT_NAME}\"\n"
            f"layout = \"{layout}\"\nwidth = {size}\nheight = {size}\nchannel_order = \"{channel_order}\"\n"
            + (f"# trained on frames sampled at this rate: streams should sample at it too\n"
               f"sample_fps = {float(sample_fps)!r}\n" if sample_fps else "")
            + f"resize = \"{resize}\"\n# x = (pixel / scale - mean) / std per channel\nscale = {float(norm['scale'])!r}\n"
            f"mean = {floats(norm['mean'])}\nstd = {floats(norm['std'])}\n\n[output]\nname = \"{output_name}\"\n"
            f"kind = \"{kind}\"\n")


def inference_model(model, size: int, layout: str, kind: str):
    """The trained logits model with the exported input layout and output kind."""
    import keras

    if layout == "NHWC":
        inp = keras.Input((size, size, 3), name=INPUT_NAME)
        x = inp
    elif layout == "NCHW":
        inp = keras.Input((3, size, size), name=INPUT_NAME)
        x = keras.layers.Permute((2, 3, 1), name="nchw_to_nhwc")(inp)
    else:
        raise ValueError(f"layout must be NHWC or NCHW, not {layout}")
    y = model(x)
    if kind == "probabilities":
        y = keras.layers.Softmax(name="probabilities")(y)
    elif kind != "logits":
        raise ValueError(f"output kind must be logits or probabilities, not {kind}")
    return keras.Model(inp, y, name=f"{model.name}_{layout.lower()}_{kind}")


def _rename_value(graph, old, new):
    if old == new:
        return
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.name == old:
            value.name = new


def _canonical_names(graph, keep):
    """Positional names for nodes, initializers and tensors: tf2onnx numbers its names
    differently from run to run; this makes the same model the same bytes."""
    initializers = {i.name for i in graph.initializer}
    names, counts = {}, {"w": 0, "t": 0}

    def rename(name):
        if name in ("",) or name in keep:
            return name
        if name not in names:
            kind = "w" if name in initializers else "t"
            names[name] = f"{kind}{counts[kind]}"
            counts[kind] += 1
        return names[name]

    for index, node in enumerate(graph.node):
        if any(a.g.node or a.graphs for a in node.attribute):
            sys.exit(f"unexpected subgraph in {node.op_type} node {node.name}")
        node.input[:] = [rename(n) for n in node.input]
        node.output[:] = [rename(n) for n in node.output]
        node.name = f"{node.op_type}_{index}"
    for init in graph.initializer:
        init.name = rename(init.name)
    for value in graph.value_info:
        value.name = names.get(value.name, value.name)
    ordered = sorted(graph.initializer, key=lambda i: int(i.name[1:]) if i.name[1:].isdigit() else -1)
    del graph.initializer[:]
    graph.initializer.extend(ordered)


def export_onnx(model, path: Path, size: int, layout: str, kind: str, name: str, metadata: dict[str, str]) -> None:
    """Exports with Keras' own exporter (tf2onnx underneath), batch dimension dynamic,
    input named "input", output named after `kind`, metadata props set."""
    import tempfile

    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx

    exp = inference_model(model, size, layout, kind)
    shape = (size, size, 3) if layout == "NHWC" else (3, size, size)
    exp(np.zeros((1,) + shape, np.float32))  # Keras exports a model only after a call
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / "model.onnx"
        exp.export(str(tmp_path), format="onnx",
                   input_signature=[tf.TensorSpec((None,) + shape, tf.float32, name=INPUT_NAME)],
                   opset_version=OPSET, verbose=False)
        m = onnx.load(str(tmp_path))
    g = m.graph
    inits = {i.name for i in g.initializer}
    inputs = [i for i in g.input if i.name not in inits]
    if len(inputs) != 1 or len(g.output) != 1:
        raise RuntimeError(f"expected one input and one output, got {[i.name for i in inputs]}, "
                           f"{[o.name for o in g.output]}")
    _rename_value(g, inputs[0].name, INPUT_NAME)
    _rename_value(g, g.output[0].name, kind)
    finish(m, (g.input[0], g.output[0]), {INPUT_NAME, kind}, name, metadata, path)
    return exp


def finish(m, io_values, keep: set, name: str, metadata: dict[str, str], path: Path) -> None:
    """Dynamic batch axis on `io_values`, canonical names (but `keep`), producer,
    metadata; checks and saves the exported model `m` to `path`."""
    import keras
    import onnx
    import tf2onnx

    g = m.graph
    for value in io_values:
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "batch"
    _canonical_names(g, keep)
    g.name = name
    m.producer_name = "actiond models/recipe"
    m.producer_version = f"keras {keras.__version__}, tf2onnx {tf2onnx.__version__}"
    m.ir_version = onnx.helper.find_min_ir_version_for(list(m.opset_import))
    del m.metadata_props[:]
    for k, v in sorted(metadata.items()):
        m.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, str(path))


def trained_sample_fps(path: Path, default: float = 5.0) -> float:
    """The frames per second a model was trained on: `sample_fps` of the training config
    in its ONNX metadata, else of training_config.json beside it, else `[input] sample_fps` of
    its manifest (embedded, else model.toml beside it: the rate the daemon checks streams
    against), else `default`. A model fed at another rate sees its actions faster or slower
    than it learned them."""
    import tomllib

    import onnx

    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    cfg = json.loads(props.get("actiond.training_config", "{}"))
    if "sample_fps" not in cfg and (path.parent / "training_config.json").exists():
        cfg = json.loads((path.parent / "training_config.json").read_text())
    if "sample_fps" in cfg:
        return float(cfg["sample_fps"])
    beside = path.parent / "model.toml"
    toml = props.get(METADATA_MANIFEST) or (beside.read_text() if beside.exists() else "")
    return float(tomllib.loads(toml).get("input", {}).get("sample_fps", default))


def set_metadata(path: Path, updates: dict[str, str]) -> None:
    import onnx

    m = onnx.load(str(path))
    props = {p.key: p.value for p in m.metadata_props}
    props.update(updates)
    del m.metadata_props[:]
    for k, v in sorted(props.items()):
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, str(path))


def verify(keras_model, path: Path, shape: tuple, seed: int = 0) -> float:
    """Max |ONNX Runtime − Keras| on a random batch of 2; raises above 1e-4."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (2,) + shape).astype(np.float32)
    (got,) = sess.run(None, {INPUT_NAME: x})
    want = keras_model(x, training=False).numpy()
    diff = float(np.abs(got - want).max())
    if not diff < 1e-4:
        raise RuntimeError(f"ONNX Runtime and Keras differ by {diff}")
    return diff
