"""The TSM MobileNetV2's two forms (actiond_recipe/temporal.py) compute the same thing:
the online form run frame by frame with its shift buffers carried by hand equals the
clip form's per-frame outputs, and the shift matters (zeroed buffers change them)."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe import temporal  # noqa: E402

T, SIZE, CLASSES = 4, 32, 5


def randomize(model, seed=0):
    """Weights of a trained-looking net: random BatchNorm scales and shifts, then
    BatchNorm statistics calibrated on random clips (training-mode calls), so
    activations neither vanish nor saturate and every frame moves the output."""
    rng = np.random.default_rng(seed)
    new = []
    for w in model.weights:
        v = w.numpy()
        if w.path.endswith("gamma"):
            v = rng.uniform(0.5, 1.5, v.shape)
        elif w.path.endswith("beta"):
            v = rng.normal(0, 0.2, v.shape)
        new.append(v.astype(np.float32))
    model.set_weights(new)
    for _ in range(40):
        model(rng.normal(0, 1, (2, T, SIZE, SIZE, 3)).astype(np.float32), training=True)


@pytest.fixture(scope="module")
def net():
    n = temporal.TSMNet(SIZE, CLASSES, alpha=0.35)
    clip = n.offline(T)
    online = n.online()
    randomize(clip)
    return n, clip, online


def run_online(online, frames, carry=True):
    """Per-frame logits of the online form over frames [N, T, H, W, 3]."""
    states = [np.zeros((frames.shape[0],) + tuple(i.shape[1:]), np.float32) for i in online.inputs[1:]]
    out = []
    for t in range(frames.shape[1]):
        res = online([frames[:, t]] + states, training=False)
        out.append(res[0].numpy())
        if carry:
            states = [s.numpy() for s in res[1:]]
    return np.stack(out, 1)


def test_ten_shift_points_of_an_eighth_of_the_channels(net):
    n, _, online = net
    assert len(n.shift_points) == 10  # the residual blocks of MobileNetV2
    assert [i.name for i in online.inputs] == ["input"] + [f"shift_in_{i}" for i in range(10)]
    for i, c in enumerate(n.shift_points):
        assert tuple(online.inputs[1 + i].shape[1:])[-1] == c // 8
        assert tuple(online.outputs[1 + i].shape[1:]) == tuple(online.inputs[1 + i].shape[1:])


def test_online_frame_by_frame_equals_the_clip_form(net):
    _, clip, online = net
    x = np.random.default_rng(1).normal(0, 1, (2, T, SIZE, SIZE, 3)).astype(np.float32)
    want = clip(x, training=False).numpy()
    got = run_online(online, x)
    assert want.shape == (2, T, CLASSES)
    assert np.abs(got - want).max() < 1e-5
    # The shift matters: without the carried buffers every frame after the first differs.
    zeroed = run_online(online, x, carry=False)
    assert np.abs(zeroed[:, 0] - want[:, 0]).max() < 1e-5
    for t in range(1, T):
        assert np.abs(zeroed[:, t] - want[:, t]).max() > 1e-3 * np.abs(want).max()


def test_the_clip_form_is_causal(net):
    _, clip, _ = net
    x = np.random.default_rng(2).normal(0, 1, (1, T, SIZE, SIZE, 3)).astype(np.float32)
    y = x.copy()
    y[:, -1] += 1.0  # a later frame never changes an earlier output
    a, b = clip(x, training=False).numpy(), clip(y, training=False).numpy()
    assert np.abs(a[:, :-1] - b[:, :-1]).max() < 1e-6
    assert np.abs(a[:, -1] - b[:, -1]).max() > 1e-4


def test_channels_first_and_averaged_clip_forms_share_the_weights(net):
    n, clip, _ = net
    x = np.random.default_rng(3).normal(0, 1, (1, T, SIZE, SIZE, 3)).astype(np.float32)
    mean = n.offline(T, channels_first=True, average=True)
    got = mean(np.transpose(x, (0, 1, 4, 2, 3)), training=False).numpy()
    assert np.abs(got - clip(x, training=False).numpy().mean(axis=1)).max() < 1e-5


def test_exported_forms_run_offline_like_keras(net, tmp_path):
    """Both exports through ONNX Runtime, run as the daemon runs them (state carried by
    hand; the last T frames), give the Keras clip form's outputs."""
    import tomllib

    from actiond_recipe import augment, export as ex, temporal_export as tx

    n, clip, _ = net
    norm = augment.normalization("unit")
    base = ex.manifest_toml("t", [f"c{i}" for i in range(CLASSES)], "NHWC", SIZE, "stretch", "RGB", norm,
                            "probabilities", "probabilities")
    frames = np.random.default_rng(4).integers(0, 256, (T + 2, SIZE, SIZE, 3), dtype=np.uint8)
    x = augment.normalize(frames, norm)[None]
    per_frame = clip(np.concatenate([x[:, :T], x[:, -T:]]), training=False).numpy()

    model = tx.online_model(n)
    inputs = [("input", (SIZE, SIZE, 3))] + [(f"shift_in_{i}", tuple(t.shape[1:])) for i, t in enumerate(model.inputs[1:])]
    outputs = ["probabilities"] + [f"shift_out_{i}" for i in range(len(inputs) - 1)]
    path = tmp_path / "online.onnx"
    tx.export(model, path, inputs, outputs, "t", {})
    assert tx.verify(model, path, inputs, outputs) < 1e-4
    man = tomllib.loads(tx.stateful_manifest(base, len(inputs) - 1))
    got = tx.classifier(path, man).probabilities(frames)
    assert np.abs(got[:T] - tx.softmax(per_frame[0])).max() < 1e-5
    zeroed = tx.classifier(path, man, history=False).probabilities(frames)
    assert np.abs(zeroed[1:] - got[1:]).max() > 1e-3

    model = tx.clip_model(n, T)
    path = tmp_path / "clip.onnx"
    tx.export(model, path, [("input", (T, 3, SIZE, SIZE))], ["probabilities"], "t", {})
    man = tomllib.loads(tx.clip_manifest(base, T))
    got = tx.classifier(path, man).probabilities(frames)
    assert got.shape == (3, CLASSES)  # frames T−1, T, T+1 (0-based) end a clip
    assert np.abs(got[0] - tx.softmax(per_frame[0].mean(axis=0))).max() < 1e-5
    assert np.abs(got[-1] - tx.softmax(per_frame[1].mean(axis=0))).max() < 1e-5


