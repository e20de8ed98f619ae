"""Datasets in UCF101's layout, split by video group, and frame extraction through
the daemon's own decoding path (`actiond extract-frames`)."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

VIDEO_EXTS = {".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"}
NAME = re.compile(r"^v_(?P<cls>.+)_g(?P<group>\d+)_c(?P<clip>\d+)$")


@dataclass
class Video:
    path: Path
    rel: str  # "<Class>/<file>" as in UCF101's split files
    label: str
    group: int
    clip: int


def scan(root: Path) -> tuple[list[str], list[Video]]:
    """Finds <root>/<Class>/v_<Class>_gXX_cYY.<ext>. Labels are the sub-folder names,
    sorted. Files not named that way are an error (the group decides the split). Paths
    are made absolute (extraction runs `actiond` on them from anywhere)."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise SystemExit(f"{root}: not a folder")
    labels = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    videos, bad = [], []
    for label in labels:
        for f in sorted((root / label).iterdir()):
            if f.suffix.lower() not in VIDEO_EXTS:
                continue
            m = NAME.match(f.stem)
            if not m:
                bad.append(str(f))
                continue
            videos.append(Video(f, f"{label}/{f.name}", label, int(m["group"]), int(m["clip"])))
    if bad:
        raise SystemExit(f"{len(bad)} video(s) not named v_<Class>_gXX_cYY.<ext>, e.g. {bad[0]}")
    labels = [lab for lab in labels if any(v.label == lab for v in videos)]
    if len(labels) < 2:
        raise SystemExit(f"{root}: need videos of at least two classes, found {labels}")
    return labels, videos


def groups_text(groups: list[int] | None) -> str:
    """Group numbers as ranges for people to read: [1, 2, 3, 7, 9, 10] → "1–3, 7, 9–10"."""
    if not groups:
        return "none"
    gs, parts, start = sorted(groups), [], None
    for i, g in enumerate(gs):
        start = g if start is None else start
        if i + 1 == len(gs) or gs[i + 1] != g + 1:
            parts.append(f"{start}–{g}" if g != start else f"{g}")
            start = None
    return ", ".join(parts)


def split_by_group(videos: list[Video], test_groups: list[int] | None, val_groups: list[int] | None,
                   seed: int, test_fraction: float = 0.2, val_fraction: float = 0.15) -> dict:
    """Assigns whole groups to train/val/test, never single frames or clips: clips of one
    group come from the same source and would leak. Unless given, groups are drawn at
    random (seeded): `test_fraction` and `val_fraction` of them, at least one each."""
    groups = sorted({v.group for v in videos})
    rng = random.Random(f"split/{seed}")
    pool = groups[:]
    rng.shuffle(pool)
    if test_groups is None:
        n = max(1, math.floor(len(groups) * test_fraction + 0.5))
        test_groups = [g for g in pool if g not in (val_groups or [])][:n]
    if val_groups is None:
        n = max(1, math.floor(len(groups) * val_fraction + 0.5))
        val_groups = [g for g in pool if g not in test_groups][:n]
    test_groups, val_groups = sorted(test_groups), sorted(val_groups)
    if set(test_groups) & set(val_groups):
        raise SystemExit(f"groups {sorted(set(test_groups) & set(val_groups))} are in both test and validation")
    train_groups = [g for g in groups if g not in test_groups and g not in val_groups]
    if not train_groups:
        raise SystemExit(f"no groups left for training (groups {groups})")
    out = {"train": [], "val": [], "test": []}
    for v in videos:
        part = "test" if v.group in test_groups else "val" if v.group in val_groups else "train"
        out[part].append(v)
    return {"method": "by group", "train_groups": train_groups, "val_groups": val_groups,
            "test_groups": test_groups, **out}


