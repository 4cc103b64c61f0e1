"""Occlusion against a hand-computed map, and against occluding one image at a time."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.occlusion import occluded_copies, occlusion_map, patch_starts, spread_over_pixels

GAIN = 1.5


def region_model():
    """8×8 input -> two classes; logit 0 = GAIN · (sum of the 2×2 pixels at rows 3–4, columns 3–4), logit 1 = 0."""
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    kernel = np.zeros((64, 2), np.float32)
    for y in (3, 4):
        for x in (3, 4):
            kernel[y * 8 + x, 0] = GAIN
    model.layers[-1].set_weights([kernel, np.zeros(2, np.float32)])
    return model


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.mark.parametrize("fill", [0.0, 0.5])
def test_hand_computed_map(fill):
    """Ink only on the 2×2 region. A 2×2 patch at (t, l) covers n of its pixels, leaving a sum of
    4 - n·(1 - fill): the drop is σ(4·GAIN) - σ(GAIN·(4 - n·(1 - fill)))."""
    image = np.zeros((8, 8), np.float32)
    image[3:5, 3:5] = 1.0
    result = occlusion_map(region_model(), image, class_index=0, patch=2, stride=1, fill=fill)
    expected = np.zeros((7, 7))
    for t in range(7):
        for l in range(7):
            covered = len({t, t + 1} & {3, 4}) * len({l, l + 1} & {3, 4})
            expected[t, l] = sigmoid(4 * GAIN) - sigmoid(GAIN * (4 - covered * (1 - fill)))
    np.testing.assert_allclose(result.drops, expected, atol=1e-6)
    assert result.tops.tolist() == list(range(7)) and result.lefts.tolist() == list(range(7))
    assert result.predicted == 0 and result.probabilities[0] == pytest.approx(sigmoid(4 * GAIN), abs=1e-6)
    assert result.drops[3, 3] == result.drops.max() > 0       # the patch exactly on the region
    assert result.pixel_map[0, 0] == 0 and result.pixel_map[3, 3] > 0


def test_other_class_drops_are_negative():
    image = np.zeros((8, 8), np.float32)
    image[3:5, 3:5] = 1.0
    result = occlusion_map(region_model(), image, class_index=1, patch=3, stride=2, fill=0.0)
    assert result.class_index == 1 and result.predicted == 0
    assert result.drops.max() <= 1e-7 and result.drops.min() < -0.1  # covering the region helps class 1


def test_patch_positions_reach_the_far_edge():
    assert patch_starts(28, 6, 2).tolist() == list(range(0, 23, 2))
    assert patch_starts(28, 6, 4).tolist() == [0, 4, 8, 12, 16, 20, 22]
    assert patch_starts(5, 5, 3).tolist() == [0]
    with pytest.raises(ValueError, match="patch"):
        patch_starts(28, 29, 1)
    with pytest.raises(ValueError, match="stride"):
        patch_starts(28, 3, 0)


def test_copies_and_pixel_map_by_hand():
    image = np.arange(16, dtype=np.float32).reshape(4, 4)
    batch, tops, lefts = occluded_copies(image, 2, 2, -1.0)
    assert batch.shape == (4, 4, 4) and tops.tolist() == [0, 2] and lefts.tolist() == [0, 2]
    expected = image.copy()
    expected[2:4, 0:2] = -1
    assert np.array_equal(batch[2], expected)
    drops = np.array([[1.0, 2.0], [3.0, 4.0]])
    pixels = spread_over_pixels(drops, np.array([0, 1]), np.array([0, 2]), 2, (3, 4))
    assert pixels.tolist() == [[1, 1, 2, 2], [2, 2, 3, 3], [3, 3, 4, 4]]


def test_seed_model_matches_one_image_at_a_time(shipped_model, mnist):
    """The batched map equals occluding and predicting each copy separately with model.predict."""
    image = mnist.x_test[8] / 255.0  # a 5 the model is less than certain about
    result = occlusion_map(shipped_model, image, patch=6, stride=2)
    assert result.drops.shape == (12, 12) and result.pixel_map.shape == (28, 28)
    base = shipped_model.predict(image.reshape(1, 28, 28, 1), verbose=0)[0]
    assert result.predicted == int(np.argmax(base))
    for t, l in ((0, 0), (5, 6), (11, 11), (6, 4)):
        covered = image.copy()
        covered[2 * t:2 * t + 6, 2 * l:2 * l + 6] = 0.5
        probabilities = shipped_model.predict(covered.reshape(1, 28, 28, 1), verbose=0)[0]
        assert result.drops[t, l] == pytest.approx(base[result.class_index] - probabilities[result.class_index],
                                                   abs=1e-5)


def test_bad_class():
    with pytest.raises(ValueError, match="from 0 to 1, not 2"):
        occlusion_map(region_model(), np.zeros((8, 8)), class_index=2)
