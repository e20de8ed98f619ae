"""Training-time image augmentations and input normalization.

Every augmentation takes and returns an RGB image as a uint8 array of shape (H, W, 3)
and keeps its shape and dtype (geometric ops that change the canvas resize back). Each
has a deterministic form with explicit parameters (`hflip`, `rotate`, ...) and a random
form drawn from a configuration (`Augmenter`), so the tests can check exactly what each
one does.

The daemon never augments or denoises: these run only while training. Normalization
is the one step shared with serving: x = (pixel / scale - mean) / std per channel, the
formula of src/model/preprocess.rs, with the mean/std written into the model's manifest.
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

# ImageNet's per-channel statistics on [0, 1] pixels (RGB).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

cv2.setNumThreads(1)


def _check(img: np.ndarray) -> None:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {img.dtype} {img.shape}")


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- normalization

def dataset_mean_std(frames: np.ndarray, scale: float = 255.0) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of `frames` (N, H, W, 3) uint8 on pixel / scale."""
    x = frames.reshape(-1, 3).astype(np.float64) / scale
    return x.mean(axis=0).tolist(), x.std(axis=0).tolist()


def normalization(kind: str, frames: np.ndarray | None = None) -> dict:
    """The manifest's scale/mean/std for "imagenet", "dataset" (from `frames`) or
    "unit" (x = pixel / 127.5 - 1, Keras' MobileNet convention)."""
    if kind == "imagenet":
        return {"scale": 255.0, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    if kind == "unit":
        return {"scale": 255.0, "mean": [0.5] * 3, "std": [0.5] * 3}
    if kind == "dataset":
        if frames is None:
            raise ValueError("dataset normalization needs the training frames")
        mean, std = dataset_mean_std(frames)
        return {"scale": 255.0, "mean": mean, "std": [max(s, 1e-3) for s in std]}
    raise ValueError(f"unknown normalization {kind!r} (imagenet, dataset or unit)")


def normalize(batch: np.ndarray, norm: dict) -> np.ndarray:
    """(…, 3) uint8 → float32 with the daemon's formula x = (pixel / scale − mean) / std."""
    mean = np.asarray(norm["mean"], np.float32)
    std = np.asarray(norm["std"], np.float32)
    return ((batch.astype(np.float32) / np.float32(norm["scale"])) - mean) / std


# ---------------------------------------------------------------- denoising

def denoise(img: np.ndarray, method: str, strength: float = 1.0) -> np.ndarray:
    """Gaussian blur, median, bilateral filter or non-local means (`strength` ~ sigma
    in pixels for gaussian/bilateral space, kernel size for median, h/10 for nlm)."""
    _check(img)
    if method == "gaussian":
        return cv2.GaussianBlur(img, (0, 0), sigmaX=max(strength, 0.1))
    if method == "median":
        k = max(3, int(round(strength)) * 2 + 1)
        return cv2.medianBlur(img, k)
    if method == "bilateral":
        return cv2.bilateralFilter(img, d=-1, sigmaColor=40.0 * strength, sigmaSpace=max(strength, 0.5) * 2)
    if method == "nlm":
        h = 10.0 * strength
        return cv2.fastNlMeansDenoisingColored(img, None, h, h, 5, 15)
    raise ValueError(f"unknown denoising method {method!r} (gaussian, median, bilateral, nlm)")


# ---------------------------------------------------------------- geometry

def hflip(img: np.ndarray) -> np.ndarray:
    _check(img)
    return np.ascontiguousarray(img[:, ::-1])


def vflip(img: np.ndarray) -> np.ndarray:
    _check(img)
    return np.ascontiguousarray(img[::-1])


def affine(img: np.ndarray, angle: float = 0.0, translate: tuple[float, float] = (0.0, 0.0),
           scale: float = 1.0, shear: float = 0.0, fill: int = 0) -> np.ndarray:
    """Rotation (degrees, counter-clockwise) and scale about the centre, shear (degrees,
    along x), then translation (fractions of width and height); same canvas."""
    _check(img)
    h, w = img.shape[:2]
    cx, cy = (w - 1) / 2, (h - 1) / 2
    rot = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m = np.vstack([rot, [0, 0, 1]])
    sh = math.tan(math.radians(shear))
    shear_m = np.array([[1, sh, -sh * cy], [0, 1, 0], [0, 0, 1]])
    m = shear_m @ m
    m[0, 2] += translate[0] * w
    m[1, 2] += translate[1] * h
    return cv2.warpAffine(img, m[:2], (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(fill, fill, fill))


def resized_crop(img: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """Crops the box and scales it back to the image's size."""
    _check(img)
    h, w = img.shape[:2]
    crop = img[top:top + height, left:left + width]
    if crop.shape[0] < 1 or crop.shape[1] < 1:
        raise ValueError("empty crop")
    return cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR)


def random_crop_box(h: int, w: int, rng: np.random.Generator, scale=(0.5, 1.0),
                    ratio=(3 / 4, 4 / 3)) -> tuple[int, int, int, int]:
    """A box covering `scale` of the area with aspect ratio in `ratio` (as torchvision)."""
    area = h * w
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        cw = int(round(math.sqrt(target * aspect)))
        ch = int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
    return 0, 0, h, w


def perspective(img: np.ndarray, offsets: np.ndarray, fill: int = 0) -> np.ndarray:
    """Moves the four corners (top-left, top-right, bottom-right, bottom-left) by
    `offsets` (4×2 pixels) and warps the image accordingly."""
    _check(img)
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    dst = src + np.asarray(offsets, np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(fill, fill, fill))


def rotate(img: np.ndarray, angle: float, expand: bool = True, fill: int = 0) -> np.ndarray:
    """Rotates by `angle` degrees counter-clockwise. With `expand`, the canvas grows to
    hold the whole rotated image (nothing is cut off) and is then scaled back to the
    original size; without it, corners are cut as by `affine`."""
    _check(img)
    if not expand:
        return affine(img, angle=angle, fill=fill)
    h, w = img.shape[:2]
    a = math.radians(angle)
    cos, sin = abs(math.cos(a)), abs(math.sin(a))
    nw = int(math.ceil(w * cos + h * sin - 1e-9))
    nh = int(math.ceil(w * sin + h * cos - 1e-9))
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    m[0, 2] += (nw - w) / 2
    m[1, 2] += (nh - h) / 2
    big = cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(fill, fill, fill))
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)


