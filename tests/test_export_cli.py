"""`cnnviz export`: the done-when run, options, and every fault with a message, exit code 2 and no output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz.cli import main
from _png import read_png, write_png


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_done_when_all_layers_of_a_test_digit(tmp_path, shipped_model_path):
    """The real command in a fresh process, on the shipped model."""
    out = tmp_path / "seven"
    done = subprocess.run([sys.executable, "-m", "cnnviz", "export", "--test-index", "0", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"to {out}" in done.stdout and "predicted 7" in done.stdout
    files = _files(out)
    per_layer = {prefix: len([f for f in files if f.startswith(prefix + "/ch")])
                 for prefix in ("L1_conv2d_1", "L2_max_pooling2d_1", "L3_conv2d_2", "L4_max_pooling2d_2",
                                "L5_conv2d_3")}
    assert per_layer == {"L1_conv2d_1": 32, "L2_max_pooling2d_1": 32, "L3_conv2d_2": 64,
                         "L4_max_pooling2d_2": 64, "L5_conv2d_3": 64}
    assert [f for f in files if f.endswith("_grid.png")] == [f"{p}_grid.png" for p in per_layer]
    assert len([f for f in files if f.endswith(".npy")]) == 8 + 1  # every layer, and the model input
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["source"] == "MNIST test digit 0 (label 7)"
    assert manifest["model"]["path"] == str(Path(shipped_model_path).resolve())
    assert manifest["options"]["scale"] == 8
    assert sorted(e["path"] for e in manifest["files"]) == [f for f in files if f != "manifest.json"]
    assert read_png(out / "L1_conv2d_1/ch00.png").shape == (26 * 8, 26 * 8, 3)


def test_image_with_options(tmp_path, mnist, capsys):
    pixels = 255 - np.kron(mnist.x_test[1], np.ones((3, 3), np.uint8))  # a 2, dark ink on white
    image = write_png(tmp_path / "two.png", pixels)
    out = tmp_path / "two"
    code = main(["export", "--image", str(image), "--out", str(out), "--layers", "conv2d_3", "dense_2",
                 "--scale", "3", "--colormap", "gray", "--normalisation", "layer", "--no-labels", "--no-colorbar"])
    assert code == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["prediction"]["digit"] == 2
    assert manifest["options"] == {"scale": 3, "colormap": "gray", "normalisation": "layer",
                                   "colorbar": False, "labels": False, "figure_format": "png"}
    assert manifest["source"].startswith(f"image {image}")  # helper I adds how it was prepared
    assert {"00_input.png", "L5_conv2d_3_grid.png", "L5_conv2d_3/ch63.png", "L8_dense_2.npy"} <= set(_files(out))
    assert not any(f.startswith("L1_") for f in _files(out))
    assert read_png(out / "00_input.png").shape == (84, 84)


def test_one_channel(tmp_path, capsys):
    out = tmp_path / "one"
    assert main(["export", "--test-index", "3", "--out", str(out), "--layers", "max_pooling2d_1",
                 "--channel", "4"]) == 0
    assert "L2_max_pooling2d_1/ch04.png" in _files(out)
    assert len([f for f in _files(out) if f.endswith(".png")]) == 3  # input, channel, figure


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
def test_figure_format(tmp_path, capsys, fmt):
    out = tmp_path / fmt
    assert main(["export", "--test-index", "0", "--out", str(out), "--layers", "conv2d_3", "flatten_1",
                 "--figure-format", fmt, "--scale", "2"]) == 0, capsys.readouterr().err
    files = _files(out)
    assert {f"L5_conv2d_3_grid.{fmt}", f"L6_flatten_1_strip.{fmt}", "L5_conv2d_3/ch00.png"} <= set(files)
    assert not any(f.endswith(("_grid.png", "_strip.png")) for f in files)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["figure_format"] == fmt
    grid = next(e for e in manifest["files"] if e["path"] == f"L5_conv2d_3_grid.{fmt}")
    assert grid["type"] == f"grid_{fmt}" and grid["format"] == fmt
    head = (out / f"L5_conv2d_3_grid.{fmt}").read_bytes()[:200]
    assert head.startswith(b"%PDF-") if fmt == "pdf" else b"<svg" in head


def test_overwrite(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", "--test-index", "0", "--out", str(out), "--layers", "dense_2"]) == 0
    before = (out / "manifest.json").read_bytes()
    assert main(["export", "--test-index", "1", "--out", str(out), "--layers", "dense_2"]) == 2
    err = capsys.readouterr().err
    assert "already exists and is not empty" in err and "--overwrite" in err
    assert (out / "manifest.json").read_bytes() == before
    assert main(["export", "--test-index", "1", "--out", str(out), "--layers", "dense_1", "--overwrite"]) == 0
    assert "L8_dense_2.npy" not in _files(out) and "L7_dense_1.npy" in _files(out)
    assert json.loads((out / "manifest.json").read_text())["prediction"]["digit"] == 2


def _unreadable_image(tmp_path):
    path = tmp_path / "broken.png"
    path.write_text("this is not an image")
    return ["--image", str(path)]


def _blank_image(tmp_path):
    return ["--image", str(write_png(tmp_path / "blank.png", np.zeros((30, 30), np.uint8)))]


@pytest.mark.parametrize("make_args, message", [
    (lambda t: ["--test-index", "10000"], "--test-index must be from 0 to 9999, not 10000"),
    (lambda t: ["--test-index", "-1"], "--test-index must be from 0 to 9999, not -1"),
    (_unreadable_image, "broken.png is not a readable image"),
    (lambda t: ["--image", str(t / "missing.png")], "No file at"),
    (_blank_image, "blank.png has nothing to export: the image is blank"),
    (lambda t: ["--test-index", "0", "--layers", "conv9"], "unknown layer 'conv9'"),
    (lambda t: ["--test-index", "0", "--colormap", "jet"], "unknown colormap 'jet'"),
    (lambda t: ["--test-index", "0", "--normalisation", "global"], "unknown normalisation 'global'"),
    (lambda t: ["--test-index", "0", "--scale", "0"], "scale must be a whole number from 1 to 64"),
    (lambda t: ["--test-index", "0", "--figure-format", "gif"],
     "unknown figure format 'gif'; choose one of png, svg, pdf"),
    (lambda t: ["--test-index", "0", "--channel", "3"], "--channel needs exactly one layer"),
    (lambda t: ["--test-index", "0", "--layers", "conv2d_1", "--channel", "32"], "channels 0 to 31"),
    (lambda t: ["--test-index", "0", "--model", str(t / "nope.keras")], "No model file at"),
])
def test_faults(tmp_path, capsys, make_args, message):
    workdir = tmp_path / "work"
    workdir.mkdir()
    args = make_args(workdir)
    before = _files(workdir)
    assert main(["export", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnnviz export: ") and message in err
    assert not (tmp_path / "out").exists()
    assert _files(workdir) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


@pytest.mark.parametrize("where", ["file.txt/out", "file.txt/a/out"])
def test_unwritable_folder(tmp_path, capsys, where):
    (tmp_path / "file.txt").write_text("x")
    assert main(["export", "--test-index", "0", "--out", str(tmp_path / where), "--layers", "dense_2"]) == 2
    err = capsys.readouterr().err
    assert "cnnviz export: cannot write the export to" in err
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_requires_a_source_and_an_out(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["export", "--out", "x"])
    assert exited.value.code == 2
    assert "one of the arguments --image --test-index is required" in capsys.readouterr().err
