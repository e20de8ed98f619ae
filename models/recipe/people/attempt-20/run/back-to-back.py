"""Attempt 20's check of the first clip: is it lost to the TSM's fresh state? Plays a held-out
half's videos back to back (shuffled, seed 1) through one state, as a camera that runs on
would, and scores each video's clips (mean of 8, stride 4) by where they lie in it.
  .venv/bin/python models/recipe/people/attempt-20/run/back-to-back.py models/people/model.onnx \
      /work/people8/mix /work/people8/tsm20/cache/frames 761 800"""
import random
import sys
import tomllib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # models/recipe
from actiond_recipe import dataset as ds  # noqa: E402
from actiond_recipe.export import trained_sample_fps  # noqa: E402
from actiond_recipe.evaluate import smooth  # noqa: E402
from actiond_recipe.temporal_export import classifier  # noqa: E402

model, data, cache = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
groups = set(range(int(sys.argv[4]), int(sys.argv[5]) + 1))
man = tomllib.loads((model.parent / "model.toml").read_text())
labels, inp = man["labels"], man["input"]
_, videos = ds.scan(data)
videos = [v for v in videos if v.group in groups]
random.Random(1).shuffle(videos)
# The frames as `recipe.py assess` takes them: the model's size, resize, channel order and training rate.
frames = ds.extract(videos, cache, ds.find_actiond(), inp["width"], inp.get("resize", "stretch"),
                    inp.get("channel_order", "RGB"), trained_sample_fps(model), log=lambda *a: None)
probs = classifier(model, man, threads=1).probabilities(np.concatenate([frames[v.rel] for v in videos]))
right: dict[int, list[bool]] = {}
i = 0
for v in videos:
    n = len(frames[v.rel])
    truth = labels.index(v.label)
    for end, c in smooth(probs[i:i + n], "mean", 8, 4):
        right.setdefault(end, []).append(int(c.argmax()) == truth)
    i += n
later = [x for end, xs in right.items() if end > 8 for x in xs]
print(f"{model} groups {min(groups)}-{max(groups)}, one state back to back: first clip "
      f"{np.mean(right[8]) * 100:.1f} %, later clips {np.mean(later) * 100:.1f} %")
