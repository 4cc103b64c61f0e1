"""The explanation sanity check: ranks and Spearman by hand, randomisation touching exactly one layer, the maps
against the explanation modules run independently, and Grad-CAM's similarity falling on the shipped model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnnviz.core.sanity_check import (Cancelled, average_ranks, randomisable_layers, randomise_layer, sanity_check,
                                      spearman)


def spearman_by_hand(a, b):
    """Pearson's correlation of average ranks, in plain Python (ties: the mean of the places they share)."""
    def ranks(values):
        ordered = sorted(values)
        return [sum(i + 1 for i, v in enumerate(ordered) if v == x) / ordered.count(x) for x in values]

    ra, rb = ranks(list(a)), ranks(list(b))
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    return cov / math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))


def copy_of(model):
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def test_ranks_and_spearman_with_ties():
    np.testing.assert_array_equal(average_ranks([10, 20, 20, 5, 20]), [2, 4, 4, 1, 4])
    rng = np.random.default_rng(0)
    for _ in range(5):
        a = rng.integers(0, 6, 40).astype(float)      # many ties
        b = a + rng.normal(0, 2, 40)
        assert spearman(a, b) == pytest.approx(spearman_by_hand(a, b), abs=1e-12)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None and spearman([1, np.nan, 2], [1, 2, 3]) is None
    with pytest.raises(ValueError):
        spearman([1, 2], [1, 2, 3])


def test_randomising_a_layer_changes_exactly_that_layer(shipped_model):
    model = copy_of(shipped_model)
    randomise_layer(model, "conv2d_2", seed=7)
    for trained, layer in zip(shipped_model.layers, model.layers, strict=True):
        for before, after in zip(trained.get_weights(), layer.get_weights(), strict=True):
            if layer.name == "conv2d_2":
                assert not np.array_equal(before, after)
            else:
                np.testing.assert_array_equal(before, after)
    kernel, bias = model.get_layer("conv2d_2").get_weights()
    fan_in, fan_out = 3 * 3 * 32, 3 * 3 * 64
    limit = math.sqrt(6 / (fan_in + fan_out))      # Glorot uniform, the layer's own initializer
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert np.mean(kernel != shipped_model.get_layer("conv2d_2").kernel.numpy()) > 0.999
    assert not bias.any()                          # zeros, as before training
    again = copy_of(shipped_model)
    randomise_layer(again, "conv2d_2", seed=7)
    np.testing.assert_array_equal(again.get_layer("conv2d_2").kernel.numpy(), kernel)
    randomise_layer(again, "conv2d_2", seed=8)
    assert not np.array_equal(again.get_layer("conv2d_2").kernel.numpy(), kernel)


def test_a_weight_without_an_initializer_keeps_its_scale():
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="d")])
    layer = model.get_layer("d")
    layer.kernel_initializer = None
    layer.kernel.assign(np.full((4, 3), 2.0, np.float32) + np.arange(12).reshape(4, 3).astype(np.float32))
    trained = layer.kernel.numpy().copy()
    randomise_layer(model, "d", seed=1)
    drawn = layer.kernel.numpy()
    assert not np.array_equal(drawn, trained)
    assert abs(drawn.mean() - trained.mean()) < 3 * trained.std()


def digit(mnist, index):
    return mnist.x_test[index].astype(np.float32)[..., None] / 255.0


@pytest.fixture(scope="module")
def cascading(shipped_model, mnist):
    return sanity_check(shipped_model, digit(mnist, 0), seed=3)


def test_the_original_maps_are_the_explanation_modules(cascading, shipped_model, mnist):
    import tensorflow as tf

    from cnnviz.core.gradcam import GradCam, upsample
    from cnnviz.core.occlusion import occlusion_map

    image = digit(mnist, 0)
    assert cascading.class_index == cascading.predicted == 7 and cascading.gradcam_layer == "conv2d_3"
    np.testing.assert_allclose(cascading.original["gradcam"], upsample(GradCam(shipped_model)(image).heatmap, 28, 28),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cascading.original["occlusion"], occlusion_map(shipped_model, image).pixel_map,
                               atol=1e-5)
    # the plain gradient of the class's pre-softmax score, by a tape through dense_1 and dense_2's weights
    import keras

    features = keras.Model(shipped_model.inputs, shipped_model.get_layer("dense_1").output)
    head = shipped_model.get_layer("dense_2")
    x = tf.constant(image[None])
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = (tf.matmul(features(x, training=False), head.kernel) + head.bias)[0, 7]
    expected = np.abs(tape.gradient(score, x).numpy()[0, ..., 0])
    np.testing.assert_allclose(cascading.original["gradient"], expected, rtol=1e-4, atol=1e-6)


