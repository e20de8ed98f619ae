#!/usr/bin/env python3
"""Make the provisional model: an untrained MobileNetV2 classifier in ONNX.

It has the architecture, input and output of the trained default model that
will replace it, so that actiond's demo and tests run before there is one. Its
weights are random (seed 0) and its BatchNormalization statistics come from
one pass over synthetic images (so that outputs depend on the input); nothing
is trained, so its predictions mean nothing. Nothing is downloaded.

Writes, into --out (default models/provisional/):
    model.onnx   input "input" float32 [batch, 224, 224, 3] (NHWC, RGB,
                 x / 127.5 - 1), output "probabilities" float32 [batch, 5]
    model.toml   the manifest actiond reads beside it
    README.md    what this is, and the sha256 of model.onnx

Run it from the repository root with the recipe's environment:
    python3 -m venv .venv-recipe
    .venv-recipe/bin/pip install -r models/recipe/requirements.txt
    .venv-recipe/bin/python models/recipe/make_provisional.py
"""

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

# Before TensorFlow loads: CPU only, and quiet.
os.environ["KERAS_BACKEND"] = "tensorflow"  # the export below is tf2onnx's
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402

# Keras' tf2onnx patch for numpy 2 probes np.object, which warns.
warnings.filterwarnings("ignore", category=FutureWarning, module="keras.src.export.tf2onnx_lib")

NAME = "provisional-mobilenetv2"
LABELS = ["ball", "snow", "smpte", "checkers", "pinwheel"]
SIZE = 224
INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"
# Opset 13 (ONNX Runtime >= 1.8) so that the older ONNX Runtime builds on edge
# devices load it too; MobileNetV2 needs nothing newer.
OPSET = 13
SEED = 0

REPO_ROOT = Path(__file__).resolve().parents[2]


