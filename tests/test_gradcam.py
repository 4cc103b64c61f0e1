"""Grad-CAM against an independent tf.GradientTape computation written here, layer by layer."""

from __future__ import annotations

import numpy as np
import pytest
from _tiny_models import branched_model

from cnnviz.core.gradcam import GradCam, grad_cam, overlay, upsample
from cnnviz.core.layer_choice import LayerChoiceError


def tape_grad_cam(model, image, layer_name, class_index=None):
    """Grad-CAM by hand for a Sequential model: run the layers one by one under a tape, logits from the
    last Dense layer's kernel and bias (or its output when it has no activation)."""
    import tensorflow as tf

    x = tf.constant(np.asarray(image, np.float32).reshape(1, *model.inputs[0].shape[1:]))
    last = model.layers[-1]
    with tf.GradientTape() as tape:
        h = x
        for layer in model.layers[:-1]:
            h = layer(h)
            if layer.name == layer_name:
                maps = h
                tape.watch(maps)
        if last.get_config()["activation"] == "linear":
            logits = last(h)
        else:
            logits = tf.matmul(h, last.kernel) + last.bias
        chosen = int(np.argmax(logits[0])) if class_index is None else class_index
        score = logits[0, chosen]
    gradients = tape.gradient(score, maps)[0].numpy()
    weights = gradients.mean(axis=(0, 1))
    return np.maximum((maps[0].numpy() * weights).sum(axis=-1), 0.0), chosen


def close_maps(ours, theirs):
    scale = max(float(np.abs(theirs).max()), 1e-6)
    np.testing.assert_allclose(ours, theirs, atol=1e-4 * scale, rtol=1e-3)


def test_default_layer_and_predicted_class_match_the_tape(shipped_model, mnist):
    for index in (0, 1, 2, 3):
        image = mnist.x_test[index] / 255.0
        result = grad_cam(shipped_model, image)
        expected, chosen = tape_grad_cam(shipped_model, image, "conv2d_3")
        assert result.layer == "conv2d_3"
        assert result.heatmap.shape == (3, 3)
        assert result.class_index == result.predicted == chosen == mnist.y_test[index]
        assert expected.max() > 0  # a real explanation, not a trivially zero map
        close_maps(result.heatmap, expected)


def test_any_class_at_conv2d_2_matches_the_tape(shipped_model, digit_seven):
    explainer = GradCam(shipped_model, "conv2d_2")
    for class_index in (7, 1, 3):
        result = explainer(digit_seven, class_index)
        expected, _ = tape_grad_cam(shipped_model, digit_seven, "conv2d_2", class_index)
        assert result.heatmap.shape == (11, 11)
        assert result.class_index == class_index and result.predicted == 7
        close_maps(result.heatmap, expected)
    assert not np.allclose(explainer(digit_seven, 7).heatmap, explainer(digit_seven, 1).heatmap)


def test_uses_the_pre_softmax_score(shipped_model, digit_seven):
    """The softmax is ~100 % sure of this 7: gradients of the probability would be near zero."""
    result = grad_cam(shipped_model, digit_seven)
    assert result.probabilities[7] > 0.999
    assert result.heatmap.max() > 0.1
    np.testing.assert_allclose(result.probabilities, shipped_model(digit_seven.reshape(1, 28, 28, 1))[0].numpy(),
                               atol=1e-6)


def test_pooling_layer_and_fresh_weights(fresh_model, digit_seven):
    result = GradCam(fresh_model, "max_pooling2d_2")(digit_seven, 4)
    expected, _ = tape_grad_cam(fresh_model, digit_seven, "max_pooling2d_2", 4)
    assert result.heatmap.shape == (5, 5)
    close_maps(result.heatmap, expected)


def test_does_not_change_the_model(fresh_model, digit_seven):
    before = [w.numpy().copy() for w in fresh_model.weights]
    nodes = [len(layer._inbound_nodes) for layer in fresh_model.layers]
    GradCam(fresh_model, "conv2d_2")(digit_seven)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, fresh_model.weights))
    assert nodes == [len(layer._inbound_nodes) for layer in fresh_model.layers]


