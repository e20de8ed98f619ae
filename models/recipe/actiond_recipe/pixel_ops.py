"""The seed's imgaug pixel operations, in deterministic form (cv2 / numpy).

imgaug is unmaintained, and albumentations 2.0.8 (the last MIT release) would add
scipy, pydantic (with its compiled core), albucore, stringzilla, simsimd and PyYAML to
the environment for operations that are each a few lines here; so they are written
with OpenCV and NumPy, following imgaug's definitions (kernels, parameter meanings).

Every function takes and returns an RGB uint8 (H, W, 3) image of the same shape; those
that need randomness take a numpy Generator (or the noise itself), so tests can check
exactly what each does. The random forms and the SomeOf group live in augment.py.
"""

from __future__ import annotations

import cv2
import numpy as np


def _check(img: np.ndarray) -> None:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {img.dtype} {img.shape}")


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return _u8(cv2.filter2D(img.astype(np.float32), -1, np.float32(kernel), borderType=cv2.BORDER_REFLECT_101))


# ---------------------------------------------------------------- blur and morphology

def average_blur(img: np.ndarray, k: int) -> np.ndarray:
    """Box filter: every pixel becomes the mean of its k×k neighbourhood."""
    _check(img)
    k = max(1, int(k))
    return cv2.blur(img, (k, k), borderType=cv2.BORDER_REFLECT_101)


MORPHOLOGY = {"erode": cv2.MORPH_ERODE, "dilate": cv2.MORPH_DILATE, "open": cv2.MORPH_OPEN,
              "close": cv2.MORPH_CLOSE}


def morphology(img: np.ndarray, op: str, k: int = 3) -> np.ndarray:
    """Grey-level erosion, dilation, opening or closing with a k×k square."""
    _check(img)
    if op not in MORPHOLOGY:
        raise ValueError(f"unknown morphology {op!r} ({', '.join(MORPHOLOGY)})")
    kernel = np.ones((max(1, int(k)), max(1, int(k))), np.uint8)
    return cv2.morphologyEx(img, MORPHOLOGY[op], kernel, borderType=cv2.BORDER_REPLICATE)


# ---------------------------------------------------------------- superpixels

def superpixel_labels(img: np.ndarray, n_segments: int, compactness: float = 10.0, iters: int = 3) -> np.ndarray:
    """SLIC-style segmentation: centres start on a grid; each pixel goes to the nearest of
    the 3×3 centres around its grid cell in (Lab colour, position) space, and centres
    move to their pixels' means."""
    h, w = img.shape[:2]
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    step = max(2.0, float(np.sqrt(h * w / max(1, n_segments))))
    ny, nx = max(1, int(round(h / step))), max(1, int(round(w / step)))
    sy, sx = h / ny, w / nx
    gy, gx = np.meshgrid((np.arange(ny) + 0.5) * sy, (np.arange(nx) + 0.5) * sx, indexing="ij")
    cpos = np.stack([gy.ravel(), gx.ravel()], 1).astype(np.float32)
    ccol = lab[cpos[:, 0].astype(int) * w + cpos[:, 1].astype(int)]
    ys, xs = np.mgrid[0:h, 0:w]
    pos = np.stack([ys.ravel(), xs.ravel()], 1).astype(np.float32)
    cy = np.minimum((pos[:, 0] / sy).astype(int), ny - 1)
    cx = np.minimum((pos[:, 1] / sx).astype(int), nx - 1)
    cand = np.stack([np.clip(cy + dy, 0, ny - 1) * nx + np.clip(cx + dx, 0, nx - 1)
                     for dy in (-1, 0, 1) for dx in (-1, 0, 1)], 1)
    weight = (compactness / step) ** 2
    n = len(cpos)
    labels = cand[:, 4]
    for _ in range(iters):
        dist = ((lab[:, None, :] - ccol[cand]) ** 2).sum(-1) + weight * ((pos[:, None, :] - cpos[cand]) ** 2).sum(-1)
        labels = cand[np.arange(len(cand)), dist.argmin(1)]
        counts = np.bincount(labels, minlength=n).astype(np.float32)
        keep = counts > 0
        for arr, src in ((cpos, pos), (ccol, lab)):
            sums = np.stack([np.bincount(labels, src[:, c], n) for c in range(src.shape[1])], 1)
            arr[keep] = sums[keep] / counts[keep, None]
    return labels.reshape(h, w)


