"""Clip accuracy of a model on freshly rendered demo streams (test patterns, or people with
`people=True`), offline: the same frames (`actiond extract-frames`), the model run as the
daemon runs it (frame, clip or stateful) and the same smoothing as the daemon (the parity
tests show they agree), without real-time playback."""

from __future__ import annotations

import json
import subprocess
import tempfile
import tomllib
from pathlib import Path

import numpy as np

from . import render
from .evaluate import smooth
from .temporal_export import classifier


def evaluate_demo(model: Path, seeds: list[int], actiond: str, scenes: int = 8, seconds: float = 5.0,
                  sample_fps: float | None = None, method: str = "mean", window: int = 8, stride: int = 4,
                  people: bool = False, scale: tuple[float, float] = (0.4, 0.9), log=print) -> dict:
    """Scores `model` on one demo per seed; `sample_fps` defaults to the manifest's (else 5)."""
    man = tomllib.loads((model.parent / "model.toml").read_text())
    clf = classifier(model, man, threads=1)
    labels = man["labels"]
    w, h = man["input"]["width"], man["input"]["height"]
    sample_fps = sample_fps or man["input"].get("sample_fps", 5.0)
    per_seed = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            video = Path(tmp) / f"demo{seed}.mp4"
            if people:
                from .humans.demo import render_people_demo
                side = render_people_demo(video, seed, scenes, seconds, log=lambda *_: None, scale_range=scale)
            else:
                side = render.render_demo(video, seed, scenes, seconds, log=lambda *_: None)
            subprocess.run([actiond, "extract-frames", "--manifest", str(model.parent / "model.toml"),
                            "--sample-fps", str(sample_fps), "--out", tmp, str(video)],
                           check=True, capture_output=True)
            meta = json.loads((Path(tmp) / f"demo{seed}.json").read_text())
            frames = np.fromfile(Path(tmp) / f"demo{seed}.rgb", np.uint8).reshape(meta["frames"], h, w, 3)
            pts = meta["pts_ns"]
            probs = clf.probabilities(frames)
            # A clip model's first output comes at its T-th frame: output i is frame i + skip's.
            skip = len(frames) - len(probs)
            scored = correct = 0
            wrong = []
            for n, p in smooth(probs, method, window, stride):
                first = n - window if method == "mean" else max(0, n - window)
                start, end = pts[skip + first], pts[skip + n - 1]
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
    return {"model": man.get("name"), "demo": "people" if people else "patterns",
            **({"scale": list(scale)} if people else {}), "sample_fps": sample_fps,
            "seeds": per_seed, "clips": total, "correct": right, "accuracy": right / total if total else None,
            "scenes": scenes, "seconds": seconds, "smoothing": {"method": method, "window": window, "stride": stride}}