def test_cascading_steps_go_from_the_top_down_and_the_model_is_untouched(cascading, shipped_model, shipped_model_path,
                                                                         mnist):
    from cnnviz.core.model import load_model

    names = ["dense_2", "dense_1", "conv2d_3", "conv2d_2", "conv2d_1"]
    assert randomisable_layers(shipped_model) == names
    assert [s.layer for s in cascading.steps] == names
    assert [s.randomised for s in cascading.steps] == [tuple(names[:k + 1]) for k in range(5)]
    for step in cascading.steps:
        assert set(step.maps) == set(step.spearman) == {"gradcam", "occlusion", "gradient"}
    fresh = load_model(shipped_model_path)
    for ours, theirs in zip(shipped_model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_the_last_cascading_step_is_a_fully_random_model(cascading, shipped_model, mnist):
    """Randomising every layer by hand (same seed) and explaining gives the last step's maps."""
    from cnnviz.core.gradcam import GradCam, upsample

    model = copy_of(shipped_model)
    for name in randomisable_layers(model):
        randomise_layer(model, name, seed=3)
    heat = upsample(GradCam(model)(digit(mnist, 0), 7).heatmap, 28, 28)
    np.testing.assert_allclose(cascading.steps[-1].maps["gradcam"], heat, rtol=1e-4, atol=1e-6)


def test_independent_mode_randomises_one_layer_with_the_same_draw(cascading, shipped_model, mnist):
    from cnnviz.core.gradcam import GradCam, upsample

    steps = []
    independent = sanity_check(shipped_model, digit(mnist, 0), mode="independent", seed=3,
                               progress=lambda done, total: steps.append((done, total)))
    assert steps == [(k, 5) for k in range(1, 6)]
    assert [s.randomised for s in independent.steps] == [(s.layer,) for s in independent.steps]
    for method in ("gradcam", "occlusion", "gradient"):   # the top layer's step is the same in both modes
        np.testing.assert_allclose(independent.steps[0].maps[method], cascading.steps[0].maps[method], atol=1e-6)
    model = copy_of(shipped_model)
    randomise_layer(model, "conv2d_2", seed=3)
    heat = upsample(GradCam(model)(digit(mnist, 0), 7).heatmap, 28, 28)
    np.testing.assert_allclose(independent.steps[3].maps["gradcam"], heat, rtol=1e-4, atol=1e-6)


def test_grad_cams_similarity_falls_as_the_shipped_model_is_randomised(shipped_model, mnist):
    """On five test digits, once layers are random Grad-CAM keeps little of its ranking: a constant map
    (None) keeps none, counted as 0. The trained map's similarity to itself is 1."""
    scores = []
    for index in range(5):
        result = sanity_check(shipped_model, digit(mnist, index), seed=0)
        scores.append([0.0 if s.spearman["gradcam"] is None else s.spearman["gradcam"] for s in result.steps])
    scores = np.array(scores)                # (digits, steps)
    assert scores.shape == (5, 5)
    assert scores.mean() < 0.3
    assert np.all(scores.mean(axis=0) < 0.5)  # at every step, on average


def test_a_model_without_maps_skips_grad_cam_and_cancel_stops():
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Flatten(), layers.Dense(6, activation="relu"),
                              layers.Dense(3, activation="softmax")])
    image = np.random.default_rng(0).random((8, 8, 1)).astype(np.float32)
    result = sanity_check(model, image, occlusion={"patch": 2, "stride": 2})
    assert "Grad-CAM needs a layer with maps" in result.skipped["gradcam"] and result.gradcam_layer is None
    assert set(result.original) == {"occlusion", "gradient"} and len(result.steps) == 2
    with pytest.raises(Cancelled):
        sanity_check(model, image, cancel=lambda: True)
    with pytest.raises(ValueError, match="the mode must be one of cascading, independent"):
        sanity_check(model, image, mode="shuffled")