def low_resolution(img: np.ndarray, factor: float) -> np.ndarray:
    """Shrunk to `factor` of its size (area average) and enlarged back (bilinear): the detail
    of a smaller source, or a tight crop, that the daemon enlarges to the model's input."""
    _check(img)
    if not 0.0 < factor <= 1.0:
        raise ValueError(f"low_resolution: factor must be in (0, 1], got {factor}")
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


# ---------------------------------------------------------------- colour

def grayscale(img: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma in all three channels."""
    _check(img)
    y = img.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    return np.repeat(_u8(y)[..., None], 3, axis=2)


def adjust_brightness(img: np.ndarray, factor: float) -> np.ndarray:
    _check(img)
    return _u8(img.astype(np.float32) * factor)


def adjust_contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Blends with the image's mean gray level (factor 0: flat gray, 1: unchanged)."""
    _check(img)
    mean = float(grayscale(img)[..., 0].mean())
    return _u8(mean + (img.astype(np.float32) - mean) * factor)


def adjust_saturation(img: np.ndarray, factor: float) -> np.ndarray:
    """Blends with the grayscale image (factor 0: gray, 1: unchanged)."""
    _check(img)
    gray = grayscale(img).astype(np.float32)
    return _u8(gray + (img.astype(np.float32) - gray) * factor)


def adjust_hue(img: np.ndarray, shift: float) -> np.ndarray:
    """Rotates the hue by `shift` turns (−0.5 … 0.5)."""
    _check(img)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV_FULL)  # hue 0..255 for a full turn
    hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + int(round(shift * 256))) % 256).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)


