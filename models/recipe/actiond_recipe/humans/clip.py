"""One clip: who is in it, where, doing what, seen from where (the plan, JSON-able),
and its frames (uint8 BGR, frames × height × width × 3)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from . import actions, camera, draw, scene, skeleton

WIDEN_ACTIONS = ("walking", "running")  # actions whose path a wider view may keep whole
WIDEN_SHARE = 0.5  # share of those clips whose camera widens instead of shortening the path
MIN_WIDEN_SCALE = 0.08  # smallest main-person height (fraction of the frame) widening may reach
EMPTY_CHAIR_SHARE = 0.3  # share of clips, every action, with an empty chair standing in the scene


def _placement(rng, index: int, primary_facing: float) -> dict:
    if index == 0:
        return {"x": 0.0, "z": 0.0, "facing": primary_facing}
    while True:
        x, z = rng.uniform(-3.5, 3.5, 2)
        if np.hypot(x, z) > 1.0:
            break
    facing = primary_facing if rng.random() < 0.5 else float(rng.uniform(-np.pi, np.pi))
    return {"x": round(float(x), 3), "z": round(float(z), 3), "facing": round(float(facing), 3)}


def plan_clip(seed: int, group: int, clip: int, action: str, cast: dict, width: int, height: int,
              fps: int, seconds: float, scale_range: tuple[float, float] = (0.1, 0.9),
              views: tuple[str, ...] = tuple(camera.VIEWS)) -> dict:
    """Everything that decides a clip, drawn from (seed, group, clip, action); the main
    person's height is drawn log-uniformly from `scale_range` of the frame height and the
    view evenly from `views` (a view named twice is drawn twice as often; all four, the
    default, keep every earlier plan as it was)."""
    rng = scene.clip_rng(seed, group, clip, action)
    frames = max(1, round(seconds * fps))
    count = int(rng.choice([1, 1, 1, 1, 2, 2, 3]))
    if action == "idle" and rng.random() < 0.15:
        count = 0  # nobody there
    order = [int(i) for i in rng.permutation(3)[:max(count, 1)]]
    facing = float(rng.uniform(-np.pi, np.pi))
    people = []
    for k, who in enumerate(order[:count]):
        body = cast["performers"][who][0]
        act = action if k == 0 or rng.random() < scene.OTHERS_ACT else "idle"
        people.append({"performer": who, "action": act, "params": actions.sample(act, rng, body),
                       "centre_at": round(float(rng.uniform(0.2, 0.8)), 3), **_placement(rng, k, facing)})
    view = str(rng.choice(list(views)))
    scale = float(np.exp(rng.uniform(np.log(scale_range[0]), np.log(scale_range[1]))))
    main = cast["performers"][order[0]][0]
    target = np.array([0.0, 0.5 * main.height, 0.0])
    cam, cam_info = camera.sample_camera(rng, view, width, height, target, main.height, facing, frames, scale)
    occluder = None
    if rng.random() < 0.2:
        occluder = {"kind": str(rng.choice(["pillar", "bench"])), "at": round(float(rng.uniform(0.2, 0.8)), 3),
                    "size": round(float(rng.uniform(0.08, 0.35)), 3), "colour": [int(v) for v in rng.integers(20, 230, 3)]}
    plan = {"action": action, "group": group, "clip": clip, "seed": seed, "width": width, "height": height,
            "fps": fps, "frames": frames, "people": people, "camera": cam_info, "_camera": cam,
            "effects": scene.sample_effects(rng, seconds), "occluder": occluder,
            "noise_seed": int(rng.integers(1 << 30))}
    if people:
        if action in WIDEN_ACTIONS and scene.clip_rng(seed, group, clip, action + "/widen").random() < WIDEN_SHARE:
            widen_to_fit(plan, cast)
        people[0]["travel"] = keep_in_view(plan, cast)
    chair = empty_chair(plan, cast)
    if chair is not None:
        plan["empty_chair"] = chair  # absent otherwise: clips without one keep their plan
    return plan


def empty_chair(plan: dict, cast: dict, share: float = EMPTY_CHAIR_SHARE,
                behind: bool | None = None) -> dict | None:
    """An empty chair for `share` of clips, drawn from the clip's own "/chair" stream (so
    nothing else in the plan changes), or None. Half of them (all or none with `behind`)
    stand right behind the main person, where the seat of someone about to sit down would
    be (not in `sitting_down` clips, whose own chair stands there); the rest stand one to
    three metres from them, turned any way. A chair only in `sitting_down` clips would
    teach a model that a person beside a chair sits down."""
    rng = scene.clip_rng(plan["seed"], plan["group"], plan["clip"], plan["action"] + "/chair")
    if rng.random() >= share:
        return None
    drawn_behind = rng.random() < 0.5
    colour = [int(v) for v in rng.integers(30, 200, 3)]
    behind = drawn_behind if behind is None else behind
    height, place, facing = 1.7, np.zeros(3), float(rng.uniform(-np.pi, np.pi))
    if plan["people"]:
        person = plan["people"][0]
        body = cast["performers"][person["performer"]][0]
        height = body.height
        place = _joints(person, body, np.zeros(1), plan["frames"] / plan["fps"])[0, skeleton.J["pelvis"]]
    if behind and plan["people"] and plan["action"] != "sitting_down":
        facing = plan["people"][0]["facing"]
        back = (body.thigh + 0.06) * np.array([np.sin(facing), 0, np.cos(facing)])
        x, z = place[0] - back[0], place[2] - back[2]
    else:
        angle, dist = rng.uniform(-np.pi, np.pi), rng.uniform(1.0, 3.0)
        x, z = place[0] + dist * np.cos(angle), place[2] + dist * np.sin(angle)
    y = rng.uniform(0.22, 0.245) * height
    return {"x": round(float(x), 3), "z": round(float(z), 3), "y": round(float(y), 3), "facing": round(facing, 3),
            "colour": colour}


def in_view(plan: dict, cast: dict, travel: float = 1.0, margin: float = 0.1) -> np.ndarray:
    """Per frame, whether the main person's pelvis is inside the frame (`margin` of the
    width from either side edge) and at least a metre in front of the camera, with their
    path's length scaled by `travel`."""
    person = {**plan["people"][0], "travel": travel}
    n, cam = plan["frames"], plan["_camera"]
    joints = _joints(person, cast["performers"][person["performer"]][0], np.arange(n) / plan["fps"],
                     n / plan["fps"])
    uv, depth = cam.project(joints[:, skeleton.J["pelvis"]])
    w, h = plan["width"], plan["height"]
    return (uv[:, 0] >= margin * w) & (uv[:, 0] <= (1 - margin) * w) & (uv[:, 1] >= 0) & (uv[:, 1] <= h) & (depth >= 1.0)


