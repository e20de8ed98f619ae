"""Actions as joint-angle trajectories with randomised speed, amplitude, phase and
handedness.

Each action has a sampler (rng, body → parameters, JSON-able) and an evaluator
(parameters, body, times in seconds → pose, see skeleton.py), so a clip's motion is
fixed by its parameters and can be evaluated at any times (motion blur samples
between frames). The pose's ground position starts at (0, 0) facing +z (yaw 0);
the scene turns and places it.
"""

from __future__ import annotations

import numpy as np

from .skeleton import Body, local_joints, zero_pose

D = np.radians
ACTIONS = ["idle", "walking", "running", "jumping", "waving", "clapping", "boxing", "falling", "kicking",
           "sitting_down"]


def _u(rng, a, b) -> float:
    return round(float(rng.uniform(a, b)), 4)


def _side(rng) -> str:
    return "r" if rng.random() < 0.8 else "l"  # most people are right-handed


def _other(side: str) -> str:
    return "l" if side == "r" else "r"


def _sway(p: dict, pose: dict, t: np.ndarray) -> None:
    """Weight shifting and breathing-like arm motion while standing."""
    w = 2 * np.pi * p["sway_hz"] * t + p["phase"]
    pose["roll"] += D(p["sway"]) * np.sin(w)
    for s, sign in (("l", 1), ("r", -1)):
        pose[f"{s}_hip_abd"] += -sign * D(p["sway"]) * np.sin(w)
        pose[f"{s}_el_flex"] += D(8 + 4 * np.sin(w * 0.7))


def _stand_params(rng) -> dict:
    return {"sway_hz": _u(rng, 0.15, 0.45), "sway": _u(rng, 0.5, 4.0), "phase": _u(rng, 0, 6.28)}


# ---- idle -------------------------------------------------------------------------

def _stance_params(rng) -> dict:
    """Sway, looking around and where the hands rest (`hands`: hang, hips or front)."""
    p = _stand_params(rng)
    p.update(look_hz=_u(rng, 0.05, 0.3), look=_u(rng, 0, 40), hands=str(rng.choice(["hang", "hips", "front"])))
    return p


def _rest_params(rng) -> dict:
    """Idle's stance for an action that starts from it, the hands' place as `rest`."""
    p = _stance_params(rng)
    p["rest"] = p.pop("hands")
    return p


def _stance(p: dict, pose: dict, t: np.ndarray, hands: str, weight=1.0) -> None:
    """Idle's head and arms on top of `_sway`: looking around, the hands hanging, on the hips
    or in front; `weight` (per time) fades them out as another action takes over."""
    pose["head_yaw"] += weight * D(p["look"]) * np.sin(2 * np.pi * p["look_hz"] * t + p["phase"])
    angles = {"hips": {"sh_abd": 30, "el_flex": 70, "el_yaw": 80},
              "front": {"sh_flex": 20, "el_flex": 50, "el_yaw": 55}}.get(hands, {})
    for s in "lr":
        for joint, deg in angles.items():
            pose[f"{s}_{joint}"] += weight * D(deg)


def sample_idle(rng, body):
    """Sway, looking around and where the hands rest."""
    return _stance_params(rng)


def idle(p, body, t):
    """Standing: weight shifting, looking around, hands hanging, on the hips or in front."""
    pose = zero_pose(len(t))
    _sway(p, pose, t)
    _stance(p, pose, t, p["hands"])
    return pose


# ---- walking and running ------------------------------------------------------------

def sample_walking(rng, body):
    """Cadence, hip and knee swing, arm swing, elbow bend, lean and phase."""
    return {"hz": _u(rng, 0.8, 1.05), "hip": _u(rng, 18, 28), "knee": _u(rng, 45, 62), "arm": _u(rng, 12, 30),
            "elbow": _u(rng, 8, 30), "lean": _u(rng, 1, 6), "phase": _u(rng, 0, 6.28)}