def build_model():
    import keras

    keras.utils.set_random_seed(SEED)
    inputs = keras.Input(shape=(SIZE, SIZE, 3), name=INPUT_NAME)
    backbone = keras.applications.MobileNetV2(
        input_shape=(SIZE, SIZE, 3),
        include_top=False,
        weights=None,
        alpha=1.0,
    )
    x = backbone(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dense(256, activation="relu", name="fc")(x)
    x = keras.layers.Dropout(0.2, name="dropout")(x)
    outputs = keras.layers.Dense(len(LABELS), activation="softmax", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="mobilenetv2_classifier")


def calibration_images(count):
    """Synthetic images, preprocessed to [-1, 1]: smooth colour fields,
    stripes, checkerboards and noise, so that no one pattern dominates."""
    rng = np.random.default_rng(SEED)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    images = np.empty((count, SIZE, SIZE, 3), np.float32)
    for i in range(count):
        kind = i % 4
        if kind == 0:  # smooth colour field
            coarse = rng.uniform(0, 1, (8, 8, 3)).astype(np.float32)
            image = np.kron(coarse, np.ones((SIZE // 8, SIZE // 8, 1), np.float32))
        elif kind == 1:  # coloured stripes at a random angle and period
            angle, period = rng.uniform(0, np.pi), rng.uniform(0.02, 0.3)
            phase = (np.cos(angle) * xx + np.sin(angle) * yy) / period
            colours = rng.uniform(0, 1, (2, 3)).astype(np.float32)
            image = colours[(np.floor(phase) % 2).astype(int)]
        elif kind == 2:  # checkerboard of random cell size
            cell = int(rng.integers(2, 40))
            colours = rng.uniform(0, 1, (2, 3)).astype(np.float32)
            index = ((np.arange(SIZE)[:, None] // cell + np.arange(SIZE)[None, :] // cell) % 2)
            image = colours[index]
        else:  # noise
            image = rng.uniform(0, 1, (SIZE, SIZE, 3)).astype(np.float32)
        images[i] = image * 2.0 - 1.0
    return images


def calibrate_batchnorm(model, count=32):
    """Sets every BatchNormalization layer's moving mean and variance from one
    forward pass over synthetic images. Nothing is trained: without this, the
    untrained network's activations fade layer by layer (to ~1e-11 at the end)
    and every input gets exactly 1/N for every label."""
    import keras

    layers = [l for l in model._flatten_layers() if isinstance(l, keras.layers.BatchNormalization)]
    momenta = [l.momentum for l in layers]
    for layer in layers:
        layer.momentum = 0.0  # take the statistics of this batch alone
    model(calibration_images(count), training=True)
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    return len(layers)


def export_onnx(model, path):
    """Exports with Keras' own exporter (tf2onnx underneath), batch dynamic."""
    import tensorflow as tf

    # Keras exports a model only after it has been called once.
    model(np.zeros((1, SIZE, SIZE, 3), np.float32), training=False)
    signature = [tf.TensorSpec((None, SIZE, SIZE, 3), tf.float32, name=INPUT_NAME)]
    model.export(
        str(path),
        format="onnx",
        input_signature=signature,
        opset_version=OPSET,
        verbose=False,
    )


def rename_value(graph, old, new):
    if old == new:
        return
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.name == old:
            value.name = new


def canonical_names(graph):
    """Renames nodes, initializers and intermediate tensors by their position
    in the graph: tf2onnx numbers the names it makes differently from run to
    run, and this makes the file the same bytes every time."""
    initializers = {i.name for i in graph.initializer}
    names = {}
    counts = {"w": 0, "t": 0}

    def rename(name):
        if name in ("", INPUT_NAME, OUTPUT_NAME):
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
    ordered = sorted(graph.initializer, key=lambda i: int(i.name[1:]))
    del graph.initializer[:]
    graph.initializer.extend(ordered)


def fix_graph(path):
    """Names the graph's input and output as the manifest says, names the batch
    dimension, gives everything else stable names, and sets the lowest IR
    version the opset allows."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(graph.output) != 1:
        sys.exit(f"expected one input and one output, got {[i.name for i in inputs]} and {[o.name for o in graph.output]}")
    rename_value(graph, inputs[0].name, INPUT_NAME)
    rename_value(graph, graph.output[0].name, OUTPUT_NAME)
    for value in (graph.input[0], graph.output[0]):
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "batch"
    canonical_names(graph)
    graph.name = NAME
    import keras
    import tf2onnx

    model.producer_name = "actiond models/recipe/make_provisional.py"
    model.producer_version = f"keras {keras.__version__}, tf2onnx {tf2onnx.__version__}"
    model.ir_version = onnx.helper.find_min_ir_version_for(list(model.opset_import))
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))


def describe(value):
    dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
    return f"{value.name} {dims}"


def verify(keras_model, path):
    """Runs the ONNX file in ONNX Runtime on a batch of 2 and compares with Keras."""
    import onnx
    import onnxruntime as ort

    graph = onnx.load(str(path)).graph
    print(f"input:  {describe(graph.input[0])}")
    print(f"output: {describe(graph.output[0])}")

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [INPUT_NAME]
    assert [o.name for o in session.get_outputs()] == [OUTPUT_NAME]

    rng = np.random.default_rng(SEED)
    batch = rng.uniform(-1.0, 1.0, (2, SIZE, SIZE, 3)).astype(np.float32)
    (probs,) = session.run([OUTPUT_NAME], {INPUT_NAME: batch})
    expected = keras_model(batch, training=False).numpy()
    assert probs.shape == (2, len(LABELS)), probs.shape
    sums = probs.sum(axis=1)
    assert np.allclose(sums, 1.0, atol=1e-5), sums
    diff = float(np.abs(probs - expected).max())
    assert diff < 1e-4, f"ONNX Runtime and Keras differ by {diff}"
    print(f"onnxruntime {ort.__version__}: batch of 2 ok, sums {sums.tolist()}, max |onnx - keras| {diff:.2e}")
    print(f"probabilities: {np.round(probs, 4).tolist()}")


MANIFEST = """\
# Manifest of the provisional model, written by models/recipe/make_provisional.py.
name = "{name}"
labels = [{labels}]

[input]
name = "{input}"
layout = "NHWC"
width = {size}
height = {size}
channel_order = "RGB"
resize = "stretch"
# x = (pixel / 255 - 0.5) / 0.5 = pixel / 127.5 - 1, as keras.applications.mobilenet_v2.preprocess_input
scale = 255.0
mean = [0.5, 0.5, 0.5]
std = [0.5, 0.5, 0.5]

[output]
name = "{output}"
kind = "probabilities"
"""

README = """\
# Provisional model (untrained)
- Untrained MobileNetV2: random weights (seed {seed}), BatchNorm statistics from one pass over synthetic images; its predictions mean nothing. It lets the demo and tests run until the default-model issue replaces it with a trained model.
- Made by `models/recipe/make_provisional.py` (environment: `models/recipe/requirements.txt`): Keras {keras} MobileNetV2 (alpha 1.0, weights=None) + GAP → Dense(256, relu) → Dropout(0.2) → Dense({n}, softmax), exported by Keras (tf2onnx) to ONNX opset {opset}.
- Input `{input}` float32 [batch, {size}, {size}, 3], NHWC RGB, x = pixel / 127.5 − 1; output `{output}` float32 [batch, {n}]: {labels} (see `model.toml`).
- sha256 of model.onnx: `{sha256}`
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "models" / "provisional")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import keras

    model = build_model()
    print(f"calibrated {calibrate_batchnorm(model)} BatchNormalization layers on synthetic images")
    onnx_path = args.out / "model.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / "model.onnx"
        export_onnx(model, tmp_path)
        fix_graph(tmp_path)
        verify(model, tmp_path)
        shutil.move(tmp_path, onnx_path)

    sha256 = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    labels = ", ".join(f'"{label}"' for label in LABELS)
    (args.out / "model.toml").write_text(
        MANIFEST.format(name=NAME, labels=labels, input=INPUT_NAME, output=OUTPUT_NAME, size=SIZE)
    )
    (args.out / "README.md").write_text(
        README.format(
            seed=SEED,
            keras=keras.__version__,
            n=len(LABELS),
            opset=OPSET,
            input=INPUT_NAME,
            output=OUTPUT_NAME,
            size=SIZE,
            labels=", ".join(LABELS),
            sha256=sha256,
        )
    )
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB, sha256 {sha256})")


if __name__ == "__main__":
    main()
