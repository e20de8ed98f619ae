"""Clip results grouped by where each clip lies in its video: a class missed only before
its action starts (or after it ends) shows in the early (or late) columns."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe.assess import markdown, position_table  # noqa: E402
from actiond_recipe.evaluate import evaluate  # noqa: E402


class Replay:
    """Stands in for the ONNX classifier (a pure-function test): the probabilities each
    video's frames were given."""

    def probabilities(self, frames):
        return frames


def one_hot(classes):
    return np.array([[0.9, 0.1] if c == 0 else [0.1, 0.9] for c in classes], np.float32)


def test_clips_are_grouped_by_their_end_frame():
    # An `a` video read as `b` for its first ten frames, then as `a`; a `b` video read as `b`.
    videos = [SimpleNamespace(rel="a/1", label="a"), SimpleNamespace(rel="b/1", label="b")]
    frames = {"a/1": one_hot([1] * 10 + [0] * 6), "b/1": one_hot([1] * 16)}
    res = evaluate(Replay(), videos, frames, ["a", "b"], {"method": "mean", "window": 8, "stride": 4})
    ends = res["clip"]["by_end_frame"]
    assert sorted(ends, key=int) == ["8", "12", "16"]
    # Frames 0-7 and 4-11 of the `a` video are mostly `b`; frames 8-15 mostly `a`.
    assert [ends[k]["recall"]["a"] for k in ("8", "12", "16")] == [0.0, 0.0, 1.0]
    assert [ends[k]["recall"]["b"] for k in ("8", "12", "16")] == [1.0, 1.0, 1.0]
    assert [ends[k]["accuracy"] for k in ("8", "12", "16")] == [0.5, 0.5, 1.0]
    assert sum(e["count"] for e in ends.values()) == res["clip"]["count"] == 6

    table = position_table(res["clip"], ["a", "b"])
    assert "| class | frames 0–7 | frames 4–11 | frames 8–15 |" in table
    assert "| a | 0.0 % | 0.0 % | 100.0 % |" in table
    assert "| **all** | 50.0 % | 50.0 % | 100.0 % |" in table


def test_no_position_table_for_ema_or_a_single_place():
    clip = {"smoothing": {"method": "ema", "window": 8, "stride": 4},
            "by_end_frame": {"8": {}, "12": {}}}
    assert position_table(clip, ["a"]) == []
    clip = {"smoothing": {"method": "mean", "window": 8, "stride": 4},
            "by_end_frame": {"8": {"accuracy": 1.0, "count": 1, "recall": {"a": 1.0}}}}
    assert position_table(clip, ["a"]) == []


def test_clips_before_the_action_is_under_way_are_scored_apart():
    # The `a` video's action is under way at 1.1 s (frames at 10 fps): its clip ending at frame
    # 7 (0.7 s) is left out of "clip_under_way", the one ending at frame 11 (1.1 s) kept; the
    # `b` video has no onset and keeps all three. The whole-clip figures do not change.
    videos = [SimpleNamespace(rel="a/1", label="a"), SimpleNamespace(rel="b/1", label="b")]
    frames = {"a/1": one_hot([1] * 10 + [0] * 6), "b/1": one_hot([1] * 16)}
    smoothing = {"method": "mean", "window": 8, "stride": 4}
    res = evaluate(Replay(), videos, frames, ["a", "b"], smoothing, {"a/1": 1.1}, 10.0)
    uw = res["clip_under_way"]
    assert (uw["count"], uw["left_out"], uw["accuracy"]) == (5, 1, 0.8)
    assert uw["confusion"] == [[1, 1], [0, 3]]
    assert res["clip"]["accuracy"] == 4 / 6 and res["clip"]["count"] == 6
    report = markdown({"model": "m.onnx", "data": "d", "groups": "1", "videos": 2, "labels": ["a", "b"],
                       "results": res, "pairs": [], "from_onset": 0.3})
    assert "before 30 % of it is under way (1 left out) | 80.0 % | 5 |" in report
    assert "clip_under_way" not in evaluate(Replay(), videos, frames, ["a", "b"], smoothing)


def test_clip_accuracy_by_the_persons_height():
    # A person 0.12 of the frame high read wrong in every clip, one of 0.25 right in every
    # clip, one of 0.85 right; a video without a height (a user's own clip) is in no band.
    videos = [SimpleNamespace(rel=r, label="a") for r in ("a/1", "a/2", "a/3", "a/4")]
    frames = {"a/1": one_hot([1] * 16), "a/2": one_hot([0] * 16), "a/3": one_hot([0] * 16), "a/4": one_hot([1] * 16)}
    smoothing = {"method": "mean", "window": 8, "stride": 4}
    res = evaluate(Replay(), videos, frames, ["a", "b"], smoothing, heights={"a/1": 0.12, "a/2": 0.25, "a/3": 0.85})
    assert res["clip"]["by_height"] == [{"from": 0.0, "to": 0.15, "accuracy": 0.0, "count": 3},
                                        {"from": 0.2, "to": 0.3, "accuracy": 1.0, "count": 3},
                                        {"from": 0.8, "to": None, "accuracy": 1.0, "count": 3}]
    report = markdown({"model": "m.onnx", "data": "d", "groups": "1", "videos": 4, "labels": ["a", "b"],
                       "results": res, "pairs": []})
    assert "| under 0.15 | 0.0 % | 3 |" in report
    assert "| 0.2–0.3 | 100.0 % | 3 |" in report
    assert "| 0.8 and more | 100.0 % | 3 |" in report
    plain = evaluate(Replay(), videos, frames, ["a", "b"], smoothing)
    assert "by_height" not in plain["clip"]
    assert "frame height" not in markdown({"model": "m.onnx", "data": "d", "groups": "1", "videos": 4,
                                           "labels": ["a", "b"], "results": plain, "pairs": []})
