"""The Experiments panel's Qt-free parts: which filter the painter edits and how its weights are laid out
(a Dense unit laid out as the maps it reads, checked against the layer's own arithmetic), the one-line
refusals, and the sentences that answer "which digits does it fire on" and "did the explanation change"."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.compute.protocol import ModelInfo
from cnnviz.gui.experiments.filter_choice import (editable_layers, filter_slot, filter_weights, grid_of,
                                                  painted_values, why_not_editable)
from cnnviz.gui.experiments.task_request import fraction_of


@pytest.fixture(scope="module")
def info(shipped_model) -> ModelInfo:
    """The shipped model as the GUI sees it (plain data)."""
    from cnnviz.compute.state import layer_weights
    from cnnviz.core.network import layer_specs

    return ModelInfo(None, shipped_model.name, layer_specs(shipped_model), (28, 28, 1), [str(c) for c in range(10)],
                     layer_weights(shipped_model))


def test_conv_filters_are_painted_one_input_channel_at_a_time(info):
    assert editable_layers(info) == [0, 2, 4, 6, 7]
    slot = filter_slot(info, 2, 9)
    assert (slot.layer, slot.kind, slot.grid, slot.inputs, slot.count, slot.size) == ("conv2d_2", "Conv2D", (3, 3),
                                                                                      32, 64, 288)
    assert slot.takes_presets and slot.describe() == "conv2d_2 · filter 9 of 64 (3×3 × 32 input channels)"
    kernel = info.weights[2][0]
    weights = filter_weights(slot, kernel)
    np.testing.assert_array_equal(grid_of(slot, weights, 11), kernel[:, :, 11, 9])
    painted = np.arange(9, dtype=np.float32).reshape(3, 3)
    np.testing.assert_array_equal(painted_values(slot, weights, 11, painted), painted)
    assert filter_slot(info, 2, 64) is None and filter_slot(info, 1, 0) is None


def test_a_dense_unit_is_laid_out_as_the_maps_it_reads(info, shipped_model, digit_seven):
    from cnnviz.core.activations import ActivationProbe

    slot = filter_slot(info, 6, 5)
    assert (slot.layer, slot.grid, slot.inputs, slot.wraps, slot.takes_presets) == ("dense_1", (3, 3), 64, False,
                                                                                   False)
    weights = filter_weights(slot, info.weights[6][0])
    outputs = ActivationProbe(shipped_model)(digit_seven)
    maps = outputs[4]                                   # conv2d_3's 3×3×64, what flatten_1 flattens
    # The unit's sum, taken map by map over the painter's grids, is what Keras computes.
    total = sum(float((maps[:, :, c] * grid_of(slot, weights, c)).sum()) for c in range(64)) + info.weights[6][1][5]
    assert max(total, 0.0) == pytest.approx(float(outputs[6][5]), rel=1e-4, abs=1e-5)
    grid = grid_of(slot, weights, 7)
    grid[1, 2] = 4.0
    vector = painted_values(slot, weights, 7, grid)
    changed = np.flatnonzero(vector != weights)
    assert changed.tolist() == [(1 * 3 + 2) * 64 + 7] and vector[changed[0]] == 4.0
    flat = filter_slot(info, 7, 2)                      # dense_2 reads dense_1's 64 units: wrapped 8 × 8
    assert (flat.grid, flat.inputs, flat.wraps, flat.size) == ((8, 8), 1, True, 64)
    np.testing.assert_array_equal(grid_of(flat, info.weights[7][0][:, 2], 0).reshape(-1), info.weights[7][0][:, 2])


def test_layers_without_filters_say_where_to_go(info):
    assert why_not_editable(info, 1) == ("max_pooling2d_1 is a MaxPooling2D layer, with no filters of its own to "
                                         "edit: pick one of conv2d_1, conv2d_2, conv2d_3, dense_1, dense_2 in the "
                                         "overview.")
    assert why_not_editable(None, 0) == "No model yet."


def test_progress_payloads_and_the_sentences(info):
    from cnnviz.core.firing_digits import firing_digits
    from cnnviz.gui.experiments.firing_view import firing_sentence, ranking_note

    assert fraction_of((3, 12)) == 0.25 and fraction_of(0.4) == 0.4 and fraction_of("preparing") == -1.0
    means = np.array([0.1, 0.9, 0.5, 0.7, 0.2, 0.0], np.float32)
    found = firing_digits("conv2d_1", 5, means, np.full(6, 3.0, np.float32), np.array([0, 1, 2, 3, 3, 2]), 4)
    assert firing_sentence(found, ["zero", "one", "two", "three"]) == (
        "Fires most on one, three and two (mean 0.90, 0.45, 0.25 over their test digits); least on zero (0.10).")
    assert "6 of them tie at its peak, 3.00" in ranking_note(found) and "active on 83%" in ranking_note(found)
    silent = firing_digits("conv2d_1", 2, np.zeros(4, np.float32), np.zeros(4, np.float32), np.arange(4), 4)
    assert firing_sentence(silent, []).startswith("It does not fire on any test digit")
