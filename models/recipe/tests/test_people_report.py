"""The single-frame vs TSM comparison: pair accuracies, swaps and targets from confusion matrices."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe import people_report  # noqa: E402

LABELS = ["idle", "walking", "running", "waving", "clapping"]


def report(conf, name):
    n = sum(map(sum, conf))
    right = sum(conf[i][i] for i in range(len(conf)))
    per = {lab: {"recall": conf[i][i] / sum(conf[i]), "precision": None, "support": sum(conf[i])}
           for i, lab in enumerate(LABELS)}
    return {"data": {"labels": LABELS, "split": {"test_groups": [9, 10]}},
            "model": {"name": name, "params": 100, "macs": 2e6, "epochs_run": 3, "best_epoch": 2,
                      "train_seconds": 10.0, "frame_accuracy": 0.5, "clip_accuracy": right / n,
                      "video_accuracy": 0.5, "latency_ms": {"threads_1_ms": 1.0}},
            "results": {"test": {"clip": {"confusion": conf, "per_class": per, "count": n}}}}


FRAME = [[10, 0, 0, 0, 0], [0, 6, 4, 0, 0], [0, 5, 5, 0, 0], [0, 0, 0, 7, 3], [0, 0, 0, 2, 8]]
TSM = [[10, 0, 0, 0, 0], [0, 10, 0, 0, 0], [0, 1, 9, 0, 0], [0, 0, 0, 9, 1], [0, 0, 0, 0, 10]]


def test_pairs_and_targets(tmp_path):
    s = people_report.summarize(report(FRAME, "f"), report(TSM, "t"))
    fw, tw = s["models"]["frame"]["pairs"][0], s["models"]["tsm"]["pairs"][0]
    assert fw == {"pair": ["walking", "running"], "clips": 20, "correct": 11, "accuracy": 0.55, "swapped": 9}
    assert tw["accuracy"] == 0.95 and tw["swapped"] == 1
    assert s["models"]["frame"]["pairs"][1]["accuracy"] == 0.75
    assert s["targets"] == {"tsm_clip_accuracy_at_least_90": True, "tsm_beats_frame_on_every_motion_pair": True,
                            "both_models_above_twice_chance": True}
    worse = people_report.summarize(report(TSM, "f"), report(FRAME, "t"))
    assert worse["targets"] == {"tsm_clip_accuracy_at_least_90": False, "tsm_beats_frame_on_every_motion_pair": False,
                                "both_models_above_twice_chance": True}
    # At chance overall, answering "walking" and "clapping" for everything wins both pairs on paper.
    lazy = [[0, 5, 0, 0, 5]] * 5
    paper = people_report.summarize(report(FRAME, "f"), report(lazy, "t"))
    assert paper["targets"]["tsm_beats_frame_on_every_motion_pair"] is False
    assert paper["targets"]["both_models_above_twice_chance"] is False
    assert "on paper only" not in people_report.markdown(s) and "on paper only" in people_report.markdown(paper)
    (tmp_path / "f").mkdir()
    (tmp_path / "t" / "tsm").mkdir(parents=True)
    (tmp_path / "f" / "report.json").write_text(json.dumps(report(FRAME, "f")))
    (tmp_path / "t" / "tsm" / "report.json").write_text(json.dumps(report(TSM, "t")))
    people_report.write(tmp_path / "f", tmp_path / "t", tmp_path / "out" / "cmp.md")
    md = (tmp_path / "out" / "cmp.md").read_text()
    assert "| walking / running | 55.0 % | 95.0 % | 9 | 1 | 20 / 20 |" in md
    assert "| running | 50.0 % | 90.0 % |" in md and "**met**" in md
    assert json.loads((tmp_path / "out" / "cmp.json").read_text())["targets"] == s["targets"]
    assert "| epochs run (kept) | 3 (2) | 3 (2) |" in md
    # A frame run re-exported from kept weights (train --epochs 0) names them instead of "0 (0)".
    again = report(FRAME, "f")
    again["model"].update(epochs_run=0, best_epoch=0)
    again["training"] = {"config": {"init_from": "attempt-11/weights/frame.weights.h5"}}
    md = people_report.markdown(people_report.summarize(again, report(TSM, "t")))
    assert "| epochs run (kept) | none here: `attempt-11/weights/frame.weights.h5` exported untrained | 3 (2) |" in md


def test_runs_tested_on_different_data_are_not_compared():
    f, t = report(FRAME, "f"), report(TSM, "t")
    f["data"]["fingerprint"], t["data"]["fingerprint"] = "a" * 64, "a" * 64
    assert people_report.summarize(f, t)["targets"]["tsm_beats_frame_on_every_motion_pair"]
    t["data"]["fingerprint"] = "b" * 64
    with pytest.raises(ValueError, match="tested on different data.*export-frame.sh"):
        people_report.summarize(f, t)
