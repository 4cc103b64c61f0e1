"""`cnnviz predict --edit`, `cnnviz attack` and `cnnviz sanity`: the JSON contracts, the files, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _png import write_png
from PIL import Image

from cnnviz.cli import main

EDGE = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], np.float32)


def run_json_lines(capsys, argv):
    assert main(argv) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def one_line_error(capsys, argv, text):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert text in err and "\n" not in err and "Traceback" not in err


@pytest.fixture
def four(mnist, tmp_path):
    return write_png(tmp_path / "four.png", np.kron(mnist.x_test[4], np.ones((2, 2), np.uint8)))


# --- predict --edit --------------------------------------------------------------------------------
def test_predict_edit_is_predict_json_plus_the_edited_filters(shipped_model, four, tmp_path, capsys):
    import keras

    from cnnviz.core.model_files import model_info
    from cnnviz.core.model_input import prepare_file

    plain, = run_json_lines(capsys, ["predict", "--json", str(four)])
    edited, = run_json_lines(capsys, ["predict", "--json", str(four), "--edit", "conv2d_1:5=vertical-edge",
                                      "--edit", "conv2d_3:0=zero", "--edit", "dense_1:7=scale:-2"])
    assert set(plain) <= set(edited) and edited["path"] == plain["path"]
    assert edited["edits"] == ["conv2d_1:5=vertical-edge", "conv2d_3:0=zero", "dense_1:7=scale:-2"]
    # Independently: the same edits written into a copy's weights by hand, then Keras's predict.
    copy = keras.models.clone_model(shipped_model)
    copy.set_weights(shipped_model.get_weights())
    conv1, conv3, dense1 = (copy.get_layer(n) for n in ("conv2d_1", "conv2d_3", "dense_1"))
    k, b = conv1.get_weights(); k[:, :, 0, 5] = EDGE; b[5] = 0; conv1.set_weights([k, b])   # noqa: E702
    k, b = conv3.get_weights(); k[..., 0] = 0; b[0] = 0; conv3.set_weights([k, b])          # noqa: E702
    k, b = dense1.get_weights(); k[:, 7] *= -2; b[7] *= -2; dense1.set_weights([k, b])      # noqa: E702
    image = prepare_file(four, model_info(shipped_model)).array[None]
    np.testing.assert_allclose(edited["probabilities"], copy.predict(image, verbose=0)[0], atol=1e-5)
    assert edited["digit"] == int(np.argmax(edited["probabilities"]))
    assert not np.allclose(edited["probabilities"], plain["probabilities"], atol=1e-3)
    filters = edited["edited_filters"]
    assert [(f["layer"], f["channel"]) for f in filters] == [("conv2d_1", 5), ("conv2d_3", 0), ("dense_1", 7)]
    assert filters[0]["kernel_shape"] == [3, 3, 1] and filters[0]["bias"] == 0
    np.testing.assert_array_equal(np.array(filters[0]["kernel"])[..., 0], EDGE)
    assert filters[1]["kernel_shape"] == [3, 3, 64] and not np.array(filters[1]["kernel"]).any()
    np.testing.assert_allclose(filters[2]["kernel"], -2 * shipped_model.get_layer("dense_1").kernel.numpy()[:, 7],
                               rtol=1e-6)


def test_predict_save_copy_keeps_the_model_file(shipped_model_path, four, tmp_path, capsys):
    from cnnviz.core.model import load_model

    before = shipped_model_path.read_bytes()
    copy = tmp_path / "edge.keras"
    run_json_lines(capsys, ["predict", "--json", str(four), "--edit", "conv2d_1:3=horizontal-edge",
                            "--save-copy", str(copy)])
    saved = load_model(copy).get_layer("conv2d_1")
    np.testing.assert_array_equal(saved.kernel.numpy()[:, :, 0, 3], [[-1, -1, -1], [0, 0, 0], [1, 1, 1]])
    assert shipped_model_path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary left


def wide_kernel_model(path):
    import keras
    from keras import layers

    from cnnviz.core.model import save_model

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(4, 5, activation="relu", name="wide"),
                              layers.Flatten(name="flat"), layers.Dense(10, activation="softmax", name="out")])
    return save_model(model, path)


@pytest.mark.parametrize("edit, text", [
    ("conv5:1=zero", "--edit: no layer named 'conv5'"),
    ("conv2d_1:32=zero", "conv2d_1 has filters 0 to 31; there is no filter 32"),
    ("dense_1:3=blur", "dense_1 is a Dense layer: the 3×3 preset blur fits Conv2D filters"),
    ("flatten_1:0=zero", "flatten_1 is a Flatten layer: kernel edits work on Conv2D filters and Dense units"),
    ("conv2d_1:5=scale:abc", "the factor of scale:F must be a finite number"),
    ("conv2d_1:5", "cannot read 'conv2d_1:5': write LAYER:C=PRESET"),
    ("conv2d_1:5=emboss", "no preset 'emboss'"),
])
def test_predict_bad_edits(four, capsys, edit, text):
    one_line_error(capsys, ["predict", str(four), "--edit", edit], text)


def test_predict_3x3_preset_on_a_5x5_kernel(four, tmp_path, capsys):
    model = wide_kernel_model(tmp_path / "wide.keras")
    one_line_error(capsys, ["predict", str(four), "--model", str(model), "--edit", "wide:1=identity"],
                   "wide has 5×5 kernels: the preset identity is 3×3; use zero or scale:F")
    record, = run_json_lines(capsys, ["predict", "--json", str(four), "--model", str(model), "--edit", "wide:1=zero"])
    assert record["edited_filters"][0]["kernel_shape"] == [5, 5, 1]


def test_save_copy_never_overwrites_the_model_read(four, tmp_path, capsys):
    model = wide_kernel_model(tmp_path / "wide.keras")
    before = model.read_bytes()
    one_line_error(capsys, ["predict", str(four), "--model", str(model), "--edit", "wide:1=zero",
                            "--save-copy", str(model)], "never writes over one of its own inputs")
    assert model.read_bytes() == before


def test_save_copy_needs_an_edit_and_a_keras_name(four, tmp_path, capsys):
    one_line_error(capsys, ["predict", str(four), "--save-copy", str(tmp_path / "c.keras")], "give at least one --edit")
    one_line_error(capsys, ["predict", str(four), "--edit", "conv2d_1:1=zero", "--save-copy", str(tmp_path / "c.h5")],
                   "--save-copy writes a .keras file")


# --- attack ----------------------------------------------------------------------------------------
CONTRACT = {"method", "epsilon", "target", "before", "after", "perturbation_linf", "layers"}


def test_attack_json_contract_and_files(shipped_model, mnist, tmp_path, capsys):
    out = tmp_path / "attacked"
    record, = run_json_lines(capsys, ["attack", "--test-index", "0", "--method", "pgd", "--epsilon", "0.2",
                                      "--json", "--out", str(out), "--scale", "3"])
    assert CONTRACT <= set(record)
    assert record["method"] == "pgd" and record["epsilon"] == 0.2 and record["target"] is None
    for side in ("before", "after"):
        assert set(record[side]) >= {"class", "probability"} and isinstance(record[side]["class"], int)
    assert record["before"]["class"] == 7
    assert [layer["name"] for layer in record["layers"]] == [layer.name for layer in shipped_model.layers]
    assert all(isinstance(layer["relative_change"], float) for layer in record["layers"])
    perturbed, perturbation = np.load(out / "perturbed.npy"), np.load(out / "perturbation.npy")
    assert perturbed.shape == perturbation.shape == (28, 28) and perturbed.dtype == np.float32
    assert perturbed.min() >= 0 and perturbed.max() <= 1
    assert np.abs(perturbation).max() == pytest.approx(record["perturbation_linf"], abs=1e-6)
    assert record["perturbation_linf"] <= 0.2 + 1e-6
    np.testing.assert_allclose(perturbed - perturbation, mnist.x_test[0] / 255.0, atol=1e-6)   # the original
    # Independently: the model's own probabilities for the written input.
    probabilities = shipped_model(perturbed[None, ..., None]).numpy()[0]
    assert record["after"]["class"] == int(np.argmax(probabilities))
    assert record["after"]["probability"] == pytest.approx(float(probabilities.max()), abs=1e-5)
    with Image.open(out / "perturbed.png") as png:
        assert png.size == (84, 84) and png.mode == "L"
        np.testing.assert_array_equal(np.asarray(png)[::3, ::3], np.round(perturbed * 255).astype(np.uint8))
    with Image.open(out / "perturbation.png") as png:
        assert png.size == (84, 84) and png.mode == "RGB"
    assert sorted(p.name for p in out.iterdir()) == ["perturbation.npy", "perturbation.png", "perturbed.npy",
                                                     "perturbed.png"]


def test_attack_image_file_targeted_sweep(mnist, tmp_path, capsys):
    path = write_png(tmp_path / "seven.png", np.kron(mnist.x_test[0], np.ones((3, 3), np.uint8)))
    record, = run_json_lines(capsys, ["attack", str(path), "--method", "fgsm", "--target", "3", "--sweep",
                                      "--json"])
    assert record["target"] == 3 and record["flipped"] and record["after"]["class"] == 3
    assert 0 < record["epsilon"] <= 0.5 and record["perturbation_linf"] <= record["epsilon"] + 1e-6
    curve = record["sweep"]["curve"]
    assert len(curve) == 50 and curve[0]["epsilon"] == 0.01
    assert all(point["class"] != 3 for point in curve if point["epsilon"] < record["epsilon"])


def test_attack_several_models_and_text(shipped_model_path, tmp_path, capsys):
    copy = tmp_path / "copy.keras"
    copy.write_bytes(shipped_model_path.read_bytes())
    records = run_json_lines(capsys, ["attack", "--test-index", "1", "--model", str(shipped_model_path),
                                      "--model", str(copy), "--json", "--out", str(tmp_path / "both")])
    assert len(records) == 2 and records[0]["after"] == records[1]["after"]
    assert sorted(p.name for p in (tmp_path / "both").iterdir()) == ["1-mnist_convnet", "2-copy"]
    assert main(["attack", "--test-index", "1", "--epsilon", "0.05"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("FGSM (untargeted), ε = 0.05: 2 (") and "conv2d_1" in text


@pytest.mark.parametrize("argv, text", [
    (["--test-index", "0", "--target", "10"], "--target must be a class from 0 to 9, not 10"),
    (["--test-index", "0", "--sweep", "--epsilon", "0.1"], "--sweep finds ε itself"),
    (["--test-index", "0", "--max-epsilon", "0.3"], "--max-epsilon bounds --sweep"),
    (["--test-index", "0", "--steps", "5"], "--steps is for --method pgd"),
    (["--test-index", "10000"], "--test-index must be from 0 to 9999"),
    ([], "give an IMAGE file or --test-index N"),
    (["x.png", "--test-index", "3"], "give an IMAGE file or --test-index N"),
    (["missing.png"], "missing.png"),
])
def test_attack_bad_input(capsys, tmp_path, argv, text):
    one_line_error(capsys, ["attack", *argv], text)


def test_outputs_never_go_onto_the_image_read(mnist, tmp_path, capsys):
    path = write_png(tmp_path / "perturbed.png", mnist.x_test[0])
    before = path.read_bytes()
    one_line_error(capsys, ["attack", str(path), "--out", str(tmp_path)], "never writes over one of its own inputs")
    strip = write_png(tmp_path / "sanity_strip.png", mnist.x_test[0])
    one_line_error(capsys, ["sanity", str(strip), "--out", str(tmp_path)], "never writes over one of its own inputs")
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["perturbed.png",
                                                                                       "sanity_strip.png"]


@pytest.mark.parametrize("option, value, text", [
    ("--epsilon", "1.5", "--epsilon must be from 0 to 1 (intensity units), not 1.5"),
    ("--epsilon", "-0.1", "--epsilon must be from 0 to 1"),
    ("--epsilon", "abc", "--epsilon must be a number from 0 to 1, not 'abc'"),
    ("--epsilon", "nan", "--epsilon must be from 0 to 1"),
    ("--max-epsilon", "0", "--max-epsilon must be above 0"),
    ("--max-epsilon", "2", "--max-epsilon must be from 0 to 1"),
])
def test_attack_bad_epsilon(capsys, option, value, text):
    argv = ["attack", "--test-index", "0", option, value] + (["--sweep"] if option == "--max-epsilon" else [])
    one_line_error(capsys, argv, text)


# --- sanity ----------------------------------------------------------------------------------------
def test_sanity_json_contract_and_files(tmp_path, capsys):
    out = tmp_path / "sanity"
    record, = run_json_lines(capsys, ["sanity", "--test-index", "0", "--json", "--seed", "3", "--out", str(out)])
    assert set(record["methods"]) == {"gradcam", "occlusion", "gradient"}
    names = ["dense_2", "dense_1", "conv2d_3", "conv2d_2", "conv2d_1"]
    for steps in record["methods"].values():
        assert [s["randomised_down_to"] for s in steps] == names
        assert all(s["spearman"] is None or -1 <= s["spearman"] <= 1 for s in steps)
    assert record["mode"] == "cascading" and record["seed"] == 3 and record["class"] == 7
    maps = np.load(out / "gradcam.npy")
    assert maps.shape == (6, 28, 28)
    from cnnviz.core.sanity_check import spearman

    for step, values in zip(record["methods"]["gradcam"], maps[1:], strict=True):
        assert step["spearman"] == (None if spearman(maps[0], values) is None else
                                    pytest.approx(spearman(maps[0], values), abs=1e-6))
    with Image.open(out / "sanity_strip.png") as png:
        assert png.format == "PNG" and png.size[0] > png.size[1]


def test_sanity_independent_text_and_a_model_without_maps(tmp_path, capsys):
    import keras
    from keras import layers

    from cnnviz.core.model import save_model

    assert main(["sanity", "--test-index", "2", "--mode", "independent"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "one layer at a time" in lines[0] and lines[1].split()[:2] == ["randomised", "layer"]
    assert [line.split()[0] for line in lines[2:]] == ["dense_2", "dense_1", "conv2d_3", "conv2d_2", "conv2d_1"]
    keras.utils.set_random_seed(0)
    flat = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")])
    flat = save_model(flat, tmp_path / "flat.keras")
    record, = run_json_lines(capsys, ["sanity", "--test-index", "0", "--model", str(flat), "--json"])
    assert record["methods"]["gradcam"] == [] and len(record["methods"]["gradient"]) == 1
    assert "Grad-CAM needs a layer with maps" in record["skipped"]["gradcam"]


@pytest.mark.parametrize("argv, text", [
    (["--test-index", "0", "--class", "10"], "--class must be from 0 to 9, not 10"),
    (["--test-index", "0", "--layer", "dense_1"], "dense_1 is a Dense layer with output 64: Grad-CAM needs"),
    ([], "give an IMAGE file or --test-index N"),
])
def test_sanity_bad_input(capsys, argv, text):
    one_line_error(capsys, ["sanity", *argv], text)
