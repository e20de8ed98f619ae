"""Street scenes, for checking a trained model on what a real site shows most (issue 14's
real-footage bar, as far as renders can stand in for it): one pedestrian crossing, or a
crowd of walkers going both ways, seen from a camera box's views and heights. Nobody
falls, runs or waves: a model that answers `walking` is right, and any `falling` is a
false alarm. Groups are numbered from STREET_GROUP_BASE, which no training render uses."""

from __future__ import annotations

import numpy as np

from . import actions, camera, clip, draw, scene, skeleton

STREET_GROUP_BASE = 5000  # groups no training render or demo uses
KINDS = {"pedestrian": (1, 1), "crowd": (4, 8)}  # walkers per scene


def street_cast(seed: int, index: int, walkers: int, photos: list[str]) -> dict:
    """`walkers` performers (body, look) and a background with a ground plane (a
    photograph as a backdrop behind it, or a procedural scene), drawn from (seed, index):
    walkers stand on the ground, as on a street, never over a photograph's sky."""
    rng = np.random.default_rng([seed, STREET_GROUP_BASE + index, 1])
    performers = [(skeleton.sample_body(rng, child=rng.random() < 0.08), draw.sample_look(rng))
                  for _ in range(walkers)]
    return {"performers": performers, "background": {**scene.sample_background(rng, photos), "backdrop": True}}


def plan_street(seed: int, index: int, kind: str, cast: dict, width: int, height: int, fps: int,
                seconds: float, scale_range: tuple[float, float]) -> dict:
    """A plan `clip.render_frames` draws: everyone in `cast` walking along one street axis
    (either way, a little off it), spread over a strip 12 m long and 6 m deep; the camera
    frames walker 0 at a height drawn log-uniformly from `scale_range` of the frame."""
    rng = np.random.default_rng([seed, STREET_GROUP_BASE + index, 2])
    frames = max(1, round(seconds * fps))
    axis = float(rng.uniform(-np.pi, np.pi))
    people = []
    for k in range(len(cast["performers"])):
        body = cast["performers"][k][0]
        facing = axis + (np.pi if rng.random() < 0.5 else 0.0) + float(rng.uniform(-0.25, 0.25))
        if k == 0:
            x, z = 0.0, 0.0
        else:
            along, across = rng.uniform(-6, 6), rng.uniform(-3, 3)
            x, z = along * np.sin(axis) + across * np.cos(axis), along * np.cos(axis) - across * np.sin(axis)
        people.append({"performer": k, "action": "walking", "params": actions.sample("walking", rng, body),
                       "centre_at": round(float(rng.uniform(0.2, 0.8)), 3), "x": round(float(x), 3),
                       "z": round(float(z), 3), "facing": round(float(facing), 3)})
    view = str(rng.choice(["high", "high", "three_quarter", "front", "side"]))
    scale = float(np.exp(rng.uniform(np.log(scale_range[0]), np.log(scale_range[1]))))
    main = cast["performers"][0][0]
    target = np.array([0.0, 0.5 * main.height, 0.0])
    cam, cam_info = camera.sample_camera(rng, view, width, height, target, main.height, people[0]["facing"],
                                         frames, scale)
    plan = {"action": "walking", "kind": kind, "group": STREET_GROUP_BASE + index, "clip": 1, "seed": seed,
            "width": width, "height": height, "fps": fps, "frames": frames, "people": people, "camera": cam_info,
            "_camera": cam, "effects": scene.sample_effects(rng, seconds), "occluder": None,
            "noise_seed": int(rng.integers(1 << 30))}
    people[0]["travel"] = clip.keep_in_view(plan, cast)
    return plan
