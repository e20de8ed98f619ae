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

import time
import zlib
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from . import draw, skeleton

PHOTO_DIR = Path("/usr/share/backgrounds")
# The photographs of Debian's lomiri-wallpapers-16.04 (installed by scripts/setup.sh).
# Close-ups (a fig, brushes, a clock) and abstract ones are left out: people must fit in.
PHOTOS = ["Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Wine_by_Jakkub_Mede.jpg",
          "aitzgorri_by_Aitzol_Berasategi.jpg", "analogpattern_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg",
          "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg", "seeding_by_Clements_Engelhardt.jpg",
          "sunset_by_Aitzol_Berasategi.jpg"]
PROCEDURAL = 0.35  # share of groups with a procedural background even when photos are there
# Photographs whose lower part looks like ground (meadow, trail, rocks, grass, wood, leaves).
GROUND_PHOTOS = ["aitzgorri_by_Aitzol_Berasategi.jpg", "analogpattern_by_Peter_Nerlich.jpg",
                 "friends_by_Aitzol_Berasategi.jpg", "life_by_Aitzol_Berasategi.jpg",
                 "picosdeeuropa_by_Aitzol_Berasategi.jpg", "seeding_by_Clements_Engelhardt.jpg", "Dragonfly_by_Bolly.jpg"]
BACKDROP = 0.5  # share of photo groups where the photo stands behind a ground plane (else fills the frame)
SCALE = 2  # people are drawn at twice the size and scaled down (anti-aliasing)
OTHERS_ACT = 0.7  # chance that an extra person performs the clip's action (else idles)


def available_photos(directory: Path = PHOTO_DIR) -> list[str]:
    """The background photographs present on this machine, in a fixed order."""
    return [p for p in PHOTOS if (directory / p).is_file()]


@lru_cache(maxsize=16)
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
            "procedural_seed": int(rng.integers(1 << 30)), "backdrop": bool(rng.random() < BACKDROP),
            "ground_photo": None, "ground_tile_m": round(float(rng.uniform(4, 12)), 2)}
    if photos and rng.random() >= PROCEDURAL:
        spec["photo"] = photos[int(rng.integers(len(photos)))]
        grounds = [p for p in photos if p in GROUND_PHOTOS]
        spec["ground_photo"] = grounds[int(rng.integers(len(grounds)))] if grounds else None
    return spec


def _muted(rng: np.random.Generator) -> np.ndarray:
    grey = rng.uniform(40, 220)
    return grey + (rng.uniform(-1, 1, 3) * rng.uniform(0, 45))


def _ground_texture(rng: np.random.Generator, gx: np.ndarray, gz: np.ndarray) -> np.ndarray:
    """Colours (n, 3) of ground points: pavers with grout, floor planks, or plain noisy ground."""
    kind = str(rng.choice(["tiles", "planks", "plain"]))
    base = _muted(rng)
    if kind == "plain":
        shade = 1 + 0.12 * np.sin(gx * rng.uniform(0.5, 2)) * np.cos(gz * rng.uniform(0.5, 2))
        return base * shade[:, None]
    size = rng.uniform(0.3, 1.0) if kind == "tiles" else rng.uniform(0.12, 0.3)
    i, j = np.floor(gx / size), np.floor(gz / (size if kind == "tiles" else size * 8))
    h = np.modf(np.abs(np.sin(i * 12.9898 + j * 78.233)) * 43758.5453)[0]
    shade = 0.85 + 0.3 * h
    fx, fz = np.modf(gx / size)[0] % 1, np.modf(gz / size)[0] % 1
    grout = (np.minimum(fx, 1 - fx) < 0.04) | ((np.minimum(fz, 1 - fz) < 0.04) & (kind == "tiles"))
    return base * np.where(grout, 0.6, shade)[:, None]