def sample_running(rng, body):
    """Like walking, faster and wider, with bent elbows and a flight height."""
    return {"hz": _u(rng, 1.25, 1.6), "hip": _u(rng, 32, 45), "knee": _u(rng, 85, 115), "arm": _u(rng, 30, 50),
            "elbow": _u(rng, 75, 95), "lean": _u(rng, 7, 14), "phase": _u(rng, 0, 6.28), "flight": _u(rng, 0.05, 0.09)}


def _gait(p, body, t, flight: float):
    pose = zero_pose(len(t))
    th = 2 * np.pi * p["hz"] * t + p["phase"]
    for s, sign in (("l", 1.0), ("r", -1.0)):
        hip = sign * np.sin(th)
        pose[f"{s}_hip_flex"] += D(p["hip"]) * hip + D(p["lean"])
        # The knee bends most in mid-swing, while the thigh moves forward.
        pose[f"{s}_knee"] += D(5) + D(p["knee"]) * np.maximum(0, sign * np.cos(th)) ** 1.5
        pose[f"{s}_sh_flex"] += -D(p["arm"]) * hip
        pose[f"{s}_el_flex"] += D(p["elbow"]) + D(p["arm"]) * 0.3 * np.maximum(0, -hip)
    pose["pitch"] += D(p["lean"])
    pose["yaw"] += D(3) * np.sin(th)
    legs = body.thigh + body.shin
    speed = 2 * 2 * legs * np.sin(D(p["hip"])) * p["hz"] * (1.0 + 1.6 * flight / 0.07 * (flight > 0))
    pose["z"] = speed * t
    # Runners leave the ground when their legs are furthest apart.
    pose["lift"] = flight * body.height * np.maximum(0, -np.cos(2 * th)) ** 0.7 if flight else pose["lift"]
    return pose


def walking(p, body, t):
    """A walking gait, moving forward at the stride's speed, always a foot on the ground."""
    return _gait(p, body, t, 0.0)


def running(p, body, t):
    """A running gait with a flight phase: both feet leave the ground as the legs spread."""
    return _gait(p, body, t, p["flight"])


# ---- jumping ------------------------------------------------------------------------

def sample_jumping(rng, body):
    """Jump period, height, crouch depth, style (straight, jack, tuck) and phase."""
    return {"period": _u(rng, 0.75, 1.2), "height": _u(rng, 0.12, 0.3), "crouch": _u(rng, 40, 75),
            "style": str(rng.choice(["straight", "jack", "tuck"])), "phase": _u(rng, 0, 1)}


def jumping(p, body, t):
    """Repeated jumps: crouch, take off, fly (arms up, spread or knees tucked), land."""
    pose = zero_pose(len(t))
    u = (t / p["period"] + p["phase"]) % 1.0
    crouch = np.where(u < 0.35, np.sin(np.pi * u / 0.35), 0.0)
    fly = np.clip((u - 0.35) / 0.45, 0, 1)
    air = np.where((u >= 0.35) & (u < 0.8), 4 * fly * (1 - fly), 0.0)
    pose["lift"] = p["height"] * air
    for s in "lr":
        pose[f"{s}_knee"] += D(p["crouch"]) * crouch
        pose[f"{s}_hip_flex"] += D(p["crouch"]) * 0.6 * crouch
        pose[f"{s}_sh_flex"] += -D(30) * crouch
        if p["style"] == "jack":
            pose[f"{s}_sh_abd"] += D(150) * air
            pose[f"{s}_hip_abd"] += D(18) * air
        elif p["style"] == "tuck":
            pose[f"{s}_knee"] += D(80) * air
            pose[f"{s}_hip_flex"] += D(60) * air
            pose[f"{s}_sh_flex"] += D(60) * air
        else:
            pose[f"{s}_sh_flex"] += D(150) * air
    pose["pitch"] += D(p["crouch"]) * 0.35 * crouch
    return pose


# ---- waving and clapping --------------------------------------------------------------

