"""Splits are by video group; UCF101 split files are honoured; the smoothing mirror
follows the daemon's documented formulas; extracted frames are read-only maps of the cache."""

import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe import dataset as ds  # noqa: E402
from actiond_recipe.evaluate import smooth  # noqa: E402
from actiond_recipe.humans import write  # noqa: E402


def make_tree(root: Path, classes=("Run", "Jump"), groups=range(1, 11), clips=3):
    for c in classes:
        (root / c).mkdir(parents=True)
        for g in groups:
            for k in range(1, clips + 1):
                (root / c / f"v_{c}_g{g:02d}_c{k:02d}.avi").write_bytes(f"{c}{g}{k}".encode())
    return root


def test_scan_reads_ucf101_layout(tmp_path):
    labels, videos = ds.scan(make_tree(tmp_path))
    assert labels == ["Jump", "Run"]
    assert len(videos) == 60
    v = next(v for v in videos if v.rel == "Run/v_Run_g03_c02.avi")
    assert (v.label, v.group, v.clip) == ("Run", 3, 2)


def test_scan_rejects_unnamed_videos(tmp_path):
    make_tree(tmp_path)
    (tmp_path / "Run" / "holiday.mp4").write_bytes(b"x")
    with pytest.raises(SystemExit, match="v_<Class>_gXX_cYY"):
        ds.scan(tmp_path)


def test_split_keeps_groups_whole(tmp_path):
    _, videos = ds.scan(make_tree(tmp_path))
    s = ds.split_by_group(videos, None, None, seed=3)
    parts = {p: {v.group for v in s[p]} for p in ("train", "val", "test")}
    assert not (parts["train"] & parts["val"]) and not (parts["train"] & parts["test"])
    assert not (parts["val"] & parts["test"])
    assert len(s["train"]) + len(s["val"]) + len(s["test"]) == len(videos)
    assert len(parts["test"]) == 2 and len(parts["val"]) == 2  # 20 % and 15 % of 10 groups
    assert s == ds.split_by_group(videos, None, None, seed=3)  # deterministic
    fixed = ds.split_by_group(videos, [9, 10], [8], seed=3)
    assert fixed["test_groups"] == [9, 10] and fixed["val_groups"] == [8]
    assert {v.group for v in fixed["train"]} == set(range(1, 8))
    with pytest.raises(SystemExit):
        ds.split_by_group(videos, [1, 2], [2], seed=0)


def test_train_groups_cut_only_the_training_part(tmp_path):
    from actiond_recipe.train_temporal import only_train_groups

    _, videos = ds.scan(make_tree(tmp_path))
    full = ds.split_by_group(videos, [9, 10], [8], seed=3)
    cut = only_train_groups(full, [2, 3, 9, 40])
    assert cut["train_groups"] == [2, 3]  # held-out and unknown groups never train
    assert {v.group for v in cut["train"]} == {2, 3} and len(cut["train"]) == 12
    assert cut["test"] == full["test"] and cut["val"] == full["val"]
    with pytest.raises(SystemExit, match="none of the training groups"):
        only_train_groups(full, [8, 9])


