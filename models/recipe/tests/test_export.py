"""Export helpers: the training frame rate read back from a model."""

import json
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe import export  # noqa: E402


def tiny_model(path: Path, metadata: dict[str, str]) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
    m = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y]))
    for k, v in metadata.items():
        m.metadata_props.add(key=k, value=v)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(path))
    return path


def test_trained_sample_fps_from_metadata_then_training_config_then_manifest_then_default(tmp_path):
    meta = tiny_model(tmp_path / "a" / "model.onnx", {"actiond.training_config": json.dumps({"sample_fps": 10.0})})
    (tmp_path / "a" / "training_config.json").write_text(json.dumps({"sample_fps": 2.0}))
    assert export.trained_sample_fps(meta) == 10.0  # the model file's own record wins
    beside = tiny_model(tmp_path / "b" / "model.onnx", {})
    (tmp_path / "b" / "training_config.json").write_text(json.dumps({"sample_fps": 7.5}))
    assert export.trained_sample_fps(beside) == 7.5
    # No training record: the manifest's rate, embedded or beside (a model exported by hand).
    man = '[input]\nname = "x"\nsample_fps = 12.5\n'
    embedded = tiny_model(tmp_path / "d" / "model.onnx", {export.METADATA_MANIFEST: man})
    assert export.trained_sample_fps(embedded) == 12.5
    toml_beside = tiny_model(tmp_path / "e" / "model.onnx", {})
    (tmp_path / "e" / "model.toml").write_text(man.replace("12.5", "8"))
    assert export.trained_sample_fps(toml_beside) == 8.0
    (tmp_path / "e" / "model.toml").write_text('[input]\nname = "x"\n')  # a manifest without a rate
    assert export.trained_sample_fps(toml_beside) == 5.0
    bare = tiny_model(tmp_path / "c" / "model.onnx", {"other": "x"})
    assert export.trained_sample_fps(bare) == 5.0
    assert export.trained_sample_fps(bare, default=3.0) == 3.0


def test_the_manifest_names_the_training_rate_only_when_frames_were_sampled():
    import tomllib

    norm = {"scale": 255.0, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    args = ("people", ["idle", "walking"], "NHWC", 96, "stretch", "RGB", norm, "probabilities", "probabilities")
    man = tomllib.loads(export.manifest_toml(*args, comment="two\nlines", sample_fps=10))
    assert man["input"]["sample_fps"] == 10.0
    assert man["input"]["width"] == 96 and man["labels"] == ["idle", "walking"]
    for every_frame in (None, 0):
        man = tomllib.loads(export.manifest_toml(*args, sample_fps=every_frame))
        assert "sample_fps" not in man["input"]