def test_a_checkpoint_continues_in_a_fresh_net(net, tmp_path):
    # train-temporal --init-from: the clip model's weights file of one run loads into the
    # clip model a new run builds, and both compute the same outputs.
    _, clip, _ = net
    path = tmp_path / "tsm.weights.h5"
    clip.save_weights(str(path))
    fresh = temporal.TSMNet(SIZE, CLASSES, alpha=0.35).offline(T)
    x = np.random.default_rng(5).normal(0, 1, (1, T, SIZE, SIZE, 3)).astype(np.float32)
    assert not np.allclose(fresh(x, training=False).numpy(), clip(x, training=False).numpy())
    fresh.load_weights(str(path))
    np.testing.assert_allclose(fresh(x, training=False).numpy(), clip(x, training=False).numpy(), atol=1e-5)


def test_a_widened_net_starts_computing_what_the_narrow_one_did(net, tmp_path):
    # train-temporal --expand 1.5 --init-from-expand 1.0: the narrow run's weights fill the
    # leading channels of a net with half as many hidden channels again in every block; the
    # added channels' projection rows are zero, so the outputs are the narrow net's, and the
    # loss still reaches those rows (they can learn).
    import tensorflow as tf

    _, clip, _ = net
    path = tmp_path / "tsm.weights.h5"
    clip.save_weights(str(path))
    wide = temporal.TSMNet(SIZE, CLASSES, alpha=0.35, expand=1.5)
    wide_clip = wide.offline(T)

    def kernel(model, name):
        return [w for w in model.weights if w.path.endswith(name + "/kernel")][0]

    narrow_hidden = kernel(clip, "block5_project").shape[2]
    assert kernel(wide_clip, "block5_project").shape[2] == temporal.make_divisible(narrow_hidden * 1.5)
    assert wide.load_narrower(path, 1.0) == len(wide.weighted_layers())
    x = np.random.default_rng(6).normal(0, 1, (2, T, SIZE, SIZE, 3)).astype(np.float32)
    np.testing.assert_allclose(wide_clip(x, training=False).numpy(), clip(x, training=False).numpy(), atol=1e-5)
    project = kernel(wide_clip, "block5_project")
    assert not project.numpy()[0, 0, narrow_hidden:].any()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(wide_clip(x, training=True) ** 2)
    assert np.abs(tape.gradient(loss, project).numpy()[0, 0, narrow_hidden:]).max() > 0
    # The other way round is refused, naming the layer.
    wide_clip.save_weights(str(tmp_path / "wide.weights.h5"))
    with pytest.raises(ValueError, match="wider than"):
        temporal.TSMNet(SIZE, CLASSES, alpha=0.35).load_narrower(tmp_path / "wide.weights.h5", 1.5)