def split_from_files(videos: list[Video], split_dir: Path, index: int, val_groups: list[int] | None,
                     seed: int, val_fraction: float = 0.15) -> dict:
    """UCF101's official split N: testlist0N.txt is the test set, trainlist0N.txt the
    rest; validation takes whole groups out of the training list."""
    def names(f: Path) -> set[str]:
        if not f.is_file():
            raise SystemExit(f"split file {f} not found")
        return {line.split()[0].replace("\\", "/") for line in f.read_text().splitlines() if line.strip()}

    train_names = names(split_dir / f"trainlist{index:02d}.txt")
    test_names = names(split_dir / f"testlist{index:02d}.txt")
    by_rel = {v.rel: v for v in videos}
    missing = sorted((train_names | test_names) - set(by_rel))
    if missing:
        raise SystemExit(f"{len(missing)} video(s) listed in the split files are missing, e.g. {missing[0]}")
    train = [by_rel[n] for n in sorted(train_names)]
    test = [by_rel[n] for n in sorted(test_names)]
    if set(v.group for v in train) & set(v.group for v in test):
        print("warning: the split files put clips of one group in both train and test")
    groups = sorted({v.group for v in train})
    if val_groups is None:
        rng = random.Random(f"split/{seed}")
        pool = groups[:]
        rng.shuffle(pool)
        val_groups = sorted(pool[:max(1, math.floor(len(groups) * val_fraction + 0.5))])
    return {"method": f"UCF101 split files {index:02d} ({split_dir})",
            "train_groups": [g for g in groups if g not in val_groups], "val_groups": sorted(val_groups),
            "test_groups": sorted({v.group for v in test}),
            "train": [v for v in train if v.group not in val_groups],
            "val": [v for v in train if v.group in val_groups], "test": test}


def under_way_times(videos, share: float) -> dict[str, float]:
    """Per rendered video of an action with an onset (falling, sitting down), when `share` of it
    is under way (s), from the renderer's sidecar; videos without one are not in it."""
    from .humans import actions

    if not 0 <= share <= 1:
        raise SystemExit(f"--from-onset {share}: give the share of the action under way, from 0 to 1")
    out = {}
    for v in videos:
        plan = rendered_plan(v)
        if plan is None:
            continue
        clip_s = (plan.get("frames", 1) - 1) / plan.get("fps", 1)
        times = [actions.under_way(p["params"], clip_s, share) for p in plan.get("people", [])
                 if p.get("action") == v.label]
        times = [x for x in times if x is not None]
        if times:
            out[v.rel] = min(times)
    return out


def rendered_plan(v: Video) -> dict | None:
    """The renderer's plan of video `v` from its sidecar (beside the file a link points to); None
    for a video the renderer did not make (a user's own clip)."""
    sidecar = Path(v.path).resolve().with_suffix(".json")
    if not sidecar.is_file():
        return None
    return json.loads(sidecar.read_text()).get("plan") or {}


def person_heights(videos) -> dict[str, float]:
    """Per rendered video, the share of the frame height its main person fills standing (the
    renderer's camera scale); videos without a sidecar are not in it."""
    out = {}
    for v in videos:
        scale = ((rendered_plan(v) or {}).get("camera") or {}).get("scale")
        if scale is not None:
            out[v.rel] = float(scale)
    return out


def before_under_way(when: dict[str, float], rel: str, last_frame: int, fps: float) -> bool:
    """Whether a window of video `rel` whose last frame (0-based, at `fps`) is `last_frame` ends
    before its action is under way (`when`, from `under_way_times`): it shows someone standing."""
    return rel in when and last_frame / fps < when[rel]


def fingerprint(videos: list[Video]) -> str:
    """sha256 over every video's relative path, size and content hash."""
    h = hashlib.sha256()
    for v in sorted(videos, key=lambda v: v.rel):
        fh = hashlib.sha256(v.path.read_bytes()).hexdigest()
        h.update(f"{v.rel}\t{v.path.stat().st_size}\t{fh}\n".encode())
    return h.hexdigest()


