"""The core exporter: exact arrays, invertible pixels, documented names and manifest, no partial output."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from _png import read_png
from cnnviz.core import tiling
from cnnviz.core.colormaps import channel_levels, colorize, lookup_table, to_unit
from cnnviz.core.export import (ExportCancelled, ExportError, ExportOptions, TargetExistsError, array_sha256,
                                channel_name, export_activations, layer_prefix, png_bytes)

SCALE = 4  # small, to keep the tests quick; crispness is checked per K×K block
SPATIAL = {"conv2d_1": (26, 26, 32), "max_pooling2d_1": (13, 13, 32), "conv2d_2": (11, 11, 64),
           "max_pooling2d_2": (5, 5, 64), "conv2d_3": (3, 3, 64)}
VECTORS = {"flatten_1": (576,), "dense_1": (64,), "dense_2": (10,)}


@pytest.fixture(scope="module")
def seven(mnist):
    return mnist.x_test[0].astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def seven_outputs(shipped_probe, seven):
    return shipped_probe(seven)


@pytest.fixture(scope="module")
def reference_outputs(shipped_model, seven):
    """Every layer's output from a plain Keras feature extractor, independent of ActivationProbe."""
    import keras

    extractor = keras.Model(inputs=shipped_model.inputs, outputs=[layer.output for layer in shipped_model.layers])
    return [np.asarray(o)[0] for o in extractor.predict(seven.reshape(1, 28, 28, 1), verbose=0)]


@pytest.fixture(scope="module")
def full_export(tmp_path_factory, shipped_probe, shipped_model_path, seven, seven_outputs):
    """All layers of the first test digit (a 7), exported once for the read-only tests."""
    folder = tmp_path_factory.mktemp("export") / "seven"
    result = export_activations(folder, seven, seven_outputs, shipped_probe.layer_names, shipped_probe.layer_kinds,
                                source="MNIST test digit 0", model_path=shipped_model_path,
                                options=ExportOptions(scale=SCALE))
    return result


def _export(folder, probe, image, outputs, **kwargs):
    kwargs.setdefault("options", ExportOptions(scale=SCALE))
    return export_activations(folder, image, outputs, probe.layer_names, probe.layer_kinds, **kwargs)


def _entries(result, kind):
    return [e for e in result.manifest["files"] if e["type"] == kind]


def _invert(pixels: np.ndarray, colormap: str) -> np.ndarray:
    """(..., 256) booleans: which table indices have each pixel's colour (a colormap may repeat one)."""
    return (pixels[..., None, :] == lookup_table(colormap)).all(axis=-1)


def _blocks(image: np.ndarray, scale: int) -> np.ndarray:
    """One pixel per scale×scale block, after checking each block is one flat colour."""
    h, w = image.shape[0] // scale, image.shape[1] // scale
    blocks = image.reshape(h, scale, w, scale, -1)
    assert (blocks == blocks[:, :1, :, :1]).all(), "an activation is not a crisp square"
    return blocks[:, 0, :, 0]


# --- arrays ---------------------------------------------------------------------------------------

def test_arrays_equal_the_model_layer_outputs(full_export, seven_outputs, reference_outputs, shipped_probe):
    for index, name in enumerate(shipped_probe.layer_names):
        array = np.load(full_export.folder / f"{layer_prefix(index, name)}.npy")
        assert array.dtype == np.float32
        np.testing.assert_array_equal(array, seven_outputs[index])
        np.testing.assert_allclose(array, reference_outputs[index], rtol=1e-4, atol=1e-5)
    assert {**SPATIAL, **VECTORS} == {n: s for n, s in zip(shipped_probe.layer_names, shipped_probe.layer_shapes)}


def test_model_input_files(full_export, seven):
    np.testing.assert_array_equal(np.load(full_export.folder / "01_model_input_28x28.npy"), seven)
    pixels = read_png(full_export.folder / "01_model_input_28x28.png")
    assert pixels.shape == (28 * SCALE, 28 * SCALE)
    np.testing.assert_array_equal(_blocks(pixels[..., None], SCALE)[..., 0], np.round(seven * 255).astype(np.uint8))
    assert not (full_export.folder / "00_input.png").exists()  # no source image was given


