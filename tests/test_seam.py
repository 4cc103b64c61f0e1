"""The seam capabilities are installed through (gui/seam/): named operations, named targets and their
highlight, the inspector's public selection API, and the training status, in a real window."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QRect

from cnnviz.gui.seam.operations import Operations, UnknownOperation
from cnnviz.gui.seam.selection import Unit

WAIT_MS = 60_000
ARCHITECTURE = Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md"


def documented(section: str) -> set[str]:
    """The names in the first column of the table under heading `section` of docs/ARCHITECTURE.md."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    start = text.index(f"### {section}")
    end = text.find("\n#", start + 4)
    rows = [line for line in text[start:end].splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([\w.-]+)`", row.split("|")[1])}


def test_operations_call_what_was_registered_and_refuse_the_rest():
    operations = Operations()

    def scale(value, factor=2):
        """Multiply `value` by `factor`."""
        return value * factor

    operations.register("maths.scale", scale)
    assert operations.call("maths.scale", 3) == 6 and operations.call("maths.scale", 3, factor=5) == 15
    assert operations.summary("maths.scale") == "Multiply `value` by `factor`."
    assert operations.has("maths.scale") and not operations.has("maths.add")
    assert operations.names() == ["maths.scale"]
    with pytest.raises(ValueError, match="registered already"):
        operations.register("maths.scale", scale)
    for bad in ("scale", "Maths.scale", "maths.", "maths scale"):
        with pytest.raises(ValueError, match="owner first"):
            operations.register(bad, scale)
    with pytest.raises(UnknownOperation, match="maths.scale"):   # the message lists what there is
        operations.call("maths.add", 1)


def test_a_full_window_offers_the_documented_operations_and_targets(capability_window):
    context = capability_window().context
    assert set(context.operations.names()) == documented("Named operations")
    assert all(context.operations.summary(name) for name in context.operations.names())
    assert set(context.targets.names()) == documented("Targets")


def show_seven(qtbot, window, info, digit) -> None:
    window.show_model(info)
    window.context.operations.call("inspector.show_input", digit)
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=WAIT_MS)


def test_capabilities_drive_each_other_through_named_operations(capability_window, qtbot, shipped_info,
                                                                digit_seven):
    window = capability_window()
    window.show()
    show_seven(qtbot, window, shipped_info, digit_seven)
    inspector, call = window.inspector, window.context.operations.call
    layers: list = []
    inspector.layer_changed.connect(layers.append)
    assert call("inspector.select_layer", "conv2d_2") and inspector.current_layer() == 2 and layers == [2]
    assert not call("inspector.select_layer", "no_such_layer") and not call("inspector.select_layer", 99)
    assert inspector.current_layer() == 2 and layers == [2]
    assert call("units.pin", "conv2d_3", 4, 1, 1)
    assert call("units.focused") == Unit(4, 4, 1, 1)
    assert (inspector.current_layer(), inspector.current_channel()) == (4, 4)
    units = window.capabilities["units"]
    assert units.focus.is_pinned() and units.dock.isVisible()
    assert units.focus.explanation() is not None and units.focus.explanation().value == pytest.approx(
        float(inspector.current_outputs()[4][1, 1, 4]), abs=1e-5)   # the panel explains the value the maps show
    assert not call("units.pin", "conv2d_3", 4, 7, 7)                # conv2d_3's maps are 3×3
    call("units.release")
    assert call("units.focused") is None
    assert call("inspector.set_layer_mode", "kernels") and inspector.current_layer_mode() == "kernels"
    assert not call("inspector.set_layer_mode", "no-such-mode") and inspector.current_layer_mode() == "kernels"
    lab = window.capabilities["lab"]
    assert call("lab.show_variant", "no-pooling", position="conv2d_3")
    assert lab.dock.isVisible() and lab.lab.side_by_side.pair() == ("seed", "no-pooling")
    assert not call("lab.show_variant", "no-such-variant")


def test_highlight_outlines_a_part_and_brings_its_panel_forward(capability_window, qtbot, shipped_info,
                                                                digit_seven):
    window = capability_window()
    window.show()
    show_seven(qtbot, window, shipped_info, digit_seven)
    context = window.context
    unit_dock = window.capabilities["units"].dock
    window.capabilities["training"].dock.raise_()                # the Unit panel is a tab behind Training
    assert unit_dock.visibleRegion().isEmpty() and context.targets.locate("unit_dock") is None
    assert context.highlight("unit_dock")
    outline = context.targets.outline()
    assert not unit_dock.visibleRegion().isEmpty() and outline.is_flashing() and outline.target == "unit_dock"
    assert outline.outlined() == QRect(unit_dock.mapTo(window, unit_dock.rect().topLeft()), unit_dock.size())
    grid = window.inspector.layer_grid
    assert context.highlight("grid.channel", channel=5)
    cell = grid.cell_rect(5)
    assert outline.outlined() == QRect(grid.viewport().mapTo(window, cell.topLeft()), cell.size())
    assert cell.width() > 4 and grid.viewport().rect().contains(cell)
    assert context.highlight("pipeline.layer", layer=2)
    assert not context.highlight("grid.channel", channel=999) and not context.highlight("no_such_part")
    qtbot.waitUntil(lambda: not outline.isVisible(), timeout=WAIT_MS)   # it goes by itself


def test_the_inspector_tells_what_is_selected_and_hovered(capability_window, qtbot, shipped_info, digit_seven):
    window = capability_window("units")
    show_seven(qtbot, window, shipped_info, digit_seven)
    inspector = window.inspector
    channels, hovered = [], []
    inspector.channel_changed.connect(channels.append)
    inspector.unit_hovered.connect(hovered.append)
    assert inspector.select_layer(2) and channels == [0]            # a new layer enlarges its channel 0
    assert inspector.select_channel(7) and channels == [0, 7] and inspector.current_channel() == 7
    assert not inspector.select_channel(64) and inspector.current_channel() == 7   # conv2d_2 has 64: 0…63
    inspector.layer_grid.channel_hovered.emit(3, 4, 5)               # the cursor over x 4, y 5 of map 3
    assert hovered == [Unit(2, 3, 5, 4)] and inspector.hovered_unit() == Unit(2, 3, 5, 4)
    value = float(inspector.current_outputs()[2][5, 4, 3])
    assert inspector.hover_text().startswith(f"channel 3  ·  x 4, y 5  ·  value {value:.4f}")
    inspector.layer_grid.channel_hovered.emit(-1, 0, 0)              # it left the maps
    assert hovered[-1] is None and inspector.hovered_unit() is None
    focused = window.context.operations.call("units.focused")        # the Unit panel kept the last unit hovered
    assert focused == Unit(2, 3, 5, 4)


def test_the_training_status_follows_a_run_started_by_its_operation(capability_window, qtbot, shipped_info,
                                                                    small_mnist):
    window = capability_window("training", "export", dataset=small_mnist)
    window.show_model(shipped_info)
    context, export = window.context, window.capabilities["export"]
    assert not context.is_training() and export.action.isEnabled()
    with qtbot.waitSignal(context.training_started, timeout=WAIT_MS) as started:
        assert context.operations.call("training.start", epochs=1, limit=600, from_scratch=True)
    training = window.capabilities["training"]
    assert started.args == [training.run] and context.training.run() is training.run
    assert context.is_training() and context.operations.call("training.is_running")
    assert training.panel.epochs.value() == 1 and training.panel.limit.value() == 600
    assert not export.action.isEnabled() and not window.files.open_action.isEnabled()
    assert not context.operations.call("training.start")             # one run at a time
    with qtbot.waitSignal(context.training_ended, timeout=WAIT_MS * 2):
        context.operations.call("training.stop")
    assert not context.is_training() and export.action.isEnabled() and window.files.open_action.isEnabled()


def test_every_compute_method_is_in_the_methods_table():
    """docs/ARCHITECTURE.md's "Methods today" names every method the compute process answers, and no other."""
    from cnnviz.compute.server import load_handlers

    assert documented("Methods today") == set(load_handlers())
