"""Synthetic clips rendered with GStreamer (gst-launch-1.0), in UCF101's layout.

The scenes are GStreamer's own test patterns (videotestsrc), the same source the
daemon's `test:<pattern>` streams use, with randomized colours, resolution, scrolling
speed, ball motion, flips, brightness/contrast/saturation/hue, a noise layer, camera-
style text and clock overlays, and lossy H.264 at a random bitrate. A single frame
tells the classes apart; nothing about them needs Python to render.

Two parameter profiles: "train" and "test" draw from different resolution sets,
speed ranges, noise levels and overlay texts (and callers give them different
seeds), so a model is tested on clips rendered unlike the ones it learned from.

Layout: <root>/<label>/v_<label>_gXX_cYY.mp4, a sidecar <root>/<label>/v_..._cYY.json
with the exact parameters, and <root>/dataset.json listing everything.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

# label -> the videotestsrc patterns rendered for it.
CLASSES: dict[str, list[str]] = {
    "ball": ["ball"],
    "checkers": ["checkers-2", "checkers-4", "checkers-8"],
    "circular": ["circular"],
    "pinwheel": ["pinwheel"],
    "smpte": ["smpte", "smpte75", "smpte100"],
    "snow": ["snow"],
}
LABELS = list(CLASSES)
# Patterns whose drawing uses foreground-color/background-color.
COLOURED = {"ball", "circular", "pinwheel", "snow"}

PROFILES = {
    "train": {
        "sizes": [(160, 120), (240, 180), (320, 240), (480, 360), (640, 480)],
        "speed": 4,
        "noise": (0.04, 0.22),
        "texts": ["CAM 1", "Entrance", "Hall B", "cam-07", "Court 2", "PARKING"],
        "bitrate": (250, 1500),
        "fps": [10, 15, 25],
    },
    "test": {
        "sizes": [(200, 150), (352, 288), (400, 300), (640, 480)],
        "speed": 6,
        "noise": (0.03, 0.16),
        "texts": ["Gate 4", "LOBBY", "court-1", "Aisle 9", "EXIT"],
        "bitrate": (200, 1200),
        "fps": [12, 20, 30],
    },
}


@dataclass
class Scene:
    """Everything needed to render one clip (or one demo segment)."""

    label: str
    pattern: str
    width: int
    height: int
    fps: int
    frames: int
    foreground: int = 0xFFFFFFFF
    background: int = 0xFF000000
    speed: int = 0
    motion: str = "wavy"
    flip: str = "none"
    brightness: float = 0.0
    contrast: float = 1.0
    saturation: float = 1.0
    hue: float = 0.0
    noise: float = 0.0
    text: str | None = None
    text_valign: str = "top"
    text_halign: str = "left"
    clock: bool = False
    bitrate: int = 800
    extra: dict = field(default_factory=dict)


def _colour(rng: random.Random) -> int:
    return 0xFF000000 | (rng.randrange(256) << 16) | (rng.randrange(256) << 8) | rng.randrange(256)


def _luma(argb: int) -> float:
    r, g, b = (argb >> 16) & 255, (argb >> 8) & 255, argb & 255
    return 0.299 * r + 0.587 * g + 0.114 * b


def random_scene(label: str, rng: random.Random, profile: str, seconds: float) -> Scene:
    """Draws one scene of `label` from `profile`'s parameter ranges."""
    p = PROFILES[profile]
    width, height = rng.choice(p["sizes"])
    fps = rng.choice(p["fps"])
    # Checkers cells must survive scaling to the model's size (~1 px at 128 px):
    # fine checkers only on small frames.
    patterns = CLASSES[label]
    if label == "checkers":
        patterns = [q for q in patterns if int(q.split("-")[1]) * 160 >= width]
    pattern = rng.choice(patterns)
    scene = Scene(label=label, pattern=pattern, width=width, height=height, fps=fps,
                  frames=max(1, round(seconds * fps)))
    if pattern in COLOURED and rng.random() > 0.2:  # 20 %: GStreamer's default white on black
        while True:
            fg, bg = _colour(rng), _colour(rng)
            if abs(_luma(fg) - _luma(bg)) >= 50:
                break
        scene.foreground, scene.background = fg, bg
    speed = p["speed"] * width // 320
    scene.speed = rng.randint(-speed, speed) if rng.random() < 0.6 else 0
    scene.motion = rng.choice(["wavy", "sweep", "hsweep"])
    scene.flip = rng.choice(["none", "none", "horizontal-flip", "vertical-flip", "rotate-180"])
    scene.brightness = round(rng.uniform(-0.15, 0.15), 3)
    scene.contrast = round(rng.uniform(0.75, 1.25), 3)
    scene.saturation = round(rng.uniform(0.6, 1.4), 3)
    scene.hue = round(rng.uniform(-0.08, 0.08), 3)
    if label != "snow" and rng.random() < 0.5:
        scene.noise = round(rng.uniform(*p["noise"]), 3)
    if rng.random() < 0.5:
        scene.text = rng.choice(p["texts"])
        scene.text_valign = rng.choice(["top", "bottom"])
        scene.text_halign = rng.choice(["left", "right"])
    scene.clock = rng.random() < 0.35
    scene.bitrate = rng.randint(*p["bitrate"])
    return scene


