"""Attempt 39: per-class offsets on a TSM's logits, fitted on the validation groups' clips, scored
on the held-out groups. A class the model answers too often (small people's `idle`: precision
63 %) costs the others their recall; a constant added to its logit, found where no test clip is
seen, moves that trade at no cost per frame (it could be folded into the last layer's bias).
    .venv/bin/python models/recipe/people/attempt-39/run/calibrate.py MODEL.onnx DATA VAL_GROUPS \
        TEST_HALVES CACHE OUT.json
TEST_HALVES as halves.sh writes them ("large:761-800 small:1161-1200"). Per-frame probabilities
are kept in CACHE/probs-<model sha256>-<groups>.npz (the model's stateful run, one thread, state
carried).
"""
import hashlib
import json
import sys
import tomllib
from pathlib import Path

import numpy as np

sys.path.insert(0, "models/recipe")
from actiond_recipe import dataset as ds  # noqa: E402
from actiond_recipe.assess import model_frames  # noqa: E402
from actiond_recipe.export import trained_sample_fps  # noqa: E402
from actiond_recipe.temporal_export import classifier  # noqa: E402

WINDOW, STRIDE = 8, 4  # the held-out figures' clips (mean of 8, a clip every 4 frames)
GRID = np.round(np.arange(-1.5, 1.51, 0.1), 2)


def frame_probs(model: Path, data: Path, groups: str, cache: Path):
    """Per-frame probabilities of every video in `groups`, their labels and heights (cached by
    the model file's content and the groups)."""
    saved = cache / f"probs-{hashlib.sha256(model.read_bytes()).hexdigest()[:12]}-{groups}.npz"
    if saved.exists():  # the frames are not needed again (they may be gone: 9 MB a video)
        man = tomllib.loads((model.parent / "model.toml").read_text())
        videos = [v for v in ds.scan(data)[1] if v.group in set(groups_of(groups))]  # model_frames' order
        probs = list(np.load(saved, allow_pickle=True)["probs"])
    else:
        man, videos, frames = model_frames(model, data, ds.find_actiond(None), cache / "frames",
                                           groups_of(groups), trained_sample_fps(model), log=print)
        clf = classifier(model, man, threads=1)
        probs = [clf.probabilities(frames[v.rel]) for v in videos]
        np.savez(saved, probs=np.array(probs, dtype=object))
    if len(probs) != len(videos):
        raise SystemExit(f"{saved}: {len(probs)} videos' probabilities, {len(videos)} videos in {data}: delete it")
    labels = man["labels"]
    heights = ds.person_heights(videos)
    return labels, videos, probs, [labels.index(v.label) for v in videos], [heights.get(v.rel) for v in videos]


def groups_of(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


class Clips:
    """Every clip of a set of videos as windows into one flat array of frame probabilities."""

    def __init__(self, probs, truth, heights):
        self.p = np.concatenate(probs).astype(np.float64)
        starts, self.y, self.h = [], [], []
        at = 0
        for pr, t, h in zip(probs, truth, heights):
            for end in range(WINDOW, len(pr) + 1, STRIDE):
                starts.append(at + end - WINDOW)
                self.y.append(t)
                self.h.append(h)
            at += len(pr)
        self.s, self.y, self.h = np.array(starts), np.array(self.y), np.array(self.h, dtype=float)

    def predict(self, b: np.ndarray) -> np.ndarray:
        q = self.p * np.exp(b)
        q /= q.sum(axis=1, keepdims=True)
        cs = np.vstack([np.zeros((1, q.shape[1])), np.cumsum(q, axis=0)])
        return (cs[self.s + WINDOW] - cs[self.s]).argmax(axis=1)

    def accuracy(self, b: np.ndarray) -> float:
        return float((self.predict(b) == self.y).mean())


def fit(clips: Clips, classes: int, passes: int = 3) -> np.ndarray:
    """Coordinate search over GRID for each class's offset (the first class held at 0: only
    differences count), keeping the smaller offset on a tie."""
    b = np.zeros(classes)
    for _ in range(passes):
        for c in range(1, classes):
            best = (clips.accuracy(b), -abs(b[c]), b[c])
            for g in GRID:
                trial = b.copy()
                trial[c] = g
                key = (clips.accuracy(trial), -abs(g), g)
                if key > best:
                    best = key
            b[c] = best[2]
    return b


def summary(clips: Clips, b: np.ndarray, labels: list[str]) -> dict:
    pred = clips.predict(b)
    fall = labels.index("falling")
    recall = {lab: float((pred[clips.y == i] == i).mean()) for i, lab in enumerate(labels)}
    bands = {}
    for lo, hi in ((0, .15), (.15, .2), (.2, .3), (.3, .4), (.4, .6), (.6, .8), (.8, 9)):
        sel = (clips.h >= lo) & (clips.h < hi)
        if sel.any():
            bands[f"{lo}-{hi if hi < 9 else ''}"] = round(float((pred[sel] == clips.y[sel]).mean()), 4)
    return {"accuracy": round(float((pred == clips.y).mean()), 4), "clips": int(len(pred)),
            "wrong_falling": int(((pred == fall) & (clips.y != fall)).sum()),
            "recall": {k: round(v, 4) for k, v in recall.items()}, "by_height": bands}


def main():
    model, data, val, halves, cache, out = (Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4].split(),
                                            Path(sys.argv[5]), Path(sys.argv[6]))
    labels, _, probs, truth, heights = frame_probs(model, data, val, cache)
    val_clips = Clips(probs, truth, heights)
    b = fit(val_clips, len(labels))
    res = {"model": str(model), "offsets": dict(zip(labels, b.round(2).tolist())),
           "val": {"groups": val, "before": summary(val_clips, np.zeros(len(labels)), labels),
                   "after": summary(val_clips, b, labels)}}
    for half in halves:
        name, groups = half.split(":")
        _, _, probs, truth, heights = frame_probs(model, data, groups, cache)
        c = Clips(probs, truth, heights)
        res[name] = {"groups": groups, "before": summary(c, np.zeros(len(labels)), labels), "after": summary(c, b, labels)}
    out.write_text(json.dumps(res, indent=1) + "\n")
    print("offsets:", res["offsets"])
    for name in ["val"] + [h.split(":")[0] for h in halves]:
        r = res[name]
        print(f"{name}: {r['before']['accuracy']:.4f} -> {r['after']['accuracy']:.4f} clip accuracy, wrong falling "
              f"{r['before']['wrong_falling']} -> {r['after']['wrong_falling']}")


if __name__ == "__main__":
    main()
