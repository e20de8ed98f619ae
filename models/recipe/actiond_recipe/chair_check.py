"""What a model answers when an empty chair stands right behind someone who does not sit
down (issue 14): held-out clips of the nine other actions, each rendered twice, without
any chair and with one where the seat of someone about to sit would be, then read back
through the daemon's `extract-frames` and run as the daemon runs the model. A model that
watches the motion answers the same both times; one that learned that a chair means
`sitting_down` does not."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .evaluate import pct
from .humans import actions, clip, scene, write
from .street_check import answers, load

SAT = "sitting_down"
ACTIONS = [a for a in actions.ACTIONS if a != SAT]  # everyone else: none of them sits down


def pair(seed: int, group: int, action: str, cast: dict, size: tuple[int, int], fps: int, seconds: float,
         scale_range: tuple[float, float]) -> tuple[dict, dict]:
    """The held-out clip's plan without any empty chair, and the same plan with one right
    behind the main person."""
    bare = clip.plan_clip(seed, group, 1, action, cast, size[0], size[1], fps, seconds, scale_range)
    bare.pop("empty_chair", None)
    return bare, {**bare, "empty_chair": clip.empty_chair(bare, cast, share=1.0, behind=True)}


def tally(labels: list[str], action: str, predicted: list[int]) -> dict:
    """Clips, and how many were answered with the clip's own action and with `sitting_down`."""
    return {"clips": len(predicted), "right": sum(labels[i] == action for i in predicted),
            SAT: sum(labels[i] == SAT for i in predicted)}


def total(tallies: list[dict]) -> dict:
    """The sum of several tallies."""
    return {k: sum(t[k] for t in tallies) for k in ("clips", "right", SAT)}


def check(model: Path, actiond: str, groups: list[int], seed: int = 21, size: tuple[int, int] = (160, 120),
          scale_range: tuple[float, float] = (0.4, 0.9), fps: int = 10, seconds: float = 3.0,
          sample_fps: float = 10.0, window: int = 8, stride: int = 4, log=print) -> dict:
    """Both renders of each of the nine actions in `groups`; per action and overall, the
    clips answered right and read as `sitting_down`, without and with the chair."""
    manifest_path, labels, shape, clf = load(model)
    photos = scene.available_photos()
    got = {a: {"without": [], "with": []} for a in ACTIONS}
    with tempfile.TemporaryDirectory() as tmp:
        for group in groups:
            cast = scene.sample_group(seed, group, photos)
            for action in ACTIONS:
                for name, plan in zip(("without", "with"), pair(seed, group, action, cast, size, fps, seconds,
                                                                 scale_range)):
                    video = Path(tmp) / f"{action}_{name}.mp4"
                    write.encode(clip.render_frames(plan, cast), fps, write._bitrate(plan), video, mux="mp4mux")
                    got[action][name] += answers(video, actiond, manifest_path, clf, shape, sample_fps, window,
                                                 stride)
    out = {"model": str(model), "seed": seed, "groups": f"{groups[0]}–{groups[-1]}", "videos": len(groups),
           "size": list(size), "scale": list(scale_range), "sample_fps": sample_fps,
           "smoothing": {"method": "mean", "window": window, "stride": stride},
           "actions": {a: {k: tally(labels, a, v) for k, v in got[a].items()} for a in ACTIONS}}
    out["all"] = {k: total([out["actions"][a][k] for a in ACTIONS]) for k in ("without", "with")}
    log(f"{SAT}: {out['all']['without'][SAT]} of {out['all']['without']['clips']} clips without a chair, "
        f"{out['all']['with'][SAT]} with one behind")
    return out


def markdown(res: dict) -> str:
    """The check as a short Markdown table."""
    lines = [f"Chair check of `{res['model']}`: held-out groups {res['groups']} (seed {res['seed']}), "
             f"{res['size'][0]}x{res['size'][1]}, main person {res['scale'][0]:g}–{res['scale'][1]:g} of the frame "
             f"height; each clip without any chair and with an empty one right behind the main person, who does "
             f"not sit down.", "",
             f"| action | clips | right, no chair | right, chair | `{SAT}`, no chair | `{SAT}`, chair |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, r in [*res["actions"].items(), ("**all**", res["all"])]:
        a, b = r["without"], r["with"]
        share = [pct(t[k] / max(1, t["clips"])) for k in ("right", SAT) for t in (a, b)]
        lines.append(f"| {name} | {a['clips']} | " + " | ".join(share) + " |")
    return "\n".join(lines) + "\n"
