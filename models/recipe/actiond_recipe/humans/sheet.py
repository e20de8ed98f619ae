"""A contact sheet: one labelled frame of each action, to look at the people."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from . import actions, clip, scene


def sample_frames(seed: int, size=(160, 120), fps: int = 10, seconds: float = 3.0) -> list[tuple[str, np.ndarray]]:
    """One frame of each of the first eight actions (the middle one; the last for falling), one group per
    action, the unoccluded clip whose performer is nearest half the frame height among the first few."""
    out = []
    photos = scene.available_photos()
    for g, action in enumerate(actions.ACTIONS[:8], start=1):
        cast = scene.sample_group(seed, g, photos)
        plans = [clip.plan_clip(seed, g, c, action, cast, size[0], size[1], fps, seconds) for c in range(1, 9)]
        plan = min((p for p in plans if p["people"]),
                   key=lambda p: (p["occluder"] is not None, abs(p["camera"]["scale"] - 0.5)))
        frames = clip.render_frames(plan, cast)
        out.append((action, frames[-1 if action == "falling" else len(frames) // 2]))
    return out


def contact_sheet(path: Path, seed: int, columns: int = 4, log=print) -> None:
    """Writes the sheet as a PNG with each action's name on its frame."""
    tiles = []
    for action, frame in sample_frames(seed):
        # The name on a strip under the frame, clear of the clip's own overlays.
        tile = np.vstack([frame, np.zeros((14, frame.shape[1], 3), np.uint8)])
        cv2.putText(tile, action, (4, frame.shape[0] + 11), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                    cv2.LINE_AA)
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    from PIL import Image

    # 256 colours keep the committed sheet small; the clips themselves are full colour.
    rgb = Image.fromarray(np.ascontiguousarray(np.vstack(rows)[..., ::-1]))
    rgb.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    log(f"contact sheet {path} ({path.stat().st_size // 1024} KB)")
