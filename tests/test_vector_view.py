"""The flatten layer as a heat strip laid out 3×3×64 (rows = positions, columns = conv2d_3's channels)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from _mouse import hover
from cnnviz.core.colormaps import colorize, lookup_table
from cnnviz.core.tiling import strip_layout
from cnnviz.gui.widgets.vector_view import VectorView


HANG_MS = 60_000   # waits that only catch a hang


@pytest.fixture
def view(qtbot):
    widget = VectorView()
    qtbot.addWidget(widget)
    widget.resize(760, 320)
    widget.set_lookup_table(lookup_table("viridis"))
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def conv3_maps():
    """Maps shaped like conv2d_3's output; every value says where it is: 100·y + 10·x + channel/100."""
    y, x, c = np.meshgrid(np.arange(3), np.arange(3), np.arange(64), indexing="ij")
    return (100 * y + 10 * x + c / 100).astype(np.float32)


def _scene_point(view, column: float, row: float):
    QApplication.processEvents()  # the view box settles its range (aspect locked) on the next pass
    return view.getPlotItem().vb.mapViewToScene(QPointF(column, row))


def test_flatten_is_drawn_where_each_value_came_from(view, conv3_maps):
    flat = conv3_maps.reshape(-1)                      # exactly what Keras's Flatten does to (3, 3, 64)
    levels = (float(flat.min()), float(flat.max()))
    layout = strip_layout(576, conv3_maps.shape)
    view.set_values(flat, levels, "unit", False, layout=layout, source_name="conv2d_3")
    pixels = view.strip_pixels()
    assert pixels.shape == (9, 64, 3) and view.strip_layout() == layout
    for channel in (0, 9, 63):                         # column c holds channel c's 3×3 map, row by row
        np.testing.assert_array_equal(pixels[:, channel],
                                      colorize(conv3_maps[:, :, channel].reshape(-1), *levels, "viridis"))
    np.testing.assert_array_equal(pixels.reshape(-1, 3), colorize(flat, *levels, "viridis"))
    left = view.getPlotItem().getAxis("left")
    assert [label for _, label in left._tickLevels[0]] == ["0,0", "0,1", "0,2", "1,0", "1,1", "1,2", "2,0",
                                                           "2,1", "2,2"]
    assert view.getPlotItem().getAxis("bottom").labelText == "channel of conv2d_3"


def test_hover_names_the_unit_and_its_place_in_conv2d_3(view, qtbot, conv3_maps):
    flat = conv3_maps.reshape(-1)
    view.set_values(flat, (0.0, 300.0), layout=strip_layout(576, (3, 3, 64)), source_name="conv2d_3")
    point = _scene_point(view, 9.5, 2.5)               # column 9, row 2 = position (0, 2)
    assert view.unit_at(point) == 137 and flat[137] == conv3_maps[0, 2, 9]
    assert view.describe_unit(137) == "unit 137 = conv2d_3 channel 9 at y 0, x 2"
    with qtbot.waitSignal(view.unit_hovered, check_params_cb=lambda unit: unit == 137, timeout=HANG_MS):
        hover(qtbot, view.viewport(), view.mapFromScene(point))
    assert view.unit_at(_scene_point(view, 70.0, 2.5)) == -1


def test_colormap_change_recolours_the_strip(view, conv3_maps):
    flat = conv3_maps.reshape(-1)
    view.set_values(flat, (0.0, 300.0), layout=strip_layout(576, (3, 3, 64)), source_name="conv2d_3")
    view.set_lookup_table(lookup_table("magma"))
    np.testing.assert_array_equal(view.strip_pixels().reshape(-1, 3), colorize(flat, 0.0, 300.0, "magma"))


def test_dense_layers_stay_bars(view, conv3_maps):
    view.set_values(conv3_maps.reshape(-1), (0.0, 300.0), layout=strip_layout(576, (3, 3, 64)))
    dense = np.linspace(0, 1, 64).astype(np.float32)
    view.set_values(dense, (0.0, 1.0), "unit", False)
    assert view.strip_layout() is None and view.strip_pixels() is None
    assert view._bars.isVisible() and not view._strip.isVisible()
    np.testing.assert_array_equal(view._bars.opts["height"], dense)
    assert view.unit_at(_scene_point(view, 5.0, 0.5)) == 5
    # Without the maps' shape a flatten is bars too (a layout of plain rows is not a strip).
    view.set_values(conv3_maps.reshape(-1), (0.0, 300.0), layout=strip_layout(576))
    assert view.strip_layout() is None and len(view._bars.opts["height"]) == 576