def test_contradicting_starting_points_are_refused_before_any_work(tmp_path):
    from actiond_recipe import train_temporal

    missing = tmp_path / "no-such-data"
    with pytest.raises(SystemExit, match="give --init-from too"):
        train_temporal.train(missing, tmp_path / "out", {"init_from_expand": 1.0})
    with pytest.raises(SystemExit, match="exclude each other"):
        train_temporal.train(missing, tmp_path / "out", {"init_from": "a.h5", "init_from_frame": "b.h5"})
    with pytest.raises(SystemExit, match="give --from-onset too"):
        train_temporal.train(missing, tmp_path / "out", {"onset_mask": True})
    with pytest.raises(SystemExit, match=r"forms \['online'\]: export one or both of stateful, clip"):
        train_temporal.train(missing, tmp_path / "out", {"forms": ["stateful", "online"]})
    with pytest.raises(SystemExit, match=r"forms \(none\)"):
        train_temporal.train(missing, tmp_path / "out", {"forms": []})
    assert not (tmp_path / "out").exists()


def test_frames_before_a_fall_is_under_way_get_no_loss():
    # --mask-before-onset: a window of 16 frames that starts while the person still stands
    # keeps its later frames' loss and loses its earlier ones'; other videos keep every frame.
    import keras

    from actiond_recipe import augment, train_temporal

    t = 4
    when = {"falling/a": 0.25}  # under way at 0.25 s: frames 0-2 at 10 fps come before
    items = [("falling/a", 0), ("falling/a", 2), ("idle/b", 0)]
    w = train_temporal.onset_weights(items, when, t, 10.0)
    np.testing.assert_array_equal(w, [[0, 0, 0, 1], [0, 1, 1, 1], [1, 1, 1, 1]])
    rng = np.random.default_rng(4)
    frames = {rel: rng.integers(0, 256, (6, SIZE, SIZE, 3), dtype=np.uint8) for rel in ("falling/a", "idle/b")}
    ys = np.array([0, 0, 1], np.int32)
    norm = augment.normalization("imagenet")

    def batches(weights):
        return train_temporal.clip_batches(items, ys, frames, t, 3, None, norm, 0, CLASSES, 0.0, weights)

    x, y, sw = batches(w)[0]
    assert x.shape == (3, t, SIZE, SIZE, 3) and y.shape == (3, t, CLASSES) and sw.shape == (3, t)
    assert len(batches(None)[0]) == 2  # no weights: (clips, labels) as before
    # Keras weighs each frame's loss by them: all zero, no loss; the mask's, less than none.
    clip = temporal.TSMNet(SIZE, CLASSES, alpha=0.35).offline(t)
    clip.compile(loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    full = clip.evaluate(batches(np.ones_like(w)), verbose=0)
    masked = clip.evaluate(batches(w), verbose=0)
    assert clip.evaluate(batches(np.zeros_like(w)), verbose=0) == 0.0
    assert 0 < masked < full


def test_a_frame_model_fills_the_tsm_so_steady_frames_read_alike(tmp_path):
    # train-temporal --init-from-frame: the single-frame MobileNetV2's weights go layer by
    # layer into the TSM. On a clip of one repeated frame, frame t's shifted channels equal
    # its own at the first t shift points (the first frame's zeros reach one shift point
    # further each frame), so from frame 10 (10 shift points) on the TSM must give the
    # frame model's logits exactly (and those logits do depend on the picture).
    from actiond_recipe import nets

    frame, _ = nets.classifier("mobilenet_v2", SIZE, CLASSES, "gap", 0.35, 0.2, 0)
    rng = np.random.default_rng(3)
    frame.set_weights([(rng.uniform(0.5, 1.5, w.shape) if w.path.endswith("gamma") else
                        rng.normal(0, 0.2, w.shape) if w.path.endswith("beta") else w.numpy()).astype(np.float32)
                       for w in frame.weights])
    for layer in nets._layers(frame):  # calibrated statistics, as in randomize()
        if hasattr(layer, "moving_mean"):
            layer.momentum = 0.0
    frame(rng.normal(0, 1, (16, SIZE, SIZE, 3)).astype(np.float32), training=True)
    path = tmp_path / "model.weights.h5"
    frame.save_weights(str(path))

    n = temporal.TSMNet(SIZE, CLASSES, alpha=0.35)
    points = len(n.shift_points)
    clip = n.offline(points + 2)
    assert n.load_frame_weights(path) == len(n.weighted_layers()) > 50
    imgs = rng.normal(0, 1, (2, SIZE, SIZE, 3)).astype(np.float32)
    want = frame(imgs, training=False).numpy()
    assert np.abs(want[0] - want[1]).max() > 1e-3
    got = clip(np.repeat(imgs[:, None], points + 2, axis=1), training=False).numpy()
    for t in (points, points + 1):
        np.testing.assert_allclose(got[:, t], want, atol=1e-4)
    assert not np.allclose(got[:, 0], want, atol=1e-3)


def test_a_frame_model_of_other_settings_is_named_in_the_error(tmp_path):
    from actiond_recipe import nets

    frame, _ = nets.classifier("mobilenet_v2", SIZE, CLASSES + 1, "gap", 0.35, 0.2, 0)
    path = tmp_path / "model.weights.h5"
    frame.save_weights(str(path))
    n = temporal.TSMNet(SIZE, CLASSES, alpha=0.35)
    n.offline(T)
    with pytest.raises(ValueError, match="model.weights.h5"):
        n.load_frame_weights(path)


def test_a_run_stopped_by_its_budget_keeps_its_latest_weights(tmp_path):
    # Attempt 21's first launch was killed out of memory in its end-of-epoch validation and
    # kept nothing. fit() now writes the latest weights when the budget stops the run, before
    # validating, and validates from the frame maps a batch at a time.
    from actiond_recipe import augment, train_temporal

    clip = temporal.TSMNet(SIZE, CLASSES, alpha=0.35).offline(T)
    rng = np.random.default_rng(3)
    frames = {f"v{i}": rng.integers(0, 256, (T, SIZE, SIZE, 3), dtype=np.uint8) for i in range(8)}
    items, ys = [(k, 0) for k in frames], np.arange(8, dtype=np.int32) % CLASSES
    norm = augment.normalization("imagenet")

    def batches(smoothing):
        return train_temporal.clip_batches(items, ys, frames, T, 2, None, norm, 0, CLASSES, smoothing)

    cfg = {"epochs": 3, "learning_rate": 1e-3, "weight_decay": 1e-4, "max_minutes": 1e-6}
    ckpt = tmp_path / "tsm.weights.h5"
    keep = train_temporal.fit(clip, batches(0.05), batches(0.0), cfg, ckpt, log=lambda *a: None)
    assert len(keep.history) == 1 and "val_accuracy" in keep.history[0]  # stopped in epoch 1, validated
    assert keep.history[0]["batches"] == 1  # of the epoch's 4: the budget stopped it after the first
    latest = tmp_path / "tsm.latest.weights.h5"
    assert latest.is_file()
    fresh = temporal.TSMNet(SIZE, CLASSES, alpha=0.35).offline(T)
    fresh.load_weights(str(latest))
    x = np.random.default_rng(5).normal(0, 1, (1, T, SIZE, SIZE, 3)).astype(np.float32)
    np.testing.assert_allclose(fresh(x, training=False).numpy(), clip(x, training=False).numpy(), atol=1e-5)
