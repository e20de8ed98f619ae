"""What a model answers on street scenes (humans/street.py): a lone pedestrian and a
walking crowd, each rendered fresh, encoded as H.264, read back through the daemon's
`extract-frames` and run as the daemon runs the model (frame, clip or stateful), with
its clip smoothing. Everyone in these scenes walks, so the share of clips labelled
`walking` is the hit rate and the share labelled `falling` the false-alarm rate."""

from __future__ import annotations

import json
import subprocess
import tempfile
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np

from .evaluate import pct, smooth
from .humans import clip, scene, street, write
from .temporal_export import classifier


def render_scene(path: Path, seed: int, index: int, kind: str, size=(320, 240), fps: int = 10,
                 seconds: float = 6.0, scale_range: tuple[float, float] = (0.15, 0.6)) -> dict:
    """Renders one street scene to `path` (H.264 in MP4); returns its public plan."""
    lo, hi = street.KINDS[kind]
    walkers = int(np.random.default_rng([seed, index, 3]).integers(lo, hi + 1))
    cast = street.street_cast(seed, index, walkers, scene.available_photos())
    plan = street.plan_street(seed, index, kind, cast, size[0], size[1], fps, seconds, scale_range)
    write.encode(clip.render_frames(plan, cast), fps, write._bitrate(plan), path, mux="mp4mux")
    return write._public(plan)


def tally(labels: list[str], predicted: list[int]) -> dict:
    """Counts and shares of each predicted label, plus the walking and falling shares."""
    n = len(predicted)
    counts = Counter(labels[i] for i in predicted)
    share = {lab: counts[lab] / n for lab in labels if counts[lab]} if n else {}
    return {"clips": n, "counts": dict(counts), "share": share,
            "walking": share.get("walking", 0.0), "falling": share.get("falling", 0.0)}


def load(model: Path) -> tuple[Path, list[str], tuple[int, int], object]:
    """A model as the checks run it: its manifest's path, labels, input (width, height) and
    classifier (one thread)."""
    manifest_path = model.parent / "model.toml"
    man = tomllib.loads(manifest_path.read_text())
    return manifest_path, man["labels"], (man["input"]["width"], man["input"]["height"]), \
        classifier(model, man, threads=1)


def answers(video: Path, actiond: str, manifest_path: Path, clf, size: tuple[int, int], sample_fps: float,
            window: int, stride: int) -> list[int]:
    """The model's smoothed clip answers (label indices) on one video, its frames read
    through the daemon's `extract-frames` into the video's folder."""
    subprocess.run([actiond, "extract-frames", "--manifest", str(manifest_path), "--sample-fps", str(sample_fps),
                    "--out", str(video.parent), str(video)], check=True, capture_output=True)
    meta = json.loads(video.with_suffix(".json").read_text())
    frames = np.fromfile(video.with_suffix(".rgb"), np.uint8).reshape(meta["frames"], size[1], size[0], 3)
    return [int(p.argmax()) for _, p in smooth(clf.probabilities(frames), "mean", window, stride)]


def check(model: Path, actiond: str, seed: int = 1, scenes: int = 10, kinds=("pedestrian", "crowd"),
          seconds: float = 6.0, scale_range: tuple[float, float] = (0.15, 0.6), sample_fps: float = 5.0,
          window: int = 8, stride: int = 4, log=print) -> dict:
    """Renders `scenes` scenes of each kind and returns what the model said, per kind and per scene."""
    manifest_path, labels, (w, h), clf = load(model)
    out = {"model": str(model), "seed": seed, "scenes": scenes, "seconds": seconds, "scale": list(scale_range),
           "sample_fps": sample_fps,
           "smoothing": {"method": "mean", "window": window, "stride": stride}, "kinds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            predicted, per_scene = [], []
            for i in range(scenes):
                index = (0 if kind == "pedestrian" else 1000) + i
                video = Path(tmp) / f"{kind}{i}.mp4"
                plan = render_scene(video, seed, index, kind, seconds=seconds, scale_range=scale_range)
                got = answers(video, actiond, manifest_path, clf, (w, h), sample_fps, window, stride)
                predicted += got
                per_scene.append({"index": index, "walkers": len(plan["people"]), "view": plan["camera"]["view"],
                                  "scale": plan["camera"]["scale"], **tally(labels, got)})
            out["kinds"][kind] = {**tally(labels, predicted), "per_scene": per_scene}
            k = out["kinds"][kind]
            log(f"{kind}: {k['clips']} clips, walking {k['walking']:.1%}, falling {k['falling']:.1%}, "
                f"all: {dict(sorted(k['counts'].items(), key=lambda x: -x[1]))}")
    return out


def markdown(res: dict) -> str:
    """The check as a short Markdown table."""
    lines = [f"Street check of `{res['model']}`: {res['scenes']} fresh scenes of each kind, {res['seconds']:g} s, "
             f"walker 0 at {res['scale'][0]:g}–{res['scale'][1]:g} of the frame height, sampled at "
             f"{res.get('sample_fps', 5.0):g} fps; everyone walks.", "",
             "| scenes | clips | `walking` | `falling` | other answers |", "| --- | --- | --- | --- | --- |"]
    for kind, k in res["kinds"].items():
        others = ", ".join(f"{lab} {n}" for lab, n in sorted(k["counts"].items(), key=lambda x: -x[1])
                           if lab not in ("walking", "falling"))
        lines.append(f"| {kind} | {k['clips']} | {pct(k['walking'])} | {pct(k['falling'])} | {others or '—'} |")
    return "\n".join(lines) + "\n"
