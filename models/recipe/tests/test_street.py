"""Street scenes for the street check (actiond_recipe/humans/street.py, street_check.py):
everyone walks along one axis, walker 0 stays in view, scenes are reproducible and
stand on a ground plane, the tally counts what it is given, and a scene encodes."""

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe import street_check  # noqa: E402
from actiond_recipe.humans import clip, scene, street  # noqa: E402


def plan(index, walkers, kind="crowd", seed=3):
    cast = street.street_cast(seed, index, walkers, scene.available_photos())
    return cast, street.plan_street(seed, index, kind, cast, 160, 120, 10, 3.0, (0.15, 0.6))


@pytest.mark.parametrize("index", range(6))
def test_everyone_walks_along_one_street(index):
    cast, p = plan(index, 6)
    assert [q["action"] for q in p["people"]] == ["walking"] * 6
    assert p["group"] >= street.STREET_GROUP_BASE
    axis = p["people"][0]["facing"]
    for q in p["people"]:
        # same axis, either way, at most 0.25 rad off it each (so 0.5 between two walkers)
        assert abs(np.sin(q["facing"] - axis)) <= np.sin(0.5) + 1e-9
    assert cast["background"]["backdrop"] is True
    assert clip.in_view(p, cast, p["people"][0]["travel"]).all(), "walker 0 leaves the frame"


def test_scenes_are_reproducible_and_differ():
    _, a = plan(4, 5)
    _, b = plan(4, 5)
    _, c = plan(5, 5)
    strip = ("_camera",)
    assert {k: v for k, v in a.items() if k not in strip} == {k: v for k, v in b.items() if k not in strip}
    assert a["people"] != c["people"]


def test_tally_counts_each_label():
    labels = ["idle", "walking", "falling"]
    t = street_check.tally(labels, [1, 1, 2, 0])
    assert t["clips"] == 4 and t["counts"] == {"walking": 2, "falling": 1, "idle": 1}
    assert t["walking"] == 0.5 and t["falling"] == 0.25
    empty = street_check.tally(labels, [])
    assert empty["clips"] == 0 and empty["walking"] == 0.0 and empty["falling"] == 0.0


def test_a_crowd_scene_encodes_and_decodes(tmp_path):
    video = tmp_path / "crowd.mp4"
    p = street_check.render_scene(video, 2, 1000, "crowd", size=(160, 120), fps=10, seconds=1.0)
    assert 4 <= len(p["people"]) <= 8
    cap = cv2.VideoCapture(str(video))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 10
