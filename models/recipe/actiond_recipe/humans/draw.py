"""Bodies drawn as shaded capsules (limbs), a shaded hull (torso) and a head with hair
and face, depth-ordered over all people, in clothing colours and skin tones."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from .camera import Camera
from .skeleton import Body, J

SHIFT = 3  # cv2 sub-pixel bits
SKIN = [(60, 80, 120), (80, 110, 160), (105, 140, 195), (130, 170, 220), (160, 195, 235), (45, 60, 95)]  # BGR
HAIR = [(20, 20, 25), (25, 40, 70), (40, 70, 120), (90, 140, 190), (160, 160, 165), (30, 30, 60)]
CLOTHES = [(40, 40, 40), (230, 230, 230), (140, 60, 30), (30, 30, 150), (40, 120, 40), (120, 120, 120),
           (30, 160, 210), (90, 50, 110), (60, 90, 150), (180, 130, 80), (20, 70, 110), (200, 200, 60)]


@dataclass
class Look:
    """One performer's appearance: BGR colours and clothing cut."""

    skin: tuple
    hair: tuple
    shirt: tuple
    pants: tuple
    shoes: tuple
    long_sleeves: bool
    shorts: bool
    long_hair: bool
    stripes: int  # 0 = plain shirt

    def to_dict(self) -> dict:
        """JSON-able colours and cut."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


def _jitter(rng, colour, amount=25) -> tuple:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def sample_look(rng: np.random.Generator) -> Look:
    """Draws skin tone, hair, clothes colours and cut."""
    shirt = _jitter(rng, CLOTHES[rng.integers(len(CLOTHES))], 30)
    pants = _jitter(rng, CLOTHES[rng.integers(len(CLOTHES))], 20)
    return Look(skin=_jitter(rng, SKIN[rng.integers(len(SKIN))], 12), hair=_jitter(rng, HAIR[rng.integers(len(HAIR))], 10),
                shirt=shirt, pants=pants, shoes=_jitter(rng, (35, 35, 40), 30), long_sleeves=bool(rng.random() < 0.5),
                shorts=bool(rng.random() < 0.2), long_hair=bool(rng.random() < 0.3),
                stripes=int(rng.choice([0, 0, 0, 3, 4, 5])))


def _shade(colour, k: float) -> tuple:
    return tuple(float(min(255, c * k)) for c in colour)


def _pt(p) -> tuple[int, int]:
    return int(round(p[0] * (1 << SHIFT))), int(round(p[1] * (1 << SHIFT)))


def capsule(img, a, b, radius: float, colour, light: np.ndarray) -> None:
    """A limb between image points a and b: dark rim, body colour, lit ridge."""
    thick = max(1, int(round(2 * radius)))
    cv2.line(img, _pt(a), _pt(b), _shade(colour, 0.55), thick, cv2.LINE_AA, SHIFT)
    if radius >= 1.5:
        o = light * radius * 0.2
        cv2.line(img, _pt(a + o), _pt(b + o), colour, max(1, int(round(1.5 * radius))), cv2.LINE_AA, SHIFT)
        o = light * radius * 0.45
        cv2.line(img, _pt(a + o), _pt(b + o), _shade(colour, 1.3), max(1, int(round(0.6 * radius))), cv2.LINE_AA, SHIFT)


def _circle_points(c, r, n=12) -> np.ndarray:
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([c[0] + r * np.cos(a), c[1] + r * np.sin(a)], axis=1)


def torso(img, uv, radius, look: Look, light) -> None:
    """The torso as the hull of circles at shoulders, chest and hips, shaded and striped."""
    chest = uv[J["pelvis"]] * 0.55 + uv[J["neck"]] * 0.45
    pts = np.concatenate([_circle_points(uv[J["l_shoulder"]], radius * 0.7), _circle_points(uv[J["r_shoulder"]], radius * 0.7),
                          _circle_points(chest, radius), _circle_points(uv[J["l_hip"]], radius * 0.75),
                          _circle_points(uv[J["r_hip"]], radius * 0.75), _circle_points(uv[J["pelvis"]], radius * 0.85)])
    hull = cv2.convexHull((pts * (1 << SHIFT)).astype(np.int32))
    cv2.fillConvexPoly(img, hull, _shade(look.shirt, 0.6), cv2.LINE_AA, SHIFT)
    centre = pts.mean(axis=0)
    inner = ((pts - centre) * 0.78 + centre + light * radius * 0.2)
    cv2.fillConvexPoly(img, cv2.convexHull((inner * (1 << SHIFT)).astype(np.int32)), look.shirt, cv2.LINE_AA, SHIFT)
    capsule(img, uv[J["pelvis"]] + light * radius * 0.35, chest + light * radius * 0.35, radius * 0.3,
            _shade(look.shirt, 1.15), light)
    for i in range(look.stripes):
        f = (i + 1) / (look.stripes + 1)
        a = uv[J["l_shoulder"]] * (1 - f) + uv[J["l_hip"]] * f
        b = uv[J["r_shoulder"]] * (1 - f) + uv[J["r_hip"]] * f
        cv2.line(img, _pt(a), _pt(b), _shade(look.shirt, 0.45), max(1, int(radius * 0.25)), cv2.LINE_AA, SHIFT)
    # Trousers cover the hips.
    capsule(img, uv[J["l_hip"]], uv[J["r_hip"]], radius * 0.8, look.pants, light)


def head(img, uv, depth, joints, cam: Camera, frame: int, r: float, look: Look, light) -> None:
    """Hair and, when the person faces the camera at all, a face."""
    c = uv[J["head"]]
    left = joints[J["l_shoulder"]] - joints[J["r_shoulder"]]
    up = joints[J["neck"]] - joints[J["pelvis"]]
    fwd = np.cross(left, up)
    fwd = fwd / (np.linalg.norm(fwd) + 1e-9)
    toward = cam.rotation @ fwd  # camera coordinates: z > 0 points away from the camera
    face = c + np.array([toward[0], -toward[1]]) * r * 0.35
    cv2.circle(img, _pt(c), int(round(r * (1 << SHIFT))), _shade(look.hair, 0.8), -1, cv2.LINE_AA, SHIFT)
    if toward[2] < 0.35:
        cv2.circle(img, _pt(face), int(round(r * 0.82 * (1 << SHIFT))),
                   look.skin, -1, cv2.LINE_AA, SHIFT)
        top = c + (c - uv[J["neck"]]) / (np.linalg.norm(c - uv[J["neck"]]) + 1e-9) * r * 0.55
        cv2.circle(img, _pt(top), int(round(r * 0.6 * (1 << SHIFT))), look.hair, -1, cv2.LINE_AA, SHIFT)
        if r > 2.5:
            cv2.circle(img, _pt(face + light * r * 0.3), int(round(r * 0.3 * (1 << SHIFT))), _shade(look.skin, 1.15),
                       -1, cv2.LINE_AA, SHIFT)


# (joint a, joint b, radius as a fraction of height, part)
LIMBS = [(f"{s}_{a}", f"{s}_{b}", r, part) for s in "lr" for a, b, r, part in
         [("hip", "knee", 0.052, "pants"), ("knee", "ankle", 0.04, "shin"), ("ankle", "toe", 0.026, "shoes"),
          ("shoulder", "elbow", 0.035, "shirt"), ("elbow", "wrist", 0.028, "sleeve")]]


def _part_colour(part: str, look: Look):
    return {"pants": look.pants, "shin": look.skin if look.shorts else look.pants, "shoes": look.shoes,
            "shirt": look.shirt, "sleeve": look.shirt if look.long_sleeves else look.skin}[part]


def person_items(joints, body: Body, look: Look, cam: Camera, frame: int, scale: float, light):
    """One person's drawables at one instant: (depth, draw function) pairs."""
    uv, z = cam.project(joints, frame)
    uv = uv * scale
    zpos = np.maximum(z, 0.05)
    px = cam.focal * scale / zpos  # pixels per metre at each joint
    items = []
    for a, b, r, part in LIMBS:
        ia, ib = J[a], J[b]
        rad = r * body.height * (body.build ** 0.5) * (px[ia] + px[ib]) / 2
        items.append(((z[ia] + z[ib]) / 2, lambda img, ia=ia, ib=ib, rad=rad, part=part:
                      capsule(img, uv[ia], uv[ib], rad, _part_colour(part, look), light)))
        if b == "wrist":
            items.append((z[ib] - 0.01, lambda img, ib=ib, rad=rad:
                          cv2.circle(img, _pt(uv[ib]), int(round(rad * 1.15 * (1 << SHIFT))), look.skin, -1, cv2.LINE_AA, SHIFT)))
    tz = z[[J["l_shoulder"], J["r_shoulder"], J["l_hip"], J["r_hip"]]].mean()
    tr = 0.085 * body.height * body.build ** 0.7 * px[J["pelvis"]]
    items.append((tz, lambda img: torso(img, uv, tr, look, light)))
    hr = body.head_radius * px[J["head"]]
    items.append((tz - 0.02, lambda img: capsule(img, uv[J["neck"]], uv[J["neck"]] * 0.6 + uv[J["head"]] * 0.4,
                                                 hr * 0.5, look.skin, light)))
    if look.long_hair:
        items.append((tz + 0.01, lambda img: capsule(img, uv[J["head"]], uv[J["neck"]] * 0.7 + uv[J["head"]] * 0.3,
                                                     hr * 0.85, look.hair, light)))
    items.append((z[J["head"]] - 0.03, lambda img: head(img, uv, z, joints, cam, frame, hr, look, light)))
    return items


