"""A scripted demo video of rendered people: consecutive scenes, each one unseen
performer group doing one action, H.264 in MP4, with the schedule as a sidecar JSON
(`<path>.json`, the same fields as render-demo's: each scene's label and start/end in
seconds and nanoseconds of presentation time)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import actions, clip, scene, write

DEMO_GROUP_BASE = 900  # groups no training render uses (render-humans numbers them from 1)


def demo_actions(seed: int, scenes: int, labels: list[str] | None = None) -> list[str]:
    """Every action once per round, each round shuffled, no action twice in a row."""
    labels = labels or actions.ACTIONS
    rng = np.random.default_rng([seed, 77])
    out: list[str] = []
    while len(out) < scenes:
        round_ = [str(a) for a in rng.permutation(labels)]
        if out and round_[0] == out[-1]:
            round_.append(round_.pop(0))
        out += round_
    return out[:scenes]


def render_people_demo(path: Path, seed: int = 7, scenes: int = 10, seconds: float = 6.0, size=(320, 240),
                       fps: int = 10, bitrate: int = 300, labels: list[str] | None = None, log=print,
                       scale_range: tuple[float, float] = (0.1, 0.9)) -> dict:
    """Renders the demo and its sidecar (people's heights from `scale_range` of the frame);
    returns the sidecar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    photos = scene.available_photos()
    parts, schedule, plans = [], [], []
    t = 0
    for i, action in enumerate(demo_actions(seed, scenes, labels)):
        group = DEMO_GROUP_BASE + i
        cast = scene.sample_group(seed, group, photos)
        plan = clip.plan_clip(seed, group, 1, action, cast, size[0], size[1], fps, seconds, scale_range)
        frames = clip.render_frames(plan, cast)
        parts.append(frames)
        start_ns, t = t * 1_000_000_000 // fps, t + len(frames)
        end_ns = t * 1_000_000_000 // fps
        schedule.append({"label": action, "start_s": start_ns / 1e9, "end_s": end_ns / 1e9,
                         "start_ns": start_ns, "end_ns": end_ns})
        plans.append(write._public(plan))
    write.encode(np.concatenate(parts), fps, bitrate, path, mux="mp4mux", timeout=600)
    sidecar = {"video": path.name, "seed": seed, "fps": fps, "width": size[0], "height": size[1],
               "duration_s": t / fps, "schedule": schedule, "scenes": plans}
    Path(str(path) + ".json").write_text(json.dumps(sidecar, indent=1) + "\n")
    log(f"rendered people demo {path} ({scenes} scenes, {t / fps:.0f} s, {path.stat().st_size / 1e6:.2f} MB)")
    return sidecar
