"""Attempt 39: where a TSM's held-out clip accuracy comes from, from calibrate.py's per-frame
probabilities (CACHE/probs-<groups>.npz): each set's accuracy with a 95 % interval over its
groups (a bootstrap that draws whole groups, as the held-out split does), and the clip accuracy
by each render setting in the videos' sidecars (camera view and elevation, people, occluder,
shadow, noise, bitrate, shake), per half.
    .venv/bin/python models/recipe/people/attempt-39/run/where.py MODEL.onnx DATA CACHE GROUPS... > where.md
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


def binned(value, bins):
    if bins is None:
        return str(value)
    return next(f"{lo}–{hi}" for lo, hi in zip(bins, bins[1:]) if lo <= value < hi or hi == bins[-1])


def main():
    model, data, cache, sets = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:]
    rows = []  # one per video: half, group, hits, clips, sidecar
    for groups in sets:
        labels, videos, probs, truth, heights = frame_probs(model, data, groups, cache)
        for v, p, t, h in zip(videos, probs, truth, heights):
            c = Clips([p], [t], [h])
            sidecar = json.loads(Path(v.path).resolve().with_suffix(".json").read_text())
            rows.append({"set": groups, "group": v.group, "hits": int((c.predict(np.zeros(len(labels))) == c.y).sum()),
                         "clips": len(c.y), "sidecar": sidecar})
    rng = np.random.default_rng(0)
    print("| groups | clip accuracy | groups' own accuracy | 95 % interval (groups drawn again, 2,000 times) |")
    print("| --- | ---: | ---: | ---: |")
    for groups in sets:
        for half, (lo, hi) in (("large", (0, 800)), ("small", (801, 10**6))):
            per = {}
            for r in rows:
                if r["set"] == groups and lo <= r["group"] <= hi:
                    a = per.setdefault(r["group"], [0, 0])
                    a[0] += r["hits"]
                    a[1] += r["clips"]
            if not per:
                continue
            gs = sorted(per)

            def acc(draw):
                return sum(per[g][0] for g in draw) / sum(per[g][1] for g in draw)
            boot = [acc(rng.choice(gs, len(gs))) for _ in range(2000)]
            own = [per[g][0] / per[g][1] for g in gs]
            print(f"| {ds.groups_text(gs)} ({half}) | {100 * acc(gs):.1f} % | {100 * min(own):.0f}–{100 * max(own):.0f} % | "
                  f"{100 * np.percentile(boot, 2.5):.1f}–{100 * np.percentile(boot, 97.5):.1f} % |")
    for name, (read, bins) in SETTINGS.items():
        print(f"\n| {name} | large: clip accuracy (clips) | small |\n| --- | ---: | ---: |")
        cells = {}
        for r in rows:
            key = binned(read(r["sidecar"]), bins)
            a = cells.setdefault(key, {"large": [0, 0], "small": [0, 0]})["large" if r["group"] <= 800 else "small"]
            a[0] += r["hits"]
            a[1] += r["clips"]
        order = [binned(lo, bins) for lo in bins[:-1]] if bins else sorted(cells)
        for key in [k for k in order if k in cells]:
            print(f"| {key} | " + " | ".join(f"{100 * a / n:.1f} % ({n})" if n else "–"
                                               for a, n in (cells[key]["large"], cells[key]["small"])) + " |")


if __name__ == "__main__":
    main()