def sample_waving(rng, body):
    """Hand (or both), waving rate, arm raise and forearm swing."""
    p = _stand_params(rng)
    p.update(side=_side(rng), hz=_u(rng, 1.2, 2.6), abd=_u(rng, 125, 150), flex=_u(rng, 0, 25),
             amp=_u(rng, 18, 35), both=bool(rng.random() < 0.2))
    return p


def waving(p, body, t):
    """One raised hand (sometimes both) swinging side to side above the head."""
    pose = zero_pose(len(t))
    _sway(p, pose, t)
    sides = "lr" if p["both"] else p["side"]
    w = np.sin(2 * np.pi * p["hz"] * t + p["phase"])
    for s in sides:
        pose[f"{s}_sh_abd"] += D(p["abd"])
        pose[f"{s}_sh_flex"] += D(p["flex"])
        pose[f"{s}_el_flex"] = np.zeros_like(t)
        pose[f"{s}_el_abd"] += D(35) + D(p["amp"]) * w
    return pose


def _clap_yaw(body: Body, flex: float, yaw: float, el_flex: float) -> float:
    """The forearm's medial turn that brings the wrist to the body's midline."""
    lo, hi = 0.0, np.pi / 2
    for _ in range(30):
        mid = (lo + hi) / 2
        pose = zero_pose(1)
        pose.update(l_sh_flex=np.array([flex]), l_sh_yaw=np.array([yaw]), l_el_flex=np.array([el_flex]),
                    l_el_yaw=np.array([mid]), l_sh_abd=np.array([D(10)]))
        x = local_joints(body, pose)[0, 5, 0]
        lo, hi = (mid, hi) if x > 0.035 * body.height else (lo, mid)
    return float(lo)


def sample_clapping(rng, body):
    """Clapping rate, arm posture and how far the hands part."""
    p = _stand_params(rng)
    p.update(hz=_u(rng, 1.3, 3.0), flex=_u(rng, 25, 60), yaw=_u(rng, 15, 35), el_flex=_u(rng, 50, 80),
             open=_u(rng, 25, 45))
    return p


def clapping(p, body, t):
    """Forearms swing in until the hands meet in front of the chest, periodically."""
    pose = zero_pose(len(t))
    _sway(p, pose, t)
    flex = D(p["flex"])
    closed = _clap_yaw(body, flex, D(p["yaw"]), D(p["el_flex"]))
    # Hands meet quickly and part slowly: |sin| keeps the contact short.
    gap = np.abs(np.sin(np.pi * p["hz"] * t + p["phase"])) ** 0.7
    for s in "lr":
        pose[f"{s}_sh_abd"] = np.full_like(t, D(10))
        pose[f"{s}_sh_flex"] += flex
        pose[f"{s}_sh_yaw"] += D(p["yaw"])
        pose[f"{s}_el_flex"] = np.full_like(t, D(p["el_flex"]))
        pose[f"{s}_el_yaw"] += closed - D(p["open"]) * gap
    return pose


# ---- boxing and kicking ----------------------------------------------------------------

def sample_boxing(rng, body):
    """Punch rate, lead hand, reach, knee bend and guard."""
    return {"rate": _u(rng, 1.5, 3.2), "side": _side(rng), "reach": _u(rng, 75, 95), "bend": _u(rng, 8, 25),
            "guard": _u(rng, 95, 125), "phase": _u(rng, 0, 1), "bounce_hz": _u(rng, 1.0, 2.0)}


def _strikes(rate: float, phase: float, t: np.ndarray, width: float = 0.45):
    """(index of the current strike, how far out it is 0..1) for strikes at `rate` per second."""
    k = t * rate + phase
    u = k % 1.0
    out = np.where(u < width, np.sin(np.pi * u / width), 0.0) ** 0.6
    return np.floor(k).astype(int), out


