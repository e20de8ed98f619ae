"""Backbones, classifier heads, parameter and multiply-add counts (Keras 3)."""

from __future__ import annotations

from pathlib import Path

# Keras' own summaries of the backbones without their top (alpha 1.0): what
# `keras.applications.X(include_top=False, weights=None).count_params()` prints.
PUBLISHED_PARAMS = {"mobilenet_v2": 2_257_984, "mobilenet_v1": 3_228_864, "vgg16": 14_714_688}
BACKBONES = list(PUBLISHED_PARAMS)
HEADS = ["gap", "flatten"]


def backbone(name: str, size: int, alpha: float = 1.0, weights: Path | None = None):
    """A keras.applications backbone without its classifier, from scratch unless a
    local weights file (.h5 / .weights.h5 of the no-top model) is given: nothing is
    downloaded."""
    import keras

    shape = (size, size, 3)
    if weights is not None and not Path(weights).is_file():
        raise FileNotFoundError(f"weights file {weights} does not exist")
    kw = dict(input_shape=shape, include_top=False, weights=None)
    if name == "mobilenet_v2":
        net = keras.applications.MobileNetV2(alpha=alpha, **kw)
    elif name == "mobilenet_v1":
        net = keras.applications.MobileNet(alpha=alpha, **kw)
    elif name == "vgg16":
        if alpha != 1.0:
            raise ValueError("vgg16 has no width multiplier (alpha)")
        net = keras.applications.VGG16(**kw)
    else:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}")
    if weights is not None:
        net.load_weights(str(weights))
    return net


def classifier(backbone_name: str, size: int, classes: int, head: str = "gap", alpha: float = 1.0,
               dropout: float = 0.3, hidden: int = 256, weights: Path | None = None):
    """backbone → (global average pool | flatten) → dense(hidden, relu) → dropout →
    dense(classes) logits; with hidden = 0 no dense(hidden) layer (the TSM model's head,
    which cannot die: a ReLU layer over small pooled features can all go to zero early
    in a from-scratch run and stall it at chance). Input NHWC float32 already normalized."""
    import keras

    net = backbone(backbone_name, size, alpha, weights)
    inputs = keras.Input((size, size, 3), name="input")
    x = net(inputs)
    if head == "gap":
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    elif head == "flatten":
        x = keras.layers.Flatten(name="flatten")(x)
    else:
        raise ValueError(f"unknown head {head!r}; known: {', '.join(HEADS)}")
    if hidden:
        x = keras.layers.Dense(hidden, activation="relu", name="fc")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    logits = keras.layers.Dense(classes, name="logits")(x)
    return keras.Model(inputs, logits, name=f"{backbone_name}_{head}"), net


def head_params(features: int, hidden: int, classes: int) -> int:
    """Parameters of dense(hidden) + dense(classes) after `features` inputs (hidden 0: none)."""
    if not hidden:
        return features * classes + classes
    return features * hidden + hidden + hidden * classes + classes


def _layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _layers(layer)
        else:
            yield layer


def count_macs(model) -> int:
    """Multiply-accumulates of one forward pass (batch 1), counted layer by layer from
    Keras' output shapes: Conv2D H_out·W_out·k_h·k_w·C_in·C_out (/groups),
    DepthwiseConv2D H_out·W_out·k_h·k_w·C_in·multiplier, Dense in·out. BatchNorm,
    activations, pooling, padding and additions are not counted (BatchNorm folds into
    the convolutions at inference; the others are cheap element-wise work), which is
    how MobileNet's and VGG's papers count."""
    import keras

    total = 0
    for layer in _layers(model):
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, _ = layer.output.shape
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1]
            total += h * w * kh * kw * cin * layer.depth_multiplier
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, cout = layer.output.shape
            kh, kw = layer.kernel_size
            cin = layer.input.shape[-1]
            total += h * w * kh * kw * cin * cout // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            lead = 1
            for d in layer.input.shape[1:-1]:
                lead *= d
            total += lead * layer.input.shape[-1] * layer.units
    return int(total)
