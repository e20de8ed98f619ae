"""MobileNetV2 with the Temporal Shift Module (TSM, Lin et al. 2019), in two forms that
share one set of layers and weights:

- offline (training, clip): input [N, T, H, W, 3], frames in time order; at the start
  of the residual branch of every inverted-residual block that has a residual
  connection, 1/8 of the channels are replaced by the same channels of the previous
  frame (zeros for the first frame). Output: per-frame logits [N, T, classes].
- online (export, one frame per call): input [N, H, W, 3] plus one state input per
  shift point (`shift_in_i`: the previous frame's shifted channels, zeros at first);
  outputs the frame's logits plus one state output per shift point (`shift_out_i`:
  this frame's channels to feed back on the next call). Run frame by frame with the
  state carried, it computes exactly the offline form's per-frame outputs.

The shift is unidirectional (only from the past), as in the paper's online model, so
the clip form of the same weights is causal too.
"""

from __future__ import annotations

import functools
from pathlib import Path

# MobileNetV2's inverted-residual settings: expansion t, output channels c, repeats n, stride s.
MNV2_BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
               (6, 160, 3, 2), (6, 320, 1, 1)]
SHIFT_DIVISOR = 8  # 1/8 of the channels come from the previous frame


def make_divisible(v: float, divisor: int = 8) -> int:
    """MobileNet's channel rounding (as keras.applications.MobileNetV2)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return new


class TSMNet:
    """The layers of a TSM MobileNetV2 classifier, applied by `offline()` and `online()`."""

    def __init__(self, size: int, classes: int, alpha: float = 0.5, dropout: float = 0.2,
                 bn_momentum: float = 0.9, expand: float = 1.0):
        import keras
        from keras import layers as L

        self.size, self.classes, self.alpha = size, classes, alpha

        def bn(name):
            return L.BatchNormalization(epsilon=1e-3, momentum=bn_momentum, name=name)

        first = make_divisible(32 * alpha)
        self.stem = [L.Conv2D(first, 3, strides=2, padding="same", use_bias=False, name="stem_conv"),
                     bn("stem_bn"), L.ReLU(6.0, name="stem_relu")]
        self.blocks = []  # (layers, residual?, channels in)
        c_in, index = first, 0
        for t, c, n, s in MNV2_BLOCKS:
            c_out = make_divisible(c * alpha)
            for i in range(n):
                stride = s if i == 0 else 1
                p = f"block{index}_"
                seq = []
                if t != 1:
                    hidden = make_divisible(c_in * t * expand)  # c_in · t when expand is 1
                    seq += [L.Conv2D(hidden, 1, use_bias=False, name=p + "expand"), bn(p + "expand_bn"),
                            L.ReLU(6.0, name=p + "expand_relu")]
                seq += [L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=p + "dw"),
                        bn(p + "dw_bn"), L.ReLU(6.0, name=p + "dw_relu"),
                        L.Conv2D(c_out, 1, use_bias=False, name=p + "project"), bn(p + "project_bn")]
                self.blocks.append((seq, stride == 1 and c_in == c_out, c_in))
                c_in, index = c_out, index + 1
        last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
        self.top = [L.Conv2D(last, 1, use_bias=False, name="top_conv"), bn("top_bn"), L.ReLU(6.0, name="top_relu"),
                    L.GlobalAveragePooling2D(name="pool"), L.Dropout(dropout, name="dropout"),
                    L.Dense(classes, name="logits")]
        self.keras = keras

    def weighted_layers(self) -> list:
        """Stem, blocks and top layers that hold weights, in the order of MobileNetV2's."""
        seqs = [self.stem] + [seq for seq, _, _ in self.blocks] + [self.top]
        return [layer for seq in seqs for layer in seq if layer.weights]

    def load_frame_weights(self, path: Path, dropout: float = 0.2) -> int:
        """Fills the net from a single-frame MobileNetV2 (`train --backbone mobilenet_v2
        --hidden 0`, same alpha, size and labels): the shift adds no weights, so the TSM
        starts where the frame model is (TSM's own recipe starts from a 2-D network).
        Returns the layers copied; a layer whose shapes differ is named in the error."""
        from . import nets

        frame, _ = nets.classifier("mobilenet_v2", self.size, self.classes, "gap", self.alpha, dropout, 0)
        try:
            frame.load_weights(str(path))
        except ValueError as e:
            raise ValueError(f"{path}: not the weights of a frame MobileNetV2 (alpha {self.alpha}, "
                             f"{self.size}px, {self.classes} classes, no hidden layer): {e}") from e
        src = [layer for layer in nets._layers(frame) if layer.weights]
        dst = self.weighted_layers()
        if len(src) != len(dst):
            raise ValueError(f"{path}: {len(src)} layers with weights, the TSM has {len(dst)}")
        for a, b in zip(src, dst):
            wa = a.get_weights()
            shapes_a, shapes_b = [w.shape for w in wa], [tuple(w.shape) for w in b.weights]
            if shapes_a != shapes_b:
                raise ValueError(f"{path}: layer {a.name} has shapes {shapes_a}, the TSM's {b.name} {shapes_b}")
            b.set_weights(wa)
        return len(dst)

    def load_narrower(self, path: Path, expand: float = 1.0) -> int:
        """Fills the net from the clip weights of a TSM with a smaller `expand` (same alpha,
        size and labels) so that it computes exactly what that one does: each weight takes the
        narrower one's values in its leading slice, and the projections' rows from the added
        hidden channels are zero (those channels start with their fresh weights and no say,
        and learn from there: Net2Net-style widening). Returns the layers copied."""
        narrow = TSMNet(self.size, self.classes, self.alpha, expand=expand)
        narrow.offline(8).load_weights(str(path))
        if not self.weighted_layers():
            self.offline(8)  # the layers have weights once a form has been built
        dst = self.weighted_layers()
        for a, b in zip(narrow.weighted_layers(), dst):  # the same layers by construction
            new = []
            for wa, wb in zip(a.get_weights(), b.get_weights()):
                if any(x > y for x, y in zip(wa.shape, wb.shape)) or wa.ndim != wb.ndim:
                    raise ValueError(f"{path}: layer {a.name} has shape {wa.shape}, wider than {wb.shape}")
                if b.name.endswith("project"):
                    wb[...] = 0.0
                wb[tuple(slice(0, n) for n in wa.shape)] = wa
                new.append(wb)
            b.set_weights(new)
        return len(dst)

    @property
    def shift_points(self) -> list[int]:
        """Channels at each shift point (the input of each residual block), in order."""
        return [c for _, res, c in self.blocks if res]

    def folds(self) -> list[int]:
        """Shifted channels at each shift point."""
        return [c // SHIFT_DIVISOR for c in self.shift_points]

    @staticmethod
    def _run(seq, x):
        for layer in seq:
            x = layer(x)
        return x

    def _body(self, x, shift):
        """Stem → blocks → top; `shift(i, x)` replaces the residual branch's input at shift point i."""
        x = self._run(self.stem, x)
        k = 0
        for seq, residual, _ in self.blocks:
            if residual:
                x = self.keras.layers.Add()([x, self._run(seq, shift(k, x))])
                k += 1
            else:
                x = self._run(seq, x)
        return self._run(self.top, x)

    def offline(self, frames: int, channels_first: bool = False, average: bool = False):
        """Clip form: [N, T, H, W, 3] (or [N, T, 3, H, W]) → logits [N, T, classes]
        (or their mean over T with `average`)."""
        keras = self.keras
        from keras import ops

        s, t = self.size, frames
        shape = (t, 3, s, s) if channels_first else (t, s, s, 3)
        inp = keras.Input(shape, name="input")
        x = keras.layers.Permute((1, 3, 4, 2), name="ntchw_to_nthwc")(inp) if channels_first else inp
        x = _ToBatch(name="to_batch")(x)

        def shift(i, y):
            return _ClipShift(t, y.shape[-1] // SHIFT_DIVISOR, name=f"shift_{i}")(y)

        y = self._body(x, shift)
        y = _FromBatch(t, name="from_batch")(y)
        if average:
            y = keras.layers.Lambda(lambda v: ops.mean(v, axis=1), name="mean_over_t")(y)
        return keras.Model(inp, y, name=f"tsm_mobilenetv2_clip{t}")

    def online(self):
        """Online form: [input [N, H, W, 3], shift_in_0…] → [logits, shift_out_0…]."""
        keras = self.keras
        s = self.size
        inp = keras.Input((s, s, 3), name="input")
        states_in, states_out = [], []

        def shift(i, y):
            fold = y.shape[-1] // SHIFT_DIVISOR
            st = keras.Input((y.shape[1], y.shape[2], fold), name=f"shift_in_{i}")
            states_in.append(st)
            shifted, keep = _OnlineShift(fold, name=f"shift_{i}")([y, st])
            states_out.append(keep)
            return shifted

        logits = self._body(inp, shift)
        return keras.Model([inp] + states_in, [logits] + states_out, name="tsm_mobilenetv2_online")


@functools.cache
def _layer_classes():
    import keras
    from keras import ops

    class ToBatch(keras.layers.Layer):
        """[N, T, H, W, C] → [N·T, H, W, C]."""

        def call(self, x):
            return ops.reshape(x, (-1,) + tuple(x.shape[2:]))

    class FromBatch(keras.layers.Layer):
        """[N·T, …] → [N, T, …]."""

        def __init__(self, frames, **kw):
            super().__init__(**kw)
            self.frames = frames

        def call(self, x):
            return ops.reshape(x, (-1, self.frames) + tuple(x.shape[1:]))

    class ClipShift(keras.layers.Layer):
        """On [N·T, H, W, C]: the first `fold` channels of frame t become those of frame
        t−1 (zeros for t = 0); the other channels stay."""

        def __init__(self, frames, fold, **kw):
            super().__init__(**kw)
            self.frames, self.fold = frames, fold

        def call(self, x):
            h, w, c = x.shape[1:]
            v = ops.reshape(x, (-1, self.frames, h, w, c))
            moved = v[:, :-1, :, :, :self.fold]
            moved = ops.concatenate([ops.zeros_like(v[:, :1, :, :, :self.fold]), moved], axis=1)
            out = ops.concatenate([moved, v[:, :, :, :, self.fold:]], axis=-1)
            return ops.reshape(out, (-1, h, w, c))

    class OnlineShift(keras.layers.Layer):
        """[x, state] → [x with its first `fold` channels replaced by state, x's first `fold` channels]."""

        def __init__(self, fold, **kw):
            super().__init__(**kw)
            self.fold = fold

        def call(self, inputs):
            x, state = inputs
            return [ops.concatenate([state, x[..., self.fold:]], axis=-1), x[..., :self.fold]]

    return ToBatch, FromBatch, ClipShift, OnlineShift


class _Lazy:
    """Defers building the Keras layer classes until Keras is imported."""

    def __init__(self, index):
        self.index = index

    def __call__(self, *a, **kw):
        return _layer_classes()[self.index](*a, **kw)


_ToBatch, _FromBatch, _ClipShift, _OnlineShift = (_Lazy(i) for i in range(4))
