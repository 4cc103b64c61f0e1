"""Colormaps: the shipped tables are matplotlib's, and the app's process never needs matplotlib."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz.core.colormaps import (ALL_COLORMAPS, COLORMAPS, DIVERGING_COLORMAP, NORMALISATIONS, centred_levels,
                                   channel_levels, colorize, lookup_table, table_indices)

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ALL_COLORMAPS)
def test_tables_equal_matplotlibs(name):
    import matplotlib

    cmap = matplotlib.colormaps[name]
    expected = np.round(cmap.resampled(256)(np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)
    table = lookup_table(name)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    np.testing.assert_array_equal(table, expected)
    # Independently of resampling: matplotlib's own 256-entry LUT for the 256-colour maps.
    if cmap.N == 256:
        np.testing.assert_array_equal(table, np.round(cmap(np.arange(256))[:, :3] * 255).astype(np.uint8))


def test_known_colours():
    assert lookup_table("viridis")[0].tolist() == [68, 1, 84]        # matplotlib's #440154
    assert lookup_table("viridis")[255].tolist() == [253, 231, 37]   # #fde725
    assert lookup_table("gray")[[0, 255]].tolist() == [[0, 0, 0], [255, 255, 255]]
    diverging = lookup_table(DIVERGING_COLORMAP)
    assert diverging[0, 2] > diverging[0, 0]      # most negative: blue
    assert diverging[255, 0] > diverging[255, 2]  # most positive: red
    assert diverging[127:129].min() > 240          # 0 in the middle: near white


def test_shipped_file_is_what_the_script_makes():
    spec = importlib.util.spec_from_file_location("make_colormaps", REPO / "scripts" / "make_colormaps.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with np.load(script.OUT) as shipped:
        assert tuple(shipped.files) == ALL_COLORMAPS
        for name in ALL_COLORMAPS:
            np.testing.assert_array_equal(shipped[name], script.matplotlib_table(name))


def test_tables_are_read_only_and_names_checked():
    with pytest.raises(ValueError):
        lookup_table("viridis")[0] = 0
    with pytest.raises(ValueError, match="unknown colormap 'jet'"):
        lookup_table("jet")
    assert DIVERGING_COLORMAP not in COLORMAPS  # activations use sequential maps


def test_colorize_and_levels():
    maps = np.zeros((2, 2, 3), np.float32)
    maps[..., 0] = [[0, 1], [2, 4]]
    maps[..., 1] = 5.0                                     # flat: widened, never a division by zero
    maps[..., 2] = [[-1, 0], [0, 3]]
    np.testing.assert_array_equal(channel_levels(maps, "channel"), [[0, 4], [5, 6], [-1, 3]])
    np.testing.assert_array_equal(channel_levels(maps, "layer"), [[-1, 5]] * 3)
    np.testing.assert_array_equal(table_indices(np.array([0, 1, 2, 4, 9]), 0, 4), [0, 64, 128, 255, 255])
    np.testing.assert_array_equal(colorize(np.array([0.0, 4.0]), 0, 4, "magma"), lookup_table("magma")[[0, 255]])
    assert centred_levels(np.array([-0.5, 0.2, np.nan])) == (-0.5, 0.5)
    assert centred_levels(np.zeros(3)) == (-1.0, 1.0)
    low, high = centred_levels(np.array([-0.25, 1.0]))
    assert table_indices(np.array([0.0]), low, high)[0] in (127, 128)  # 0 maps to the middle


def test_the_app_side_never_imports_matplotlib():
    code = ("import sys; import cnnviz.core.colormaps as c; c.lookup_table('viridis'); "
            "import cnnviz.gui.widgets.colorbar, cnnviz.gui.widgets.vector_view, cnnviz.gui.training.training_curves; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'tensorflow', 'keras')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, env={"QT_QPA_PLATFORM": "offscreen",
                                                                  "PATH": "/usr/bin:/bin"})


def test_colour_scaling_has_one_name_everywhere(qtbot):
    """The app says "channel" or "layer", as the command line (--normalisation) and the settings do."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QComboBox

    from cnnviz.cli import build_parser
    from cnnviz.gui.inspector.inspector_widget import InspectorWidget
    from cnnviz.gui.inspector.views import NORMALISATION_LABELS

    assert NORMALISATIONS == ("channel", "layer")
    assert NORMALISATION_LABELS == {mode: mode for mode in NORMALISATIONS}
    inspector = InspectorWidget()
    qtbot.addWidget(inspector)
    boxes = [box for box in inspector.findChildren(QComboBox)
             if [box.itemData(i) for i in range(box.count())] == list(NORMALISATIONS)]
    assert len(boxes) == 1
    assert [boxes[0].itemText(i) for i in range(boxes[0].count())] == list(NORMALISATIONS)
    assert "per channel" in boxes[0].toolTip() and "per layer" in boxes[0].toolTip()
    menus = [action.menu() for action in inspector.view_actions() if action.menu() is not None]
    choices = [[a.text() for a in menu.actions()] for menu in menus
               if [a.data() for a in menu.actions()] == list(NORMALISATIONS)]
    assert choices == [list(NORMALISATIONS)]
    boxes[0].setCurrentIndex(1)
    settings = QSettings()
    inspector.save_settings(settings)
    assert "layer" in [settings.value(key) for key in settings.allKeys()]
    parser = build_parser()
    export = parser._subparsers._group_actions[0].choices["export"]
    help_text = " ".join(export.format_help().split())
    assert "channel or layer: colours scaled per channel" in help_text