def widen_to_fit(plan: dict, cast: dict, min_scale: float = MIN_WIDEN_SCALE) -> float:
    """Widens the camera's view (shorter focal length, same place) until the main person's
    real path, centred on the middle of the clip, stays in view with their height at least
    `min_scale` of the frame; returns the zoom factor and records it in
    plan["camera"]["widened"]. Where no such view exists (a runner coming at the camera)
    the plan is left as it was (1 is returned). A street camera sees walkers cross the
    picture at their real pace: shortened paths alone would teach a model that a walker's
    body barely moves across the frame."""
    if in_view(plan, cast).all() or not in_view(plan, cast, 0.0).all():
        return 1.0
    person, cam, scale = plan["people"][0], plan["_camera"], plan["camera"]["scale"]
    centre_at = person["centre_at"]
    person["centre_at"] = 0.5
    zoom = 1.0
    while True:
        plan["_camera"] = dataclasses.replace(cam, focal=cam.focal * zoom)
        if in_view(plan, cast).all():
            plan["camera"].update(scale=round(scale * zoom, 3), focal_px=round(cam.focal * zoom, 2),
                                  widened=round(zoom, 4))
            return zoom
        if scale * zoom * 0.85 < min_scale:
            break
        zoom *= 0.85
    person["centre_at"], plan["_camera"] = centre_at, cam
    return 1.0


def keep_in_view(plan: dict, cast: dict) -> float:
    """The main person's travel factor: 1 (their real path) when they stay in view for
    the whole clip, otherwise shortened until they do (their gait is unchanged, their
    feet slide a little). A static camera would see a runner cross the frame in a
    second and leave most frames of a `running` clip without anyone running."""
    if in_view(plan, cast).all() or not in_view(plan, cast, 0.0).all():
        return 1.0
    travel = 1.0
    while travel > 0.02 and not in_view(plan, cast, travel).all():
        travel *= 0.85
    return round(travel, 4)


