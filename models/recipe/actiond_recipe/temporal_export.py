"""Export of the TSM MobileNetV2 (actiond_recipe/temporal.py) as the daemon's two
temporal model kinds, and their offline reference runs through ONNX Runtime:

- stateful: the online form, input `input` [N, H, W, 3], output `probabilities`, and
  one `[[state]]` pair `shift_in_i` → `shift_out_i` per shift point;
- clip: the clip form, input `input` [N, T, 3, H, W] (`layout = "NTCHW"`,
  `frames = T`), output the softmax of the per-frame logits' mean over the T frames.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import export as ex
from .evaluate import OnnxClassifier, softmax


def stateful_manifest(base: str, n_states: int) -> str:
    """`base` (a frame manifest) plus one [[state]] table per shift point."""
    tables = "".join(f"\n[[state]]\ninput = \"shift_in_{i}\"\noutput = \"shift_out_{i}\"\n" for i in range(n_states))
    return base + "\n# Shift buffers: fed with zeros on the first call, then with the previous call's output.\n" + tables


def clip_manifest(base: str, frames: int) -> str:
    """`base` (a frame manifest, layout NHWC) as a clip manifest: NTCHW, `frames = T`."""
    text = base.replace('layout = "NHWC"', f'layout = "NTCHW"\nframes = {frames}\nframe_stride = 1')
    if text == base:
        raise ValueError("expected an NHWC manifest")
    return text


def online_model(net):
    """The online form with softmax probabilities: [input, shift_in_*] → [probabilities, shift_out_*]."""
    import keras

    online = net.online()
    outs = online(online.inputs)
    probs = keras.layers.Softmax(name="probabilities")(outs[0])
    return keras.Model(online.inputs, [probs] + list(outs[1:]), name="tsm_online_probabilities")


def clip_model(net, frames: int):
    """The clip form on [N, T, 3, H, W] with the softmax of the mean logits over T."""
    import keras

    clip = net.offline(frames, channels_first=True, average=True)
    probs = keras.layers.Softmax(name="probabilities")(clip.outputs[0])
    return keras.Model(clip.inputs, probs, name=f"tsm_clip{frames}_probabilities")


def export(model, path: Path, inputs: list[tuple[str, tuple]], outputs: list[str], name: str,
           metadata: dict[str, str]) -> None:
    """Keras' ONNX exporter for a model with several inputs/outputs: tensors renamed to
    `inputs`/`outputs` by position, batch axis dynamic, metadata set."""
    import onnx
    import tensorflow as tf

    model([np.zeros((1,) + s, np.float32) for _, s in inputs])
    specs = [tf.TensorSpec((None,) + s, tf.float32, name=n) for n, s in inputs]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / "model.onnx"
        model.export(str(tmp_path), format="onnx", input_signature=[specs] if len(specs) > 1 else specs,
                     opset_version=ex.OPSET, verbose=False)
        m = onnx.load(str(tmp_path))
    g = m.graph
    inits = {i.name for i in g.initializer}
    graph_inputs = [i for i in g.input if i.name not in inits]
    if len(graph_inputs) != len(inputs) or len(g.output) != len(outputs):
        raise RuntimeError(f"expected {len(inputs)} inputs and {len(outputs)} outputs, got "
                           f"{[i.name for i in graph_inputs]}, {[o.name for o in g.output]}")
    for value, (new, _) in zip(graph_inputs, inputs):
        ex._rename_value(g, value.name, new)
    for value, new in zip(list(g.output), outputs):
        ex._rename_value(g, value.name, new)
    ex.finish(m, list(graph_inputs) + list(g.output), {n for n, _ in inputs} | set(outputs), name, metadata, path)


@dataclass
class Exported:
    """One exported form: the Keras model it came from, its tensors, manifest and check."""
    model: object
    inputs: list[tuple[str, tuple]]
    manifest: str
    max_diff: float


def export_form(net, kind: str, out: Path, base_manifest: str, frames: int, metadata: dict[str, str]) -> Exported:
    """`net` as `kind` ("stateful" or "clip", `frames` per call) in `out`: model.onnx with the
    manifest (a frame manifest `base_manifest` made into the form's) embedded beside `metadata`,
    checked against Keras, and model.toml."""
    import tomllib

    s = tomllib.loads(base_manifest)["input"]["width"]
    if kind == "stateful":
        model = online_model(net)
        states = [(f"shift_in_{i}", tuple(x.shape[1:])) for i, x in enumerate(model.inputs[1:])]
        inputs = [("input", (s, s, 3))] + states
        outputs = ["probabilities"] + [f"shift_out_{i}" for i in range(len(states))]
        man = stateful_manifest(base_manifest, len(states))
    else:
        model = clip_model(net, frames)
        inputs, outputs = [("input", (frames, 3, s, s))], ["probabilities"]
        man = clip_manifest(base_manifest, frames)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "model.onnx"
    export(model, path, inputs, outputs, tomllib.loads(man)["name"], {ex.METADATA_MANIFEST: man, **metadata})
    diff = verify(model, path, inputs, outputs)
    (out / "model.toml").write_text(man)
    return Exported(model, inputs, man, diff)


def verify(model, path: Path, inputs: list[tuple[str, tuple]], outputs: list[str], seed: int = 0) -> float:
    """Max |ONNX Runtime − Keras| over every output on a random batch of 2 (states
    random too); raises above 1e-4. Outputs are matched by name, so a mix-up of the
    exported tensors' order shows as a shape or value mismatch."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    feed = {n: rng.normal(0, 1, (2,) + s).astype(np.float32) for n, s in inputs}
    got = sess.run(outputs, feed)
    want = model([feed[n] for n, _ in inputs], training=False)
    want = want if isinstance(want, (list, tuple)) else [want]
    diff = 0.0
    for o, g, w in zip(outputs, got, want):
        w = np.asarray(w)
        if g.shape != w.shape:
            raise RuntimeError(f"output {o}: ONNX shape {g.shape}, Keras {w.shape}")
        diff = max(diff, float(np.abs(g - w).max()))
    if not diff < 1e-4:
        raise RuntimeError(f"ONNX Runtime and Keras differ by {diff}")
    return diff


class StatefulClassifier(OnnxClassifier):
    """A stateful model run as the daemon runs one stream: one frame per call, each
    state input fed with zeros first and then with the previous call's state output
    (`carry=False`: zeros on every call, i.e. the state dropped)."""

    def __init__(self, path: Path, manifest: dict, threads: int = 0, carry: bool = True):
        super().__init__(path, manifest, threads)
        self.pairs = [(s["input"], s["output"]) for s in manifest["state"]]
        shapes = {i.name: i.shape for i in self.session.get_inputs()}
        self.shapes = {i: tuple(shapes[i][1:]) for i, _ in self.pairs}
        self.carry = carry

    def zeros(self) -> dict:
        return {i: np.zeros((1,) + self.shapes[i], np.float32) for i, _ in self.pairs}

    def probabilities(self, frames: np.ndarray, batch: int = 1) -> np.ndarray:
        state, outs = self.zeros(), []
        names = [self.manifest["output"]["name"]] + [o for _, o in self.pairs]
        for i in range(len(frames)):
            res = self.session.run(names, {self.manifest["input"]["name"]: self.prepare(frames[i:i + 1]), **state})
            outs.append(res[0])
            state = {name: v for (name, _), v in zip(self.pairs, res[1:])} if self.carry else self.zeros()
        y = np.concatenate(outs) if outs else np.zeros((0, len(self.manifest["labels"])), np.float32)
        return softmax(y) if self.manifest["output"]["kind"] == "logits" else y

    def latency_feed(self) -> dict:
        """One frame plus zero states: what one call costs does not depend on the values."""
        return {**super().latency_feed(), **self.zeros()}


class ClipClassifier(OnnxClassifier):
    """A clip model run as the daemon runs one stream with stride 1: once T frames are
    there, one call per frame on the last T frames (oldest first). `history=False`
    feeds the newest frame T times instead (no motion seen)."""

    def __init__(self, path: Path, manifest: dict, threads: int = 0, history: bool = True):
        super().__init__(path, manifest, threads)
        self.t = int(manifest["input"]["frames"])
        self.history = history

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        """[T, H, W, 3] uint8 → [1, T, 3, H, W] normalized."""
        x = super().prepare(frames)  # NHWC manifest-wise: normalize only
        if self.manifest["input"]["layout"] != "NTCHW":
            raise ValueError("ClipClassifier runs NTCHW models")
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))[None]

    def probabilities(self, frames: np.ndarray, batch: int = 1) -> np.ndarray:
        outs = []
        for n in range(self.t, len(frames) + 1):
            clip = frames[n - self.t:n] if self.history else np.repeat(frames[n - 1:n], self.t, axis=0)
            (y,) = self.session.run([self.manifest["output"]["name"]], {self.manifest["input"]["name"]: self.prepare(clip)})
            outs.append(y)
        y = np.concatenate(outs) if outs else np.zeros((0, len(self.manifest["labels"])), np.float32)
        return softmax(y) if self.manifest["output"]["kind"] == "logits" else y

    def latency_feed(self) -> dict:
        """One call: T random frames."""
        s = self.manifest["input"]["width"]
        x = self.prepare(np.random.default_rng(0).integers(0, 256, (self.t, s, s, 3), dtype=np.uint8))
        return {self.manifest["input"]["name"]: x}


def classifier(path: Path, manifest: dict, threads: int = 0, history: bool = True) -> OnnxClassifier:
    """The offline runner for a manifest's kind: frame, clip or stateful."""
    if manifest.get("state"):
        return StatefulClassifier(path, manifest, threads, carry=history)
    if manifest["input"].get("frames"):
        return ClipClassifier(path, manifest, threads, history=history)
    return OnnxClassifier(path, manifest, threads)