# --- pixels ---------------------------------------------------------------------------------------

def test_channel_pngs_map_back_to_the_values(full_export, seven_outputs, shipped_probe):
    for index in shipped_probe.spatial_layers():
        maps = seven_outputs[index]
        levels = channel_levels(maps, "channel")
        for c in range(maps.shape[-1]):
            folder = full_export.folder / layer_prefix(index, shipped_probe.layer_names[index])
            path = folder / f"{channel_name(c, maps.shape[-1])}.png"
            image = read_png(path)
            assert image.shape == (maps.shape[0] * SCALE, maps.shape[1] * SCALE, 3)
            cells = _blocks(image, SCALE)
            low, high = levels[c]
            np.testing.assert_array_equal(cells, colorize(maps[..., c], low, high, "viridis"))
            # Invert: some table index of each pixel's colour is within half a step of the value.
            unit = to_unit(maps[..., c], low, high)
            matches = _invert(cells, "viridis")
            distance = np.where(matches, np.abs(np.arange(256) / 255 - unit[..., None]), np.inf).min(axis=-1)
            assert distance.max() <= 0.5 / 255 + 1e-6


def _assert_colour_bar(image, box, colormap):
    """A horizontal bar from the table's first colour (left) to its last (right), within rounding."""
    x, y, w, h = box
    table = lookup_table(colormap).astype(int)
    columns = np.arange(2, w - 2)  # inside the outline
    drawn = image[y + h // 2, x + columns].astype(int)
    expected = table[np.minimum(((columns + 0.5) / w * 256).astype(int), 255)]
    assert np.abs(drawn - expected).max() <= 12  # the table along the bar (edges blend neighbours)
    assert np.abs(drawn - expected).mean() <= 2


def test_channel_pngs_are_what_the_app_shows(qtbot, full_export, seven_outputs):
    """The app's layer grid (its own colouring code) and the exported maps have the same pixels."""
    from cnnviz.gui.widgets.layer_grid import LayerGrid

    grid = LayerGrid()
    qtbot.addWidget(grid)
    grid.resize(600, 400)
    grid.set_lookup_table(lookup_table("viridis"))
    maps = seven_outputs[2]                                   # conv2d_2, (11, 11, 64)
    grid.set_maps(np.ascontiguousarray(np.moveaxis(maps, -1, 0)), channel_levels(maps, "channel"))
    for channel in (0, 5, 63):
        exported = _blocks(read_png(full_export.folder / f"L3_conv2d_2/ch{channel:02d}.png"), SCALE)
        np.testing.assert_array_equal(exported, grid.cell_pixels(channel))


def test_grid_cells_are_the_channel_images(full_export):
    grids = _entries(full_export, "grid_png")
    assert [g["layer"] for g in grids] == list(SPATIAL)
    for grid in grids:
        image = read_png(full_export.folder / grid["path"])
        assert (image.shape[1], image.shape[0]) == (grid["width"], grid["height"])
        assert len(grid["cells"]) == SPATIAL[grid["layer"]][-1]
        factor = grid["value_size"] // SCALE  # small maps are enlarged so their numbers fit
        assert grid["value_size"] == factor * SCALE and grid["value_size"] * SPATIAL[grid["layer"]][0] >= 24
        for cell in grid["cells"]:
            x, y, w, h = cell["box"]
            channel_file = f"{Path(grid['path']).stem.removesuffix('_grid')}/ch{cell['channel']:02d}.png"
            expected = tiling.upscale(read_png(full_export.folder / channel_file), factor)
            np.testing.assert_array_equal(image[y:y + h, x:x + w], expected)
        boxes = [c["box"] for c in grid["cells"]]
        for (x1, y1, w1, h1), (x2, y2, w2, h2) in zip(boxes, boxes[1:]):
            assert x2 >= x1 + w1 + 6 or y2 >= y1 + h1 + 6  # cells never touch
        _assert_colour_bar(image, grid["colorbar"], "viridis")


def test_layer_normalisation_uses_one_range(tmp_path, shipped_probe, seven, seven_outputs):
    result = _export(tmp_path / "out", shipped_probe, seven, seven_outputs, layers=["conv2d_2"],
                     options=ExportOptions(scale=2, colormap="magma", normalisation="layer"))
    maps = seven_outputs[2]
    grid = _entries(result, "grid_png")[0]
    assert grid["levels"] == [[float(maps.min()), float(maps.max())]] * 64
    entry = next(e for e in _entries(result, "channel_png") if e["channel"] == 7)
    assert entry["levels"] == [float(maps.min()), float(maps.max())]
    cells = _blocks(read_png(result.folder / entry["path"]), 2)
    np.testing.assert_array_equal(cells, colorize(maps[..., 7], maps.min(), maps.max(), "magma"))


def test_vector_strips(full_export, seven_outputs):
    strips = {e["layer"]: e for e in _entries(full_export, "strip_png")}
    assert list(strips) == list(VECTORS)
    dense = strips["dense_2"]
    image = read_png(full_export.folder / dense["path"])
    low, high = dense["levels"]
    assert len(dense["cells"]) == 10 and dense["value_size"] >= 32
    for cell, value in zip(dense["cells"], seven_outputs[-1]):
        x, y, w, h = cell["box"]
        assert (w, h) == (dense["value_size"],) * 2
        assert (image[y:y + h, x:x + w] == colorize(value, low, high, "viridis")).all()
    _assert_colour_bar(image, dense["colorbar"], "viridis")
    # Flatten: one row per position (y, x) of conv2d_3's 3×3 maps, one column per channel.
    flat = strips["flatten_1"]
    image = read_png(full_export.folder / flat["path"])
    low, high = flat["levels"]
    assert (low, high) == (float(seven_outputs[5].min()), float(seven_outputs[5].max()))
    x, y, w, h = flat["cells"][0]["box"]
    size = flat["value_size"]
    assert (w, h) == (64 * size, 9 * size) and flat["values_per_row"] == 64 and size % SCALE == 0
    cells = _blocks(image[y:y + h, x:x + w], size)
    np.testing.assert_array_equal(cells.reshape(-1, 3), colorize(seven_outputs[5], low, high, "viridis"))
    by_position = seven_outputs[4].reshape(9, 64)  # conv2d_3's maps: row = y·3 + x, column = channel
    np.testing.assert_array_equal(cells, colorize(by_position, low, high, "viridis"))
    # dense_1: 64 values in two rows of 32.
    dense_1 = strips["dense_1"]
    x, y, w, h = dense_1["cells"][0]["box"]
    assert dense_1["values_per_row"] == 32 and (w, h) == (32 * dense_1["value_size"], 2 * dense_1["value_size"])


# --- names and manifest ---------------------------------------------------------------------------

def test_file_names_and_counts(full_export):
    on_disk = sorted(str(p.relative_to(full_export.folder)) for p in full_export.folder.rglob("*") if p.is_file())
    assert on_disk == sorted(full_export.files)
    listed = [e["path"] for e in full_export.manifest["files"]]
    assert sorted(listed + ["manifest.json"]) == on_disk
    channel_pngs = [p for p in on_disk if "/ch" in p]
    assert len(channel_pngs) == 32 + 32 + 64 + 64 + 64
    expected_top = {"01_model_input_28x28.png", "01_model_input_28x28.npy", "manifest.json"}
    for index, name in enumerate([*SPATIAL, *VECTORS]):
        prefix = f"L{index + 1}_{name}"
        expected_top.add(f"{prefix}.npy")
        expected_top.add(f"{prefix}_grid.png" if name in SPATIAL else f"{prefix}_strip.png")
    assert {p for p in on_disk if "/" not in p} == expected_top
    assert "L1_conv2d_1/ch00.png" in on_disk and "L5_conv2d_3/ch63.png" in on_disk
    assert not list(full_export.folder.parent.glob(".*"))  # no temporary folders left beside it


def test_manifest(full_export, shipped_model_path, seven, seven_outputs):
    manifest = json.loads((full_export.folder / "manifest.json").read_text())
    assert manifest == json.loads(json.dumps(full_export.manifest))
    import cnnviz

    assert manifest["format"] == "cnnviz-export/1" and manifest["cnnviz_version"] == cnnviz.__version__
    assert manifest["model"]["sha256"] == hashlib.sha256(Path(shipped_model_path).read_bytes()).hexdigest()
    assert manifest["model"]["path"] == str(Path(shipped_model_path).resolve())
    assert manifest["input"]["sha256"] == array_sha256(seven)
    assert manifest["prediction"]["digit"] == 7
    np.testing.assert_allclose(manifest["prediction"]["probabilities"], seven_outputs[-1], rtol=1e-6)
    assert manifest["options"] == {"scale": SCALE, "colormap": "viridis", "normalisation": "channel",
                                   "colorbar": True, "labels": True, "figure_format": "png"}
    assert manifest["source"] == "MNIST test digit 0"
    assert [layer["name"] for layer in manifest["layers"]] == [*SPATIAL, *VECTORS]
    for entry in manifest["files"]:
        assert {"path", "type", "shape", "min", "max"} <= set(entry)
        if entry["type"] in ("array", "channel_png", "grid_png", "strip_png"):
            values = seven_outputs[entry["layer_index"] - 1]
            assert entry["kind"] in ("Conv2D", "MaxPooling2D", "Flatten", "Dense")
            if entry["type"] == "channel_png":
                values = values[..., entry["channel"]]
            assert entry["min"] == float(values.min()) and entry["max"] == float(values.max())
        if entry["type"].endswith("_png"):
            assert {"colormap", "levels", "scale"} <= set(entry) and entry["format"] == "png"
        if entry["type"].startswith(("grid", "strip", "figure")):
            assert {"cells", "colorbar", "value_size", "width", "height", "labels"} <= set(entry)
    conv = next(e for e in manifest["files"] if e["path"] == "L3_conv2d_2/ch05.png")
    assert conv["shape"] == [11, 11] and conv["layer"] == "conv2d_2" and conv["kind"] == "Conv2D"
    assert conv["levels"] == [float(v) for v in channel_levels(seven_outputs[2], "channel")[5]]


# --- selections -----------------------------------------------------------------------------------

def test_one_channel(tmp_path, shipped_probe, seven, seven_outputs):
    result = _export(tmp_path / "one", shipped_probe, seven, seven_outputs, layers=["conv2d_2"], channel=5)
    assert sorted(result.files) == ["01_model_input_28x28.npy", "01_model_input_28x28.png",
                                    "L3_conv2d_2.npy", "L3_conv2d_2/ch05.png", "L3_conv2d_2_ch05_figure.png",
                                    "manifest.json"]
    figure = _entries(result, "figure_png")[0]
    assert figure["channel"] == 5 and figure["shape"] == [11, 11]
    x, y, w, h = figure["cells"][0]["box"]
    assert w == h == 11 * figure["value_size"] >= 200  # a single map is drawn at least 200 px wide
    np.testing.assert_array_equal(read_png(result.folder / figure["path"])[y:y + h, x:x + w],
                                  tiling.upscale(read_png(result.folder / "L3_conv2d_2/ch05.png"),
                                                 figure["value_size"] // SCALE))
    plain = _export(tmp_path / "plain", shipped_probe, seven, seven_outputs, layers=[2], channel=5,
                    options=ExportOptions(scale=SCALE, colorbar=False, labels=False))
    assert "L3_conv2d_2_ch05_figure.png" not in plain.files


def test_some_layers_by_name_or_index_with_a_source_image(tmp_path, shipped_probe, seven, seven_outputs):
    source = np.zeros((56, 40), np.float32)
    source[10:40, 10:30] = 0.75
    result = _export(tmp_path / "two", shipped_probe, seven, seven_outputs, layers=["dense_2", 0],
                     source_image=source)
    layers = {e["layer"] for e in result.manifest["files"] if "layer" in e}
    assert layers == {"conv2d_1", "dense_2"}
    np.testing.assert_array_equal(read_png(result.folder / "00_input.png"), np.round(source * 255).astype(np.uint8))
    assert result.manifest["selection"] == {"layers": ["conv2d_1", "dense_2"], "channel": None}


def test_labels_and_colorbar_change_only_the_decoration(tmp_path, shipped_probe, seven, seven_outputs):
    plain = _export(tmp_path / "plain", shipped_probe, seven, seven_outputs, layers=["conv2d_3"],
                    options=ExportOptions(scale=SCALE, colorbar=False, labels=False))
    full = _export(tmp_path / "full", shipped_probe, seven, seven_outputs, layers=["conv2d_3"])
    bare, decorated = _entries(plain, "grid_png")[0], _entries(full, "grid_png")[0]
    assert bare["colorbar"] is None and bare["labels"] is False
    bare_image, full_image = read_png(plain.folder / bare["path"]), read_png(full.folder / decorated["path"])
    assert bare_image.shape[0] < full_image.shape[0]          # no title, no numbers, no bar
    for a, b in zip(bare["cells"], decorated["cells"]):
        (xa, ya, w, h), (xb, yb, _, _) = a["box"], b["box"]
        np.testing.assert_array_equal(bare_image[ya:ya + h, xa:xa + w], full_image[yb:yb + h, xb:xb + w])
    # Without labels the page around the cells is blank: only the cells carry ink.
    mask = np.ones(bare_image.shape[:2], bool)
    for cell in bare["cells"]:
        x, y, w, h = cell["box"]
        mask[y:y + h, x:x + w] = False
    assert (bare_image[mask] == 255).all()


# --- faults ---------------------------------------------------------------------------------------

def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("kwargs, message", [
    ({"layers": ["conv9"]}, "unknown layer 'conv9'"),
    ({"layers": [12]}, "there is no layer 12"),
    ({"options": ExportOptions(colormap="jet")}, "unknown colormap 'jet'"),
    ({"options": ExportOptions(normalisation="global")}, "unknown normalisation"),
    ({"options": ExportOptions(scale=0)}, "scale must be"),
    ({"layers": ["conv2d_1"], "channel": 32}, "channels 0 to 31"),
    ({"layers": ["dense_1"], "channel": 0}, "exactly one convolution or pooling layer"),
    ({"channel": 0}, "exactly one convolution or pooling layer"),
])
def test_bad_arguments_write_nothing(tmp_path, shipped_probe, seven, seven_outputs, kwargs, message):
    with pytest.raises(ExportError, match=message):
        _export(tmp_path / "out", shipped_probe, seven, seven_outputs, **kwargs)
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("where", ["file.txt/out", "file.txt/deeper/out"])
def test_unwritable_folder(tmp_path, shipped_probe, seven, seven_outputs, where):
    (tmp_path / "file.txt").write_text("not a folder")
    with pytest.raises(ExportError, match="cannot write the export to"):
        _export(tmp_path / where, shipped_probe, seven, seven_outputs)
    assert _listing(tmp_path) == ["file.txt"]
    assert (tmp_path / "file.txt").read_text() == "not a folder"


def test_target_is_a_file(tmp_path, shipped_probe, seven, seven_outputs):
    (tmp_path / "out").write_text("x")
    with pytest.raises(ExportError, match="is a file, not a folder"):
        _export(tmp_path / "out", shipped_probe, seven, seven_outputs)
    assert _listing(tmp_path) == ["out"]


def test_failure_while_writing_leaves_nothing(tmp_path, shipped_probe, seven, seven_outputs, monkeypatch):
    """A disk-full error halfway: no target, no temporary folder, no parents created for it."""
    real_write = Path.write_bytes
    calls = {"n": 0}

    def failing_write(self, data):
        calls["n"] += 1
        if calls["n"] == 40:
            raise OSError(28, "No space left on device", str(self))
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(ExportError, match="No space left on device"):
        _export(tmp_path / "new" / "deeper" / "out", shipped_probe, seven, seven_outputs)
    assert calls["n"] == 40
    assert _listing(tmp_path) == []


def test_no_silent_overwrite(tmp_path, shipped_probe, seven, seven_outputs):
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(TargetExistsError, match="already exists and is not empty"):
        _export(target, shipped_probe, seven, seven_outputs)
    # Not even with overwrite=True: it is not a cnnviz export.
    with pytest.raises(ExportError, match="is not a cnnviz export"):
        _export(target, shipped_probe, seven, seven_outputs, overwrite=True)
    assert _listing(tmp_path) == ["out", "out/notes.txt"]


def test_overwrite_replaces_an_earlier_export_whole(tmp_path, shipped_probe, seven, seven_outputs):
    target = tmp_path / "out"
    _export(target, shipped_probe, seven, seven_outputs, layers=["conv2d_1", "dense_1"])
    with pytest.raises(TargetExistsError):
        _export(target, shipped_probe, seven, seven_outputs, layers=["conv2d_3"])
    assert (target / "L1_conv2d_1_grid.png").is_file()
    result = _export(target, shipped_probe, seven, seven_outputs, layers=["conv2d_3"], overwrite=True)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == sorted(result.files)
    assert not (target / "L1_conv2d_1_grid.png").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # the old copy is gone, no hidden leftovers


def test_an_empty_existing_folder_is_used(tmp_path, shipped_probe, seven, seven_outputs):
    (tmp_path / "out").mkdir()
    result = _export(tmp_path / "out", shipped_probe, seven, seven_outputs, layers=["dense_2"])
    assert (result.folder / "L8_dense_2.npy").is_file()


# --- building blocks ------------------------------------------------------------------------------

def test_png_bytes_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    for shape in [(5, 7), (6, 3, 3)]:
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        (tmp_path / "x.png").write_bytes(png_bytes(image))
        np.testing.assert_array_equal(read_png(tmp_path / "x.png"), image)
    for bad in (np.zeros((2, 2), np.float32), np.zeros((2, 2, 4), np.uint8)):
        with pytest.raises(ValueError):
            png_bytes(bad)


def test_strip_layout():
    flat = tiling.strip_layout(576, (3, 3, 64))
    assert (flat.rows, flat.columns, flat.source_shape) == (9, 64, (3, 3, 64))
    maps = np.arange(576, dtype=np.float32).reshape(3, 3, 64)
    np.testing.assert_array_equal(flat.grid(maps.reshape(-1)), maps.reshape(9, 64))  # Flatten's own order
    assert flat.source_position(137) == (0, 2, 9) and maps[0, 2, 9] == 137
    assert flat.unit_at(2, 9) == 137 and flat.row_label(5) == "1,2" and flat.unit_at(9, 0) is None
    plain = tiling.strip_layout(70)
    assert (plain.rows, plain.columns) == (3, 32) and plain.row_label(2) == "64–69"
    grid = plain.grid(np.ones(70))
    assert np.isnan(grid[2, 6:]).all() and not np.isnan(grid[2, :6]).any() and plain.unit_at(2, 6) is None
    assert tiling.strip_layout(576, (4, 4, 64)).source_shape is None  # sizes disagree: plain rows
    assert tiling.grid_shape(64) == (8, 8) and tiling.grid_shape(10, 4) == (3, 4)


def test_progress_and_cancel(tmp_path, shipped_probe, seven, seven_outputs):
    seen = []
    result = _export(tmp_path / "out", shipped_probe, seven, seven_outputs, layers=["conv2d_3", "dense_2"],
                     progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(result.files), len(result.files))
    assert [done for done, _ in seen] == list(range(1, len(result.files) + 1))

    def cancel(done, total):
        if done == 10:
            raise ExportCancelled("cancelled")

    with pytest.raises(ExportCancelled):
        _export(tmp_path / "cancelled", shipped_probe, seven, seven_outputs, progress=cancel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_core_does_not_import_qt():
    code = ("import sys, cnnviz.core.export, cnnviz.core.tiling, cnnviz.core.figures, cnnviz.commands.export; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'tensorflow', 'keras', 'matplotlib', 'PIL')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