def boxing(p, body, t):
    """Punches from a guard, alternating hands, with a twist of the body and a bounce."""
    pose = zero_pose(len(t))
    idx, out = _strikes(p["rate"], p["phase"], t)
    lead = p["side"]
    for s in "lr":
        mine = (idx % 2 == (0 if s == lead else 1)) * out
        pose[f"{s}_sh_flex"] += D(35) + (D(p["reach"]) - D(35)) * mine
        pose[f"{s}_sh_abd"] += D(12) - D(10) * mine
        pose[f"{s}_sh_yaw"] += D(12)
        pose[f"{s}_el_flex"] += D(p["guard"]) * (1 - mine) + D(5) * mine
        pose[f"{s}_knee"] += D(p["bend"])
        pose[f"{s}_hip_flex"] += D(p["bend"]) * 0.6
        pose[f"{s}_hip_abd"] += D(7)
        pose["yaw"] += (1 if s == "l" else -1) * D(12) * mine
    # A boxer leans a little into the punches (hips flexed as much, so the legs stay put).
    pose["pitch"] += D(8)
    for s in "lr":
        pose[f"{s}_hip_flex"] += D(8)
    pose["lift"] = 0.012 * body.height * np.abs(np.sin(np.pi * p["bounce_hz"] * t))
    return pose


def sample_kicking(rng, body):
    """Kick rate, kicking leg, kick height and arms."""
    return {"rate": _u(rng, 0.6, 1.1), "side": _side(rng), "high": _u(rng, 55, 95), "phase": _u(rng, 0, 1),
            "guard": bool(rng.random() < 0.6)}


def kicking(p, body, t):
    """Front kicks: the knee rises bent and snaps straight, the trunk leans back."""
    pose = zero_pose(len(t))
    _, out = _strikes(p["rate"], p["phase"], t, width=0.5)
    s, o = p["side"], _other(p["side"])
    pose[f"{s}_hip_flex"] += D(p["high"]) * out
    # The knee is bent on the way up and snaps straight at the top.
    pose[f"{s}_knee"] += D(70) * np.sin(np.pi * np.clip(out, 0, 1)) * (1 - out) + D(8)
    pose[f"{o}_knee"] += D(10)
    pose["pitch"] -= D(12) * out
    for side in "lr":
        if p["guard"]:
            pose[f"{side}_sh_flex"] += D(35)
            pose[f"{side}_el_flex"] += D(110)
            pose[f"{side}_sh_yaw"] += D(12)
        else:
            pose[f"{side}_sh_abd"] += D(35) * out
    return pose


# ---- actions with an onset (falling, sitting down) ---------------------------------------

def onset(p: dict, clip_s: float) -> float:
    """When a falling or sitting-down person starts to move (s); `clip_s` is the clip's last instant."""
    return p["start"] * max(clip_s, 1.0)


def under_way(p: dict, clip_s: float, share: float) -> float | None:
    """When `share` of a falling or sitting-down action's duration has passed (s); None for an
    action without an onset (it runs the whole clip)."""
    return onset(p, clip_s) + share * p["duration"] if "start" in p else None


# ---- falling -----------------------------------------------------------------------------

def sample_falling(rng, body):
    """When and how fast, which way (forward, backward, collapsing), knee buckle, and how
    the person stood before (idle's stance: `rest` is where the hands were)."""
    return {"start": _u(rng, 0.05, 0.3), "duration": _u(rng, 0.6, 1.1),
            "direction": str(rng.choice(["forward", "backward", "collapse"])), **_rest_params(rng),
            "buckle": _u(rng, 30, 70), "twitch": _u(rng, 0, 10)}


