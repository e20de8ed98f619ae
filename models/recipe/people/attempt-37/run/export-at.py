"""Attempt 37: a TSM's kept weights exported (stateful, as the daemon runs it) at another square
input size, untrained, with the manifest and training-config metadata `recipe.py assess` reads,
by the recipe's own export (temporal_export.export_form, as train-temporal exports).
    .venv/bin/python models/recipe/people/attempt-37/run/export-at.py WEIGHTS TRAINING_CONFIG SIZE OUT_DIR
"""
import json
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, "models/recipe")
from actiond_recipe import augment as aug  # noqa: E402
from actiond_recipe import export as ex  # noqa: E402
from actiond_recipe import temporal_export as tx  # noqa: E402
from actiond_recipe.train import tensorflow  # noqa: E402

weights, cfg, size, out = sys.argv[1], json.loads(Path(sys.argv[2]).read_text()), int(sys.argv[3]), Path(sys.argv[4])
tensorflow(2)
from actiond_recipe.temporal import TSMNet  # noqa: E402

labels = tomllib.loads(Path("models/people/model.toml").read_text())["labels"]  # the shipped model's
cfg["size"] = size
net = TSMNet(size, len(labels), cfg["alpha"], cfg["dropout"], cfg["bn_momentum"], cfg["expand"])
net.offline(cfg["frames"]).load_weights(weights)
base = ex.manifest_toml(f"{cfg['name']}-online-at-{size}", labels, "NHWC", size, cfg["resize"], cfg["channel_order"],
                        aug.normalization(cfg["normalization"]), "probabilities", "probabilities",
                        comment=f"{weights} exported untrained at {size} px.", sample_fps=cfg["sample_fps"])
form = tx.export_form(net, "stateful", out, base, cfg["frames"], {"actiond.training_config": json.dumps(cfg, sort_keys=True)})
print(f"{out / 'model.onnx'}: max |onnxruntime - keras| {form.max_diff:.1e}")
