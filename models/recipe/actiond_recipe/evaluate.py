"""Evaluation of an exported model through ONNX Runtime: frame, clip (the daemon's
smoothing) and video accuracy, per-class precision/recall, confusion matrices, CPU
latency; the PNG rendering of a confusion matrix."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .augment import normalize
from .dataset import before_under_way


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def pct(x) -> str:
    """A share as a percentage for reports ("n/a" when there is none)."""
    return "n/a" if x is None else f"{100 * x:.1f} %"


def smooth(probs: np.ndarray, method: str, window: int, stride: int) -> list[tuple[int, np.ndarray]]:
    """Clip probabilities exactly as src/smooth/ computes them, as (index of the
    clip's last frame (1-based), probabilities):
    mean: the average of the last `window` frames, first at frame `window`, then every
    `stride` frames; ema: p ← α·x + (1−α)·p, α = 2/(window+1), p = x at frame 1, a clip
    after every `stride`-th frame."""
    out = []
    if method == "mean":
        for n in range(window, len(probs) + 1, stride):
            out.append((n, probs[n - window:n].mean(axis=0)))
    elif method == "ema":
        alpha = 2.0 / (window + 1)
        p = None
        for n, x in enumerate(probs, start=1):
            p = x.copy() if p is None else alpha * x + (1 - alpha) * p
            if n % stride == 0:
                out.append((n, p.copy()))
    else:
        raise ValueError(f"unknown smoothing method {method!r}")
    return out


class OnnxClassifier:
    """Runs an exported model the way the daemon does: uint8 RGB frames at the model's
    size → (pixel/scale − mean)/std → layout → ONNX Runtime → softmax if logits."""

    def __init__(self, path: Path, manifest: dict, threads: int = 0):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        self.manifest = manifest
        self.norm = {k: manifest["input"][k] for k in ("scale", "mean", "std")}

    def prepare(self, frames: np.ndarray) -> np.ndarray:
        x = normalize(frames, self.norm)
        if self.manifest["input"]["layout"] == "NCHW":
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        return x

    def probabilities(self, frames: np.ndarray, batch: int = 32) -> np.ndarray:
        outs = []
        for i in range(0, len(frames), batch):
            (y,) = self.session.run([self.manifest["output"]["name"]],
                                    {self.manifest["input"]["name"]: self.prepare(frames[i:i + batch])})
            outs.append(y)
        y = np.concatenate(outs) if outs else np.zeros((0, len(self.manifest["labels"])), np.float32)
        return softmax(y) if self.manifest["output"]["kind"] == "logits" else y

    def latency_ms(self, runs: int = 30, warmup: int = 5) -> float:
        """Median wall time of one batch-1 inference (preprocessing excluded)."""
        return self.median_ms(self.latency_feed(), runs, warmup)

    def latency_feed(self) -> dict:
        """The inputs of one call on a random frame."""
        s = self.manifest["input"]["width"]
        x = self.prepare(np.random.default_rng(0).integers(0, 256, (1, s, s, 3), dtype=np.uint8))
        return {self.manifest["input"]["name"]: x}

    def median_ms(self, feed: dict, runs: int = 30, warmup: int = 5) -> float:
        """Median wall time of `runs` runs on `feed` after `warmup` runs."""
        for _ in range(warmup):
            self.session.run(None, feed)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            self.session.run(None, feed)
            times.append((time.perf_counter() - t) * 1000)
        return float(np.median(times))


def per_class(conf: np.ndarray, labels: list[str]) -> dict:
    out = {}
    for i, lab in enumerate(labels):
        tp = conf[i, i]
        pred = conf[:, i].sum()
        true = conf[i, :].sum()
        out[lab] = {"precision": float(tp / pred) if pred else None,
                    "recall": float(tp / true) if true else None, "support": int(true)}
    return out


def confusion(y_true, y_pred, n) -> np.ndarray:
    m = np.zeros((n, n), np.int64)
    for t, p in zip(y_true, y_pred):
        m[t, p] += 1
    return m


def evaluate(clf: OnnxClassifier, videos, frames: dict, labels: list[str], smoothing: dict,
             under_way: dict[str, float] | None = None, fps: float = 1.0,
             heights: dict[str, float] | None = None) -> dict:
    """Frame-, clip- and video-level results over `videos`; with `under_way` (rel → s, frames at
    `fps`) also "clip_under_way": every clip but those that end before their video's time there
    (a fall's first clips show someone standing, as idle people stand); with `heights` (rel → share
    of the frame height the main person fills) the clip accuracy by that height."""
    idx = {lab: i for i, lab in enumerate(labels)}
    ft, fp, ct, cp, vt, vp = [], [], [], [], [], []
    cend = []  # each clip's end frame (exclusive), so that clips can be told apart by where they lie in a video
    crel = []  # each clip's video
    short = 0
    for v in videos:
        probs = clf.probabilities(frames[v.rel])
        if len(probs) == 0:
            continue
        t = idx[v.label]
        ft += [t] * len(probs)
        fp += probs.argmax(axis=1).tolist()
        clips = smooth(probs, smoothing["method"], smoothing["window"], smoothing["stride"])
        if not clips:
            short += 1
        ct += [t] * len(clips)
        cp += [int(c.argmax()) for _, c in clips]
        cend += [n for n, _ in clips]
        crel += [v.rel] * len(clips)
        vt.append(t)
        vp.append(int(probs.mean(axis=0).argmax()))
    res = {level: scores(yt, yp, labels)
           for level, (yt, yp) in {"frame": (ft, fp), "clip": (ct, cp), "video": (vt, vp)}.items()}
    res["clip"]["smoothing"] = smoothing
    res["clip"]["videos_shorter_than_window"] = short
    res["clip"]["by_end_frame"] = by_end_frame(ct, cp, cend, labels)
    if heights:
        res["clip"]["by_height"] = by_height(ct, cp, crel, heights)
    if under_way is not None:
        keep = [not before_under_way(under_way, rel, n - 1, fps) for rel, n in zip(crel, cend)]
        res["clip_under_way"] = {**scores([t for t, k in zip(ct, keep) if k], [p for p, k in zip(cp, keep) if k],
                                          labels), "left_out": keep.count(False)}
    return res


def scores(yt, yp, labels: list[str]) -> dict:
    """Accuracy, count, per-class precision and recall and the confusion matrix of predictions `yp`."""
    conf = confusion(yt, yp, len(labels))
    return {"accuracy": float(np.trace(conf) / conf.sum()) if conf.sum() else None,
            "count": int(conf.sum()), "per_class": per_class(conf, labels), "confusion": conf.tolist()}


def by_end_frame(yt, yp, ends, labels: list[str]) -> dict:
    """Clip accuracy and per-class recall grouped by the frame where each clip ends: tells
    whether a class is missed before its action starts, during it, or after (a fall's lying still)."""
    out = {}
    for end in sorted(set(ends)):
        sel = [i for i, e in enumerate(ends) if e == end]
        conf = confusion([yt[i] for i in sel], [yp[i] for i in sel], len(labels))
        out[str(end)] = {"accuracy": float(np.trace(conf) / conf.sum()), "count": int(conf.sum()),
                         "recall": {lab: r["recall"] for lab, r in per_class(conf, labels).items()}}
    return out


HEIGHT_EDGES = (0.0, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8)
"""Where `by_height` splits the share of the frame height a person fills (the renderer draws 0.1-0.9)."""


def by_height(yt, yp, rels, heights: dict[str, float]) -> list[dict]:
    """Clip accuracy grouped by the share of the frame height each clip's main person fills
    (`heights`, rel → share; clips of videos not in it are left out): tells whether a model's
    errors are the people too few pixels high. Bands from HEIGHT_EDGES, the last one open."""
    edges = HEIGHT_EDGES + (float("inf"),)
    out = []
    for lo, hi in zip(edges, edges[1:]):
        hits = [t == p for t, p, r in zip(yt, yp, rels) if r in heights and lo <= heights[r] < hi]
        if hits:
            out.append({"from": lo, "to": None if hi == float("inf") else hi,
                        "accuracy": sum(hits) / len(hits), "count": len(hits)})
    return out


def confusion_png(conf: list[list[int]], labels: list[str], title: str, path: Path) -> None:
    """Draws a confusion matrix (rows: true, columns: predicted; cell shade: row share)."""
    from PIL import Image, ImageDraw, ImageFont

    m = np.asarray(conf)
    n = len(labels)
    cell, left, top = 64, 110, 120
    img = Image.new("RGB", (left + n * cell + 20, top + n * cell + 40), "white")
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    d.text((10, 8), title, fill="black", font=font)
    d.text((left, top - 100), "predicted →", fill="black", font=font)
    d.text((10, top - 16), "true ↓", fill="black", font=font)
    for j, lab in enumerate(labels):
        # Column labels, rotated.
        tmp = Image.new("RGB", (90, 14), "white")
        ImageDraw.Draw(tmp).text((0, 0), lab[:14], fill="black", font=font)
        tmp = tmp.rotate(90, expand=True)
        img.paste(tmp, (left + j * cell + cell // 2 - 7, top - 92))
    for i, lab in enumerate(labels):
        d.text((10, top + i * cell + cell // 2 - 6), lab[:16], fill="black", font=font)
        total = m[i].sum()
        for j in range(n):
            share = m[i, j] / total if total else 0.0
            shade = int(255 - 200 * share)
            colour = (shade, shade, 255) if i == j else (255, shade, shade)
            x0, y0 = left + j * cell, top + i * cell
            d.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=colour, outline="gray")
            d.text((x0 + 8, y0 + cell // 2 - 6), str(int(m[i, j])), fill="black", font=font)
    img.save(path)


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1) + "\n")