def raw_pipeline(scene: Scene, sink: str) -> str:
    """A gst-launch description rendering the scene as raw I420 video into `sink`
    (the rest of a description, starting with an element)."""
    n = f"num-buffers={scene.frames} "
    caps = f"video/x-raw,width={scene.width},height={scene.height},framerate={scene.fps}/1"
    src = (
        f"videotestsrc {n}pattern={scene.pattern} foreground-color={scene.foreground} "
        f"background-color={scene.background} horizontal-speed={scene.speed} motion={scene.motion} "
        f"! {caps}"
    )
    branches = ""
    if scene.noise > 0:
        # A television-snow layer blended over the scene at alpha `noise`.
        branches = f" {src} ! mix.sink_0 videotestsrc {n}pattern=snow ! {caps} ! mix.sink_1"
        src = f"compositor name=mix background=black sink_1::alpha={scene.noise} ! {caps},format=AYUV"
    chain = [src, f"videoflip method={scene.flip}",
             f"videobalance brightness={scene.brightness} contrast={scene.contrast} "
             f"saturation={scene.saturation} hue={scene.hue}"]
    if scene.text:
        chain.append(
            f"textoverlay text={shlex.quote(scene.text)} valignment={scene.text_valign} "
            f"halignment={scene.text_halign} font-desc={shlex.quote(f'Sans {max(8, scene.height // 24)}')}"
        )
    if scene.clock:
        chain.append("timeoverlay valignment=bottom halignment=right font-desc='Mono 10'")
    chain.append("videoconvert ! video/x-raw,format=I420")
    chain.append(sink)
    return " ! ".join(chain) + branches


def encoder(bitrate: int, fps: int) -> str:
    # x264 in one thread is deterministic; lossy at a random bitrate, like real clips.
    return (f"x264enc bitrate={bitrate} speed-preset=veryfast key-int-max={2 * fps} threads=1 "
            f"! video/x-h264,profile=high ! mp4mux")


def gst_launch(description: str, timeout: float = 120) -> None:
    # gst-launch-1.0 re-joins its arguments and parses them again: pass quoted text as is.
    args = ["gst-launch-1.0", "-q", "-e"] + description.split(" ")
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"gst-launch-1.0 failed ({result.returncode}): {description}\n{result.stderr[-2000:]}")


