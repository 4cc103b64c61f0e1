"""One unit's arithmetic, recomputed in numpy, equals the model's own layer outputs (plain Keras forward pass)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnnviz.core.network import SEED_INPUT_SHAPE, SEED_SPECS, layer_specs
from cnnviz.core.unit_explanation import ConvUnit, DenseUnit, PoolUnit, UnitError, explain


def keras_outputs(model, image):
    """Every layer's output for one image from a plain Keras functional model (no cnnviz code)."""
    import keras

    extractor = keras.Model(model.inputs[0], [layer.output for layer in model.layers])
    batch = np.asarray(image, np.float32).reshape(1, *model.inputs[0].shape[1:])
    return [np.asarray(output)[0] for output in extractor(batch, training=False)]


def previous_outputs(image, outputs, input_shape):
    return [np.asarray(image, np.float32).reshape(input_shape), *outputs[:-1]]


def sample_units(rng, shape, count):
    """Corners, the centre and random units of an (H, W, C) layer."""
    height, width, channels = shape
    units = {(0, 0, 0), (height - 1, width - 1, channels - 1), (height // 2, width // 2, channels // 2)}
    while len(units) < count:
        units.add((int(rng.integers(height)), int(rng.integers(width)), int(rng.integers(channels))))
    return sorted(units)


def check_conv_arithmetic(unit: ConvUnit, model_value: float):
    """value = model's; Σ window × kernel + bias = pre-activation, also as the per-channel shares."""
    assert unit.value == pytest.approx(model_value, abs=1e-4)
    assert float((unit.window * unit.kernel).sum() + unit.bias) == pytest.approx(unit.pre_activation, abs=1e-9)
    assert unit.channel_contributions.sum() + unit.bias == pytest.approx(unit.pre_activation, abs=1e-9)


def test_every_conv_and_pool_layer_of_the_shipped_model(shipped_model, mnist):
    rng = np.random.default_rng(0)
    specs = layer_specs(shipped_model)
    for index_in_test in (0, 1):
        image = mnist.x_test[index_in_test].astype(np.float32) / 255.0
        outputs = keras_outputs(shipped_model, image)
        previous = previous_outputs(image, outputs, SEED_INPUT_SHAPE)
        for index, spec in enumerate(specs[:5]):
            weights = shipped_model.layers[index].get_weights()
            for y, x, channel in sample_units(rng, spec.output_shape, 12):
                unit = explain(specs, SEED_INPUT_SHAPE, spec.name, previous[index], weights, channel, y, x)
                assert unit.value == pytest.approx(float(outputs[index][y, x, channel]), abs=1e-4)
                if spec.kind == "Conv2D":
                    assert isinstance(unit, ConvUnit)
                    check_conv_arithmetic(unit, float(outputs[index][y, x, channel]))
                    # the window is the previous map's 3×3 block (valid padding, stride 1)
                    np.testing.assert_array_equal(unit.window, previous[index][y:y + 3, x:x + 3, :])
                    np.testing.assert_array_equal(unit.kernel, weights[0][:, :, :, channel])
                    assert unit.value == pytest.approx(max(unit.pre_activation, 0.0), abs=1e-12)  # ReLU
                else:
                    assert isinstance(unit, PoolUnit)
                    block = previous[index][2 * y:2 * y + 2, 2 * x:2 * x + 2, channel]
                    np.testing.assert_array_equal(unit.window, block)
                    assert block[unit.argmax] == block.max() == pytest.approx(unit.value)


def test_dense_units_of_the_shipped_model(shipped_model, digit_seven):
    specs = layer_specs(shipped_model)
    outputs = keras_outputs(shipped_model, digit_seven)
    for index in (6, 7):
        weights = shipped_model.layers[index].get_weights()
        for unit_index in range(specs[index].output_shape[0]):
            unit = explain(specs, SEED_INPUT_SHAPE, index, outputs[index - 1], weights, unit_index)
            assert isinstance(unit, DenseUnit)
            assert unit.value == pytest.approx(float(outputs[index][unit_index]), abs=1e-4)
            shown, rest, num_rest = unit.top_contributions(5)
            assert sum(c.value for c in shown) + rest + unit.bias == pytest.approx(unit.pre_activation, abs=1e-9)
            assert num_rest == outputs[index - 1].size - 5
            products = outputs[index - 1].astype(np.float64) * weights[0][:, unit_index]
            np.testing.assert_allclose([abs(c.value) for c in shown], np.sort(np.abs(products))[::-1][:5], rtol=1e-6)
            np.testing.assert_allclose([c.value for c in shown], products[[c.index for c in shown]], rtol=1e-6)
    assert unit.receptive_field.height == unit.receptive_field.width == 28


def test_first_layer_shows_all_nine_products(shipped_model, digit_seven):
    specs = layer_specs(shipped_model)
    unit = explain(specs, SEED_INPUT_SHAPE, "conv2d_1", digit_seven, shipped_model.layers[0].get_weights(), 4, 12, 10)
    assert unit.products.shape == (3, 3, 1)
    document = unit.to_json()
    assert np.array(document["products"]).shape == (3, 3, 1)
    assert np.array(document["window"]).shape == np.array(document["kernel"]).shape == (3, 3, 1)
    assert document["receptive_field"] == {"top": 12, "left": 10, "height": 3, "width": 3, "clipped": False}
    shown = document["contributions"]
    assert len(shown) == 1 and document["rest"] == {"channels": 0, "value": 0.0}


def test_json_has_the_issue_keys_and_no_nan(shipped_model, digit_seven):
    specs = layer_specs(shipped_model)
    outputs = keras_outputs(shipped_model, digit_seven)
    conv = explain(specs, SEED_INPUT_SHAPE, "conv2d_3", outputs[3], shipped_model.layers[4].get_weights(), 7, 2, 1)
    document = json.loads(json.dumps(conv.to_json(top=4), allow_nan=False))
    assert {"layer", "channel", "y", "x", "kind", "value", "receptive_field", "window", "kernel", "bias",
            "pre_activation"} <= set(document)
    assert document["kind"] == "conv" and np.array(document["window"]).shape == (3, 3, 64)
    assert document["receptive_field"] == {"top": 8, "left": 4, "height": 18, "width": 18, "clipped": False}
    assert len(document["contributions"]) == 4 and document["rest"]["channels"] == 60
    pool = explain(specs, SEED_INPUT_SHAPE, "max_pooling2d_1", outputs[0], [], 3, 6, 5).to_json()
    assert pool["kind"] == "pool" and np.array(pool["window"]).shape == (2, 2, 1)
    assert len(pool["argmax"]) == 2


def small_model(layers_list, input_shape=(28, 28, 1), seed=3):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(input_shape), *layers_list])
    for layer in model.layers:  # non-zero biases, so a wrong bias would show
        weights = layer.get_weights()
        if len(weights) == 2:
            layer.set_weights([weights[0], np.random.default_rng(seed).normal(0, 0.1, weights[1].shape)])
    return model


