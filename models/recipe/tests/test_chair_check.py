"""The chair check (actiond_recipe/chair_check.py): each held-out clip is rendered twice,
differing only by an empty chair behind the main person; the tallies count what they are
given; the table shows each action and the sum."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe import chair_check  # noqa: E402
from actiond_recipe.humans import clip, scene, write  # noqa: E402


def test_the_two_renders_differ_only_by_a_chair_behind_the_main_person():
    cast = scene.sample_group(21, 781, [])
    for action in chair_check.ACTIONS:
        bare, chair = chair_check.pair(21, 781, action, cast, (64, 48), 10, 1.0, (0.4, 0.9))
        assert "empty_chair" not in bare
        assert {k: v for k, v in write._public(chair).items() if k != "empty_chair"} == write._public(bare)
        if bare["people"]:
            start = clip.clip_joints(bare, cast)[0][0]
            seat = chair["empty_chair"]
            facing = bare["people"][0]["facing"]
            offset = np.array([seat["x"] - start[0, 0], seat["z"] - start[0, 2]])
            # behind them: against the way they face, by about a thigh's length
            assert offset @ [np.sin(facing), np.cos(facing)] < -0.2
    assert "sitting_down" not in chair_check.ACTIONS and len(chair_check.ACTIONS) == 9


def test_tallies_count_right_answers_and_sitting_down():
    labels = ["idle", "sitting_down", "walking"]
    t = chair_check.tally(labels, "idle", [0, 1, 1, 2])
    assert t == {"clips": 4, "right": 1, "sitting_down": 2}
    assert chair_check.total([t, chair_check.tally(labels, "walking", [2, 2])]) == {
        "clips": 6, "right": 3, "sitting_down": 2}


def test_the_table_has_a_row_per_action_and_the_sum():
    one = {"clips": 4, "right": 3, "sitting_down": 1}
    res = {"model": "m.onnx", "groups": "781–800", "seed": 21, "size": [160, 120], "scale": [0.4, 0.9],
           "actions": {a: {"without": one, "with": one} for a in chair_check.ACTIONS},
           "all": {"without": one, "with": {"clips": 4, "right": 1, "sitting_down": 3}}}
    text = chair_check.markdown(res)
    assert all(f"| {a} | 4 |" in text for a in chair_check.ACTIONS)
    assert "| **all** | 4 | 75.0 % | 25.0 % | 25.0 % | 75.0 % |" in text
