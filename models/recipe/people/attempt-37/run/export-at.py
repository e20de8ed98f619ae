"""Attempt 37: a TSM's kept weights exported (stateful, as the daemon runs it) at another square
input size, untrained, with the manifest and training-config metadata `recipe.py assess` reads.
`train-temporal --epochs 0 --init-from` does the same but needs the training groups' frames.
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
model = tx.online_model(net)
states = [(f"shift_in_{i}", tuple(x.shape[1:])) for i, x in enumerate(model.inputs[1:])]
inputs = [("input", (size, size, 3))] + states
outputs = ["probabilities"] + [f"shift_out_{i}" for i in range(len(states))]
name = f"{cfg['name']}-online-at-{size}"
base = ex.manifest_toml(name, labels, "NHWC", size, cfg["resize"], cfg["channel_order"],
                        aug.normalization(cfg["normalization"]), "probabilities", "probabilities",
                        comment=f"{weights} exported untrained at {size} px.", sample_fps=cfg["sample_fps"])
man = tx.stateful_manifest(base, len(states))
out.mkdir(parents=True, exist_ok=True)
tx.export(model, out / "model.onnx", inputs, outputs, name,
          {ex.METADATA_MANIFEST: man, "actiond.training_config": json.dumps(cfg, sort_keys=True)})
(out / "model.toml").write_text(man)
print(f"{out / 'model.onnx'}: max |onnxruntime - keras| {tx.verify(model, out / 'model.onnx', inputs, outputs):.1e}")