def falling(p, body, t):
    """Standing as idle people stand, then toppling to lying on the ground; arms reach out."""
    pose = zero_pose(len(t))
    _sway(p, pose, t)
    t0 = onset(p, float(t.max()))
    s = np.clip((t - t0) / p["duration"], 0, 1)
    _stance(p, pose, t, p["rest"], 1 - np.clip(3 * s, 0, 1))
    fall = s ** 2  # accelerates like a toppling body
    buckle = np.sin(np.pi * s)
    angle = D(88) * fall
    legs = body.thigh + body.shin
    # Forward and backward topple from the ankles; a collapse buckles at the knees
    # first and then goes down backwards.
    sign = 1 if p["direction"] == "forward" else -1
    if p["direction"] == "collapse":
        buckle = np.sin(np.pi * np.clip(s * 1.6, 0, 1))
        angle = D(88) * np.clip((s - 0.3) / 0.7, 0, 1) ** 1.5
        buckle = buckle * 1.6
    pose["pitch"] += sign * angle
    pose["z"] = sign * legs * np.sin(angle) * 0.9
    for side in "lr":
        # Arms reach out to break the fall and end along the body on the ground.
        pose[f"{side}_sh_flex"] += D(70 if sign > 0 else 50) * buckle + D(165 if sign > 0 else 5) * fall
    for side in "lr":
        pose[f"{side}_knee"] += D(p["buckle"]) * buckle
        pose[f"{side}_hip_flex"] += D(p["buckle"]) * 0.7 * buckle
        pose[f"{side}_el_flex"] += D(20) * fall
    pose["head_pitch"] += D(p["twitch"]) * fall * np.sin(7 * t)
    return pose


# ---- sitting down ------------------------------------------------------------------------

def sample_sitting_down(rng, body):
    """When, how fast, how far the trunk leans, where the hands go, and how the person
    stood before (idle's stance: `rest` is where the hands were)."""
    return {"start": _u(rng, 0.05, 0.3), "duration": _u(rng, 0.8, 1.5), "lean": _u(rng, 20, 40),
            "hands": str(rng.choice(["thighs", "hang", "reach"])), **_rest_params(rng)}


def sitting_down(p, body, t):
    """Standing, then lowering onto a seat behind (the scene draws a chair there): the
    thighs end level and the shins upright, the feet stay where they stood; before, they
    stand as idle people stand."""
    pose = zero_pose(len(t))
    _sway(p, pose, t)
    t0 = onset(p, float(t.max()))
    s = np.clip((t - t0) / p["duration"], 0, 1)
    _stance(p, pose, t, p["rest"], 1 - np.clip(2 * s, 0, 1))
    s = s * s * (3 - 2 * s)
    pitch = D(p["lean"]) * np.sin(np.pi * s) + D(8) * s
    pose["pitch"] += pitch
    for side in "lr":
        pose[f"{side}_hip_flex"] += D(90) * s + pitch  # relative to the leaning trunk
        pose[f"{side}_knee"] += D(90) * s
        if p["hands"] == "thighs":
            pose[f"{side}_sh_flex"] += D(25) * s
            pose[f"{side}_el_flex"] += D(45) * s
        elif p["hands"] == "reach":
            pose[f"{side}_sh_flex"] += D(45) * np.sin(np.pi * s)
    pose["z"] = -body.thigh * np.sin(D(90) * s)
    return pose


SAMPLERS = {"idle": sample_idle, "walking": sample_walking, "running": sample_running, "jumping": sample_jumping,
            "waving": sample_waving, "clapping": sample_clapping, "boxing": sample_boxing,
            "falling": sample_falling, "kicking": sample_kicking, "sitting_down": sample_sitting_down}
EVALUATORS = {"idle": idle, "walking": walking, "running": running, "jumping": jumping, "waving": waving,
              "clapping": clapping, "boxing": boxing, "falling": falling, "kicking": kicking,
              "sitting_down": sitting_down}


def sample(action: str, rng: np.random.Generator, body: Body) -> dict:
    """Draws an action's parameters (speed, amplitude, phase, handedness, style)."""
    return SAMPLERS[action](rng, body)


def evaluate(action: str, params: dict, body: Body, t: np.ndarray) -> dict[str, np.ndarray]:
    """The action's pose at times t (seconds)."""
    return EVALUATORS[action](params, body, np.asarray(t, dtype=float))