def _joints(person: dict, body: skeleton.Body, t: np.ndarray, seconds: float) -> np.ndarray:
    """World joints (samples, joints, 3) of one planned person at times t: the action's
    pose turned to the person's facing, its path centred on their place at `centre_at` and
    scaled by their `travel` factor (1 if absent)."""
    pose = actions.evaluate(person["action"], person["params"], body, t)
    mid = actions.evaluate(person["action"], person["params"], body, np.array([person["centre_at"] * seconds]))
    f = person["facing"]
    k = person.get("travel", 1.0)
    dx, dz = k * (pose["x"] - mid["x"][0]), k * (pose["z"] - mid["z"][0])
    pose["x"] = person["x"] + dx * np.cos(f) + dz * np.sin(f)
    pose["z"] = person["z"] - dx * np.sin(f) + dz * np.cos(f)
    pose["yaw"] = pose["yaw"] + f
    return skeleton.forward_kinematics(body, pose)


def clip_joints(plan: dict, cast: dict, samples: int = 1) -> list[np.ndarray]:
    """Each person's world joints, (frames × samples, joints, 3): `samples` instants per
    frame spread over the shutter time (motion blur)."""
    fps, n = plan["fps"], plan["frames"]
    shutter = plan["effects"]["shutter"] / fps
    offsets = np.arange(samples) / samples * shutter if samples > 1 else np.zeros(1)
    t = (np.arange(n)[:, None] / fps + offsets[None, :]).ravel()
    return [_joints(p, cast["performers"][p["performer"]][0], t, n / fps) for p in plan["people"]]


def _occlude(img: np.ndarray, occ: dict | None) -> None:
    if occ is None:
        return
    h, w = img.shape[:2]
    colour = tuple(int(c) for c in occ["colour"])
    if occ["kind"] == "pillar":
        x0 = int(occ["at"] * w)
        cv2.rectangle(img, (x0, 0), (x0 + int(occ["size"] * w * 0.5), h), colour, -1)
    else:
        cv2.rectangle(img, (int(occ["at"] * w) - w // 3, h - int(occ["size"] * h)),
                      (int(occ["at"] * w) + w // 3, h), colour, -1)


def chairs(plan: dict, cast: dict, people: list[np.ndarray]) -> list[dict]:
    """A chair under everyone who sits down, where their pelvis ends up, and the plan's
    empty chair."""
    out = [plan["empty_chair"]] if plan.get("empty_chair") else []
    rng = np.random.default_rng(plan["noise_seed"] + 2)
    for person, joints in zip(plan["people"], people):
        if person["action"] == "sitting_down":
            body = cast["performers"][person["performer"]][0]
            end = joints[-1, skeleton.J["pelvis"]]
            f = person["facing"]
            back = 0.06 * np.array([np.sin(f), 0, np.cos(f)])  # the seat's centre is a little behind the hips
            out.append({"x": float(end[0] - back[0]), "z": float(end[2] - back[2]),
                        "y": float(end[1] - 0.055 * body.height), "facing": f,
                        "colour": [int(v) for v in rng.integers(30, 200, 3)]})
    return out


def render_frames(plan: dict, cast: dict) -> np.ndarray:
    """The clip's frames, uint8 BGR (frames, height, width, 3)."""
    w, h, s = plan["width"], plan["height"], scene.SCALE
    fx = plan["effects"]
    samples = fx["blur_samples"]
    cam = plan["_camera"]
    bg = scene.background(cast["background"], w * s + 2 * 16, h * s + 2 * 16, (cam, s, 16))
    people = clip_joints(plan, cast, samples)
    looks = [(cast["performers"][p["performer"]][0], cast["performers"][p["performer"]][1]) for p in plan["people"]]
    light = np.array([np.cos(fx["light_dir"]), np.sin(fx["light_dir"])]) * 0.9
    seats = chairs(plan, cast, people)
    rng = np.random.default_rng(plan["noise_seed"])
    out = np.empty((plan["frames"], h, w, 3), np.uint8)
    for f in range(plan["frames"]):
        du, dv = (cam.shake[f] * s).round().astype(int)
        acc = np.zeros((h, w, 3), np.float32)
        for k in range(samples):
            i = f * samples + k
            img = bg[16 + dv:16 + dv + h * s, 16 + du:16 + du + w * s].copy()
            scene.shadows(img, [j[i] for j in people], cam, f, s, fx)
            props = [it for chair in seats for it in draw.chair_items(chair, cam, f, s, light)]
            draw.draw_people(img, [(j[i], b, lk) for j, (b, lk) in zip(people, looks)], cam, f, s, light, props)
            _occlude(img, plan["occluder"])
            acc += cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
        out[f] = scene.finish(acc / samples, fx, f / plan["fps"], rng)
        scene.overlay(out[f], fx, f / plan["fps"])
    return out
