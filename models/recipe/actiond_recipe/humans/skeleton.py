"""A human skeleton: joints, sampled body proportions and forward kinematics.

World axes: x and z span the ground, y is up (metres). A body frame has x to the
person's left, y up and z forward; side s = +1 is the left, -1 the right. A pose is
a dict of arrays over time (angles in radians, see ANGLES), plus the root's ground
position `x`, `z` and an extra `lift` above the standing height.
"""

from __future__ import annotations

from dataclasses import dataclass, asdict

import numpy as np

JOINTS = ["pelvis", "neck", "head", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow",
          "r_wrist", "l_hip", "l_knee", "l_ankle", "l_toe", "r_hip", "r_knee", "r_ankle", "r_toe"]
J = {name: i for i, name in enumerate(JOINTS)}

# Bones whose length forward kinematics must keep: (parent, child, Body attribute).
BONES = [("pelvis", "neck", "torso"), ("neck", "head", "neck_head")] + [
    (f"{s}_{a}", f"{s}_{b}", length) for s in "lr" for a, b, length in
    [("shoulder", "elbow", "upper_arm"), ("elbow", "wrist", "forearm"), ("hip", "knee", "thigh"),
     ("knee", "ankle", "shin"), ("ankle", "toe", "foot")]]

# Joint angles of a pose; per-side ones are prefixed "l_"/"r_".
BODY_ANGLES = ["yaw", "pitch", "roll", "head_pitch", "head_yaw"]
SIDE_ANGLES = ["sh_flex", "sh_abd", "sh_yaw", "el_flex", "el_abd", "el_yaw", "hip_flex", "hip_abd", "knee"]
ANGLES = BODY_ANGLES + [f"{s}_{a}" for s in "lr" for a in SIDE_ANGLES]

# How far each joint stays above the ground (fraction of height): ankles stand on
# their feet, toes on their soles, everything else on the flesh around it.
CLEARANCE = np.full(len(JOINTS), 0.05)
CLEARANCE[[J["l_ankle"], J["r_ankle"]]] = 0.04
CLEARANCE[[J["l_toe"], J["r_toe"]]] = 0.012


@dataclass
class Body:
    """One person's proportions in metres."""

    height: float
    build: float
    torso: float
    neck_head: float
    head_radius: float
    shoulder_half: float
    hip_half: float
    upper_arm: float
    forearm: float
    thigh: float
    shin: float
    foot: float

    def to_dict(self) -> dict:
        """The proportions as a JSON-able dict."""
        return {k: round(v, 4) for k, v in asdict(self).items()}


def sample_body(rng: np.random.Generator, child: bool = False) -> Body:
    """Draws a height, a build and slightly varied segment proportions."""
    h = float(np.clip(rng.normal(1.72, 0.09), 1.50, 1.98)) if not child else float(rng.uniform(1.1, 1.45))
    build = float(rng.uniform(0.85, 1.25))
    leg = rng.uniform(0.96, 1.04)
    arm = rng.uniform(0.95, 1.05)
    return Body(height=h, build=build, torso=0.29 * h / leg ** 0.5, neck_head=0.105 * h,
                head_radius=0.062 * h * (1.12 if child else 1.0), shoulder_half=0.112 * h * build ** 0.5,
                hip_half=0.082 * h * build ** 0.5, upper_arm=0.172 * h * arm, forearm=0.158 * h * arm,
                thigh=0.245 * h * leg, shin=0.245 * h * leg, foot=0.12 * h)


def zero_pose(n: int) -> dict[str, np.ndarray]:
    """A standing pose held for n samples (arms hang slightly away from the body)."""
    pose = {a: np.zeros(n) for a in ANGLES}
    for s in "lr":
        pose[f"{s}_sh_abd"] += np.radians(6)
    pose.update(x=np.zeros(n), z=np.zeros(n), lift=np.zeros(n))
    return pose


def _dir(flex, abd, yaw, side: float) -> np.ndarray:
    """Unit vectors (n, 3) in the body frame of a limb hanging down, abducted sideways
    by `abd`, flexed forward by `flex`, then turned medially by `yaw`."""
    flex, abd, yaw = np.broadcast_arrays(flex, abd, yaw)
    x = side * np.sin(abd)
    y = -np.cos(abd)
    y, z = y * np.cos(flex), -y * np.sin(flex)
    b = -side * yaw
    x, z = x * np.cos(b) + z * np.sin(b), -x * np.sin(b) + z * np.cos(b)
    return np.stack([x, y, z], axis=-1)


