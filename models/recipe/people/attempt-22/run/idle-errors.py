"""Attempt 22's check: which held-out idle videos does a model read as `falling` or
`sitting_down`, and what does the renderer's sidecar say of them (how many people, the
view, an empty chair)? Frames through the daemon's `extract-frames` at the model's size,
clips scored as `assess` scores them (mean of 8, stride 4).
  .venv/bin/python models/recipe/people/attempt-22/run/idle-errors.py /work/people8/tsm22/tsm/model.onnx \
      /work/people8/mix /work/people8/tsm22/cache/frames 761 800"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # models/recipe
from actiond_recipe import dataset as ds  # noqa: E402
from actiond_recipe.assess import model_frames  # noqa: E402
from actiond_recipe.evaluate import smooth  # noqa: E402
from actiond_recipe.export import trained_sample_fps  # noqa: E402
from actiond_recipe.temporal_export import classifier  # noqa: E402

model, data, cache = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
groups = list(range(int(sys.argv[4]), int(sys.argv[5]) + 1))
man, videos, frames = model_frames(model, data, ds.find_actiond(None), cache, groups, trained_sample_fps(model),
                                   log=lambda m: None)
labels = man["labels"]
videos = [v for v in videos if v.label == "idle"]
clf = classifier(model, man, threads=1)
wrong = 0
for v in videos:
    clips = [labels[int(c.argmax())] for _, c in smooth(clf.probabilities(frames[v.rel]), "mean", 8, 4)]
    if "falling" in clips or "sitting_down" in clips:
        wrong += 1
        plan = json.loads(v.path.resolve().with_suffix(".json").read_text())["plan"]
        print(f"{v.rel}: {' '.join(clips)}; people {len(plan['people'])}, view {plan['camera'].get('view')}"
              + (", empty chair" if plan.get("empty_chair") else ""))
print(f"{wrong} of {len(videos)} idle videos have a clip read as `falling` or `sitting_down`")