def _ground_points(view, height: int, width: int):
    """For each pixel of a height × width image whose pixel (X, Y) is frame point
    ((X - margin) / scale, (Y - margin) / scale): whether its ray meets the ground
    y = 0, and where (x, z) at what distance."""
    cam, scale, margin = view
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = (xs - margin) / scale, (ys - margin) / scale
    rays = np.stack([(u - cam.cx) / cam.focal, -(v - cam.cy) / cam.focal, np.ones_like(u)], axis=-1) @ cam.rotation
    down = rays[..., 1] < -1e-6
    t = np.where(down, -cam.position[1] / np.where(down, rays[..., 1], -1), 0)
    return down, cam.position[0] + t * rays[..., 0], cam.position[2] + t * rays[..., 2], t


def horizon_row(view) -> float:
    """The image row (in the view's pixels) where the camera sees the horizon."""
    cam, scale, margin = view
    fwd = cam.rotation[2]
    flat = np.array([fwd[0], 0, fwd[2]]) / max(np.hypot(fwd[0], fwd[2]), 1e-6)
    return float((cam.cy - cam.focal * (cam.rotation[1] @ flat) / max(cam.rotation[2] @ flat, 1e-6)) * scale + margin)


def _haze(img: np.ndarray, down: np.ndarray, colour: np.ndarray, dist: np.ndarray, rng) -> None:
    """Writes ground colours into img, fading with distance toward the sky/backdrop colour."""
    haze = 1 - np.exp(-dist / rng.uniform(15, 60))
    far = img[~down].mean(axis=0) if (~down).any() else colour.mean(axis=0)
    img[down] = colour * (1 - haze[:, None]) + far * haze[:, None]


def _camera_ground(rng, img: np.ndarray, view) -> None:
    """Paints the ground plane y = 0 as the clip's camera sees it (horizon, perspective,
    haze) over img."""
    down, gx, gz, t = _ground_points(view, *img.shape[:2])
    _haze(img, down, _ground_texture(rng, gx[down], gz[down]), t[down], rng)


def photo_backdrop(spec: dict, width: int, height: int, view) -> np.ndarray:
    """The group's photograph above the camera's horizon, and a ground plane textured
    with the lower part of its ground photograph (tiled every `ground_tile_m` metres)."""
    rng = np.random.default_rng(spec["procedural_seed"])
    img = np.zeros((height, width, 3), np.float64)
    horizon = int(np.clip(horizon_row(view), 0, height))
    if horizon > 0:
        img[:horizon] = _photo_crop(spec, width, horizon)
    down, gx, gz, t = _ground_points(view, height, width)
    tex = _photo(str(PHOTO_DIR / spec["ground_photo"]))
    tex = tex[int(tex.shape[0] * 0.55):]  # the photograph's lower part, where its ground is
    tex = cv2.resize(tex, (256, 256 * tex.shape[0] // tex.shape[1]), interpolation=cv2.INTER_AREA)
    tile = spec["ground_tile_m"]
    mx = (gx / tile * tex.shape[1]).astype(np.float32)
    my = (gz / tile * tex.shape[1]).astype(np.float32)
    ground = cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP).astype(np.float64)
    _haze(img, down, ground[down], t[down], rng)
    img += rng.normal(0, 2, img.shape)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 0.8), 0, 255).astype(np.uint8)


