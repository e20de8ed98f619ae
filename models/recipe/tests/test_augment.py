"""Each augmentation changes the image as specified and keeps its shape and dtype."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe import augment as A  # noqa: E402

H, W = 48, 64  # not square: rotations and crops must keep (H, W)


def scene(seed=0):
    """A test card: left half red, right half blue, a white square near the top-left."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:, : W // 2] = (200, 30, 30)
    img[:, W // 2:] = (30, 30, 200)
    img[4:12, 4:12] = 255
    return img


def noisy_flat(seed=0, sigma=25.0):
    rng = np.random.default_rng(seed)
    return np.clip(128 + rng.normal(0, sigma, (H, W, 3)), 0, 255).astype(np.uint8)


def same_kind(out, img):
    assert out.shape == img.shape and out.dtype == np.uint8


def white_centroid(img):
    ys, xs = np.nonzero((img.astype(int).sum(axis=2) > 600))
    return ys.mean(), xs.mean()


def test_hflip_mirrors_columns():
    img = scene()
    out = A.hflip(img)
    same_kind(out, img)
    assert np.array_equal(out, img[:, ::-1])
    assert out[0, 0, 2] == 200  # blue now on the left
    assert np.array_equal(A.hflip(out), img)


def test_vflip_mirrors_rows():
    img = scene()
    out = A.vflip(img)
    same_kind(out, img)
    assert np.array_equal(out, img[::-1])
    assert white_centroid(out)[0] > H / 2


def test_affine_identity_and_translation():
    img = scene()
    assert np.array_equal(A.affine(img), img)
    out = A.affine(img, translate=(0.25, 0.0))
    same_kind(out, img)
    y0, x0 = white_centroid(img)
    y1, x1 = white_centroid(out)
    assert abs(x1 - x0 - 0.25 * W) < 0.6 and abs(y1 - y0) < 0.6
    assert (out[:, :10] == 0).all()  # the uncovered strip is filled


def test_affine_scale_and_shear_move_content():
    img = scene()
    small = A.affine(img, scale=0.5)
    same_kind(small, img)
    assert (small[0] == 0).all() and (small[:, 0] == 0).all()  # shrunk: borders filled
    sheared = A.affine(img, shear=20.0)
    same_kind(sheared, img)
    assert not np.array_equal(sheared, img)


def test_resized_crop_scales_the_box_back():
    img = scene()
    out = A.resized_crop(img, 0, 0, H // 2, W // 2)
    same_kind(out, img)
    # The top-left quarter is red with the white square: scaled 2x, the square doubles.
    ys, xs = np.nonzero(out.astype(int).sum(axis=2) > 600)
    assert 12 <= xs.max() - xs.min() + 1 <= 18
    assert (out[H - 1, W - 1] == (200, 30, 30)).all()  # no blue left
    assert np.array_equal(A.resized_crop(img, 0, 0, H, W), img)


def test_random_crop_box_respects_scale():
    rng = np.random.default_rng(0)
    for _ in range(50):
        top, left, h, w = A.random_crop_box(H, W, rng, scale=(0.3, 0.6))
        assert 0 <= top and top + h <= H and 0 <= left and left + w <= W
        assert 0.25 <= h * w / (H * W) <= 0.65


def test_grayscale_uses_bt601_luma():
    img = scene()
    out = A.grayscale(img)
    same_kind(out, img)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    assert out[H - 1, 0, 0] == round(0.299 * 200 + 0.587 * 30 + 0.114 * 30)


def test_perspective_identity_and_corner_pull():
    img = scene()
    assert np.array_equal(A.perspective(img, np.zeros((4, 2))), img)
    off = np.array([[10, 8], [0, 0], [0, 0], [0, 0]], np.float32)
    out = A.perspective(img, off)
    same_kind(out, img)
    assert (out[0, 0] == 0).all()  # the top-left corner moved in: fill shows
    assert not np.array_equal(out, img)


def test_rotation_with_canvas_expansion_keeps_everything():
    img = scene()
    out = A.rotate(img, 90, expand=True)
    same_kind(out, img)
    # 90° counter-clockwise: the white square (top-left) ends bottom-left, the
    # red left half ends at the bottom; the whole image is still there, scaled.
    y, x = white_centroid(out)
    assert y > H / 2 and x < W / 2
    assert out[H - 3, W // 2, 0] > 150 and out[3, W // 2, 2] > 150
    # Expanded 45° rotation: the canvas grows, so all four corners become fill.
    out45 = A.rotate(img, 45, expand=True)
    same_kind(out45, img)
    for cy, cx in ((0, 0), (0, W - 1), (H - 1, 0), (H - 1, W - 1)):
        assert (out45[cy, cx] == 0).all()
    # Without expansion the corners are cut off instead: less coloured area survives.
    cut = A.rotate(img, 45, expand=False)
    assert (cut.sum(axis=2) > 0).mean() > (out45.sum(axis=2) > 0).mean()


def test_color_jitter_brightness_contrast_saturation_hue():
    img = scene()
    bright = A.adjust_brightness(img, 1.2)
    same_kind(bright, img)
    assert bright[H - 1, 0, 0] == 240 and bright.mean() > img.mean()
    low = A.adjust_contrast(img, 0.5)
    same_kind(low, img)
    assert low.astype(float).std() < img.astype(float).std() * 0.6
    assert (A.adjust_contrast(img, 0.0).std(axis=(0, 1)) < 1).all()  # flat gray
    gray = A.adjust_saturation(img, 0.0)
    assert np.abs(gray.astype(int) - A.grayscale(img).astype(int)).max() <= 1
    assert np.array_equal(A.adjust_saturation(img, 1.0), img)
    red = np.zeros((4, 4, 3), np.uint8)
    red[...] = (255, 0, 0)
    third = A.adjust_hue(red, 1 / 3)  # red + 120° = green
    same_kind(third, red)
    assert third[0, 0, 1] > 240 and third[0, 0, 0] < 10 and third[0, 0, 2] < 10
    assert np.array_equal(A.color_jitter(img), img)


@pytest.mark.parametrize("method", ["gaussian", "median", "bilateral", "nlm"])
def test_denoising_reduces_noise(method):
    img = noisy_flat()
    out = A.denoise(img, method, 1.0)
    same_kind(out, img)
    assert out.astype(float).std() < 0.7 * img.astype(float).std(), method
    assert abs(out.astype(float).mean() - img.astype(float).mean()) < 3


def test_median_removes_salt_and_pepper():
    img = np.full((H, W, 3), 100, np.uint8)
    img[::7, ::5] = 255
    out = A.denoise(img, "median", 1.0)
    assert (out == 100).all()


def test_bilateral_keeps_edges():
    img = scene()
    out = A.denoise(img, "bilateral", 1.0)
    assert out[H // 2, W // 2 - 2, 0] > 180 and out[H // 2, W // 2 + 1, 2] > 180


def test_normalization_imagenet_and_dataset():
    img = scene()[None]
    norm = A.normalization("imagenet")
    x = A.normalize(img, norm)
    assert x.dtype == np.float32 and x.shape == img.shape
    assert np.isclose(x[0, 4, 4, 0], (255 / 255 - 0.485) / 0.229)
    assert np.isclose(x[0, H - 1, 0, 1], (30 / 255 - 0.456) / 0.224)
    frames = np.random.default_rng(1).integers(0, 256, (5, H, W, 3), dtype=np.uint8)
    frames[..., 2] //= 4  # a channel with other statistics
    d = A.normalization("dataset", frames)
    y = A.normalize(frames, d)
    assert np.allclose(y.reshape(-1, 3).mean(axis=0), 0, atol=1e-4)
    assert np.allclose(y.reshape(-1, 3).std(axis=0), 1, atol=1e-3)
    u = A.normalize(img, A.normalization("unit"))
    assert np.isclose(u.max(), 1.0) and u.min() >= -1.0
    with pytest.raises(ValueError):
        A.normalization("dataset")


def test_augmenter_random_choice_applies_k_ops():
    ops = [{"name": n, "p": 1.0} for n in ["hflip", "vflip", "grayscale", "color_jitter", "rotation"]]
    aug = A.Augmenter(ops, choose=2)
    rng = np.random.default_rng(0)
    seen = set()
    img = scene()
    for _ in range(40):
        applied = []
        out = aug(img, rng, applied)
        same_kind(out, img)
        assert len(applied) == 2 and len(set(applied)) == 2
        seen.update(applied)
    assert seen == {o["name"] for o in ops}  # every op gets chosen sometimes


def test_augmenter_probabilities_and_validation():
    img = scene()
    never = A.Augmenter([{"name": "hflip", "p": 0.0}])
    assert np.array_equal(never(img, np.random.default_rng(0)), img)
    always = A.Augmenter([{"name": "hflip", "p": 1.0}])
    assert np.array_equal(always(img, np.random.default_rng(0)), img[:, ::-1])
    with pytest.raises(ValueError):
        A.Augmenter([{"name": "sharpen"}])
    with pytest.raises(ValueError):
        A.Augmenter([{"name": "hflip", "p": 2}])


def test_default_augmenter_runs_every_op():
    aug = A.Augmenter(A.DEFAULT_AUGMENT["ops"], 0)
    rng = np.random.default_rng(3)
    img = scene()
    for _ in range(5):
        same_kind(aug(img, rng), img)
    for name in A.OP_NAMES:
        same_kind(A._random_op(name, {}, img, rng), img)


def test_wrong_input_is_rejected():
    with pytest.raises(ValueError):
        A.hflip(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        A.grayscale(np.zeros((4, 4, 3), np.float32))
