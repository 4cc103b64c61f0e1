"""Move it (issue 21): shifted, turned and scaled inputs in one batched pass, against independent forward passes."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.robustness import (ROTATIONS, SCALES, SHIFTS, map_correlations, probe_robustness, rotate_image,
                                    scale_image, shift_image)


def rolled(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """An independent shift: np.roll, then the pixels that wrapped around set to 0."""
    out = np.roll(np.roll(image, dy, axis=0), dx, axis=1)
    if dy > 0:
        out[:dy] = 0
    elif dy < 0:
        out[dy:] = 0
    if dx > 0:
        out[:, :dx] = 0
    elif dx < 0:
        out[:, dx:] = 0
    return out


@pytest.mark.parametrize("dx, dy", [(0, 0), (3, 0), (0, -2), (-6, 6), (5, 4), (27, 0), (0, -28), (40, 40)])
def test_shift_image_moves_whole_pixels_right_and_down(dx, dy):
    image = np.random.default_rng(0).random((28, 28, 2)).astype(np.float32)
    np.testing.assert_array_equal(shift_image(image, dx, dy), rolled(image, dx, dy) if max(abs(dx), abs(dy)) < 28
                                  else np.zeros_like(image))


def test_shift_direction_and_fill():
    image = np.zeros((28, 28), np.float32)
    image[5, 5] = 1.0
    moved = shift_image(image, 2, 3, fill=0.25)
    assert moved[8, 7] == 1.0 and moved[5, 5] == 0.0         # dx > 0 right (columns), dy > 0 down (rows)
    assert moved[:3].min() == 0.25 and moved[:, :2].min() == 0.25
    with pytest.raises(ValueError, match="whole pixels"):
        shift_image(image, 0.5, 0)


def test_rotation_turns_counter_clockwise_about_the_centre():
    image = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    np.testing.assert_allclose(rotate_image(image, 90), np.rot90(image), atol=1e-6)
    np.testing.assert_allclose(rotate_image(image, 0), image, atol=1e-6)
    corner = rotate_image(np.ones((28, 28), np.float32), 45, fill=0.0)
    assert corner[0, 0] == 0.0 and corner[14, 14] == 1.0


def test_scaling_keeps_the_centre_and_changes_the_size():
    blob = np.zeros((28, 28), np.float32)
    blob[10:18, 10:18] = 1.0   # centred: rows and columns 10..17, centre 13.5
    np.testing.assert_allclose(scale_image(blob, 1.0), blob, atol=1e-6)
    rows, cols = np.indices(blob.shape)
    for factor in SCALES:
        scaled = scale_image(blob, factor)
        mass = scaled.sum()
        assert abs((scaled * rows).sum() / mass - 13.5) < 1e-3 and abs((scaled * cols).sum() / mass - 13.5) < 1e-3
        assert abs(mass - 64 * factor ** 2) < 64 * factor ** 2 * 0.2
    with pytest.raises(ValueError):
        scale_image(blob, 0)


@pytest.fixture(scope="module")
def seven_result(shipped_model, mnist):
    digit = mnist.x_test[0].astype(np.float32) / 255.0
    return digit, probe_robustness(shipped_model, digit)


def test_every_moved_input_gets_the_probabilities_of_its_own_forward_pass(shipped_model, seven_result):
    digit, result = seven_result
    assert result.shifts == [(dx, dy) for dy in SHIFTS for dx in SHIFTS]
    shifted = np.stack([rolled(digit, dx, dy) for dx, dy in result.shifts])[..., None]
    independent = np.concatenate([np.asarray(shipped_model(shifted[i:i + 32], training=False))
                                  for i in range(0, len(shifted), 32)])
    np.testing.assert_allclose(result.shift_probabilities, independent, atol=2e-4)
    np.testing.assert_allclose(result.baseline, np.asarray(shipped_model(digit[None, ..., None]))[0], atol=2e-4)
    turned = np.stack([rotate_image(digit, d) for d in ROTATIONS] + [scale_image(digit, f) for f in SCALES])
    independent = np.asarray(shipped_model(turned[..., None], training=False))
    np.testing.assert_allclose(np.concatenate([result.rotation_probabilities, result.scale_probabilities]),
                               independent, atol=2e-4)
    assert result.baseline_class == 7


def test_the_json_speaks_the_contract(seven_result):
    digit, result = seven_result
    report = result.to_json(target=7)
    assert set(report) >= {"baseline", "shifts", "rotations", "scales", "layers"}
    assert report["baseline"]["class"] == 7 and isinstance(report["baseline"]["class"], int)
    assert {(e["dx"], e["dy"]) for e in report["shifts"]} == {(x, y) for x in range(-6, 7) for y in range(-6, 7)}
    assert [e["degrees"] for e in report["rotations"]] == list(range(-30, 31, 5))
    assert [e["factor"] for e in report["scales"]] == pytest.approx([0.6 + 0.1 * i for i in range(9)])
    for entry in report["shifts"] + report["rotations"] + report["scales"]:
        assert isinstance(entry["class"], int) and 0 <= entry["probability"] <= 1
        row = result.shift_probabilities[result.shifts.index((entry["dx"], entry["dy"]))] if "dx" in entry else None
        if row is not None:
            assert entry["class"] == int(np.argmax(row)) and entry["target_probability"] == pytest.approx(row[7])
    names = {e["name"] for e in report["layers"]}
    assert names == {"conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2", "conv2d_3"}


def test_layers_follow_shifts_as_an_independent_pass_says(shipped_model, seven_result):
    """conv2d_1 (stride 1) follows every shift exactly; a pooled map follows even shifts exactly; and an
    odd shift's figure at conv2d_2 equals one computed from a separate Keras extractor and np.corrcoef."""
    import keras

    digit, result = seven_result
    follows = {(f.name, f.shift): f for f in result.layers}
    for shift in range(-4, 5):   # the seven stays inside the frame
        assert follows[("conv2d_1", shift)].correlation == pytest.approx(1.0, abs=1e-4)
        if shift % 2 == 0:
            assert follows[("max_pooling2d_1", shift)].correlation == pytest.approx(1.0, abs=1e-4)
        assert follows[("conv2d_1", shift)].map_shift == shift
        assert follows[("max_pooling2d_2", shift)].map_shift == shift / 4
    extractor = keras.Model(shipped_model.inputs, shipped_model.get_layer("conv2d_2").output)
    original, moved = (np.asarray(extractor([image[None, ..., None]], training=False))[0]
                       for image in (digit, rolled(digit, 3, 0)))
    # the original's maps moved 1.5 columns right: halfway between a move of 1 and of 2, where both exist
    halfway = 0.5 * (original[:, 1:-1] + original[:, :-2])
    expected = np.corrcoef(moved[:, 2:].ravel(), halfway.ravel())[0, 1]
    assert follows[("conv2d_2", 3)].correlation == pytest.approx(expected, abs=1e-4)
    assert follows[("conv2d_2", 3)].invariance == pytest.approx(np.corrcoef(moved.ravel(), original.ravel())[0, 1],
                                                                abs=1e-4)
    # pooling buys invariance: after a 1-pixel shift the last conv's maps look more like the original's
    assert follows[("conv2d_3", 1)].invariance > follows[("conv2d_1", 1)].invariance + 0.1


