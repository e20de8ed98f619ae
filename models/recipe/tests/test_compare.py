"""The backbone comparison table: frame runs of `train` and temporal forms of
`train-temporal` in one table, with per-class clip recall."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe.compare import table  # noqa: E402


def _report(path: Path, model: dict, recall: dict, frame_acc: float, clip_acc: float) -> Path:
    path.mkdir(parents=True)
    per_class = {k: {"precision": 0.5, "recall": v, "support": 40} for k, v in recall.items()}
    report = {
        "model": {"alpha": 1.0, "input_size": 64, "epochs_run": 3, "train_seconds": 480.0,
                  "latency_ms": {"threads_1_ms": 0.5, "threads_2_ms": 0.7}, "bytes": 9_000_000, **model},
        "training": {"config": {"epochs": 30, "max_minutes": 8}},
        "results": {"test": {"frame": {"accuracy": frame_acc}, "clip": {"accuracy": clip_acc, "per_class": per_class}}},
    }
    (path / "report.json").write_text(json.dumps(report))
    return path


def test_frame_and_temporal_rows_with_recall(tmp_path):
    frame = _report(tmp_path / "vgg16-flatten",
                    {"backbone": "vgg16", "head": "flatten", "params": {"backbone": 14_714_688, "total": 15_240_266},
                     "macs": 1_253_000_000}, {"walking": 0.25, "running": 0.5}, 0.2, 0.225)
    tsm = _report(tmp_path / "attempt-3" / "tsm",
                  {"backbone": "tsm_mobilenet_v2", "alpha": 0.5, "kind": "stateful", "frames": 1,
                   "params": 719_034, "macs_per_call": 7_837_440}, {"walking": 0.6, "running": 0.7}, 0.513, 0.6525)
    text = table([frame, tsm])
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    vgg = next(r for r in rows if r.startswith("| vgg16-flatten |"))
    assert "| 14,714,688 | 15,240,266 | 1,253 M | 3 of 30 epochs, 8 min (budget 8 min) | 20.0 % | 22.5 % |" in vgg
    t = next(r for r in rows if r.startswith("| attempt-3/tsm |"))
    assert "tsm_mobilenet_v2 α0.5 (stateful, 1 frame per call)" in t
    assert "| — | 719,034 | 8 M |" in t and "| 51.3 % | 65.2 % |" in t
    # the recall table: classes as columns in sorted order, one row per run
    i = rows.index("| run | running | walking |")
    assert rows[i + 2] == "| vgg16-flatten | 50.0 % | 25.0 % |"
    assert rows[i + 3] == "| attempt-3/tsm | 70.0 % | 60.0 % |"
