"""Issue 10's kernels: the mosaics (core), the app's Kernels view (its tiles are the model's weights),
and `cnnviz export --kernels` (arrays, a PNG per filter, a grid figure, the manifest)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _png import read_png

from cnnviz.cli import main
from cnnviz.core.colormaps import DIVERGING_COLORMAP, colorize, lookup_table
from cnnviz.core.kernels import filter_mosaic, kernel_tiles, mosaic_cell, mosaic_grid


def test_a_filter_mosaic_holds_each_input_channel_patch_in_reading_order():
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3, 32, 5)).astype(np.float32)
    tiles = kernel_tiles(kernel)
    assert mosaic_grid(32) == (4, 8) and tiles.shape == (5, 4 * 4 - 1, 8 * 4 - 1)
    for f in range(5):
        for c in range(32):
            row, column = divmod(c, 8)                     # 8 patches to a row, one cell of gap between
            np.testing.assert_array_equal(tiles[f, row * 4:row * 4 + 3, column * 4:column * 4 + 3], kernel[:, :, c, f])
    assert np.isnan(tiles[:, 3, :]).all() and np.isnan(tiles[:, :, 3]).all()   # the gaps
    assert np.isfinite(tiles).sum() == 5 * 32 * 9                              # every weight once
    for y in range(tiles.shape[1]):                        # the hover read-out finds each weight back
        for x in range(tiles.shape[2]):
            cell = mosaic_cell(kernel.shape, y, x)
            if cell is None:
                assert np.isnan(tiles[0, y, x])
            else:
                assert tiles[0, y, x] == kernel[cell[1], cell[2], cell[0], 0]
    first = rng.normal(size=(3, 3, 1, 4)).astype(np.float32)   # one input channel: the 3×3 patch itself
    np.testing.assert_array_equal(kernel_tiles(first), np.moveaxis(first[:, :, 0, :], -1, 0))
    np.testing.assert_array_equal(filter_mosaic(first[..., 2]), first[:, :, 0, 2])
    assert mosaic_grid(7) == (3, 3) and np.isnan(filter_mosaic(rng.normal(size=(3, 3, 7)))[8:, 8:]).all()


# --- the app's Kernels view ------------------------------------------------------------------------
@pytest.fixture
def kernels_view(qtbot, compute_client, shipped_info):
    from cnnviz.gui.inspector.inspector_widget import InspectorWidget
    from cnnviz.gui.units.kernels_mode import KernelsMode
    from cnnviz.gui.units.live_weights import LiveWeights

    inspector = InspectorWidget(client=compute_client)
    qtbot.addWidget(inspector)
    inspector.resize(1000, 700)
    inspector.show()
    qtbot.waitExposed(inspector)
    mode = KernelsMode(inspector, LiveWeights(inspector, lambda: False))
    inspector.add_layer_mode(mode)
    inspector.set_model(shipped_info)
    return inspector, mode


def test_kernels_view_tiles_are_the_weights(qtbot, kernels_view, shipped_model):
    from cnnviz.gui.widgets.view_colours import PANEL

    inspector, mode = kernels_view
    inspector.layer_modes.set_current("kernels")           # no digit needed: weights do not depend on it
    assert inspector.current_layer_mode() == "kernels"
    kernel = shipped_model.get_layer("conv2d_1").get_weights()[0]
    grid = inspector.layer_grid
    np.testing.assert_array_equal(grid.maps(), np.moveaxis(kernel[:, :, 0, :], -1, 0))   # 32 tiles of 3×3
    largest = float(np.abs(kernel).max())
    np.testing.assert_allclose(grid.levels(), np.tile([[-largest, largest]], (32, 1)), rtol=1e-6)
    np.testing.assert_array_equal(grid.cell_pixels(6), colorize(kernel[:, :, 0, 6], -largest, largest,
                                                                 DIVERGING_COLORMAP))
    assert inspector.colorbar.levels() == pytest.approx((-largest, largest))
    inspector.select_channel(6)                        # a click on tile 6 enlarges that filter
    np.testing.assert_array_equal(inspector.channel_view.image_item().image, kernel[:, :, 0, 6])
    assert "filter <b>6</b>" in inspector.channel_view.title()
    assert inspector.channel_view.image_item().lut is lookup_table(DIVERGING_COLORMAP)
    assert mode.describe_tile(0, 6, 2, 1) == f"filter 6  ·  row 2, column 1  ·  weight {kernel[2, 1, 0, 6]:+.4f}  " \
                                             "(click to enlarge)"

    inspector.select_layer(1)                          # pooling has no kernels: the maps again
    assert inspector.current_layer_mode() == "maps"
    inspector.select_layer(2)                          # conv2d_2: one mosaic of 32 patches per filter
    assert inspector.current_layer_mode() == "kernels"
    deeper = shipped_model.get_layer("conv2d_2").get_weights()[0]
    maps = grid.maps()
    assert maps.shape == (64, 15, 31)
    np.testing.assert_array_equal(maps[9, 4:7, 8:11], deeper[:, :, 10, 9])   # patch of input channel 10
    cell = grid.cell_pixels(9)
    assert (cell[3] == (PANEL.red(), PANEL.green(), PANEL.blue())).all()     # a gap row: background
    assert "input channel 10, row 1, column 2" in mode.describe_tile(2, 9, 5, 10)
    inspector.show_test_digit(0)                           # back to the maps of a digit: their colours
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None)
    inspector.layer_modes.set_current("maps")
    assert inspector.channel_view.image_item().lut is lookup_table(inspector.colormap())
    assert inspector.channel_view.image_item().image.shape == (11, 11)


# --- cnnviz export --kernels -------------------------------------------------------------------------
def test_export_kernels_of_the_conv_layers(tmp_path, capsys, shipped_model):
    out = tmp_path / "kernels"
    code = main(["export", "--test-index", "0", "--layers", "conv2d_1", "conv2d_2", "dense_1", "--kernels",
                 "--scale", "4", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert "Kernels of conv2d_1, conv2d_2: 96 filter pictures." in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert [k["name"] for k in manifest["kernels"]] == ["conv2d_1", "conv2d_2"]
    for prefix, name, filters in (("L1_conv2d_1", "conv2d_1", 32), ("L3_conv2d_2", "conv2d_2", 64)):
        kernel, bias = shipped_model.get_layer(name).get_weights()
        np.testing.assert_array_equal(np.load(out / f"{prefix}_kernel.npy"), kernel)
        np.testing.assert_array_equal(np.load(out / f"{prefix}_bias.npy"), bias)
        pictures = sorted((out / f"{prefix}_kernels").iterdir())
        assert len(pictures) == filters and pictures[0].name == "f00.png"
        largest = float(np.abs(kernel).max())
        tile = kernel_tiles(kernel)[5]
        pixels = read_png(out / f"{prefix}_kernels" / "f05.png")[::4, ::4]   # one pixel per weight (scale 4)
        expected = colorize(np.nan_to_num(tile), -largest, largest, DIVERGING_COLORMAP)
        expected[np.isnan(tile)] = (128, 128, 128)
        np.testing.assert_array_equal(pixels, expected)
        grid = next(e for e in manifest["files"] if e["path"] == f"{prefix}_kernels_grid.png")
        assert grid["type"] == "kernels_grid_png" and len(grid["cells"]) == filters
        assert grid["levels"] == pytest.approx([-largest, largest]) and grid["colormap"] == DIVERGING_COLORMAP
        entry = next(e for e in manifest["files"] if e["path"] == f"{prefix}_kernels/f05.png")
        assert entry["filter"] == 5 and entry["type"] == "kernel_png"
    assert entry["mosaic"] == {"rows": 4, "columns": 8, "gap": 1, "patch": [3, 3], "channels": 32}
    files = {e["path"] for e in manifest["files"]}
    assert not any("dense_1_kernel" in f for f in files) and "L7_dense_1.npy" in files


@pytest.mark.parametrize("args, message", [
    (["--layers", "max_pooling2d_1", "dense_2", "--kernels"], "--kernels: there is no convolution layer among"),
    (["--layers", "conv2d_1", "--channel", "3", "--kernels"], "--kernels draws whole layers"),
])
def test_export_kernels_faults(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    assert main(["export", "--test-index", "0", "--out", str(out), *args]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1 and not out.exists()