def find_actiond(explicit: str | None = None) -> str:
    """The actiond binary: --actiond, $ACTIOND, target/{release,debug}, or PATH."""
    cands = [explicit, os.environ.get("ACTIOND")]
    root = Path(__file__).resolve().parents[3]
    tdir = Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    cands += [str(tdir / "release" / "actiond"), str(tdir / "debug" / "actiond"), shutil.which("actiond")]
    for c in cands:
        if c and Path(c).is_file():
            return c
    raise SystemExit("actiond binary not found: build it (cargo build --release) or pass --actiond PATH")


@contextlib.contextmanager
def cache_lock(out: Path, log=print):
    """Holds `out`'s lock (a file beside it, which emptying the cache leaves alone): runs that
    share a cache take turns at filling it instead of emptying it under each other."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another run that is extracting frames into {out}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def extract(videos: list[Video], out: Path, actiond: str, size: int, resize: str, channel_order: str,
            sample_fps: float, log=print) -> dict[str, np.ndarray]:
    """Frames of every video at the model's size, decoded, sampled, resized and
    colour-converted by the daemon's own pipeline. Cached in `out` (reused when the
    settings match; a video written after its frames is extracted again; one run at a time
    fills it). Returns {rel: (frames, H, W, 3) uint8}, read-only maps of the cache files."""
    with cache_lock(out, log):
        return _extract(videos, out, actiond, size, resize, channel_order, sample_fps, log)


def _extract(videos: list[Video], out: Path, actiond: str, size: int, resize: str, channel_order: str,
             sample_fps: float, log) -> dict[str, np.ndarray]:
    out.mkdir(parents=True, exist_ok=True)
    settings = {"width": size, "height": size, "resize": resize, "channel_order": channel_order,
                "sample_fps": sample_fps}
    stamp = out / "settings.json"
    if stamp.exists() and json.loads(stamp.read_text()) != settings:
        shutil.rmtree(out)
        out.mkdir(parents=True)
    if not stamp.exists():
        # Written once, whole (rename): runs that share the cache read it while another starts.
        tmp = out / f".settings.{os.getpid()}.json"
        tmp.write_text(json.dumps(settings))
        os.replace(tmp, stamp)

    def stem_dir(v: Video) -> Path:
        return out / v.label

    def fresh(v: Video) -> bool:  # cached, and after the video was last written (a re-render)
        meta = stem_dir(v) / f"{v.path.stem}.json"
        return meta.exists() and meta.stat().st_mtime_ns >= v.path.stat().st_mtime_ns

    todo = [v for v in videos if not fresh(v)]
    by_label: dict[str, list[Video]] = {}
    for v in todo:
        by_label.setdefault(v.label, []).append(v)
    for label, vs in by_label.items():
        for i in range(0, len(vs), 64):
            chunk = vs[i:i + 64]
            cmd = [actiond, "extract-frames", "--size", f"{size}x{size}", "--resize", resize,
                   "--channel-order", channel_order, "--sample-fps", str(sample_fps),
                   "--out", str(stem_dir(chunk[0]))] + [str(v.path) for v in chunk]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"actiond extract-frames failed:\n{r.stderr[-3000:]}")
    if todo:
        log(f"extracted frames of {len(todo)} video(s) with {actiond} extract-frames")
    frames = {}
    for v in videos:
        meta = json.loads((stem_dir(v) / f"{v.path.stem}.json").read_text())
        shape = (meta["frames"], meta["height"], meta["width"], 3)
        # Read-only maps of the cache: runs that share it (hard links) share one copy in
        # the page cache (10 GB for 12,000 clips at 10 fps and 96 px) instead of one each.
        frames[v.rel] = (np.memmap(stem_dir(v) / f"{v.path.stem}.rgb", np.uint8, mode="r", shape=shape)
                         if meta["frames"] else np.zeros(shape, np.uint8))
    return frames