def color_jitter(img: np.ndarray, brightness: float = 1.0, contrast: float = 1.0,
                 saturation: float = 1.0, hue: float = 0.0) -> np.ndarray:
    out = adjust_brightness(img, brightness)
    out = adjust_contrast(out, contrast)
    out = adjust_saturation(out, saturation)
    return adjust_hue(out, hue) if hue else out


# ---------------------------------------------------------------- the seed's imgaug operations

# Re-exported so that augment.<op> names every deterministic operation.
from .pixel_ops import (add, additive_gaussian_noise, average_blur, blend, coarse_mask, dropout,  # noqa: E402,F401
                        edge_detect, emboss, frequency_noise_mask, hue_saturation, invert, linear_contrast,
                        morphology, multiply, sharpen, simplex_like_mask, superpixel_labels, superpixels)


# ---------------------------------------------------------------- random forms

def _range(cfg: dict, key: str, default) -> tuple[float, float]:
    v = cfg.get(key, default)
    return (float(v), float(v)) if np.isscalar(v) else (float(v[0]), float(v[1]))


def _per_channel(cfg: dict, rng: np.random.Generator, lo: float, hi: float, default_p: float = 0.5):
    """One value, or one per channel with probability cfg["per_channel"] (imgaug's per_channel)."""
    if rng.random() < cfg.get("per_channel", default_p):
        return rng.uniform(lo, hi, 3).astype(np.float32)
    return np.float32(rng.uniform(lo, hi))


def _r_affine(img, cfg, rng):
    d, t = cfg.get("degrees", 15.0), cfg.get("translate", 0.1)
    s, sh = cfg.get("scale", [0.85, 1.15]), cfg.get("shear", 8.0)
    return affine(img, angle=rng.uniform(-d, d), translate=(rng.uniform(-t, t), rng.uniform(-t, t)),
                  scale=rng.uniform(*s), shear=rng.uniform(-sh, sh))


def _r_resized_crop(img, cfg, rng):
    h, w = img.shape[:2]
    top, left, ch, cw = random_crop_box(h, w, rng, tuple(cfg.get("scale", [0.5, 1.0])),
                                        tuple(cfg.get("ratio", [3 / 4, 4 / 3])))
    return resized_crop(img, top, left, ch, cw)


def _r_perspective(img, cfg, rng):
    h, w = img.shape[:2]
    d = cfg.get("distortion", 0.2)
    return perspective(img, rng.uniform(-d, d, (4, 2)) * np.float32([w, h]) / 2)


def _r_color_jitter(img, cfg, rng):
    b, c, s, hu = (cfg.get(k, v) for k, v in
                   (("brightness", 0.3), ("contrast", 0.3), ("saturation", 0.4), ("hue", 0.05)))
    return color_jitter(img, rng.uniform(1 - b, 1 + b), rng.uniform(1 - c, 1 + c),
                        rng.uniform(max(0, 1 - s), 1 + s), rng.uniform(-hu, hu))


def _r_denoise(img, cfg, rng):
    methods = cfg.get("methods", ["gaussian", "median", "bilateral", "nlm"])
    return denoise(img, methods[int(rng.integers(len(methods)))], cfg.get("strength", 1.0))


