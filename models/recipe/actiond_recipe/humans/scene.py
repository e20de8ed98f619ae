"""Scenes: a background (a real photograph from Debian's lomiri-wallpapers-16.04, or
a procedural one when those are missing), the people of a group, a camera, shadows,
lighting changes, motion blur and sensor noise, rendered to frames.

A group is one performer-and-scene combination: its three performers (body and
clothes) and its background are drawn from (seed, group) alone, so every clip of a
group shows the same people in the same place, and a group split tests unseen people
in unseen scenes. A clip draws from (seed, group, clip, action) which performers
appear (one to three), what the others do, the camera, light, blur and noise.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from . import actions, camera, draw, skeleton

PHOTO_DIR = Path("/usr/share/backgrounds")
# The photographs of Debian's lomiri-wallpapers-16.04 (installed by scripts/setup.sh).
# Close-ups (a fig, brushes, a clock) and abstract ones are left out: people must fit in.
PHOTOS = ["Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Wine_by_Jakkub_Mede.jpg",
          "aitzgorri_by_Aitzol_Berasategi.jpg", "analogpattern_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg",
          "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg", "seeding_by_Clements_Engelhardt.jpg",
          "sunset_by_Aitzol_Berasategi.jpg"]
PROCEDURAL = 0.25  # share of groups with a procedural background even when photos are there
SCALE = 2  # people are drawn at twice the size and scaled down (anti-aliasing)
OTHERS_ACT = 0.7  # chance that an extra person performs the clip's action (else idles)


def available_photos(directory: Path = PHOTO_DIR) -> list[str]:
    """The background photographs present on this machine, in a fixed order."""
    return [p for p in PHOTOS if (directory / p).is_file()]


@lru_cache(maxsize=4)
def _photo(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise RuntimeError(f"cannot read background photograph {path}")
    h, w = img.shape[:2]
    f = 800 / max(h, w)  # plenty for the frame sizes rendered; keeps memory small
    return cv2.resize(img, (int(w * f), int(h * f)), interpolation=cv2.INTER_AREA)


def sample_background(rng: np.random.Generator, photos: list[str]) -> dict:
    """A crop of a photograph (or a procedural scene when none is installed)."""
    size = rng.uniform(0.55, 1.0)
    spec = {"photo": None, "crop": [round(float(v), 3) for v in (rng.uniform(0, 1 - size), rng.uniform(0, 1 - size),
                                                                    size)],
            "flip": bool(rng.random() < 0.5), "blur": round(float(rng.uniform(0, 1.2)), 2),
            "procedural_seed": int(rng.integers(1 << 30))}
    if photos and rng.random() >= PROCEDURAL:
        spec["photo"] = photos[int(rng.integers(len(photos)))]
    return spec


def _muted(rng: np.random.Generator) -> np.ndarray:
    grey = rng.uniform(40, 220)
    return grey + (rng.uniform(-1, 1, 3) * rng.uniform(0, 45))


def procedural_background(seed: int, width: int, height: int) -> np.ndarray:
    """A wall-or-sky gradient over a ground plane, with boxes (buildings, furniture) and noise."""
    rng = np.random.default_rng(seed)
    # Muted colours: walls, sky, pavement and grass rather than paint.
    top, bottom, ground = (_muted(rng) for _ in range(3))
    horizon = int(height * rng.uniform(0.3, 0.7))
    f = np.linspace(0, 1, height)[:, None, None]
    img = (top * (1 - f) + bottom * f) * np.ones((1, width, 1))
    img[horizon:] = ground * (0.8 + 0.4 * f[horizon:])
    for _ in range(int(rng.integers(2, 9))):
        x0, w = int(rng.uniform(0, width)), int(rng.uniform(0.05, 0.3) * width)
        y1 = horizon + int(rng.uniform(-0.05, 0.1) * height)
        y0 = y1 - int(rng.uniform(0.05, 0.45) * height)
        img[max(0, y0):y1, x0:x0 + w] = _muted(rng)
    img += rng.normal(0, rng.uniform(2, 10), img.shape)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 1.0), 0, 255).astype(np.uint8)


def background(spec: dict, width: int, height: int) -> np.ndarray:
    """The group's background at width × height."""
    if spec["photo"] is None or not (PHOTO_DIR / spec["photo"]).is_file():
        img = procedural_background(spec["procedural_seed"], width, height)
    else:
        src = _photo(str(PHOTO_DIR / spec["photo"]))
        h, w = src.shape[:2]
        x0, y0, size = spec["crop"]
        cw = int(w * size)
        ch = min(h - int(y0 * h), int(cw * height / width))
        cw = int(ch * width / height)
        img = cv2.resize(src[int(y0 * h):int(y0 * h) + ch, int(x0 * w):int(x0 * w) + cw], (width, height),
                         interpolation=cv2.INTER_AREA)
    if spec["flip"]:
        img = img[:, ::-1]
    if spec["blur"] > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), spec["blur"] * width / 320)
    return np.ascontiguousarray(img)


