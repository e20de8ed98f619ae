"""Backbone parameter counts equal Keras' own summaries; the head and multiply-add
counts follow their formulas."""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actiond_recipe import nets  # noqa: E402


@pytest.mark.parametrize("name,published", [("mobilenet_v2", 2_257_984), ("mobilenet_v1", 3_228_864),
                                            ("vgg16", 14_714_688)])
def test_backbone_params_match_keras_summaries(name, published):
    assert nets.PUBLISHED_PARAMS[name] == published
    # Convolutional backbones: the count does not depend on the input size.
    for size in (96, 128):
        assert nets.backbone(name, size).count_params() == published


@pytest.mark.parametrize("head", ["gap", "flatten"])
def test_classifier_params_are_backbone_plus_head(head):
    model, net = nets.classifier("mobilenet_v2", 96, 6, head=head)
    features = 1280 if head == "gap" else 3 * 3 * 1280  # 96 px → 3×3×1280 feature map
    assert model.count_params() == net.count_params() + nets.head_params(features, 256, 6)
    assert model.output.shape[-1] == 6


def test_macs_match_published_figures_at_224():
    # MobileNetV2 1.0-224: 300 M multiply-adds; MobileNetV1 1.0-224: 569 M; VGG16
    # convolutions: 15.35 G (15.47 G with its fully connected top).
    expect = {"mobilenet_v2": 300e6, "mobilenet_v1": 569e6, "vgg16": 15.35e9}
    for name, macs in expect.items():
        got = nets.count_macs(nets.backbone(name, 224))
        assert abs(got - macs) / macs < 0.01, (name, got)


def test_macs_scale_with_area_and_count_the_head():
    m96 = nets.count_macs(nets.backbone("mobilenet_v2", 96))
    m192 = nets.count_macs(nets.backbone("mobilenet_v2", 192))
    assert 3.8 < m192 / m96 < 4.2
    model, net = nets.classifier("mobilenet_v2", 96, 6)
    assert nets.count_macs(model) - nets.count_macs(net) == 1280 * 256 + 256 * 6


def test_no_download_and_missing_weights_file():
    with pytest.raises(FileNotFoundError):
        nets.backbone("mobilenet_v2", 96, weights=Path("/nonexistent/weights.h5"))
    with pytest.raises(ValueError):
        nets.backbone("resnet50", 96)
