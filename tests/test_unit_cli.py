"""`cnnviz unit`: one unit's explanation on the command line equals the model's own layer outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _png import write_png

from cnnviz.cli import main

TEST_INDEX = 3
# layer, channel, y, x: one unit per conv/pool layer, away from and at the borders
UNITS = [("conv2d_1", 5, 13, 9), ("max_pooling2d_1", 31, 12, 0), ("conv2d_2", 17, 5, 5),
         ("max_pooling2d_2", 2, 4, 4), ("conv2d_3", 63, 2, 1)]
FIELDS = {"conv2d_1": (3, 1), "max_pooling2d_1": (4, 2), "conv2d_2": (8, 2), "max_pooling2d_2": (10, 4),
          "conv2d_3": (18, 4)}


@pytest.fixture(scope="module")
def layer_outputs(shipped_model, mnist):
    """Every layer's output for test digit TEST_INDEX, from a plain Keras forward pass."""
    import keras

    extractor = keras.Model(shipped_model.inputs[0], [layer.output for layer in shipped_model.layers])
    image = mnist.x_test[TEST_INDEX].astype(np.float32).reshape(1, 28, 28, 1) / 255.0
    outputs = [np.asarray(output)[0] for output in extractor(image, training=False)]
    return dict(zip([layer.name for layer in shipped_model.layers], outputs))


def run_json(capsys, *args):
    assert main(["unit", "--json", *args]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return json.loads(out)


@pytest.mark.parametrize("layer, channel, y, x", UNITS)
def test_json_equals_the_models_layer_output(layer, channel, y, x, layer_outputs, capsys):
    unit = run_json(capsys, "--test-index", str(TEST_INDEX), "--layer", layer, "--channel", str(channel),
                    "--y", str(y), "--x", str(x))
    assert (unit["layer"], unit["channel"], unit["y"], unit["x"]) == (layer, channel, y, x)
    assert unit["value"] == pytest.approx(float(layer_outputs[layer][y, x, channel]), abs=1e-4)
    size, jump = FIELDS[layer]
    assert unit["receptive_field"] == {"top": y * jump, "left": x * jump, "height": size, "width": size,
                                       "clipped": False}
    window = np.array(unit["window"])
    if layer.startswith("conv"):
        assert unit["kind"] == "conv"
        kernel = np.array(unit["kernel"])
        assert window.shape == kernel.shape == (3, 3, {"conv2d_1": 1, "conv2d_2": 32, "conv2d_3": 64}[layer])
        assert float((window * kernel).sum() + unit["bias"]) == pytest.approx(unit["pre_activation"], abs=1e-6)
        assert max(unit["pre_activation"], 0.0) == pytest.approx(unit["value"], abs=1e-6)  # ReLU
    else:
        assert unit["kind"] == "pool" and window.shape == (2, 2, 1)
        dy, dx = unit["argmax"]
        assert window[dy, dx, 0] == window.max() == pytest.approx(unit["value"])


def test_dense_unit_needs_no_position(layer_outputs, capsys):
    unit = run_json(capsys, "--test-index", str(TEST_INDEX), "--layer", "dense_2", "--channel", "0", "--top", "3")
    assert unit["kind"] == "dense" and unit["y"] is None
    assert unit["value"] == pytest.approx(float(layer_outputs["dense_2"][0]), abs=1e-5)
    assert len(unit["contributions"]) == 3 and unit["rest"]["inputs"] == 61
    total = sum(c["value"] for c in unit["contributions"]) + unit["rest"]["value"] + unit["bias"]
    assert total == pytest.approx(unit["pre_activation"], abs=1e-6)


def test_text_shows_the_nine_products_of_the_first_layer(capsys):
    assert main(["unit", "--test-index", str(TEST_INDEX), "--layer", "conv2d_1", "--channel", "5",
                 "--y", "13", "--x", "9"]) == 0
    text = capsys.readouterr().out
    assert "window × kernel" in text and "ReLU(" in text and "3×3 pixels" in text
    assert "= pre-activation" in text


def test_an_image_file_is_prepared_as_predict_does(shipped_model, mnist, tmp_path, capsys):
    import keras

    from cnnviz.core.model_files import model_info
    from cnnviz.core.model_input import prepare_file

    dark_on_light = 255 - np.kron(mnist.x_test[7], np.ones((3, 3), np.uint8))
    path = write_png(tmp_path / "digit.png", dark_on_light)
    unit = run_json(capsys, "--image", str(path), "--layer", "conv2d_2", "--channel", "4", "--y", "5", "--x", "6")
    image = prepare_file(path, model_info(shipped_model)).array
    conv2d_2 = keras.Model(shipped_model.inputs[0], shipped_model.get_layer("conv2d_2").output)
    expected = np.asarray(conv2d_2(image.reshape(1, 28, 28, 1)))[0, 5, 6, 4]
    assert unit["value"] == pytest.approx(float(expected), abs=1e-4)
    assert unit["model_value"] == pytest.approx(float(expected), abs=1e-4)


@pytest.mark.parametrize("args, message", [
    (["--layer", "conv2d_9", "--channel", "0", "--y", "0", "--x", "0"], "no layer 'conv2d_9'"),
    (["--layer", "conv2d_1", "--channel", "32", "--y", "0", "--x", "0"], "channel 32 is out of range"),
    (["--layer", "conv2d_3", "--channel", "0", "--y", "3", "--x", "0"], "y 3 is out of range"),
    (["--layer", "max_pooling2d_1", "--channel", "0", "--y", "0"], "give the unit's y and x"),
    (["--layer", "flatten_1", "--channel", "0"], "Flatten"),
])
def test_bad_units_give_one_line_and_exit_2(args, message, capsys):
    assert main(["unit", "--test-index", "0", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err and "Traceback" not in captured.err