def check_every_unit(model, image, input_shape):
    """Explain every unit of every conv and pool layer, compare with Keras; return how many padding cells met."""
    specs = layer_specs(model)
    outputs = keras_outputs(model, image)
    previous = previous_outputs(image, outputs, input_shape)
    padded = 0
    for index, spec in enumerate(specs):
        if spec.kind not in ("Conv2D", "MaxPooling2D", "AveragePooling2D"):
            continue
        weights = model.layers[index].get_weights()
        height, width, channels = spec.output_shape
        for y in range(height):
            for x in range(width):
                for channel in {0, channels - 1}:
                    unit = explain(specs, input_shape, index, previous[index], weights, channel, y, x)
                    assert unit.value == pytest.approx(float(outputs[index][y, x, channel]), abs=1e-4), \
                        (spec.name, y, x, channel)
                    if isinstance(unit, ConvUnit):
                        assert float(unit.products.sum() + unit.bias) == pytest.approx(unit.pre_activation)
                        padded += int((~unit.inside).sum())
                    json.dumps(unit.to_json(), allow_nan=False)
    return padded


def test_same_padding_and_stride_two(digit_seven):
    from keras import layers

    model = small_model([
        layers.Conv2D(6, 3, strides=2, padding="same", activation="relu"),   # 28 → 14, pad after only
        layers.Conv2D(5, 4, strides=2, padding="same", activation="tanh"),   # even kernel: 1 before, 1 after
        layers.MaxPooling2D(3, strides=2, padding="same"),
        layers.Conv2D(4, 3, dilation_rate=2, padding="same", activation="linear"),
        layers.AveragePooling2D(2, strides=1, padding="same"),
        layers.Flatten(), layers.Dense(7, activation="sigmoid"), layers.Dense(3, activation="softmax"),
    ])
    assert check_every_unit(model, digit_seven, (28, 28, 1)) > 0
    specs = layer_specs(model)
    outputs = keras_outputs(model, digit_seven)
    for index in (6, 7):
        for unit_index in range(specs[index].output_shape[0]):
            unit = explain(specs, (28, 28, 1), index, outputs[index - 1], model.layers[index].get_weights(),
                           unit_index)
            assert unit.value == pytest.approx(float(outputs[index][unit_index]), abs=1e-5)


