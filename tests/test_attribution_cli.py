"""`cnnviz attribution`, `cnnviz filters` and `cnnviz predict --ablate`: files, JSON keys, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _png import write_png
from PIL import Image

from cnnviz.cli import main
from cnnviz.core.data import cnnviz_cache_path


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def one_line_error(capsys, argv, text):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert text in err and "\n" not in err and "Traceback" not in err


def test_gradcam_png_npy_and_json_agree(shipped_model, digit_seven, tmp_path, capsys):
    from cnnviz.core.gradcam import GradCam

    out, npy = tmp_path / "seven.png", tmp_path / "seven.npy"
    record = run_json(capsys, ["attribution", "--test-index", "0", "--out", str(out), "--npy", str(npy), "--json"])
    assert record["method"] == "gradcam" and record["layer"] == "conv2d_3"
    assert record["class"] == record["predicted"] == 7
    expected = GradCam(shipped_model)(digit_seven).heatmap
    saved = np.load(npy)
    assert saved.dtype == np.float32 and saved.shape == (3, 3)
    np.testing.assert_allclose(saved, expected, atol=1e-5)
    np.testing.assert_allclose(np.array(record["map"], np.float32), saved, atol=1e-6)
    assert len(record["probabilities"]) == 10
    with Image.open(out) as picture:
        assert picture.format == "PNG" and picture.size == (280, 280)


def test_gradcam_other_layer_and_class(tmp_path, capsys):
    record = run_json(capsys, ["attribution", "--test-index", "0", "--layer", "conv2d_2", "--class", "3",
                               "--out", str(tmp_path / "a.png"), "--json"])
    assert record["layer"] == "conv2d_2" and record["class"] == 3 and record["predicted"] == 7
    assert np.array(record["map"]).shape == (11, 11)


def test_image_file_text_output(mnist, tmp_path, capsys):
    path = write_png(tmp_path / "two.png", 255 - np.kron(mnist.x_test[1], np.ones((3, 3), np.uint8)))
    assert main(["attribution", "--image", str(path), "--out", str(tmp_path / "two_cam.png"), "--scale", "4"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("Grad-CAM of class 2 at conv2d_3 (3×3 map; predicted 2")
    with Image.open(tmp_path / "two_cam.png") as picture:
        assert picture.size == (112, 112)


def test_occlusion(shipped_model, mnist, tmp_path, capsys):
    from cnnviz.core.occlusion import occlusion_map

    npy = tmp_path / "o.npy"
    record = run_json(capsys, ["attribution", "--test-index", "8", "--method", "occlusion", "--patch", "4",
                               "--stride", "4", "--fill", "black", "--out", str(tmp_path / "o.png"),
                               "--npy", str(npy), "--json"])
    expected = occlusion_map(shipped_model, mnist.x_test[8] / 255.0, patch=4, stride=4, fill=0.0)
    assert record["method"] == "occlusion" and record["layer"] is None
    assert (record["patch"], record["stride"], record["fill"]) == (4, 4, "black")
    assert record["class"] == expected.class_index
    np.testing.assert_allclose(np.load(npy), expected.pixel_map, atol=1e-5)
    np.testing.assert_allclose(np.array(record["drops"]), expected.drops, atol=1e-5)
    assert np.array(record["map"]).shape == (28, 28)


@pytest.mark.parametrize("extra, text", [
    (["--layer", "dense_1"], "dense_1 is a Dense layer with output 64: Grad-CAM needs a convolution or pooling"),
    (["--layer", "flatten_1"], "flatten_1 is a Flatten layer"),
    (["--layer", "conv9"], "no layer named 'conv9'"),
    (["--class", "10"], "--class must be from 0 to 9, not 10"),
    (["--class", "-1"], "--class must be from 0 to 9, not -1"),
    (["--method", "occlusion", "--layer", "conv2d_1"], "--layer is for Grad-CAM"),
    (["--patch", "3"], "--patch and --stride are for --method occlusion"),
    (["--method", "occlusion", "--patch", "40"], "the patch must be 1 to 28 pixels"),
    (["--test-index", "10000"], "--test-index must be from 0 to 9999"),
])
def test_attribution_errors(tmp_path, capsys, extra, text):
    argv = ["attribution", "--out", str(tmp_path / "x.png"), *extra]
    if "--test-index" not in extra:
        argv += ["--test-index", "0"]
    one_line_error(capsys, argv, text)
    assert not (tmp_path / "x.png").exists()


def test_blank_image_is_an_error(tmp_path, capsys):
    blank = write_png(tmp_path / "blank.png", np.zeros((20, 20), np.uint8))
    one_line_error(capsys, ["attribution", "--image", str(blank), "--out", str(tmp_path / "x.png")], "is blank")


def test_filters_writes_patterns_and_top_digits(shipped_model, mnist, tmp_path, capsys):
    import tensorflow as tf

    out = tmp_path / "conv1"
    assert main(["filters", "--layer", "conv2d_1", "--out", str(out), "--steps", "4", "--no-cache",
                 "--data", str(cnnviz_cache_path())]) == 0
    assert "32 filters of conv2d_1" in capsys.readouterr().out
    patterns = np.load(out / "patterns.npy")
    assert patterns.dtype == np.float32 and patterns.shape == (32, 28, 28)
    assert patterns.min() >= 0 and patterns.max() <= 1
    assert sorted(p.name for p in out.glob("pattern_*.png")) == [f"pattern_{c:02d}.png" for c in range(32)]
    for grid in ("patterns_grid.png", "top_digits_grid.png", "top_patches_grid.png"):
        with Image.open(out / grid) as picture:
            assert picture.format == "PNG"
    ranking = json.loads((out / "top_digits.json").read_text())
    # Independently: conv2d_1 by hand (kernel, bias, ReLU), each channel's maximum over space.
    layer = shipped_model.get_layer("conv2d_1")
    digits = tf.constant(mnist.x_test[..., None] / np.float32(255.0), tf.float32)
    maps = tf.nn.relu(tf.nn.conv2d(digits, layer.kernel, 1, "VALID") + layer.bias)
    peaks = tf.reduce_max(maps, axis=(1, 2)).numpy()
    assert sorted(ranking, key=int) == [str(c) for c in range(32)]
    for c in range(32):
        chosen = ranking[str(c)]
        assert len(chosen) == 9 == len(set(chosen))
        values = peaks[chosen, c]
        assert np.all(np.diff(values) <= 1e-5)  # most exciting first
        assert values[-1] >= np.sort(peaks[:, c])[::-1][8] - 1e-5


@pytest.mark.parametrize("extra, text", [
    (["--layer", "dense_2"], "dense_2 is a Dense layer"),
    (["--layer", "nope"], "no layer named 'nope'"),
])
def test_filters_errors(tmp_path, capsys, extra, text):
    one_line_error(capsys, ["filters", "--out", str(tmp_path / "f"), *extra], text)


def test_predict_ablate_matches_zeroing_by_hand(shipped_model, mnist, tmp_path, capsys):
    from cnnviz.core.model_files import model_info
    from cnnviz.core.model_input import prepare_file

    path = write_png(tmp_path / "four.png", np.kron(mnist.x_test[4], np.ones((2, 2), np.uint8)))
    plain = run_json(capsys, ["predict", "--json", str(path)])
    record = run_json(capsys, ["predict", "--json", str(path), "--ablate", "conv2d_3:" + ",".join(map(str, range(40))),
                               "--ablate", "conv2d_1:1,2"])
    image = prepare_file(path, model_info(shipped_model)).array[None]
    h = image
    for layer in shipped_model.layers:
        h = layer(h).numpy()
        if layer.name == "conv2d_3":
            h[..., :40] = 0
        if layer.name == "conv2d_1":
            h[..., [1, 2]] = 0
    np.testing.assert_allclose(record["probabilities"], h[0], atol=1e-5)
    assert not np.allclose(record["probabilities"], plain["probabilities"], atol=1e-3)


@pytest.mark.parametrize("ablate, text", [
    ("conv2d_1", "cannot read 'conv2d_1': write LAYER:C1,C2"),
    ("conv2d_1:x", "write LAYER:C1,C2"),
    ("conv2d_1:32", "conv2d_1 has channels 0 to 31; there is no channel 32"),
    ("conv5:1", "no layer named 'conv5'"),
])
def test_predict_ablate_errors(mnist, tmp_path, capsys, ablate, text):
    path = write_png(tmp_path / "d.png", mnist.x_test[0])
    one_line_error(capsys, ["predict", str(path), "--ablate", ablate], text)