def chair_items(chair: dict, cam: Camera, frame: int, scale: float, light):
    """A chair (seat, four legs, backrest) as drawables: chair has the seat's centre
    `x`, `z`, height `y`, the sitter's `facing` and a BGR `colour`."""
    f = chair["facing"]
    fwd, right = np.array([np.sin(f), 0, np.cos(f)]), np.array([np.cos(f), 0, -np.sin(f)])
    centre = np.array([chair["x"], chair["y"], chair["z"]])
    corners = [centre + a * 0.21 * fwd + b * 0.21 * right for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))]
    back = [corners[2], corners[3], corners[3] + [0, 0.45, 0], corners[2] + [0, 0.45, 0]]
    colour = tuple(chair["colour"])
    items = []
    for c in corners:
        uv, z = cam.project(np.stack([c, c * [1, 0, 1]]), frame)
        rad = 0.02 * cam.focal * scale / max(z.mean(), 0.05)
        items.append((z.mean(), lambda img, uv=uv * scale, rad=rad: capsule(img, uv[0], uv[1], rad, colour, light)))

    def slab(points, shade):
        uv, _ = cam.project(np.stack(points), frame)
        return lambda img: cv2.fillConvexPoly(img, (uv * scale * (1 << SHIFT)).astype(np.int32),
                                              _shade(colour, shade), cv2.LINE_AA, SHIFT)
    _, zc = cam.project(centre, frame)
    _, zb = cam.project((back[0] + back[1]) / 2, frame)
    items.append((float(zc) + 0.15, slab(corners, 1.15)))
    items.append((float(zb), slab(back, 0.85)))
    return items


def draw_people(img, people, cam: Camera, frame: int, scale: float, light: np.ndarray, props=()) -> None:
    """Draws everyone (list of (joints, body, look)) and the props' drawables onto img,
    farthest parts first."""
    items = list(props)
    for joints, body, look in people:
        items += person_items(joints, body, look, cam, frame, scale, light)
    for _, fn in sorted(items, key=lambda it: -it[0]):
        fn(img)