@pytest.mark.skipif(shutil.which("gst-launch-1.0") is None, reason="needs GStreamer (scripts/setup.sh)")
def test_from_onset_leaves_out_the_windows_before_a_fall_is_under_way(tmp_path):
    # A rendered fall or sit starts 0.15-0.9 s in; before, the person stands as idle people
    # stand. --from-onset trains only on the windows that end once the action is under way.
    import json

    from actiond_recipe.humans import actions
    from actiond_recipe.train_temporal import clips_of

    labels = ["falling", "idle", "sitting_down"]
    write.render_dataset(tmp_path / "data", [1], 1, 5, (64, 48), 10, 3.0, labels, jobs=1, log=lambda m: None)
    _, videos = ds.scan(tmp_path / "data")
    frames = {v.rel: np.zeros((30, 1)) for v in videos}
    when = ds.under_way_times(videos, 0.3)
    assert sorted(when) == ["falling/v_falling_g01_c01.avi", "sitting_down/v_sitting_down_g01_c01.avi"]
    for rel, s in when.items():
        plan = json.loads((tmp_path / "data" / rel).with_suffix(".json").read_text())["plan"]
        label = rel.split("/")[0]  # the earliest of the people doing the clip's action
        assert s == pytest.approx(min(actions.onset(p["params"], 2.9) + 0.3 * p["params"]["duration"]
                                      for p in plan["people"] if p["action"] == label))
    items, ys = clips_of(videos, frames, labels, 8, 4, when, 10.0)
    for v in videos:
        starts = [s for rel, s in items if rel == v.rel]
        if v.rel in when:  # every window ending before it is left out, every later one kept
            assert starts == [s for s in range(0, 23, 4) if (s + 7) / 10 >= when[v.rel]] and 0 < len(starts) < 6
        else:
            assert starts == list(range(0, 23, 4))
    assert clips_of(videos, frames, labels, 8, 4)[0] == [(v.rel, s) for v in videos for s in range(0, 23, 4)]
    with pytest.raises(SystemExit, match="from 0 to 1"):
        ds.under_way_times(videos, 30)  # a percentage where a share is meant


def test_person_heights_are_the_renders_camera_scale(tmp_path):
    # assess splits its clip accuracy by them; a video the renderer did not make has none.
    import json

    write.render_dataset(tmp_path / "data", [1], 1, 2, (64, 48), 10, 1.0, ["idle", "walking"], jobs=1,
                         log=lambda m: None, scale_range=(0.2, 0.3))
    (tmp_path / "data" / "idle" / "v_idle_g02_c01.avi").write_bytes(b"a user's own clip")
    _, videos = ds.scan(tmp_path / "data")
    heights = ds.person_heights(videos)
    assert sorted(heights) == ["idle/v_idle_g01_c01.avi", "walking/v_walking_g01_c01.avi"]
    for rel, h in heights.items():
        plan = json.loads((tmp_path / "data" / rel).with_suffix(".json").read_text())["plan"]
        assert h == plan["camera"]["scale"] and 0 < h <= 0.3


def test_split_files(tmp_path):
    root = make_tree(tmp_path / "data", groups=range(1, 6), clips=1)
    _, videos = ds.scan(root)
    split = tmp_path / "splits"
    split.mkdir()
    train = [v.rel for v in videos if v.group > 2]
    test = [v.rel for v in videos if v.group <= 2]
    (split / "trainlist01.txt").write_text("".join(f"{r} 1\n" for r in train))
    (split / "testlist01.txt").write_text("".join(f"{r}\n" for r in test))
    s = ds.split_from_files(videos, split, 1, [5], seed=0)
    assert s["test_groups"] == [1, 2] and s["val_groups"] == [5] and s["train_groups"] == [3, 4]
    assert len(s["test"]) == 4 and len(s["val"]) == 2 and len(s["train"]) == 4


def test_fingerprint_changes_with_content(tmp_path):
    _, videos = ds.scan(make_tree(tmp_path))
    a = ds.fingerprint(videos)
    videos[0].path.write_bytes(b"changed")
    assert ds.fingerprint(videos) != a


def test_smoothing_mirror_matches_the_documented_formulas():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=20).astype(np.float64)
    clips = smooth(p, "mean", 8, 4)
    assert [n for n, _ in clips] == [8, 12, 16, 20]
    assert np.allclose(clips[1][1], p[4:12].mean(axis=0))
    ema = smooth(p, "ema", 3, 5)
    assert [n for n, _ in ema] == [5, 10, 15, 20]
    q = p[0].copy()
    for x in p[1:5]:
        q = 0.5 * x + 0.5 * q  # alpha = 2 / (3 + 1)
    assert np.allclose(ema[0][1], q)
    assert smooth(p[:5], "mean", 8, 4) == []


def test_groups_text_writes_runs_as_ranges():
    assert ds.groups_text([9, 1, 2, 3, 7, 10]) == "1–3, 7, 9–10"
    assert ds.groups_text(list(range(1, 741))) == "1–740"
    assert ds.groups_text([5]) == "5"
    assert ds.groups_text([]) == "none" and ds.groups_text(None) == "none"


