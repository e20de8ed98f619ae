"""Attempt 39: where a TSM's held-out clip accuracy comes from, from calibrate.py's per-frame
probabilities (CACHE/probs-<model sha256>-<groups>.npz): each named set's clip accuracy with a
95 % interval over its groups (a bootstrap that draws whole groups again, within each half
prepare.sh renders: large people and small), and the clip accuracy by each render setting in
the videos' sidecars (camera view and elevation, people, occluder, shadow, noise, bitrate,
shake), per half, over every video named.
    .venv/bin/python models/recipe/people/attempt-39/run/where.py MODEL.onnx DATA CACHE NAME:GROUPS... > where.md
Several NAME:GROUPS with one NAME make one set.
"""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, "models/recipe")
sys.path.insert(0, str(Path(__file__).parent))
from actiond_recipe import dataset as ds  # noqa: E402
from calibrate import Clips, frame_probs  # noqa: E402

SETTINGS = {  # name → (what the sidecar says, bins for numbers or None)
    "camera view": (lambda s: s["plan"]["camera"]["view"], None),
    "camera elevation (°)": (lambda s: s["plan"]["camera"]["elevation_deg"], [-90, 5, 15, 30, 50, 90]),
    "people in the scene": (lambda s: len(s["plan"]["people"]), None),
    "occluder": (lambda s: s["plan"].get("occluder") is not None, None),
    "shadow": (lambda s: s["plan"]["effects"].get("shadow", 0) > 0, None),
    "sensor noise": (lambda s: s["plan"]["effects"]["noise"], [0, 2, 5, 8]),
    "bitrate (kbit/s)": (lambda s: s["bitrate_kbps"], [0, 300, 600, 1000]),
    "camera shake (px)": (lambda s: s["plan"]["camera"]["shake_px"], [0, 0.5, 1.5, 3, 100]),
}
HALVES = ("large", "small")


def binned(value, bins):
    if bins is None:
        return str(value)
    return next(f"{lo}–{hi}" for lo, hi in zip(bins, bins[1:]) if lo <= value < hi or hi == bins[-1])


def half_of(video: Path) -> str:
    """The half `prepare.sh` rendered a video in: $W/large (people 0.4–0.9 of the frame height)
    or $W/small (0.1–0.4), where the mix's link points."""
    half = video.resolve().parent.parent.name
    if half not in HALVES:
        raise SystemExit(f"{video}: not a render of prepare.sh's large or small half")
    return half


def interval(per_group: dict, halves: dict, rng, draws: int = 2000) -> tuple[float, float, float]:
    """Pooled clip accuracy of `per_group` (group → [hits, clips]) and its 95 % bootstrap interval,
    each draw taking as many groups again from each half as it has."""
    strata = [[g for g in sorted(per_group) if halves[g] == h] for h in HALVES]
    strata = [s for s in strata if s]

    def acc(groups):
        return sum(per_group[g][0] for g in groups) / sum(per_group[g][1] for g in groups)
    boot = [acc([g for s in strata for g in rng.choice(s, len(s))]) for _ in range(draws)]
    return acc(list(per_group)), float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def main():
    model, data, cache = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    sets: dict[str, list[str]] = {}
    for arg in sys.argv[4:]:
        name, groups = arg.rsplit(":", 1)
        sets.setdefault(name, []).append(groups)
    videos = {}  # rel → (group, half, hits, clips, sidecar)
    members: dict[str, set[str]] = {}
    for name, group_lists in sets.items():
        for groups in group_lists:
            labels, vs, probs, truth, heights = frame_probs(model, data, groups, cache)
            for v, p, t, h in zip(vs, probs, truth, heights):
                c = Clips([p], [t], [h])
                sidecar = json.loads(Path(v.path).resolve().with_suffix(".json").read_text())
                videos[v.rel] = (v.group, half_of(Path(v.path)), int((c.predict(np.zeros(len(labels))) == c.y).sum()),
                                 len(c.y), sidecar)
                members.setdefault(name, set()).add(v.rel)
    rng = np.random.default_rng(0)
    print("| set | groups | clip accuracy | groups' own accuracy | 95 % interval (groups drawn again, 2,000 times) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name, rels in members.items():
        per, halves = {}, {}
        for rel in rels:
            g, half, hits, n, _ = videos[rel]
            a = per.setdefault(g, [0, 0])
            a[0] += hits
            a[1] += n
            halves[g] = half
        acc, lo, hi = interval(per, halves, rng)
        own = [h / n for h, n in per.values()]
        print(f"| {name} | {ds.groups_text(sorted(per))} | {100 * acc:.1f} % | {100 * min(own):.0f}–{100 * max(own):.0f} % "
              f"| {100 * lo:.1f}–{100 * hi:.1f} % |")
    for name, (read, bins) in SETTINGS.items():
        print(f"\n| {name} | large: clip accuracy (clips) | small |\n| --- | ---: | ---: |")
        cells = {}
        for g, half, hits, n, sidecar in videos.values():
            a = cells.setdefault(binned(read(sidecar), bins), {h: [0, 0] for h in HALVES})[half]
            a[0] += hits
            a[1] += n
        order = [binned(lo, bins) for lo in bins[:-1]] if bins else sorted(cells)
        for key in [k for k in order if k in cells]:
            print(f"| {key} | " + " | ".join(f"{100 * a / n:.1f} % ({n})" if n else "–"
                                               for a, n in (cells[key][h] for h in HALVES)) + " |")


if __name__ == "__main__":
    main()
