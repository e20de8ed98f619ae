"""Pinhole cameras a camera box has: side, front, three-quarter and high surveillance
views, a person from a tenth to most of the frame height, and slight shake."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VIEWS = ["side", "front", "three_quarter", "high"]
# Azimuths of the camera around the person (0 = in front of them), per view.
AZIMUTHS = {"side": [90, -90], "front": [0, 180], "three_quarter": [45, -45, 135, -135]}


@dataclass
class Camera:
    """World-to-image projection: position, rotation (rows: right, up, forward), focal
    length in pixels, principal point, and a per-frame shake offset in pixels."""

    position: np.ndarray
    rotation: np.ndarray
    focal: float
    cx: float
    cy: float
    shake: np.ndarray  # (frames, 2)

    def project(self, points: np.ndarray, frame: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Image coordinates (..., 2) and depths (...) of world points (..., 3)."""
        cam = (points - self.position) @ self.rotation.T
        z = np.maximum(cam[..., 2], 1e-3)
        du, dv = self.shake[min(frame, len(self.shake) - 1)]
        u = self.cx + du + self.focal * cam[..., 0] / z
        v = self.cy + dv - self.focal * cam[..., 1] / z
        return np.stack([u, v], axis=-1), cam[..., 2]

    def describe(self) -> dict:
        """Position, focal length and shake amplitude, JSON-able."""
        return {"position": [round(float(v), 3) for v in self.position], "focal_px": round(self.focal, 2),
                "shake_px": round(float(np.abs(self.shake).max()), 3)}


def look_at(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Rotation whose rows are the camera's right, up and forward axes in the world."""
    fwd = target - position
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross([0.0, 1.0, 0.0], fwd)
    right = right / np.linalg.norm(right)
    up = np.cross(fwd, right)
    return np.stack([right, up, fwd])


def _shake(rng: np.random.Generator, frames: int, amplitude: float) -> np.ndarray:
    """A smooth random walk of image offsets, at most `amplitude` pixels."""
    steps = rng.normal(0, 1, (frames + 8, 2))
    walk = np.cumsum(steps, axis=0)
    kernel = np.ones(5) / 5
    walk = np.stack([np.convolve(walk[:, i], kernel, mode="same") for i in range(2)], axis=1)[4:frames + 4]
    walk -= walk.mean(axis=0)
    peak = np.abs(walk).max()
    return walk * (amplitude / peak if peak > 0 else 0.0)


def sample_camera(rng: np.random.Generator, view: str, width: int, height: int, target: np.ndarray,
                  person_height: float, facing: float, frames: int, scale: float) -> tuple[Camera, dict]:
    """A camera looking at `target` (a person's middle) from `view`, zoomed so that a
    standing person of `person_height` fills `scale` of the frame height."""
    if view == "high":
        azimuth = np.radians(rng.uniform(-180, 180))
        elevation = np.radians(rng.uniform(30, 60))
    else:
        azimuth = np.radians(rng.choice(AZIMUTHS[view]) + rng.uniform(-12, 12))
        elevation = np.radians(rng.uniform(-3, 15))
    distance = float(rng.uniform(4, 14))
    heading = facing + azimuth
    offset = np.array([np.sin(heading) * np.cos(elevation), np.sin(elevation), np.cos(heading) * np.cos(elevation)])
    position = target + distance * offset
    position[1] = max(position[1], 0.6)
    focal = scale * height * distance / person_height
    shake = _shake(rng, frames, float(rng.uniform(0.0, 0.012) * height) if rng.random() < 0.7 else 0.0)
    # The feet land in the lower part of the frame, where the ground usually is, with
    # the head inside the frame (but for one clip in ten, cut off by the frame's edge).
    low = max(0.55, min(0.97, scale + 0.05)) if rng.random() < 0.9 else 0.55
    feet = rng.uniform(low, 0.97) * height
    cy = float(np.clip(feet - 0.5 * scale * height, 0.1 * height, 0.9 * height))
    cam = Camera(position, look_at(position, target), focal, width / 2 + rng.uniform(-0.2, 0.2) * width, cy, shake)
    return cam, {"view": view, "azimuth_deg": round(float(np.degrees(azimuth)), 1),
                 "elevation_deg": round(float(np.degrees(elevation)), 1), "distance_m": round(distance, 2),
                 "scale": round(scale, 3), **cam.describe()}
