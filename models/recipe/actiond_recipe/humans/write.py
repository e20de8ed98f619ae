"""Clips written in UCF101's layout: <root>/<action>/v_<action>_gXX_cYY.avi (H.264
through GStreamer's x264enc, so frames look like decoded camera frames), a JSON
sidecar per clip with its plan, <root>/dataset.json, and UCF101's split lists
(classInd.txt, trainlist0N.txt, testlist0N.txt) split by group."""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ..dataset import groups_text
from . import actions, camera, clip, scene


def clip_name(action: str, group: int, index: int) -> str:
    """UCF101's file stem, v_<Class>_gXX_cYY."""
    return f"v_{action}_g{group:02d}_c{index:02d}"


def encode(frames: np.ndarray, fps: int, bitrate: int, path: Path, mux: str = "avimux", timeout: float = 120) -> None:
    """BGR frames → H.264 (x264, one thread: deterministic) in AVI (or `mux`, e.g. mp4mux)."""
    n, h, w, _ = frames.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["gst-launch-1.0", "-q", "-e", "fdsrc", "fd=0", "!", "rawvideoparse", f"width={w}", f"height={h}",
            "format=bgr", f"framerate={fps}/1", "!", "videoconvert", "!", "video/x-raw,format=I420", "!",
            "x264enc", f"bitrate={bitrate}", "speed-preset=veryfast", f"key-int-max={2 * fps}", "threads=1", "!",
            "video/x-h264,profile=high", "!", mux, "!", "filesink", f"location={path}"]
    res = subprocess.run(args, input=np.ascontiguousarray(frames).tobytes(), capture_output=True, timeout=timeout)
    if res.returncode != 0:
        raise RuntimeError(f"encoding {path} failed: {res.stderr.decode(errors='replace')[-2000:]}")


def _bitrate(plan: dict) -> int:
    """kbit/s: 0.15 to 0.6 bits per pixel and frame, like low-quality camera streams."""
    rng = np.random.default_rng(plan["noise_seed"] + 1)
    return max(16, int(plan["width"] * plan["height"] * plan["fps"] * rng.uniform(0.15, 0.6) / 1000))


def _public(plan: dict) -> dict:
    return {k: v for k, v in plan.items() if not k.startswith("_")}


def rendered(root: Path, action: str, stem: str, plan: dict) -> dict | None:
    """The dataset.json entry of a clip already written with this plan (its sidecar, which
    is written after the video), or None: an interrupted render resumes where it stopped,
    and a clip from another seed, scale or renderer version is rendered again."""
    side, video = root / action / f"{stem}.json", root / action / f"{stem}.avi"
    if not (side.exists() and video.exists()):
        return None
    try:
        meta = json.loads(side.read_text())
    except (OSError, ValueError):
        return None
    return meta if meta.get("plan") == json.loads(json.dumps(_public(plan))) else None


def render_one(job: tuple) -> dict:
    """Renders and writes one clip (unless `rendered` finds it); returns its dataset.json entry."""
    root, seed, group, index, action, size, fps, seconds, scale_range, views = job
    cast = scene.sample_group(seed, group, scene.available_photos())
    plan = clip.plan_clip(seed, group, index, action, cast, size[0], size[1], fps, seconds, scale_range, views)
    stem = clip_name(action, group, index)
    done = rendered(Path(root), action, stem, plan)
    if done is not None:
        return done
    frames = clip.render_frames(plan, cast)
    bitrate = _bitrate(plan)
    encode(frames, fps, bitrate, Path(root) / action / f"{stem}.avi")
    meta = {"file": f"{action}/{stem}.avi", "label": action, "group": group, "clip": index, "seed": seed,
            "bitrate_kbps": bitrate, "background": cast["background"],
            "performers": [{"body": b.to_dict(), "look": lk.to_dict()} for b, lk in cast["performers"]],
            "plan": _public(plan)}
    (Path(root) / action / f"{stem}.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def split_lists(root: Path, entries: list[dict], labels: list[str], folds: int = 3) -> None:
    """UCF101's split files: classInd.txt, and for each of `folds` splits a test list
    of whole groups (a contiguous ~28 % of them, as UCF101's 7 of 25) and a train list
    of the rest."""
    groups = sorted({e["group"] for e in entries})
    (root / "classInd.txt").write_text("".join(f"{i + 1} {lab}\n" for i, lab in enumerate(labels)))
    per = max(1, round(0.28 * len(groups)))
    for k in range(folds):
        test = set(groups[k * per:(k + 1) * per]) or set(groups[-per:])
        train = [e for e in entries if e["group"] not in test]
        tests = [e for e in entries if e["group"] in test]
        (root / f"trainlist{k + 1:02d}.txt").write_text(
            "".join(f"{e['file']} {labels.index(e['label']) + 1}\n" for e in train))
        (root / f"testlist{k + 1:02d}.txt").write_text("".join(f"{e['file']}\n" for e in tests))


def render_dataset(root: Path, groups: list[int], clips: int, seed: int, size=(160, 120), fps: int = 10,
                   seconds: float = 3.0, labels: list[str] | None = None, jobs: int = 2, log=print,
                   scale_range: tuple[float, float] = (0.1, 0.9),
                   views: tuple[str, ...] = tuple(camera.VIEWS)) -> list[dict]:
    """Renders `clips` clips of each action for each group into `root`, merges them into
    dataset.json and rewrites the split lists over everything rendered there; people's
    heights are drawn from `scale_range` of the frame height, cameras from `views`."""
    labels = labels or actions.ACTIONS
    unknown = set(labels) - set(actions.ACTIONS)
    if unknown:
        raise SystemExit(f"unknown actions {sorted(unknown)}; known: {actions.ACTIONS}")
    unknown = set(views) - set(camera.VIEWS)
    if unknown or not views:
        raise SystemExit(f"unknown views {sorted(unknown)}; known: {camera.VIEWS}")
    if not scene.available_photos():
        log(f"warning: no background photographs in {scene.PHOTO_DIR} (Debian package lomiri-wallpapers-16.04, "
            "installed by scripts/setup.sh): using procedural backgrounds only")
    work = [(str(root), seed, g, c, a, tuple(size), fps, seconds, tuple(scale_range), tuple(views)) for a in labels for g in groups
            for c in range(1, clips + 1)]
    root.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            metas = list(pool.map(render_one, work, chunksize=4))
    else:
        metas = [render_one(j) for j in work]
    index = root / "dataset.json"
    previous = json.loads(index.read_text())["clips"] if index.exists() else []
    keep = {m["file"]: m for m in previous}
    keep.update({m["file"]: m for m in metas})
    entries = sorted(keep.values(), key=lambda m: m["file"])
    all_labels = [a for a in actions.ACTIONS if any(e["label"] == a for e in entries)]
    index.write_text(json.dumps({"generator": "actiond models/recipe render-humans", "labels": all_labels,
                                 "clips": entries}, indent=1) + "\n")
    split_lists(root, entries, all_labels)
    log(f"rendered {len(metas)} clips of people (seed {seed}, groups {groups_text(groups)}, {size[0]}x{size[1]}, "
        f"{fps} fps, {seconds} s) into {root} in {time.monotonic() - start:.1f} s")
    return metas
