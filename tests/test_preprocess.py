"""MNIST-faithful preprocessing (core/preprocess.py); reading files is tested in test_images.py and test_ink.py."""

from __future__ import annotations

import numpy as np
import pytest
from _png import write_png

from cnnviz.core.images import read_image
from cnnviz.core.preprocess import (DIGIT_BOX, FIELD_CENTRE, MODEL_SIZE, centre_of_mass, image_on_canvas, ink_box,
                                    model_input, preprocess, resize_area)

CANVAS = 280


def render_on_canvas(digit: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    """`digit` (28×28 in [0, 1]) enlarged smoothly to size×size and pasted on a black 280×280 canvas."""
    positions = (np.arange(size) + 0.5) * digit.shape[0] / size - 0.5
    grid = np.arange(digit.shape[0])
    rows = np.stack([np.interp(positions, grid, digit[:, c]) for c in grid], axis=1)
    big = np.stack([np.interp(positions, grid, rows[r]) for r in range(size)])
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    canvas[top:top + size, left:left + size] = big
    return canvas


def stroke_canvas() -> np.ndarray:
    """A tall, thin "1"-like bar with a foot, off centre: 150 px high, 40 px wide."""
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    canvas[30:180, 200:215] = 1.0
    canvas[165:180, 185:225] = 1.0
    return canvas


def test_output_is_28x28_float32_in_unit_range():
    image = model_input(stroke_canvas())
    assert image.shape == (MODEL_SIZE, MODEL_SIZE)
    assert image.dtype == np.float32 and image.flags.c_contiguous
    assert image.min() >= 0.0 and image.max() == pytest.approx(1.0)


def test_centre_of_mass_sits_at_field_centre(digit_seven):
    for canvas in (stroke_canvas(), render_on_canvas(digit_seven, 5, 150, 120)):
        row, col = centre_of_mass(model_input(canvas))
        assert abs(row - FIELD_CENTRE) <= 0.5 and abs(col - FIELD_CENTRE) <= 0.5


def test_digit_fits_20x20_and_keeps_its_aspect_ratio():
    result = preprocess(stroke_canvas())
    top, left, bottom, right = ink_box(result.image)
    height, width = bottom - top, right - left
    assert max(height, width) == DIGIT_BOX
    assert result.scaled_size == (20, 5)  # 150×40 -> 20×5.33, rounded
    assert result.ink_box == (30, 185, 180, 225)
    assert height / width == pytest.approx(150 / 40, rel=0.25)


def test_area_filter_keeps_mean_brightness():
    rng = np.random.default_rng(0)
    image = rng.random((140, 90)).astype(np.float32)
    small = resize_area(image, 20, 13)
    assert small.shape == (20, 13)
    assert small.mean() == pytest.approx(image.mean(), rel=1e-4)
    assert resize_area(np.ones((7, 3), np.float32), 20, 9) == pytest.approx(np.ones((20, 9)))


def test_empty_canvas_gives_no_input():
    assert model_input(np.zeros((CANVAS, CANVAS), np.float32)) is None
    assert preprocess(np.zeros((5, 5), np.float32)) is None


def test_small_in_a_corner_and_large_in_the_middle_predict_the_same(mnist, shipped_probe):
    for index in range(8):
        digit = mnist.x_test[index].astype(np.float32) / 255.0
        small = model_input(render_on_canvas(digit, 4, 8, 70))
        large = model_input(render_on_canvas(digit, 10, 10, 260))
        assert np.abs(small - large).mean() < 0.05
        small_guess = int(np.argmax(shipped_probe.probabilities(small)))
        large_guess = int(np.argmax(shipped_probe.probabilities(large)))
        assert small_guess == large_guess == mnist.y_test[index]


def test_mnist_digits_come_back_nearly_unchanged(mnist):
    """MNIST digits were made by this recipe, so running it again changes them little."""
    for index in range(20):
        digit = mnist.x_test[index].astype(np.float32) / 255.0
        assert np.abs(model_input(digit) - digit).mean() < 0.06


def test_dark_on_light_and_light_on_dark_files_read_the_same(tmp_path, digit_seven):
    light_ink = np.round(render_on_canvas(digit_seven, 40, 60, 160) * 255).astype(np.uint8)
    on_black = read_image(write_png(tmp_path / "white_on_black.png", light_ink))
    on_paper = read_image(write_png(tmp_path / "black_on_white.png", 255 - light_ink))
    rgb = np.repeat((235 - light_ink * 0.8).astype(np.uint8)[..., None], 3, axis=2)  # grey ink on off-white
    on_rgb_paper = read_image(write_png(tmp_path / "grey_on_paper_rgb.png", rgb))
    assert on_black.shape == on_paper.shape and max(on_black.shape) < CANVAS   # the digit, cropped
    np.testing.assert_allclose(on_paper, on_black, atol=2 / 255)
    np.testing.assert_allclose(model_input(image_on_canvas(on_rgb_paper)), model_input(image_on_canvas(on_black)),
                               atol=0.03)


def test_transparent_png_with_dark_ink(tmp_path, digit_seven):
    alpha = np.round(render_on_canvas(digit_seven, 40, 60, 160) * 255).astype(np.uint8)
    rgba = np.zeros((CANVAS, CANVAS, 4), np.uint8)
    rgba[..., 3] = alpha  # black ink, transparent elsewhere
    image = read_image(write_png(tmp_path / "transparent.png", rgba))
    top, left, bottom, right = ink_box(alpha, floor=0.1 * 255)   # the reader drops the faintest fringe
    assert abs(image.shape[0] - (bottom - top)) <= 2 and abs(image.shape[1] - (right - left)) <= 2
    expected = model_input(image_on_canvas(alpha[top:bottom, left:right] / np.float32(255)))
    assert np.abs(model_input(image_on_canvas(image)) - expected).mean() < 0.01


def test_blank_file_has_no_digit(tmp_path):
    image = read_image(write_png(tmp_path / "blank.png", np.full((50, 80), 250, np.uint8)))
    assert model_input(image) is None


def test_resize_area_needs_memory_for_the_image_not_image_times_output():
    """Issue 15 item 5: a 1×W image scaled to 224 wide built a float64 224 × W matrix (1.8 GB at W = 10⁶)."""
    import tracemalloc

    line = np.ones((1, 100_000), np.float32)
    tracemalloc.start()
    try:
        small = resize_area(line, 1, 224)
        canvas = image_on_canvas(line)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert small.shape == (1, 224) and np.allclose(small, 1.0) and canvas.max() == pytest.approx(1.0)
    assert peak < 8 * 1024 * 1024   # the old weight matrix alone: 224 × 100,000 × 8 bytes = 179 MB


def test_resize_area_equals_the_overlap_average():
    """Each output cell is the mean of the input it covers, partial cells weighted by their overlap."""
    image = np.arange(15, dtype=np.float32).reshape(3, 5)
    cells = resize_area(image, 1, 2)       # 5 columns into 2: columns 0, 1, half of 2 | half of 2, 3, 4
    row_means = image.mean(axis=0)
    expected = [(row_means[0] + row_means[1] + 0.5 * row_means[2]) / 2.5,
                (0.5 * row_means[2] + row_means[3] + row_means[4]) / 2.5]
    np.testing.assert_allclose(cells[0], expected, rtol=1e-6)


def test_input_mapping_sends_the_digit_box_back_onto_the_ink():
    """A model-input box maps back onto the source pixels it was shrunk from (receptive fields on the drawing)."""
    from cnnviz.core.preprocess import exact_mapping, preprocess

    source = np.zeros((280, 280), np.float32)
    source[60:200, 100:160] = 1.0          # a tall bar: 140×60 pixels of ink
    prepared = preprocess(source)
    (height, width), (row, col) = prepared.scaled_size, prepared.offset
    top, left, bottom, right = prepared.mapping.box_to_source(row, col, row + height, col + width)
    assert (top, left, bottom, right) == pytest.approx((60, 100, 200, 160), abs=1e-6)
    # one model pixel is the ink's height / the scaled height
    assert prepared.mapping.scale[0] == pytest.approx(140 / height)
    assert exact_mapping(280).box_to_source(0, 0, 28, 28) == (0.0, 0.0, 280.0, 280.0)