def _r_blur(img, cfg, rng):
    """imgaug's OneOf(GaussianBlur(0–3), AverageBlur(k 2–7), MedianBlur(k 3–11))."""
    methods = cfg.get("methods", ["gaussian", "average", "median"])
    m = methods[int(rng.integers(len(methods)))]
    if m == "gaussian":
        lo, hi = _range(cfg, "sigma", [0.0, 3.0])
        s = rng.uniform(lo, hi)
        return cv2.GaussianBlur(img, (0, 0), sigmaX=s) if s > 0.05 else img
    if m == "average":
        lo, hi = _range(cfg, "average_k", [2, 7])
        return average_blur(img, int(rng.integers(int(lo), int(hi) + 1)))
    if m == "median":
        lo, hi = _range(cfg, "median_k", [3, 11])
        return cv2.medianBlur(img, int(rng.integers(int(lo) // 2, int(hi) // 2 + 1)) * 2 + 1)
    raise ValueError(f"unknown blur {m!r} (gaussian, average, median)")


def _r_low_resolution(img, cfg, rng):
    lo, hi = _range(cfg, "factor", [0.35, 0.8])
    return low_resolution(img, rng.uniform(lo, hi))


def _r_morphology(img, cfg, rng):
    ops = cfg.get("ops", ["erode", "dilate", "open", "close"])
    lo, hi = _range(cfg, "k", [2, 3])
    return morphology(img, ops[int(rng.integers(len(ops)))], int(rng.integers(int(lo), int(hi) + 1)))


def _r_superpixels(img, cfg, rng):
    lo, hi = _range(cfg, "n_segments", [20, 200])
    plo, phi = _range(cfg, "p_replace", [0.0, 1.0])
    return superpixels(img, int(rng.integers(int(lo), int(hi) + 1)), rng.uniform(plo, phi), rng)


def _r_sharpen(img, cfg, rng):
    return sharpen(img, rng.uniform(*_range(cfg, "alpha", [0.0, 1.0])),
                   rng.uniform(*_range(cfg, "lightness", [0.75, 1.5])))


def _r_emboss(img, cfg, rng):
    return emboss(img, rng.uniform(*_range(cfg, "alpha", [0.0, 1.0])),
                  rng.uniform(*_range(cfg, "strength", [0.0, 2.0])))


def _r_edge_noise_alpha(img, cfg, rng):
    """imgaug's SimplexNoiseAlpha(EdgeDetect(alpha 0.5–1)): edges shown through a noise mask."""
    edges = edge_detect(img, rng.uniform(*_range(cfg, "alpha", [0.5, 1.0])))
    return blend(edges, img, simplex_like_mask(*img.shape[:2], rng, scale=rng.uniform(2, 6)))


def _r_gaussian_noise(img, cfg, rng):
    sigma = rng.uniform(*_range(cfg, "sigma", [0.0, 0.05 * 255]))
    per = rng.random() < cfg.get("per_channel", 0.5)
    shape = img.shape if per else img.shape[:2] + (1,)
    return additive_gaussian_noise(img, rng.normal(0.0, sigma, shape).astype(np.float32))


def _r_dropout(img, cfg, rng):
    p = rng.uniform(*_range(cfg, "fraction", [0.01, 0.1]))
    per = rng.random() < cfg.get("per_channel", 0.5)
    return dropout(img, rng.random(img.shape if per else img.shape[:2]) < p)


def _r_coarse_dropout(img, cfg, rng):
    p = rng.uniform(*_range(cfg, "fraction", [0.03, 0.15]))
    size = rng.uniform(*_range(cfg, "size_percent", [0.1, 0.25]))
    return dropout(img, coarse_mask(img.shape[0], img.shape[1], p, size, rng))


def _r_invert(img, cfg, rng):
    if rng.random() < cfg.get("per_channel", 0.0):
        flip = rng.random(3) < 0.5
        return np.where(flip, invert(img), img).astype(np.uint8)
    return invert(img)


def _r_add(img, cfg, rng):
    return add(img, _per_channel(cfg, rng, *_range(cfg, "value", [-10, 10])))


def _r_hue_saturation(img, cfg, rng):
    lo, hi = _range(cfg, "value", [-20, 20])
    return hue_saturation(img, int(rng.integers(int(lo), int(hi) + 1)), int(rng.integers(int(lo), int(hi) + 1)))


def _r_multiply(img, cfg, rng):
    return multiply(img, _per_channel(cfg, rng, *_range(cfg, "factor", [0.5, 1.5])))


def _r_frequency_noise_alpha(img, cfg, rng):
    """imgaug's FrequencyNoiseAlpha(exponent −4–0, first=Multiply(0.5–1.5, per channel),
    second=LinearContrast(0.5–2)): two versions blended through a frequency-noise mask."""
    lo, hi = _range(cfg, "factor", [0.5, 1.5])
    first = multiply(img, rng.uniform(lo, hi, 3).astype(np.float32))
    second = linear_contrast(img, np.float32(rng.uniform(*_range(cfg, "contrast", [0.5, 2.0]))))
    mask = frequency_noise_mask(img.shape[0], img.shape[1], rng, rng.uniform(*_range(cfg, "exponent", [-4.0, 0.0])))
    return blend(first, second, mask)


def _r_linear_contrast(img, cfg, rng):
    return linear_contrast(img, _per_channel(cfg, rng, *_range(cfg, "alpha", [0.5, 2.0])))


def _r_grayscale(img, cfg, rng):
    """Grayscale blended with the image by alpha (default 1: fully gray, as before)."""
    a = rng.uniform(*_range(cfg, "alpha", 1.0))
    return blend(grayscale(img), img, np.full(img.shape[:2], a, np.float32))


def _r_some_of(img, cfg, rng, applied=None):
    # Checked (probed) when the enclosing Augmenter was made; not again for every image.
    group = Augmenter(cfg.get("ops", []), cfg.get("n", [0, 5]), cfg.get("random_order", True), probe=False)
    return group(img, rng, applied)


RANDOM_OPS = {
    "hflip": lambda img, cfg, rng: hflip(img),
    "vflip": lambda img, cfg, rng: vflip(img),
    "affine": _r_affine,
    "resized_crop": _r_resized_crop,
    "grayscale": _r_grayscale,
    "perspective": _r_perspective,
    "rotation": lambda img, cfg, rng: rotate(img, rng.uniform(-cfg.get("degrees", 30.0), cfg.get("degrees", 30.0)),
                                             expand=cfg.get("expand", True)),
    "color_jitter": _r_color_jitter,
    "denoise": _r_denoise,
    "blur": _r_blur,
    "morphology": _r_morphology,
    "low_resolution": _r_low_resolution,
    "superpixels": _r_superpixels,
    "sharpen": _r_sharpen,
    "emboss": _r_emboss,
    "edge_noise_alpha": _r_edge_noise_alpha,
    "gaussian_noise": _r_gaussian_noise,
    "dropout": _r_dropout,
    "coarse_dropout": _r_coarse_dropout,
    "invert": _r_invert,
    "add": _r_add,
    "hue_saturation": _r_hue_saturation,
    "multiply": _r_multiply,
    "frequency_noise_alpha": _r_frequency_noise_alpha,
    "linear_contrast": _r_linear_contrast,
    "some_of": _r_some_of,
}

OP_NAMES = list(RANDOM_OPS)

# The parameters each operation reads besides "name" and "p", with the kind of value each takes (a
# test checks the keys against those the operation reads); any other key is refused, so that a
# misspelt one is not silently ignored, and a value of another kind is refused by name.
NUMBER, RANGE, PAIR, SHARE, FLAG, COUNT, OPS = "number", "range", "pair", "share", "flag", "count", "ops"
DENOISERS, BLURS = ("gaussian", "median", "bilateral", "nlm"), ("gaussian", "average", "median")
MORPHOLOGIES = ("erode", "dilate", "open", "close")
PARAMS = {
    "hflip": {}, "vflip": {},
    "affine": {"degrees": NUMBER, "translate": NUMBER, "scale": PAIR, "shear": NUMBER},
    "resized_crop": {"scale": PAIR, "ratio": PAIR},
    "grayscale": {"alpha": RANGE},
    "perspective": {"distortion": NUMBER},
    "rotation": {"degrees": NUMBER, "expand": FLAG},
    "color_jitter": {"brightness": NUMBER, "contrast": NUMBER, "saturation": NUMBER, "hue": NUMBER},
    "denoise": {"methods": DENOISERS, "strength": NUMBER},
    "blur": {"methods": BLURS, "sigma": RANGE, "average_k": RANGE, "median_k": RANGE},
    "morphology": {"ops": MORPHOLOGIES, "k": RANGE},
    "low_resolution": {"factor": RANGE},
    "superpixels": {"n_segments": RANGE, "p_replace": RANGE},
    "sharpen": {"alpha": RANGE, "lightness": RANGE},
    "emboss": {"alpha": RANGE, "strength": RANGE},
    "edge_noise_alpha": {"alpha": RANGE},
    "gaussian_noise": {"sigma": RANGE, "per_channel": SHARE},
    "dropout": {"fraction": RANGE, "per_channel": SHARE},
    "coarse_dropout": {"fraction": RANGE, "size_percent": RANGE},
    "invert": {"per_channel": SHARE},
    "add": {"value": RANGE, "per_channel": SHARE},
    "hue_saturation": {"value": RANGE},
    "multiply": {"factor": RANGE, "per_channel": SHARE},
    "frequency_noise_alpha": {"factor": RANGE, "contrast": RANGE, "exponent": RANGE},
    "linear_contrast": {"alpha": RANGE, "per_channel": SHARE},
    "some_of": {"n": COUNT, "random_order": FLAG, "ops": OPS},
}
_KIND_SAID = {NUMBER: "a number", RANGE: "a number or [low, high]", PAIR: "[low, high]", SHARE: "a number in [0, 1]",
              FLAG: "true or false", COUNT: "a count or [min, max]", OPS: "a list of ops"}


class AugmentError(ValueError):
    """A refused augmentation config: `op` is the operation's name and `key` the parameter at
    fault, where known (so that a caller can point at the line)."""

    def __init__(self, message: str, op: str | None = None, key: str | None = None):
        super().__init__(message)
        self.op, self.key = op, key


def _unknown_params(op: dict) -> None:
    """Refuses a key `op` does not read, naming the nearest one it does."""
    name, takes = op["name"], PARAMS[op["name"]]
    for key in op:
        if key in ("name", "p") or key in takes:
            continue
        near = difflib.get_close_matches(key, (*takes, "p"), n=1)
        hint = f' (did you mean "{near[0]}"?)' if near else ""
        reads = f"reads {', '.join(takes)} and p" if takes else "reads only p"
        raise AugmentError(f'augmentation {name}: unknown parameter "{key}"{hint}; {name} {reads}', name, key)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _fits(v, kind) -> bool:
    """Whether `v` is a value of `kind` (a PARAMS kind, or a tuple of the names a list may hold)."""
    def low_high(x, each) -> bool:
        return isinstance(x, list) and len(x) == 2 and all(each(e) for e in x) and x[0] <= x[1]

    if isinstance(kind, tuple):
        return isinstance(v, list) and bool(v) and all(isinstance(e, str) and e in kind for e in v)
    return {NUMBER: lambda: _is_number(v),
            RANGE: lambda: _is_number(v) or low_high(v, _is_number),
            PAIR: lambda: low_high(v, _is_number),
            SHARE: lambda: _is_number(v) and 0 <= v <= 1,
            FLAG: lambda: isinstance(v, bool),
            COUNT: lambda: (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
            or low_high(v, lambda e: isinstance(e, int) and not isinstance(e, bool) and e >= 0),
            OPS: lambda: isinstance(v, list)}[kind]()


def _wrong_kinds(op: dict) -> None:
    """Refuses a parameter whose value is not of the kind the operation reads, naming both."""
    for key, kind in PARAMS[op["name"]].items():
        if key in op and not _fits(op[key], kind):
            want = (f"a non-empty list of names from {', '.join(kind)}" if isinstance(kind, tuple) else _KIND_SAID[kind])
            raise AugmentError(f'augmentation {op["name"]}: "{key}" must be {want}, got {json.dumps(op[key])}',
                               op["name"], key)


def _random_op(name: str, cfg: dict, img: np.ndarray, rng: np.random.Generator, applied=None) -> np.ndarray:
    if name not in RANDOM_OPS:
        raise ValueError(f"unknown augmentation {name!r}")
    if name == "some_of":
        return _r_some_of(img, cfg, rng, applied)
    if applied is not None:
        applied.append(name)
    return RANDOM_OPS[name](img, cfg, rng)


class _RangeEnds:
    """A stand-in Generator whose `uniform` and `integers` draws give one end of their range
    (`high`: the upper end); other draws come from a seeded Generator."""

    def __init__(self, high: bool):
        self.high, self._rng = high, np.random.default_rng(0)

    def uniform(self, low=0.0, high=1.0, size=None):
        v = high if self.high else low
        return v if size is None else np.full(size, v, dtype=np.float64)

    def integers(self, low, high=None, size=None, endpoint=False):
        if high is None:
            low, high = 0, low
        v = (high if endpoint else high - 1) if self.high else low
        return v if size is None else np.full(size, v, dtype=np.int64)

    def __getattr__(self, name):
        return getattr(self._rng, name)


_PROBE = np.add.outer(np.arange(48) * 5, np.arange(64) * 3)[..., None].repeat(3, 2).astype(np.uint8)


def _probe(op: dict) -> None:
    """Runs `op` on a small image with every drawn parameter at the lower, then the upper,
    end of its range (and each entry of a `methods` or `ops` list alone), so that a range
    no draw could survive, e.g. a `low_resolution` factor reaching 0, is refused when the
    config is read rather than when a training draw lands on it."""
    lists = [k for k in ("methods", "ops") if isinstance(op.get(k), list)]
    variants = [op] + [{**op, k: [v]} for k in lists for v in op[k]]
    for cfg in variants:
        for high in (False, True):
            try:
                RANDOM_OPS[op["name"]](_PROBE, cfg, _RangeEnds(high))
            except Exception as e:  # noqa: BLE001 - any failure is the config's
                end = "upper" if high else "lower"
                only = "".join(f", {k} {cfg[k]}" for k in lists if cfg is not op)
                said = str(e).removeprefix(f"{op['name']}: ")
                raise AugmentError(f"augmentation {op['name']}: {said} (with its parameters at the {end} ends "
                                   f"of their ranges{only})", op["name"]) from e


def _count(choose) -> tuple[int, int] | None:
    """`choose` as (min, max) ops per sample, or None for "every op in order"."""
    if isinstance(choose, (list, tuple)):
        if len(choose) != 2 or not 0 <= int(choose[0]) <= int(choose[1]):
            raise ValueError(f"choose must be k or [min, max] with 0 <= min <= max, got {choose}")
        return int(choose[0]), int(choose[1])
    return (int(choose), int(choose)) if choose else None


@dataclass
class Augmenter:
    """Applies configured augmentations to one image at a time.

    `ops`: list of {"name": …, "p": probability, …parameters}. With `choose = k > 0`,
    each sample gets k ops drawn at random (without replacement) from the list; with
    `choose = [lo, hi]` (imgaug's SomeOf((lo, hi))) a count drawn uniformly from lo…hi
    (capped at the number of ops); each chosen op is then applied with its probability,
    in list order or, with `random_order`, shuffled. With `choose = 0` every op is tried
    in order. An op {"name": "some_of", "n": [lo, hi], "random_order": true, "ops": […]}
    nests such a group."""

    ops: list[dict] = field(default_factory=list)
    choose: int | list = 0
    random_order: bool = False
    probe: bool = True  # run each op at the ends of its ranges when made (False: already checked)

    def __post_init__(self):
        for op in self.ops:
            if not isinstance(op, dict):
                raise AugmentError(f"augmentation {op!r}: each op is an object with a \"name\" (and \"p\", parameters)")
            if op.get("name") not in OP_NAMES:
                raise AugmentError(f"unknown augmentation {op.get('name')!r}; known: {', '.join(OP_NAMES)}",
                                   op.get("name"))
            _unknown_params(op)
            _wrong_kinds(op)
            p = op.get("p", 1.0)
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
                raise AugmentError(f"augmentation {op['name']}: p must be a number in [0, 1], got {p!r}", op["name"], "p")
            if op["name"] == "some_of":
                Augmenter(op.get("ops", []), op.get("n", [0, 5]), op.get("random_order", True), probe=self.probe)
            elif self.probe:
                _probe(op)
        count = _count(self.choose)
        if count and isinstance(self.choose, int) and count[1] > len(self.ops):
            raise ValueError(f"choose must be between 0 and the number of ops ({len(self.ops)})")

    def chosen(self, rng: np.random.Generator) -> list[dict]:
        count = _count(self.choose)
        if count is None:
            idx = list(range(len(self.ops)))
        else:
            k = min(int(rng.integers(count[0], count[1] + 1)), len(self.ops))
            idx = sorted(rng.choice(len(self.ops), size=k, replace=False).tolist())
        if self.random_order:
            rng.shuffle(idx)
        return [self.ops[i] for i in idx]

    def __call__(self, img: np.ndarray, rng: np.random.Generator, applied: list | None = None) -> np.ndarray:
        _check(img)
        out = img
        for op in self.chosen(rng):
            if rng.random() < op.get("p", 1.0):
                out = _random_op(op["name"], op, out, rng, applied)
        assert out.shape == img.shape and out.dtype == np.uint8
        return out


def from_config(augment: dict | bool | None) -> Augmenter | None:
    """The Augmenter a training config's "augment" ({"ops": […], "choose": …}) describes; None
    when augmentation is off (false)."""
    return Augmenter(augment["ops"], augment.get("choose", 0)) if augment else None


# The seed's imgaug group (imgaug README's SomeOf((0, 5), [...], random_order=True)).
SEED_SOME_OF = {
    "name": "some_of", "p": 1.0, "n": [0, 5], "random_order": True, "ops": [
        {"name": "superpixels", "p": 0.5, "n_segments": [20, 200], "p_replace": [0.0, 1.0]},
        {"name": "blur", "methods": ["gaussian", "average", "median"], "sigma": [0.0, 3.0],
         "average_k": [2, 7], "median_k": [3, 11]},
        {"name": "sharpen", "alpha": [0.0, 1.0], "lightness": [0.75, 1.5]},
        {"name": "emboss", "alpha": [0.0, 1.0], "strength": [0.0, 2.0]},
        {"name": "edge_noise_alpha", "alpha": [0.5, 1.0]},
        {"name": "gaussian_noise", "sigma": [0.0, 12.75], "per_channel": 0.5},
        {"name": "dropout", "p": 0.5, "fraction": [0.01, 0.1], "per_channel": 0.5},
        {"name": "coarse_dropout", "p": 0.5, "fraction": [0.03, 0.15], "size_percent": [0.1, 0.25]},
        {"name": "invert", "p": 0.05, "per_channel": 1.0},
        {"name": "add", "value": [-10, 10], "per_channel": 0.5},
        {"name": "hue_saturation", "value": [-20, 20]},
        {"name": "multiply", "p": 0.5, "factor": [0.5, 1.5], "per_channel": 0.5},
        {"name": "frequency_noise_alpha", "p": 0.5, "exponent": [-4.0, 0.0]},
        {"name": "linear_contrast", "alpha": [0.5, 2.0], "per_channel": 0.5},
        {"name": "grayscale", "alpha": [0.0, 1.0]},
    ],
}

DEFAULT_AUGMENT = {
    "choose": 0,
    "ops": [
        {"name": "some_of", "n": 4, "random_order": False, "ops": [
            {"name": "hflip", "p": 0.5},
            {"name": "vflip", "p": 0.5},
            {"name": "affine", "p": 0.6, "degrees": 15.0, "translate": 0.1, "scale": [0.85, 1.15], "shear": 8.0},
            {"name": "resized_crop", "p": 0.6, "scale": [0.5, 1.0]},
            {"name": "grayscale", "p": 0.2},
            {"name": "perspective", "p": 0.5, "distortion": 0.2},
            {"name": "rotation", "p": 0.5, "degrees": 30.0, "expand": True},
            {"name": "color_jitter", "p": 0.8, "brightness": 0.3, "contrast": 0.3, "saturation": 0.4, "hue": 0.05},
            {"name": "denoise", "p": 0.3, "methods": ["gaussian", "median", "bilateral", "nlm"], "strength": 1.0},
            {"name": "morphology", "p": 0.3, "ops": ["erode", "dilate", "open", "close"], "k": [2, 3]},
        ]},
        SEED_SOME_OF,
    ],
}