def _rot(yaw, pitch, roll) -> np.ndarray:
    """Body-to-world rotations (n, 3, 3): yaw about y, then pitch forward, then roll."""
    n = len(yaw)
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.zeros((n, 3, 3))
    ry[:, 0, 0], ry[:, 0, 2], ry[:, 1, 1], ry[:, 2, 0], ry[:, 2, 2] = cy, sy, 1, -sy, cy
    rx = np.zeros((n, 3, 3))
    rx[:, 0, 0], rx[:, 1, 1], rx[:, 1, 2], rx[:, 2, 1], rx[:, 2, 2] = 1, cp, -sp, sp, cp
    rz = np.zeros((n, 3, 3))
    rz[:, 0, 0], rz[:, 0, 1], rz[:, 1, 0], rz[:, 1, 1], rz[:, 2, 2] = cr, -sr, sr, cr, 1
    return ry @ rx @ rz


def local_joints(body: Body, pose: dict[str, np.ndarray]) -> np.ndarray:
    """Joint positions (n, joints, 3) in the body frame, pelvis at the origin."""
    n = len(pose["yaw"])
    out = np.zeros((n, len(JOINTS), 3))
    out[:, J["neck"]] = [0, body.torso, 0]
    hp, hy = pose["head_pitch"], pose["head_yaw"]
    out[:, J["head"]] = out[:, J["neck"]] + body.neck_head * np.stack(
        [np.sin(hy) * np.sin(hp), np.cos(hp), np.cos(hy) * np.sin(hp)], axis=-1)
    for s, side in (("l", 1.0), ("r", -1.0)):
        g = {a: pose[f"{s}_{a}"] for a in SIDE_ANGLES}
        sh = np.array([side * body.shoulder_half, body.torso - 0.035 * body.height, 0])
        elbow = sh + body.upper_arm * _dir(g["sh_flex"], g["sh_abd"], g["sh_yaw"], side)
        wrist = elbow + body.forearm * _dir(g["sh_flex"] + g["el_flex"], g["sh_abd"] + g["el_abd"],
                                            g["sh_yaw"] + g["el_yaw"], side)
        hip = np.array([side * body.hip_half, 0, 0])
        knee = hip + body.thigh * _dir(g["hip_flex"], g["hip_abd"], 0.0, side)
        shin_flex = g["hip_flex"] - g["knee"]
        ankle = knee + body.shin * _dir(shin_flex, g["hip_abd"], 0.0, side)
        toe = ankle + body.foot * _dir(shin_flex + np.pi / 2, 0.0, 0.0, side)
        for name, p in (("shoulder", sh), ("elbow", elbow), ("wrist", wrist), ("hip", hip),
                        ("knee", knee), ("ankle", ankle), ("toe", toe)):
            out[:, J[f"{s}_{name}"]] = p
    return out


def forward_kinematics(body: Body, pose: dict[str, np.ndarray]) -> np.ndarray:
    """World joint positions (n, joints, 3): the posed body turned by yaw/pitch/roll,
    set on the ground (the lowest joint at its clearance) at (x, z), raised by `lift`."""
    local = local_joints(body, pose)
    rot = _rot(pose["yaw"], pose["pitch"], pose["roll"])
    world = np.einsum("nij,nkj->nki", rot, local)
    ground = np.max(CLEARANCE * body.height - world[:, :, 1], axis=1)
    world[:, :, 0] += pose["x"][:, None]
    world[:, :, 1] += (ground + pose["lift"])[:, None]
    world[:, :, 2] += pose["z"][:, None]
    return world


def bone_lengths(body: Body, joints: np.ndarray) -> dict[str, np.ndarray]:
    """Each bone's length over time from joint positions (n, joints, 3)."""
    return {f"{a}-{b}": np.linalg.norm(joints[:, J[b]] - joints[:, J[a]], axis=-1) for a, b, _ in BONES}

