"""Attempt 21's check: does cropping to where things move lift small people? Frames come at
256 px through the daemon's `extract-frames`; each video (or each clip, causally) gets a box
round its motion, at least MIN of the frame, cut out and scaled to the model's size; clips
scored as `assess` scores them (mean of 8, stride 4). Modes: full (no crop), video (one box
from the whole video's motion), causal (the last 8 frames' motion), cumulative (all so far);
THR, Q and MARGIN in the environment set the box (README, first table).
  .venv/bin/python models/recipe/people/attempt-21/run/motion-crop.py models/people/model.onnx \
      /work/people8/mix /work/people8/crop-cache 1161 1200 [mode] [min]"""
import os
import sys
import tomllib
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # models/recipe
from actiond_recipe import dataset as ds  # noqa: E402
from actiond_recipe.export import trained_sample_fps  # noqa: E402
from actiond_recipe.evaluate import smooth  # noqa: E402
from actiond_recipe.temporal_export import classifier  # noqa: E402

model, data, cache = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
groups = set(range(int(sys.argv[4]), int(sys.argv[5]) + 1))
mode = sys.argv[6] if len(sys.argv) > 6 else "video"
min_side = float(sys.argv[7]) if len(sys.argv) > 7 else 0.5
SRC = 256
# Change threshold over the frame's median change, share of the motion left out at each side,
# and how much larger than the motion's span the box is.
THR, Q, MARGIN = (float(os.environ.get(k, d)) for k, d in (("THR", 12), ("Q", 0.02), ("MARGIN", 1.4)))
man = tomllib.loads((model.parent / "model.toml").read_text())
labels, inp = man["labels"], man["input"]
size = inp["width"]
_, videos = ds.scan(data)
videos = [v for v in videos if v.group in groups]
frames = ds.extract(videos, cache, ds.find_actiond(), SRC, inp.get("resize", "stretch"),
                    inp.get("channel_order", "RGB"), trained_sample_fps(model), log=print)
clf = classifier(model, man, threads=2)


def motion_map(f: np.ndarray) -> np.ndarray:
    """Per-pixel count of frames whose change from the last one passes a threshold, on a 64-px grid."""
    g = f.astype(np.float32).mean(axis=3)
    g = g.reshape(len(f), 64, SRC // 64, 64, SRC // 64).mean(axis=(2, 4))
    d = np.abs(np.diff(g, axis=0))
    # Above the frame's own noise: the median change plus a margin.
    thr = np.median(d, axis=(1, 2), keepdims=True) + THR
    return (d > thr).sum(axis=0).astype(np.float32)


def box(m: np.ndarray) -> tuple[int, int, int]:
    """Square box (x, y, side, in SRC pixels) round the moving pixels, at least min_side of the frame."""
    if m.sum() < 3:
        return 0, 0, SRC
    ys, xs = np.nonzero(m)
    w = m[ys, xs]

    def span(v):
        order = np.argsort(v)
        c = np.cumsum(w[order]) / w.sum()
        return v[order][np.searchsorted(c, Q)], v[order][min(np.searchsorted(c, 1 - Q), len(v) - 1)]

    x0, x1 = span(xs)
    y0, y1 = span(ys)
    k = SRC / 64
    side = max((x1 - x0 + 1) * k, (y1 - y0 + 1) * k) * MARGIN
    side = int(min(SRC, max(side, min_side * SRC)))
    cx, cy = (x0 + x1 + 1) / 2 * k, (y0 + y1 + 1) / 2 * k
    x = int(np.clip(cx - side / 2, 0, SRC - side))
    y = int(np.clip(cy - side / 2, 0, SRC - side))
    return x, y, side


def cut(f: np.ndarray, b) -> np.ndarray:
    x, y, s = b
    return np.stack([cv2.resize(np.ascontiguousarray(im[y:y + s, x:x + s]), (size, size), interpolation=cv2.INTER_AREA)
                     for im in f])


right, first, later, sides = {}, [], [], []
for v in videos:
    f = np.asarray(frames[v.rel])
    if mode == "full":
        x = cut(f, (0, 0, SRC))
    elif mode == "video":
        b = box(motion_map(f))
        sides.append(b[2] / SRC)
        x = cut(f, b)
    else:  # causal: each frame cut by the box of the motion in the 8 frames up to it (cumulative: all up to it)
        out, b = [], (0, 0, SRC)
        for t in range(len(f)):
            if t >= 2:  # two frame changes at least
                b = box(motion_map(f[0 if mode == "cumulative" else max(0, t - 7):t + 1]))
            sides.append(b[2] / SRC)
            out.append(cut(f[t:t + 1], b)[0])
        x = np.stack(out)
    probs = clf.probabilities(x)
    truth = labels.index(v.label)
    for end, c in smooth(probs, "mean", 8, 4):
        ok = int(c.argmax()) == truth
        right.setdefault(v.label, []).append(ok)
        (first if end <= 8 else later).append(ok)
allc = [x for xs in right.values() for x in xs]
print(f"{model.name} groups {min(groups)}-{max(groups)} mode {mode} min {min_side}: clip {np.mean(allc) * 100:.1f} % "
      f"(first {np.mean(first) * 100:.1f}, later {np.mean(later) * 100:.1f}); mean box side "
      f"{np.mean(sides) if sides else 1:.2f}")
print("  " + ", ".join(f"{k} {np.mean(xs) * 100:.1f}" for k, xs in sorted(right.items())))