def sample_group(seed: int, group: int, photos: list[str]) -> dict:
    """The group's three performers (body, look) and its background."""
    rng = np.random.default_rng([seed, group, 1])
    performers = [(skeleton.sample_body(rng, child=rng.random() < 0.08), draw.sample_look(rng)) for _ in range(3)]
    return {"performers": performers, "background": sample_background(rng, photos)}


def clip_rng(seed: int, group: int, clip: int, action: str) -> np.random.Generator:
    """The random stream of one clip, independent of which other clips are rendered."""
    return np.random.default_rng([seed, group, clip, zlib.crc32(action.encode())])


def sample_effects(rng: np.random.Generator, seconds: float) -> dict:
    """Lighting change, colour cast, shadows, motion blur and sensor noise of a clip."""
    kind = str(rng.choice(["steady", "steady", "drift", "step"]))
    return {"light": kind, "light_amount": round(float(rng.uniform(0.05, 0.25)), 3),
            "light_period": round(float(rng.uniform(1.0, 4.0) * seconds), 2),
            "light_at": round(float(rng.uniform(0.2, 0.8) * seconds), 2),
            "gain": round(float(rng.uniform(0.75, 1.2)), 3),
            "tint": [round(float(v), 3) for v in rng.uniform(0.9, 1.1, 3)],
            "shadow": round(float(rng.uniform(0.2, 0.5)), 3) if rng.random() < 0.7 else 0.0,
            "sun": [round(float(v), 3) for v in (rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8))],
            "light_dir": round(float(rng.uniform(0, 2 * np.pi)), 3),
            "blur_samples": int(rng.choice([1, 1, 2, 3])), "shutter": round(float(rng.uniform(0.3, 0.9)), 2),
            "noise": round(float(rng.uniform(0.5, 6.0)), 2)}


def gain(effects: dict, t: float) -> float:
    """The overall brightness factor at time t (steady, slowly drifting, or a step)."""
    g = effects["gain"]
    if effects["light"] == "drift":
        g *= 1 + effects["light_amount"] * np.sin(2 * np.pi * t / effects["light_period"])
    elif effects["light"] == "step":
        g *= 1 + effects["light_amount"] * np.clip((t - effects["light_at"]) / 0.3, 0, 1)
    return float(g)


def shadows(img: np.ndarray, people_joints, cam, frame: int, scale: float, effects: dict) -> None:
    """Darkens the ground under each person: the joints cast along the sun onto y = 0,
    hulled, blurred."""
    if effects["shadow"] <= 0:
        return
    mask = np.zeros(img.shape[:2], np.float32)
    sx, sz = effects["sun"]
    for joints in people_joints:
        ground = joints.copy()
        ground[:, 0] += ground[:, 1] * sx
        ground[:, 2] += ground[:, 1] * sz
        ground[:, 1] = 0
        uv, z = cam.project(ground, frame)
        if (z < 0.1).any():
            continue
        cv2.fillConvexPoly(mask, cv2.convexHull((uv * scale).astype(np.int32)), 1.0)
    k = max(1.0, img.shape[0] / 60)
    mask = cv2.GaussianBlur(mask, (0, 0), k)
    img[:] = (img * (1 - effects["shadow"] * mask)[..., None]).astype(np.uint8)


def finish(frame: np.ndarray, effects: dict, t: float, rng: np.random.Generator) -> np.ndarray:
    """Brightness, colour cast and sensor noise on a float frame; back to uint8."""
    out = frame * (gain(effects, t) * np.asarray(effects["tint"], np.float32))
    out += rng.normal(0, effects["noise"], out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)