def procedural_background(seed: int, width: int, height: int, view=None) -> np.ndarray:
    """A wall-or-sky gradient over a ground plane, with boxes (buildings, furniture) and
    noise. With view = (camera, scale, margin) the ground is the camera's: its horizon,
    perspective and haze, so people stand on it."""
    rng = np.random.default_rng(seed)
    # Muted colours: walls, sky, pavement and grass rather than paint.
    top, bottom, ground = (_muted(rng) for _ in range(3))
    horizon = int(height * rng.uniform(0.3, 0.7))
    if view is not None:
        horizon = int(np.clip(horizon_row(view), -1, height))
    f = np.linspace(0, 1, height)[:, None, None]
    img = (top * (1 - f) + bottom * f) * np.ones((1, width, 1))
    img[max(horizon, 0):] = ground * (0.8 + 0.4 * f[max(horizon, 0):])
    for _ in range(int(rng.integers(2, 9))):
        x0, w = int(rng.uniform(0, width)), int(rng.uniform(0.05, 0.3) * width)
        y1 = horizon + (0 if view is not None else int(rng.uniform(-0.05, 0.1) * height))
        y0 = y1 - int(rng.uniform(0.05, 0.45) * height)
        img[max(0, y0):max(0, y1), x0:x0 + w] = _muted(rng)
    if view is not None:
        _camera_ground(rng, img, view)
    img += rng.normal(0, rng.uniform(2, 10), img.shape)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 1.0), 0, 255).astype(np.uint8)


def _photo_crop(spec: dict, width: int, height: int) -> np.ndarray:
    """The group's crop of its photograph at width × height."""
    src = _photo(str(PHOTO_DIR / spec["photo"]))
    h, w = src.shape[:2]
    x0, y0, size = spec["crop"]
    cw = int(w * size)
    ch = max(1, min(h - int(y0 * h), int(cw * height / width)))
    cw = max(1, int(ch * width / height))
    return cv2.resize(src[int(y0 * h):int(y0 * h) + ch, int(x0 * w):int(x0 * w) + cw], (width, height),
                      interpolation=cv2.INTER_AREA)


def background(spec: dict, width: int, height: int, view=None) -> np.ndarray:
    """The group's background at width × height. Given the clip's `view` = (camera,
    scale, margin), a procedural one, or a photograph used as a backdrop, is drawn with
    a ground plane the camera sees, so people stand on it."""
    photo = spec["photo"] is not None and (PHOTO_DIR / spec["photo"]).is_file()
    if not photo:
        img = procedural_background(spec["procedural_seed"], width, height, view)
        if view is not None:
            return img  # already matches the camera: no flip
    elif view is not None and spec.get("backdrop") and spec.get("ground_photo") \
            and (PHOTO_DIR / spec["ground_photo"]).is_file():
        return photo_backdrop(spec, width, height, view)
    else:
        img = _photo_crop(spec, width, height)
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
            "noise": round(float(rng.uniform(0.5, 6.0)), 2), "overlay": _sample_overlay(rng)}


CAMERA_NAMES = ["CAM 1", "CAM 02", "Entrance", "Hall B", "cam-07", "Lobby", "PARKING", "Yard", "Gate 3", "Stairs"]


def _sample_overlay(rng: np.random.Generator) -> dict | None:
    """A camera-style name and clock burnt into the picture (40 % of clips)."""
    if rng.random() >= 0.4:
        return None
    return {"name": str(rng.choice(CAMERA_NAMES)) if rng.random() < 0.7 else "",
            "clock": int(rng.integers(1_600_000_000, 1_800_000_000)) if rng.random() < 0.8 else None,
            "top": bool(rng.random() < 0.5), "left": bool(rng.random() < 0.5),
            "colour": [255, 255, 255] if rng.random() < 0.8 else [0, 255, 255]}


def overlay(frame: np.ndarray, effects: dict, t: float) -> None:
    """Draws the clip's camera name and clock (if any) onto a finished frame."""
    o = effects.get("overlay")
    if not o:
        return
    text = o["name"]
    if o["clock"] is not None:
        text = (text + "  " if text else "") + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(o["clock"] + int(t)))
    h, w = frame.shape[:2]
    size = max(0.25, h / 400)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, 1)
    x = 3 if o["left"] else max(0, w - tw - 3)
    y = th + 3 if o["top"] else h - 4
    cv2.putText(frame, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, size, tuple(o["colour"]), 1, cv2.LINE_AA)


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
    out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(effects["noise"])
    return np.clip(out, 0, 255).astype(np.uint8)
