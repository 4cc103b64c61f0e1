"""Switching filters off against zeroing by hand, running the layers one by one."""

from __future__ import annotations

import numpy as np
import pytest
from _tiny_models import branched_model

from cnnviz.core.ablation import AblatedProbe, check_switched_off, parse_switched_off
from cnnviz.core.layer_choice import LayerChoiceError
from cnnviz.core.network import SEED_SPECS


def by_hand(model, image, off=None, keep_top=None):
    """Every layer's output of a Sequential model, channels zeroed after each layer as asked."""
    h = np.asarray(image, np.float32).reshape(1, 28, 28, 1)
    outputs = []
    for layer in model.layers:
        h = layer(h).numpy()
        for channel in (off or {}).get(layer.name, []):
            h[..., channel] = 0.0
        if keep_top and layer.name in keep_top:
            strength = h.reshape(-1, h.shape[-1]).mean(axis=0)
            weakest = np.argsort(-strength, kind="stable")[keep_top[layer.name]:]
            h[..., weakest] = 0.0
        outputs.append(h[0])
    return outputs


@pytest.fixture(scope="module")
def probe(shipped_model):
    return AblatedProbe(shipped_model)


def assert_same_outputs(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def test_nothing_switched_off_is_the_plain_probe(probe, shipped_probe, digit_seven):
    assert_same_outputs(probe(digit_seven), shipped_probe(digit_seven))
    assert probe.layer_names == shipped_probe.layer_names


def test_switched_off_channels_match_zeroing_by_hand(probe, shipped_model, mnist):
    off = {"conv2d_1": [0, 5, 31], "conv2d_2": [3], "conv2d_3": list(range(0, 64, 2))}
    for index in (0, 8):
        image = mnist.x_test[index] / 255.0
        ours = probe(image, off)
        assert_same_outputs(ours, by_hand(shipped_model, image, off))
        assert not ours[0][..., [0, 5, 31]].any() and not ours[2][..., 3].any()
        assert not ours[1][..., 5].any()  # the pooling layer after conv2d_1 sees the zeros
    assert not np.allclose(probe.probabilities(image, off), probe.probabilities(image))


def test_switching_off_every_last_conv_filter_leaves_only_the_biases(probe, shipped_model, digit_seven):
    off = {"conv2d_3": list(range(64))}
    result = probe.run(digit_seven, off)
    assert not result.outputs[4].any() and not result.outputs[5].any()
    dense = shipped_model.get_layer("dense_1")
    np.testing.assert_allclose(result.outputs[6], np.maximum(dense.bias.numpy(), 0), atol=1e-6)
    assert result.masks[4].sum() == 0 and result.masks[2].sum() == 64


def test_keep_top_k_matches_by_hand(probe, shipped_model, mnist):
    image = mnist.x_test[3] / 255.0
    keep = {"conv2d_2": 5, "dense_1": 10}
    result = probe.run(image, {"conv2d_1": [1]}, keep)
    assert_same_outputs(result.outputs, by_hand(shipped_model, image, {"conv2d_1": [1]}, keep))
    assert result.masks[2].sum() == 5 and result.masks[6].sum() == 10
    assert (result.outputs[2].reshape(-1, 64).max(axis=0) > 0).sum() <= 5


def test_logits_probabilities_get_a_softmax():
    model = branched_model("logits")
    image = np.random.default_rng(0).random((12, 12, 1)).astype(np.float32)
    probe = AblatedProbe(model)
    logits = model(image[None]).numpy()[0]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probe.probabilities(image), expected, atol=1e-6)


def test_functional_branches_see_the_zeros():
    """conv_a feeds conv_b only; switching off conv_a's channels changes conv_b, not conv_c."""
    import tensorflow as tf

    model = branched_model("softmax")
    image = np.random.default_rng(4).random((12, 12, 1)).astype(np.float32)
    probe = AblatedProbe(model)
    names = probe.layer_names
    ours = probe(image, {"conv_a": [0, 2], "conv_c": [5]})
    x = tf.constant(image[None])
    a = model.get_layer("conv_a")(x).numpy()
    a[..., [0, 2]] = 0
    b = model.get_layer("conv_b")(a).numpy()
    c = model.get_layer("conv_c")(x).numpy()
    c[..., 5] = 0
    added = model.get_layer("add")([b, c])
    scores = model.get_layer("scores")(model.get_layer("flat")(model.get_layer("pool")(added))).numpy()
    np.testing.assert_allclose(ours[names.index("conv_a")], a[0], atol=1e-6)
    np.testing.assert_allclose(ours[names.index("conv_b")], b[0], atol=1e-5)
    np.testing.assert_allclose(ours[names.index("add")], added[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(ours[-1], scores[0], atol=1e-5)


def test_parse_and_check():
    assert parse_switched_off(["conv2d_1:3,7", "conv2d_2:0", "conv2d_1: 7 , 1"]) == {
        "conv2d_1": [1, 3, 7], "conv2d_2": [0]}
    for text in ("conv2d_1", "conv2d_1:", "conv2d_1:a", ":3", "conv2d_1:3;4", "conv2d_1:-1"):
        with pytest.raises(LayerChoiceError, match="LAYER:C1,C2"):
            parse_switched_off([text])
    specs = list(SEED_SPECS)
    check_switched_off(specs, {"conv2d_1": [0, 31]}, {"dense_1": 3})
    with pytest.raises(LayerChoiceError, match="no layer named 'conv9'"):
        check_switched_off(specs, {"conv9": [0]})
    with pytest.raises(LayerChoiceError, match="conv2d_1 has channels 0 to 31; there is no channel 32"):
        check_switched_off(specs, {"conv2d_1": [32]})
    with pytest.raises(LayerChoiceError, match="at least one"):
        check_switched_off(specs, keep_top={"conv2d_2": 0})


def test_probe_refuses_bad_channels(probe, digit_seven):
    with pytest.raises(LayerChoiceError):
        probe(digit_seven, {"conv2d_2": [64]})