@pytest.fixture
def two_videos(tmp_path):
    """The actiond binary and two rendered videos (idle, waving) to extract frames from."""
    if shutil.which("gst-launch-1.0") is None:
        pytest.skip("needs GStreamer (scripts/setup.sh)")
    try:
        actiond = ds.find_actiond()
    except SystemExit:
        pytest.skip("no actiond binary yet (cargo build; cargo test builds it before this suite runs)")
    write.render_dataset(tmp_path / "data", [1], 1, 7, (96, 72), 10, 1.0, ["idle", "waving"], jobs=1,
                         log=lambda m: None)
    return actiond, ds.scan(tmp_path / "data")[1]


def test_extract_maps_the_cache_read_only_and_reuses_it(tmp_path, two_videos):
    actiond, videos = two_videos
    frames = ds.extract(videos, tmp_path / "cache", actiond, 32, "stretch", "RGB", 10.0, log=lambda m: None)
    assert sorted(frames) == ["idle/v_idle_g01_c01.avi", "waving/v_waving_g01_c01.avi"]
    for rel, f in frames.items():
        label, stem = rel.split("/")[0], Path(rel).stem
        assert f.shape == (10, 32, 32, 3) and f.dtype == np.uint8
        assert f.tobytes() == (tmp_path / "cache" / label / f"{stem}.rgb").read_bytes()
        assert f.std() > 0  # real pictures, not zeros
        with pytest.raises(ValueError):
            f[0, 0, 0, 0] = 1  # the cache is never written through
    # The same settings again: the cache is reused (this "binary" would fail if it ran), and
    # its settings stamp is left alone (a run rewriting it made a reader beside it fail).
    stamp = tmp_path / "cache" / "settings.json"
    written = stamp.stat().st_mtime_ns
    again = ds.extract(videos, tmp_path / "cache", "/nonexistent/actiond", 32, "stretch", "RGB", 10.0,
                       log=lambda m: None)
    assert all(np.array_equal(again[r], frames[r]) for r in frames)
    assert stamp.stat().st_mtime_ns == written
    assert [p.name for p in (tmp_path / "cache").glob("*.json")] == ["settings.json"]  # no temporary left
    # A video rendered again after its frames were cached (a renderer change) is extracted
    # again, not served stale: here the binary that cannot run is asked for it.
    idle = next(v for v in videos if v.label == "idle")
    os.utime(idle.path, ns=(time.time_ns() + 10**9,) * 2)
    with pytest.raises(FileNotFoundError, match="/nonexistent/actiond"):
        ds.extract(videos, tmp_path / "cache", "/nonexistent/actiond", 32, "stretch", "RGB", 10.0,
                   log=lambda m: None)
    again = ds.extract(videos, tmp_path / "cache", actiond, 32, "stretch", "RGB", 10.0, log=lambda m: None)
    assert all(np.array_equal(again[r], frames[r]) for r in frames)


def test_a_run_waits_for_another_filling_the_same_cache(tmp_path, two_videos):
    # Two assessments on one cache whose settings changed both emptied it, and one failed with
    # FileNotFoundError: now the second waits for the first's lock, then finds the cache made.
    import threading

    actiond, videos = two_videos
    cache = tmp_path / "cache"
    ds.extract(videos, cache, actiond, 32, "stretch", "RGB", 10.0, log=lambda m: None)
    said, got = [], {}
    with ds.cache_lock(cache):  # another run, mid-extraction
        t = threading.Thread(target=lambda: got.update(ds.extract(videos, cache, actiond, 24, "stretch", "RGB", 10.0,
                                                                   log=said.append)))
        t.start()
        deadline = time.time() + 20
        while not said and time.time() < deadline:
            time.sleep(0.05)
        assert said == [f"waiting for another run that is extracting frames into {cache}"]
        assert '"width": 32' in (cache / "settings.json").read_text()  # not emptied under the holder
        assert t.is_alive()
    t.join(60)
    assert got["idle/v_idle_g01_c01.avi"].shape == (10, 24, 24, 3)
