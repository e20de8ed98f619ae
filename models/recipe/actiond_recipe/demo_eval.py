"""Clip accuracy of a model on freshly rendered demo streams, offline: the same frames
(`actiond extract-frames`), the same ONNX Runtime inference and the same smoothing as
the daemon (the parity tests show they agree), without real-time playback."""

from __future__ import annotations

import json
import subprocess
import tempfile
import tomllib
from pathlib import Path

import numpy as np

from . import render
from .evaluate import OnnxClassifier, smooth


def evaluate_demo(model: Path, seeds: list[int], actiond: str, scenes: int = 8, seconds: float = 5.0,
                  sample_fps: float = 5.0, method: str = "mean", window: int = 8, stride: int = 4,
                  log=print) -> dict:
    man = tomllib.loads((model.parent / "model.toml").read_text())
    clf = OnnxClassifier(model, man, threads=1)
    labels = man["labels"]
    w, h = man["input"]["width"], man["input"]["height"]
    per_seed = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            video = Path(tmp) / f"demo{seed}.mp4"
            side = render.render_demo(video, seed, scenes, seconds, log=lambda *_: None)
            subprocess.run([actiond, "extract-frames", "--manifest", str(model.parent / "model.toml"),
                            "--sample-fps", str(sample_fps), "--out", tmp, str(video)],
                           check=True, capture_output=True)
            meta = json.loads((Path(tmp) / f"demo{seed}.json").read_text())
            frames = np.fromfile(Path(tmp) / f"demo{seed}.rgb", np.uint8).reshape(meta["frames"], h, w, 3)
            pts = meta["pts_ns"]
            probs = clf.probabilities(frames)
            scored = correct = 0
            wrong = []
            for n, p in smooth(probs, method, window, stride):
                start, end = pts[n - window if method == "mean" else max(0, n - window)], pts[n - 1]
                scene = next((s for s in side["schedule"] if s["start_ns"] <= start and end < s["end_ns"]), None)
                if scene is None:
                    continue
                scored += 1
                got = labels[int(p.argmax())]
                if got == scene["label"]:
                    correct += 1
                else:
                    wrong.append(f"{start / 1e9:.1f}-{end / 1e9:.1f} s {got} for {scene['label']}")
            per_seed.append({"seed": seed, "scored": scored, "correct": correct, "wrong": wrong})
            log(f"demo seed {seed}: {correct}/{scored} clips correct" + (f"; wrong: {wrong}" if wrong else ""))
    total = sum(s["scored"] for s in per_seed)
    right = sum(s["correct"] for s in per_seed)
    return {"seeds": per_seed, "clips": total, "correct": right, "accuracy": right / total if total else None,
            "scenes": scenes, "seconds": seconds, "smoothing": {"method": method, "window": window, "stride": stride}}
