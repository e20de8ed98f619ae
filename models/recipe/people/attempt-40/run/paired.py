"""Attempt 40: is one model better than another beyond the draw of groups? Both models' clip
accuracy on the same videos (attempt 39's calibrate.py probabilities, one cache each), the
difference, and its 95 % interval from a paired bootstrap that draws whole groups again within
each half (both models always scored on the same groups), for each named set.
    .venv/bin/python models/recipe/people/attempt-40/run/paired.py A.onnx CACHE_A B.onnx CACHE_B DATA NAME:GROUPS...
Several NAME:GROUPS with one NAME make one set.
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, "models/recipe")
sys.path.insert(0, str(Path(__file__).parents[2] / "attempt-39" / "run"))
from actiond_recipe import dataset as ds  # noqa: E402
from calibrate import Clips, frame_probs  # noqa: E402
from where import HALVES, half_of  # noqa: E402


def per_group(model: Path, cache: Path, data: Path, groups: str) -> tuple[dict, dict]:
    """group → [hits, clips] of `model`, and group → half."""
    labels, videos, probs, truth, heights = frame_probs(model, data, groups, cache)
    hits, halves = {}, {}
    for v, p, t, h in zip(videos, probs, truth, heights):
        c = Clips([p], [t], [h])
        a = hits.setdefault(v.group, [0, 0])
        a[0] += int((c.predict(np.zeros(len(labels))) == c.y).sum())
        a[1] += len(c.y)
        halves[v.group] = half_of(Path(v.path))
    return hits, halves


def main():
    a, cache_a, b, cache_b, data = (Path(p) for p in sys.argv[1:6])
    sets: dict[str, list[str]] = {}
    for arg in sys.argv[6:]:
        name, groups = arg.rsplit(":", 1)
        sets.setdefault(name, []).append(groups)
    rng = np.random.default_rng(0)
    name_a, name_b = (m.parent.parent.name if m.parent.name == "tsm" else m.parent.name for m in (a, b))
    print(f"| set | groups | {name_a} | {name_b} | difference | 95 % interval "
          "(paired, groups drawn again 2,000 times) | groups where the second is better / worse |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name, group_lists in sets.items():
        ha, hb, halves = {}, {}, {}
        for groups in group_lists:
            x, hx = per_group(a, cache_a, data, groups)
            y, _ = per_group(b, cache_b, data, groups)
            ha.update(x)
            hb.update(y)
            halves.update(hx)
        strata = [s for s in ([g for g in sorted(ha) if halves[g] == h] for h in HALVES) if s]

        def diff(gs):
            n = sum(ha[g][1] for g in gs)
            return (sum(hb[g][0] for g in gs) - sum(ha[g][0] for g in gs)) / n
        boot = [diff([g for s in strata for g in rng.choice(s, len(s))]) for _ in range(2000)]
        gs = sorted(ha)
        acc_a = sum(ha[g][0] for g in gs) / sum(ha[g][1] for g in gs)
        acc_b = sum(hb[g][0] for g in gs) / sum(hb[g][1] for g in gs)
        better = sum(hb[g][0] > ha[g][0] for g in gs)
        worse = sum(hb[g][0] < ha[g][0] for g in gs)
        print(f"| {name} | {ds.groups_text(gs)} | {100 * acc_a:.1f} % | {100 * acc_b:.1f} % | {100 * diff(gs):+.1f} "
              f"| {100 * np.percentile(boot, 2.5):+.1f} to {100 * np.percentile(boot, 97.5):+.1f} | {better} / {worse} |")


if __name__ == "__main__":
    main()