def render_clip(scene: Scene, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    gst_launch(raw_pipeline(scene, f"{encoder(scene.bitrate, scene.fps)} "
                            f"! filesink location={shlex.quote(str(path))}"))


def clip_name(label: str, group: int, clip: int) -> str:
    return f"v_{label}_g{group:02d}_c{clip:02d}"


def render_dataset(root: Path, groups: list[int], clips: int, seed: int, profile: str,
                   seconds: tuple[float, float] = (4.0, 6.0), labels: list[str] | None = None,
                   jobs: int = 1, log=print) -> list[dict]:
    """Renders `clips` clips per class for each group into `root` (UCF101 layout).

    Each clip has its own random.Random seeded from (seed, label, group, clip), so a
    clip's parameters do not depend on which others are rendered."""
    from concurrent.futures import ThreadPoolExecutor

    labels = labels or LABELS
    work = []
    for label in labels:
        for g in groups:
            for c in range(1, clips + 1):
                rng = random.Random(f"{seed}/{label}/{g}/{c}")
                scene = random_scene(label, rng, profile, rng.uniform(*seconds))
                work.append((label, g, c, scene))

    def one(item):
        label, g, c, scene = item
        stem = clip_name(label, g, c)
        path = root / label / f"{stem}.mp4"
        render_clip(scene, path)
        meta = {"file": f"{label}/{stem}.mp4", "label": label, "group": g, "clip": c,
                "profile": profile, "seed": seed, "scene": asdict(scene)}
        (root / label / f"{stem}.json").write_text(json.dumps(meta, indent=1) + "\n")
        return meta

    root.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        metas = list(pool.map(one, work))
    index = root / "dataset.json"
    previous = json.loads(index.read_text())["clips"] if index.exists() else []
    keep = {m["file"]: m for m in previous}
    keep.update({m["file"]: m for m in metas})
    index.write_text(json.dumps({"generator": "actiond models/recipe render",
                                 "labels": sorted({m["label"] for m in keep.values()}),
                                 "clips": sorted(keep.values(), key=lambda m: m["file"])},
                                indent=1) + "\n")
    log(f"rendered {len(metas)} clips ({profile} profile, seed {seed}, groups {groups}) into {root}")
    return metas


def demo_schedule(seed: int, scenes: int, seconds: float, labels: list[str] | None = None) -> list[Scene]:
    """A scheduled sequence of scenes at 640x480, 15 fps (the daemon's test sources'
    size): every label once in a shuffled order, then random labels, never the same
    label twice in a row. Rendered with the "test" profile's parameters."""
    rng = random.Random(f"demo/{seed}")
    labels = list(labels or LABELS)
    order = labels[:]
    rng.shuffle(order)
    while len(order) < scenes:
        order.append(rng.choice([x for x in labels if x != order[-1]]))
    out = []
    for label in order[:scenes]:
        scene = random_scene(label, rng, "test", seconds)
        scene.width, scene.height, scene.fps = 640, 480, 15
        scene.frames = round(seconds * scene.fps)
        if label == "checkers":
            scene.pattern = "checkers-8"
        scene.speed = max(-6, min(6, scene.speed))
        out.append(scene)
    return out


def render_demo(path: Path, seed: int, scenes: int = 12, seconds: float = 6.0,
                bitrate: int = 300, log=print) -> dict:
    """Renders a demo video (H.264 in MP4) of consecutive scenes, and its schedule as a
    sidecar JSON (`<path>.json`: each scene's label and start/end in seconds and
    nanoseconds of presentation time)."""
    plan = demo_schedule(seed, scenes, seconds)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "demo.i420"
        for scene in plan:
            gst_launch(raw_pipeline(scene, f"filesink append=true location={shlex.quote(str(raw))}"))
        expect = sum(s.frames for s in plan) * 640 * 480 * 3 // 2
        if raw.stat().st_size != expect:
            raise RuntimeError(f"demo raw video has {raw.stat().st_size} bytes, expected {expect}")
        gst_launch(f"filesrc location={shlex.quote(str(raw))} ! rawvideoparse width=640 height=480 "
                   f"format=i420 framerate=15/1 ! {encoder(bitrate, 15)} ! filesink location={shlex.quote(str(path))}")
    t = 0
    schedule = []
    for scene in plan:
        start_ns = t * 1_000_000_000 // 15
        t += scene.frames
        end_ns = t * 1_000_000_000 // 15
        schedule.append({"label": scene.label, "pattern": scene.pattern, "start_s": start_ns / 1e9,
                         "end_s": end_ns / 1e9, "start_ns": start_ns, "end_ns": end_ns})
    sidecar = {"video": path.name, "seed": seed, "fps": 15, "width": 640, "height": 480,
               "duration_s": t / 15, "schedule": schedule, "scenes": [asdict(s) for s in plan]}
    Path(str(path) + ".json").write_text(json.dumps(sidecar, indent=1) + "\n")
    log(f"rendered demo {path} ({len(plan)} scenes, {t / 15:.0f} s, {path.stat().st_size / 1e6:.2f} MB)")
    return sidecar


def require_gstreamer() -> None:
    if shutil.which("gst-launch-1.0") is None:
        raise SystemExit("gst-launch-1.0 not found: install gstreamer1.0-tools, -plugins-base, "
                         "-plugins-good, -plugins-ugly (x264enc) and gstreamer1.0-libav")
    os.environ.setdefault("GST_DEBUG", "0")
