"""Receptive fields from layer specs, checked against brute force: light one pixel, see which units move."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.network import SEED_INPUT_SHAPE, SEED_SPECS, LayerSpec, layer_specs
from cnnviz.core.receptive_field import (Box, Geometry, feeding_units, geometries, layer_index, unit_box,
                                         window_padding)

SEED_SPATIAL = ["conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2", "conv2d_3"]


def test_seed_model_sizes_and_jumps():
    found = geometries(SEED_SPECS, SEED_INPUT_SHAPE)
    assert [g.size for g in found[:5]] == [3, 4, 8, 10, 18]
    assert [g.jump for g in found[:5]] == [1, 2, 2, 4, 4]
    assert all(g.offset_y == g.offset_x == 0 for g in found[:5])
    assert found[5:] == [None, None, None]  # flatten and dense see the whole input


def test_built_seed_model_specs_give_the_same_geometry(fresh_model):
    assert geometries(layer_specs(fresh_model), (28, 28, 1)) == geometries(SEED_SPECS, SEED_INPUT_SHAPE)


def test_conv2d_3_corner_units_cover_18_pixel_boxes_four_apart():
    geometry = geometries(SEED_SPECS, SEED_INPUT_SHAPE)[4]
    assert unit_box(geometry, 0, 0, (28, 28)) == Box(0, 0, 18, 18, False)
    box = unit_box(geometry, 2, 1, (28, 28))
    assert (box.top, box.left, box.bottom, box.right, box.clipped) == (8, 4, 26, 22, False)


def test_same_padding_clips_the_border_units():
    conv = LayerSpec("c", "Conv2D", (14, 14, 1), 10, {"kernel_size": (3, 3), "strides": (2, 2), "padding": "same"})
    geometry = geometries([conv], (28, 28, 1))[0]
    # 28 → 14 with stride 2 needs (14-1)*2+3-28 = 1 padding cell, and TensorFlow puts it after.
    assert window_padding(3, 2, 28, "same") == (0, 1)
    assert (geometry.size, geometry.jump, geometry.offset_y) == (3, 2, 0)
    assert unit_box(geometry, 13, 13, (28, 28)) == Box(26, 26, 2, 2, True)
    assert unit_box(geometry, 0, 0, (28, 28)).clipped is False
    stride_one = LayerSpec("c", "Conv2D", (28, 28, 1), 10, {"kernel_size": 5, "strides": 1, "padding": "same"})
    assert unit_box(geometries([stride_one], (28, 28, 1))[0], 0, 27, (28, 28)) == Box(0, 25, 3, 3, True)


def test_networks_that_differ_only_in_config_are_not_confused():
    def conv(kernel):  # same name, shape and parameter count: only the config tells them apart
        return LayerSpec("c", "Conv2D", (28, 28, 1), 10, {"kernel_size": kernel, "strides": 1, "padding": "same"})

    for make in (list, tuple):
        assert geometries(make([conv(3)]), (28, 28, 1))[0].size == 3
        assert geometries(make([conv(5)]), (28, 28, 1))[0].size == 5
        assert geometries(make([conv(3)]), (28, 28, 1))[0].size == 3


def test_non_square_geometry_has_no_single_size():
    spec = LayerSpec("c", "Conv2D", (26, 24, 1), 16, {"kernel_size": (3, 5), "strides": 1, "padding": "valid"})
    geometry = geometries([spec], (28, 28, 1))[0]
    assert (geometry.size_y, geometry.size_x) == (3, 5)
    with pytest.raises(ValueError):
        geometry.size
    assert geometry.jump == 1


def test_unknown_layers_and_everything_after_them_have_no_geometry():
    upsample = LayerSpec("up", "UpSampling2D", (56, 56, 1), 0, {})
    conv = LayerSpec("c", "Conv2D", (54, 54, 1), 10, {"kernel_size": 3, "strides": 1, "padding": "valid"})
    assert geometries([upsample, conv], (28, 28, 1)) == [None, None]
    assert unit_box(None, 3, 4, (28, 28)) == Box(0, 0, 28, 28, False)  # the whole input: always true


def test_merged_branches_see_the_union_of_their_fields():
    def conv(name, k, inputs):
        return LayerSpec(name, "Conv2D", (28, 28, 1), 1, {"kernel_size": k, "strides": 1, "padding": "same"},
                         inputs)

    specs = [conv("a", 3, ("input",)), conv("b", 5, ("input",)), LayerSpec("sum", "Add", (28, 28, 1), 0, {},
                                                                            ("a", "b"))]
    merged = geometries(specs, (28, 28, 1))[2]
    assert merged == Geometry(5, 5, 1, 1, -2, -2)
    assert feeding_units(specs, (28, 28, 1), "sum", 10, 10, "a") == (10, 10, 11, 11)


def test_feeding_units_of_the_seed_model():
    input_shape = SEED_INPUT_SHAPE
    assert feeding_units(SEED_SPECS, input_shape, "conv2d_3", 1, 2, "max_pooling2d_2") == (1, 2, 4, 5)
    assert feeding_units(SEED_SPECS, input_shape, "conv2d_3", 1, 2, "conv2d_2") == (2, 4, 8, 10)
    assert feeding_units(SEED_SPECS, input_shape, "conv2d_3", 1, 2, "input") == (4, 8, 22, 26)
    assert feeding_units(SEED_SPECS, input_shape, 4, 0, 0, 4) == (0, 0, 1, 1)
    assert feeding_units(SEED_SPECS, input_shape, "dense_1", 0, 0, "max_pooling2d_2") == (0, 0, 5, 5)
    with pytest.raises(ValueError, match="comes after"):
        feeding_units(SEED_SPECS, input_shape, "conv2d_1", 0, 0, "conv2d_2")
    with pytest.raises(ValueError, match="not a stack of maps"):
        feeding_units(SEED_SPECS, input_shape, "dense_2", 0, 0, "flatten_1")
    with pytest.raises(ValueError, match="no layer"):
        layer_index(SEED_SPECS, "conv2d_9")


# ---- brute force: random stacks, all-positive weights, one lit pixel at a time ----------------------

def random_stack(rng, input_hw):
    """Keras layers for a random conv/pool stack that keeps at least a 1×1 map (and their summary)."""
    from keras import layers

    height, width = input_hw
    stack = []
    for _ in range(rng.integers(2, 6)):
        choice = rng.choice(["conv", "conv", "pool", "pool", "identity", "zero_padding"])
        padding = str(rng.choice(["valid", "same"]))
        if choice == "conv":
            kernel = int(rng.integers(1, 5))
            dilation = int(rng.choice([1, 1, 2]))
            stride = 1 if dilation > 1 else int(rng.integers(1, 3))
            layer = layers.Conv2D(2, kernel, strides=stride, padding=padding, dilation_rate=dilation,
                                  activation=str(rng.choice(["relu", "linear"])))
            span = dilation * (kernel - 1) + 1
        elif choice == "pool":
            kernel = int(rng.integers(2, 4))
            stride = int(rng.integers(1, 4))
            pool = layers.MaxPooling2D if rng.random() < 0.5 else layers.AveragePooling2D
            layer, span = pool(kernel, strides=stride, padding=padding), kernel
        elif choice == "identity":
            layer = [layers.BatchNormalization(), layers.Dropout(0.3), layers.ReLU()][rng.integers(0, 3)]
            stack.append(layer)
            continue
        else:
            pad = ((int(rng.integers(0, 2)), 1), (1, int(rng.integers(0, 2))))
            stack.append(layers.ZeroPadding2D(pad))
            height, width = height + sum(pad[0]), width + sum(pad[1])
            continue
        if padding == "valid":
            new_hw = ((height - span) // stride + 1, (width - span) // stride + 1)
        else:
            new_hw = (-(-height // stride), -(-width // stride))
        if min(new_hw) < 1:
            break
        height, width = new_hw
        stack.append(layer)
    return stack


def positive_weights(model):
    """All kernels 1, biases 0, batch norm the identity: a lit pixel lights every unit it can reach."""
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([np.ones_like(gamma), np.zeros_like(beta), np.zeros_like(mean), np.ones_like(variance)])
        elif layer.get_weights():
            layer.set_weights([np.ones_like(w) if w.ndim > 1 else np.zeros_like(w) for w in layer.get_weights()])


def lit_units(layer_stack, map_shape):
    """For each layer: influence[p, y, x] = unit (y, x) moved when cell p of the first map was lit."""
    import keras

    inputs = keras.Input(map_shape)
    outputs, x = [], inputs
    for layer in layer_stack:
        x = layer(x)
        outputs.append(x)
    model = keras.Model(inputs, outputs)
    cells = map_shape[0] * map_shape[1]
    lit = np.zeros((cells, *map_shape), np.float32)
    lit.reshape(cells, -1, map_shape[2])[np.arange(cells), np.arange(cells)] = 1.0
    results = model(lit, training=False)
    results = results if isinstance(results, (list, tuple)) else [results]
    return [np.asarray(result)[..., 0] > 0 for result in results]


def bounding_box(moved: np.ndarray, map_hw) -> tuple[int, int, int, int] | None:
    """(row0, col0, row1, col1) exclusive of the lit cells that moved one unit, None if none did."""
    cells = np.flatnonzero(moved)
    if cells.size == 0:
        return None
    rows, cols = np.unravel_index(cells, map_hw)
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


@pytest.mark.parametrize("seed", range(10))
def test_random_stacks_match_brute_force(seed):
    import keras

    rng = np.random.default_rng(seed)
    input_hw = (int(rng.integers(14, 29)), int(rng.integers(14, 29)))
    input_shape = (*input_hw, 1)
    stack = random_stack(rng, input_hw)
    model = keras.Sequential([keras.Input(input_shape), *stack])
    positive_weights(model)
    specs = layer_specs(model)
    found = geometries(specs, input_shape)
    checked = 0
    for index, (spec, influence) in enumerate(zip(specs, lit_units(model.layers, input_shape))):
        assert found[index] is not None, spec
        height, width = spec.output_shape[:2]
        for y in range(height):
            for x in range(width):
                box = unit_box(found[index], y, x, input_hw)
                expected = bounding_box(influence[:, y, x], input_hw)
                if expected is None:  # sees only padding
                    assert box.height * box.width == 0, (spec.name, y, x, box)
                else:
                    assert (box.top, box.left, box.bottom, box.right) == expected, (spec.name, y, x)
                checked += 1
    assert checked > 0
    # feeding units: light one cell of an earlier map, see which units of a later map move.
    if len(specs) >= 2:
        first = int(rng.integers(0, len(specs) - 1))
        source_shape = specs[first].output_shape
        later = lit_units(model.layers[first + 1:], source_shape)
        for offset, influence in enumerate(later):
            target = first + 1 + offset
            height, width = specs[target].output_shape[:2]
            for y, x in {(0, 0), (height - 1, width - 1), (height // 2, width // 2)}:
                expected = bounding_box(influence[:, y, x], source_shape[:2])
                if expected is not None:
                    assert feeding_units(specs, input_shape, target, y, x, first) == expected, \
                        (specs[target].name, y, x, specs[first].name)


def test_a_branched_functional_model_matches_brute_force():
    import keras
    from keras import layers

    inputs = keras.Input((17, 15, 1))
    narrow = layers.Conv2D(2, 3, padding="same", name="narrow")(inputs)
    wide = layers.Conv2D(2, 5, padding="same", name="wide")(inputs)
    merged = layers.Add(name="sum")([narrow, wide])
    pooled = layers.MaxPooling2D(2, name="pool")(merged)
    model = keras.Model(inputs, layers.Conv2D(2, 3, name="top")(pooled))
    positive_weights(model)
    specs = layer_specs(model)
    assert [spec.name for spec in specs] == ["narrow", "wide", "sum", "pool", "top"]
    assert specs[1].inputs == ("input",) and set(specs[2].inputs) == {"narrow", "wide"}
    cells = 17 * 15
    lit = np.eye(cells, dtype=np.float32).reshape(cells, 17, 15, 1)
    probe = keras.Model(inputs, [model.get_layer(spec.name).output for spec in specs])
    found = geometries(specs, (17, 15, 1))
    assert (found[2].size, found[4].size, found[4].jump) == (5, 10, 2)
    for spec, geometry, result in zip(specs, found, probe(lit)):
        moved = np.asarray(result)[..., 0] > 0
        for y in range(spec.output_shape[0]):
            for x in range(spec.output_shape[1]):
                box = unit_box(geometry, y, x, (17, 15))
                assert (box.top, box.left, box.bottom, box.right) == bounding_box(moved[:, y, x], (17, 15)), \
                    (spec.name, y, x)