def superpixels(img: np.ndarray, n_segments: int, replace: np.ndarray | float = 1.0,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """imgaug's Superpixels: each segment is replaced by its mean colour, each with
    probability `replace` (or where the boolean array `replace`, one per segment, says)."""
    _check(img)
    labels = superpixel_labels(img, n_segments)
    n = int(labels.max()) + 1
    if np.isscalar(replace):
        rng = rng or np.random.default_rng(0)
        replace = rng.random(n) < float(replace)
    flat = img.reshape(-1, 3).astype(np.float64)
    counts = np.maximum(np.bincount(labels.ravel(), minlength=n), 1)
    means = np.stack([np.bincount(labels.ravel(), flat[:, c], n) for c in range(3)], 1) / counts[:, None]
    swap = np.asarray(replace, bool)[labels.ravel()]
    out = flat.copy()
    out[swap] = means[labels.ravel()[swap]]
    return _u8(out.reshape(img.shape))


# ---------------------------------------------------------------- convolution kernels

def sharpen(img: np.ndarray, alpha: float, lightness: float = 1.0) -> np.ndarray:
    """imgaug's Sharpen: identity blended (by `alpha`) with the kernel
    [[-1,-1,-1],[-1,8+lightness,-1],[-1,-1,-1]]."""
    _check(img)
    ident = np.zeros((3, 3), np.float32)
    ident[1, 1] = 1
    effect = -np.ones((3, 3), np.float32)
    effect[1, 1] = 8 + lightness
    return _convolve(img, (1 - alpha) * ident + alpha * effect)


def emboss(img: np.ndarray, alpha: float, strength: float = 1.0) -> np.ndarray:
    """imgaug's Emboss: identity blended with [[-1-s,-s,0],[-s,1,s],[0,s,1+s]]."""
    _check(img)
    s = strength
    ident = np.zeros((3, 3), np.float32)
    ident[1, 1] = 1
    effect = np.float32([[-1 - s, -s, 0], [-s, 1, s], [0, s, 1 + s]])
    return _convolve(img, (1 - alpha) * ident + alpha * effect)


def edge_detect(img: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """imgaug's EdgeDetect: identity blended with the Laplacian [[0,1,0],[1,-4,1],[0,1,0]]
    (flat areas go black, edges bright)."""
    _check(img)
    ident = np.zeros((3, 3), np.float32)
    ident[1, 1] = 1
    effect = np.float32([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    return _convolve(img, (1 - alpha) * ident + alpha * effect)


# ---------------------------------------------------------------- noise masks and blending

def simplex_like_mask(h: int, w: int, rng: np.random.Generator, scale: float = 4.0, octaves: int = 3) -> np.ndarray:
    """A smooth noise field in [0, 1] (Perlin-like value noise: random grids of
    `scale`·2^o cells, bicubically upsampled, summed with halving weights)."""
    total = np.zeros((h, w), np.float32)
    for o in range(octaves):
        cells = max(2, int(round(scale * 2 ** o)))
        grid = rng.random((cells, cells)).astype(np.float32)
        total += cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC) / 2 ** o
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / max(hi - lo, 1e-6)


def frequency_noise_mask(h: int, w: int, rng: np.random.Generator, exponent: float = -2.0) -> np.ndarray:
    """imgaug's FrequencyNoise: random spectrum weighted by f^exponent (negative: smooth
    blobs, 0: white noise), back-transformed and scaled to [0, 1]."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    f = np.sqrt(fx ** 2 + fy ** 2)
    f[0, 0] = 1.0
    spectrum = (rng.normal(size=(h, w)) + 1j * rng.normal(size=(h, w))) * f ** exponent
    spectrum[0, 0] = 0
    field = np.real(np.fft.ifft2(spectrum)).astype(np.float32)
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / max(hi - lo, 1e-6)


def blend(first: np.ndarray, second: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """mask·first + (1−mask)·second per pixel (imgaug's Alpha / BlendAlpha)."""
    _check(first)
    _check(second)
    m = np.asarray(mask, np.float32)
    if m.ndim == 2:
        m = m[..., None]
    return _u8(m * first.astype(np.float32) + (1 - m) * second.astype(np.float32))


# ---------------------------------------------------------------- arithmetic

def additive_gaussian_noise(img: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Adds `noise` (float, (H, W, 1) shared by the channels or (H, W, 3) per channel)."""
    _check(img)
    return _u8(img.astype(np.float32) + noise)


def dropout(img: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """Sets the pixels where boolean `drop` ((H, W) or (H, W, 3)) is true to 0."""
    _check(img)
    d = drop if drop.ndim == 3 else drop[..., None]
    return np.where(d, np.uint8(0), img).astype(np.uint8)


def coarse_mask(h: int, w: int, p: float, size_frac: float, rng: np.random.Generator) -> np.ndarray:
    """imgaug's CoarseDropout mask: drops drawn with probability p on a grid of
    size_frac·(H, W) cells, scaled up with nearest neighbour into rectangles."""
    gh, gw = max(1, int(round(h * size_frac))), max(1, int(round(w * size_frac)))
    small = (rng.random((gh, gw)) < p).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)


def invert(img: np.ndarray) -> np.ndarray:
    _check(img)
    return 255 - img


def add(img: np.ndarray, value) -> np.ndarray:
    """Adds a value (scalar or one per channel), clipping to 0–255."""
    _check(img)
    return _u8(img.astype(np.float32) + np.asarray(value, np.float32))


def multiply(img: np.ndarray, factor) -> np.ndarray:
    """Multiplies by a factor (scalar or one per channel), clipping to 0–255."""
    _check(img)
    return _u8(img.astype(np.float32) * np.asarray(factor, np.float32))


def linear_contrast(img: np.ndarray, alpha) -> np.ndarray:
    """imgaug's LinearContrast: 128 + alpha·(v − 128) (scalar or per channel)."""
    _check(img)
    return _u8(128 + np.asarray(alpha, np.float32) * (img.astype(np.float32) - 128))


def hue_saturation(img: np.ndarray, hue: int = 0, saturation: int = 0) -> np.ndarray:
    """imgaug's AddToHueAndSaturation: adds `hue` (of 255 for a full turn, wrapping) and
    `saturation` (clipped 0–255) in HSV."""
    _check(img)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV_FULL).astype(np.int32)
    hsv[..., 0] = (hsv[..., 0] + int(hue)) % 256
    hsv[..., 1] = np.clip(hsv[..., 1] + int(saturation), 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB_FULL)