def test_average_pooling_leaves_padding_out_of_the_mean():
    from keras import layers

    rng = np.random.default_rng(1)
    image = rng.random((9, 9)).astype(np.float32)
    model = small_model([layers.AveragePooling2D(2, padding="same")], input_shape=(9, 9, 1))
    unit = explain(layer_specs(model), (9, 9, 1), 0, image[:, :, None], [], 0, 4, 4)
    assert unit.mode == "average" and unit.argmax is None
    assert np.isnan(unit.window).sum() == 3 and unit.value == pytest.approx(image[8, 8])
    assert unit.to_json()["window"][1][1] == [None]
    assert unit.receptive_field.clipped


def test_out_of_range_units_and_unexplained_layers_raise():
    kernel = np.zeros((3, 3, 1, 32), np.float32)
    image = np.zeros((28, 28, 1), np.float32)
    for channel, y, x, message in ((32, 0, 0, "channel 32"), (0, 26, 0, "y 26"), (0, 0, -1, "x -1"),
                                   (0, None, 3, "give the unit's y and x")):
        with pytest.raises(UnitError, match=message):
            explain(SEED_SPECS, SEED_INPUT_SHAPE, "conv2d_1", image, [kernel, np.zeros(32)], channel, y, x)
    with pytest.raises(UnitError, match="no layer"):
        explain(SEED_SPECS, SEED_INPUT_SHAPE, "conv2d_7", image, [], 0, 0, 0)
    with pytest.raises(UnitError, match="Flatten"):
        explain(SEED_SPECS, SEED_INPUT_SHAPE, "flatten_1", np.zeros((3, 3, 64)), [], 0)
    with pytest.raises(UnitError, match="unit 64"):
        explain(SEED_SPECS, SEED_INPUT_SHAPE, "dense_1", np.zeros(576), [np.zeros((576, 64)), np.zeros(64)], 64)


def test_non_finite_weights_give_null_not_nan_in_json():
    image = np.random.default_rng(2).random((28, 28, 1)).astype(np.float32)
    kernel = np.full((3, 3, 1, 32), np.nan, np.float32)
    conv = explain(SEED_SPECS, SEED_INPUT_SHAPE, "conv2d_1", image, [kernel, np.zeros(32)], 0, 5, 5).to_json()
    assert conv["value"] is None and conv["pre_activation"] is None and conv["kernel"][0][0] == [None]
    json.dumps(conv, allow_nan=False)
    maps = np.full((26, 26, 32), np.nan, np.float32)
    pool = explain(SEED_SPECS, SEED_INPUT_SHAPE, "max_pooling2d_1", maps, [], 1, 2, 3).to_json()
    assert pool["value"] is None and pool["window"] == [[[None], [None]], [[None], [None]]]