def test_map_correlations_of_constant_maps_are_none():
    flat = np.zeros((5, 5, 2), np.float32)
    assert map_correlations(flat, flat, 1.0) == (None, None)
    first, second = np.random.default_rng(2).random((2, 3, 3, 1))
    beyond = map_correlations(first, second, 5.0)   # a shift past the map: nothing left to compare
    assert beyond[0] is None and beyond[1] == pytest.approx(np.corrcoef(first.ravel(), second.ravel())[0, 1])


# --- the command ------------------------------------------------------------------------------------
def test_command_test_index_json_against_an_independent_pass(shipped_model, mnist, capsys):
    import json

    from cnnviz.cli import main

    assert main(["robustness", "--test-index", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    digit = mnist.x_test[1].astype(np.float32) / 255.0
    label = int(mnist.y_test[1])
    assert report["target"] == label and report["baseline"]["class"] == label
    by_shift = {(e["dx"], e["dy"]): e for e in report["shifts"]}
    for dx, dy in [(0, 0), (4, 0), (-6, 0), (0, 5), (-3, -6), (6, 6)]:
        probabilities = np.asarray(shipped_model(rolled(digit, dx, dy)[None, ..., None], training=False))[0]
        assert by_shift[(dx, dy)]["target_probability"] == pytest.approx(float(probabilities[label]), abs=2e-4)
        assert by_shift[(dx, dy)]["probability"] == pytest.approx(float(probabilities.max()), abs=2e-4)


def test_command_reads_a_picture_as_predict_does(mnist, tmp_path, capsys):
    import json

    from _png import write_png

    from cnnviz.cli import main

    picture = write_png(tmp_path / "three.png", 255 - np.kron(mnist.x_test[18], np.ones((4, 4), np.uint8)))
    assert main(["predict", "--json", str(picture)]) == 0
    predicted = json.loads(capsys.readouterr().out)
    assert main(["robustness", str(picture), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["baseline"]["class"] == predicted["digit"] == int(mnist.y_test[18])
    assert report["baseline"]["probability"] == pytest.approx(max(predicted["probabilities"]), abs=1e-4)
    assert main(["robustness", str(picture)]) == 0
    assert "right (dx)" in capsys.readouterr().out


@pytest.mark.parametrize("words", [[], ["x.png", "--test-index", "1"], ["--test-index", "10000"],
                                   ["missing.png"], ["--test-index", "2", "--model", "nothing.keras"]])
def test_command_bad_input_is_one_line_and_exit_2(words, tmp_path, monkeypatch, capsys):
    from cnnviz.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["robustness", *words, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("cnnviz robustness: ")