@pytest.mark.parametrize("head", ["logits", "softmax_layer", "softmax"])
def test_functional_models_with_any_head(head):
    """The gradient of the logit, read from the output, the Softmax layer's input or the Dense kernel."""
    import tensorflow as tf

    model = branched_model(head)
    image = np.random.default_rng(1).random((12, 12, 1)).astype(np.float32)
    scores_layer = model.get_layer("scores")
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        a = model.get_layer("conv_a")(x)
        b = model.get_layer("conv_b")(a)
        tape.watch(b)
        c = model.get_layer("conv_c")(x)
        flat = model.get_layer("flat")(model.get_layer("pool")(model.get_layer("add")([b, c])))
        logits = tf.matmul(flat, scores_layer.kernel) + scores_layer.bias
        score = logits[0, 2]
    gradients = tape.gradient(score, b)[0].numpy()
    expected = np.maximum((b[0].numpy() * gradients.mean(axis=(0, 1))).sum(axis=-1), 0.0)
    result = GradCam(model, "conv_b")(image, 2)
    assert result.heatmap.shape == (10, 10)
    close_maps(result.heatmap, expected)
    probabilities = tf.nn.softmax(logits)[0].numpy()
    np.testing.assert_allclose(result.probabilities, probabilities, atol=1e-5)
    assert result.predicted == int(np.argmax(probabilities))


def test_default_layer_is_the_last_conv():
    assert GradCam(branched_model()).layer == "conv_c"


def test_wrong_layers_and_classes(shipped_model, digit_seven):
    with pytest.raises(LayerChoiceError, match="dense_1 is a Dense layer"):
        GradCam(shipped_model, "dense_1")
    with pytest.raises(LayerChoiceError, match="no layer named 'conv9'"):
        GradCam(shipped_model, "conv9")
    with pytest.raises(ValueError, match="from 0 to 9, not 10"):
        grad_cam(shipped_model, digit_seven, class_index=10)


def test_upsample_matches_tensorflow_bilinear():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for shape, size in (((3, 3), (28, 28)), ((11, 11), (28, 28)), ((5, 7), (13, 30)), ((4, 4), (2, 2))):
        values = rng.random(shape).astype(np.float32)
        expected = tf.image.resize(values[None, ..., None], size, method="bilinear")[0, ..., 0].numpy()
        np.testing.assert_allclose(upsample(values, *size), expected, atol=1e-5)


def test_overlay_colours_only_where_the_heat_is(digit_seven):
    cold = overlay(digit_seven, np.zeros((3, 3)), scale=2)
    assert cold.shape == (56, 56, 3) and cold.dtype == np.uint8
    grey = np.round(np.kron(digit_seven, np.ones((2, 2))) * 255)
    assert np.array_equal(cold[..., 0], grey) and np.array_equal(cold[..., 2], grey)
    heat = np.zeros((3, 3))
    heat[0, 0] = 5.0
    warm = overlay(digit_seven, heat, scale=2).astype(int)
    assert np.abs(warm[:8, :8] - cold[:8, :8]).max() > 50       # top-left corner takes the colour
    assert np.array_equal(warm[-10:, -10:], cold[-10:, -10:])  # far from the heat: unchanged
    colour = np.random.default_rng(2).random((6, 6, 3))
    assert overlay(colour, np.zeros((2, 2)), scale=1).tolist() == np.round(colour * 255).astype(np.uint8).tolist()


def test_one_traced_explainer_per_model_and_layer(fresh_model, digit_seven):
    from cnnviz.core import gradcam

    gradcam._CACHE.clear()
    first = grad_cam(fresh_model, digit_seven, "conv2d_2")
    explainer = gradcam._CACHE[(id(fresh_model), "conv2d_2")][1]
    second = grad_cam(fresh_model, digit_seven, "conv2d_2", class_index=first.class_index)
    assert gradcam._CACHE[(id(fresh_model), "conv2d_2")][1] is explainer and len(gradcam._CACHE) == 1
    np.testing.assert_array_equal(first.heatmap, second.heatmap)
    grad_cam(fresh_model, digit_seven)
    assert len(gradcam._CACHE) == 2
