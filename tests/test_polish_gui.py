"""Issue 16 §3, what the app showed a new user: the window title, the MNIST button's arrow, the hover
read-out, paths in the status bar, the question when an unsaved trained model would be lost, export
progress, cancel and figure format, the flatten layer as a heat strip, and a model that failed to load."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox, QToolButton

from cnnviz.core.colormaps import channel_levels, lookup_table, table_indices
from cnnviz.core.preprocess import fit_into_square
from cnnviz.gui.export.export_dialog import ExportDialog
from cnnviz.gui.inspector.views import LOADING_TEXT
from cnnviz.gui.shell.main_window import MainWindow
from cnnviz.gui.shell.status_bar import shown_path, without_absolute_paths
from _mouse import hover
from test_app_xvfb import run_app, tool_missing, x_display  # noqa: F401  (x_display: the Xvfb fixture, used by name)
from test_inspector import inspector  # noqa: F401  (the fixture: an InspectorWidget showing the shipped model)

LOAD_TIMEOUT_MS = 120_000
HANG_MS = 60_000     # waits that only catch a hang
FLATTEN = 5          # the seed model's layer index of flatten_1 (after conv2d_3, 3×3×64)
ABSOLUTE_PATH = re.compile(r"(^|[\s(\"'])/\w")


@pytest.fixture
def window(qtbot, compute_client, shipped_info):
    """A shown main window (1280×800) on the shared compute process, showing the shipped model."""
    win = MainWindow(client=compute_client)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    win.show_model(shipped_info)
    yield win
    win.ask_to_save = False  # whatever a test left, the teardown's close must not ask
    win.close()


def show_digit(qtbot, inspector, digit):
    """Put a 28×28 digit on the canvas as the exact model input; wait for its outputs."""
    inspector.canvas.set_image(fit_into_square(digit, inspector.canvas.canvas_size, margin=0), exact_input=digit)
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None, timeout=60_000)


def answer_next_box(qtbot, button: QMessageBox.StandardButton, seen: list) -> None:
    """Click `button` in the next modal message box (which runs its own event loop); record its text."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append((box.windowTitle(), box.text(), box.informativeText()))
        box.button(button).click()

    QTimer.singleShot(0, click)


# --- the title -------------------------------------------------------------------------------------
def test_title_names_the_model_once_and_qt_adds_the_app_name(window, qapp):
    """Qt appends the application display name (" — cnnviz") to the title it shows, so the title set
    must not contain it again (it read "cnnviz — mnist_convnet.keras — cnnviz")."""
    previous = qapp.applicationDisplayName()
    qapp.setApplicationDisplayName("cnnviz")
    try:
        window.show_model(window.current)
        assert window.windowTitle() == "mnist_convnet.keras"
        window.unsaved = True
        window.show_model(window.current)
        assert window.windowTitle() == "mnist_convnet.keras (unsaved)"
        assert "cnnviz" not in window.windowTitle()
    finally:
        window.unsaved = False
        qapp.setApplicationDisplayName(previous)


# --- the MNIST button ------------------------------------------------------------------------------
def test_mnist_button_shows_one_arrow(inspector):
    """The typed ▾ only: the button looks exactly like a plain button with the same text (Qt's own
    menu indicator, a second arrow in the corner, is not drawn)."""
    button = inspector.input_sources.test_set_button
    assert button.text().count("▾") == 1 and button.menu() is not None
    assert button.popupMode() == QToolButton.ToolButtonPopupMode.InstantPopup
    twin = QToolButton(inspector)
    twin.setText(button.text())
    twin.setAutoRaise(button.autoRaise())
    twin.setFixedSize(button.size())
    drawn, plain = button.grab().toImage(), twin.grab().toImage()
    assert drawn.size() == plain.size()
    assert drawn == plain, "the MNIST button draws something besides its text (Qt's menu arrow?)"


# --- the hover read-out ----------------------------------------------------------------------------
def test_hover_readout_has_its_own_row(window, qtbot, digit_seven):
    """The read-out under the grid is never cut off by the Colours box: it has a row of its own, its
    whole text fits at the default size, and in a narrow window it is elided with the text as tooltip."""
    inspector = window.inspector
    show_digit(qtbot, inspector, digit_seven)
    grid = inspector.layer_grid
    label = inspector.views.hover_label
    with qtbot.waitSignal(grid.channel_hovered, check_params_cb=lambda channel, x, y: channel == 2, timeout=HANG_MS):
        hover(qtbot, grid.viewport(), grid.cell_centre(2))
    text = label.text()
    assert text.startswith("channel 2") and "right-click to export" in text, text
    colours = inspector.views.colormap_box
    label_box = label.geometry().translated(label.parentWidget().mapTo(window, QPoint(0, 0)))
    colours_box = colours.geometry().translated(colours.parentWidget().mapTo(window, QPoint(0, 0)))
    assert not label_box.intersects(colours_box)
    assert label_box.bottom() < colours_box.top(), "the read-out shares a row with the colour controls"
    assert label.fontMetrics().horizontalAdvance(text) <= label.contentsRect().width()
    assert label.toolTip() == ""

    window.resize(700, 600)   # narrower than the read-out: elided, the whole text in the tooltip
    qtbot.waitUntil(lambda: label.contentsRect().width() < label.fontMetrics().horizontalAdvance(text),
                    timeout=HANG_MS)
    with qtbot.waitSignal(grid.channel_hovered, check_params_cb=lambda *unit: unit == (2, 5, 7), timeout=HANG_MS):
        hover(qtbot, grid.viewport(), grid.unit_centre(2, 7, 5))
    full = label.toolTip()
    assert full.startswith("channel 2  ·  x 5, y 7  ·  value ") and full.endswith("right-click to export)")
    assert label.text().endswith("…") and full.startswith(label.text()[:-1])
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()


# --- paths in the status bar -----------------------------------------------------------------------
def test_shown_path_is_never_absolute(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert without_absolute_paths(f"No file at {tmp_path}/a.png. Scale 1/255.") == "No file at a.png. Scale 1/255."
    assert shown_path(tmp_path / "home" / "models" / "m.keras") == "~/models/m.keras"
    assert shown_path(tmp_path / "elsewhere" / "m.keras") == "m.keras"
    assert shown_path(tmp_path / "elsewhere" / "m.keras", full=True) == str(tmp_path / "elsewhere" / "m.keras")


def test_status_bar_never_shows_absolute_paths(window, qtbot, tmp_path, monkeypatch, shipped_model_path):
    """Loading and saving say where, as ~/… inside the home folder and by name elsewhere."""
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    mine = home / "models" / "mine.keras"
    shutil.copy(shipped_model_path, mine)
    with qtbot.waitSignal(window.model_ready, timeout=LOAD_TIMEOUT_MS):
        window.load_model_file(mine)
    message = window.statusBar().currentMessage()
    assert message == "Loaded ~/models/mine.keras", message
    with qtbot.waitSignal(window.model_ready, timeout=LOAD_TIMEOUT_MS):
        window.load_model_file(shipped_model_path)      # outside the home folder: its name only
    message = window.statusBar().currentMessage()
    assert message == "Loaded mnist_convnet.keras" and not ABSOLUTE_PATH.search(message), message
    outside = tmp_path / "out" / "saved.keras"
    outside.parent.mkdir()
    with qtbot.waitSignal(window.model_saved, timeout=30_000):
        window.save_model_file(outside)
    message = window.statusBar().currentMessage()
    assert message == "Saved saved.keras" and str(tmp_path) not in message, message

    # Whoever writes to the status bar (a feature, an error from the core): no absolute path either.
    warnings: list = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))   # not a modal box
    window.inspector.open_image(tmp_path / "out")                  # a folder: the core's message names it
    message = window.statusBar().currentMessage()
    assert message == "out is a folder, not an image file." and not ABSOLUTE_PATH.search(message), message
    assert len(warnings) == (1 if window.inspector.isVisible() else 0), warnings
    window.statusBar().showMessage(f"Wrote {home}/figures/a.svg and {tmp_path}/b.pdf; see https://x.org/y")
    assert window.statusBar().currentMessage() == "Wrote ~/figures/a.svg and b.pdf; see https://x.org/y"


# --- closing with an unsaved trained model ---------------------------------------------------------
def test_closing_with_an_unsaved_trained_model_asks(window, qtbot, tmp_path, monkeypatch):
    """Save / Discard / Cancel, from closing the window and from File → Quit; Save writes the model and
    then closes; nothing is asked once it is saved, or when asking is off (the autotest)."""
    window.ask_to_save = True
    window.unsaved = True    # as after a finished training run
    seen: list = []

    answer_next_box(qtbot, QMessageBox.StandardButton.Cancel, seen)
    assert window.close() is False and window.isVisible()
    assert seen[-1][0] == "Save the trained model?" and "mnist_convnet.keras" in seen[-1][1]

    answer_next_box(qtbot, QMessageBox.StandardButton.Cancel, seen)
    window.quit_action.trigger()
    assert len(seen) == 2 and window.isVisible()

    target = tmp_path / "trained.keras"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    answer_next_box(qtbot, QMessageBox.StandardButton.Save, seen)
    with qtbot.waitSignal(window.model_saved, timeout=30_000):
        assert window.close() is False        # not yet: the compute process writes the file first
    qtbot.waitUntil(lambda: not window.isVisible())
    assert target.is_file() and not window.unsaved and len(seen) == 3

    window.show()
    window.unsaved = True
    answer_next_box(qtbot, QMessageBox.StandardButton.Discard, seen)
    assert window.close() is True and len(seen) == 4

    window.show()
    window.ask_to_save = False
    assert window.close() is True and len(seen) == 4   # no question


def test_the_app_asks_but_a_window_on_a_shared_client_does_not_by_default(qtbot, compute_client):
    shared = MainWindow(client=compute_client)
    qtbot.addWidget(shared)
    assert shared.ask_to_save is False
    own = MainWindow()    # the app's window: it owns its compute process (never started here)
    qtbot.addWidget(own)
    assert own.ask_to_save is True
    own.ask_to_save = False


# --- export: progress, cancel, figure format -------------------------------------------------------
@pytest.fixture
def shown_seven(inspector, qtbot, digit_seven):
    show_digit(qtbot, inspector, digit_seven)
    return inspector


def test_export_shows_progress_and_cancel_writes_nothing(qtbot, shown_seven, compute_client, tmp_path):
    dialog = ExportDialog(shown_seven, "all", 0, -1, None, client=compute_client)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(tmp_path))
    dialog.name_edit.setText("cancelled")
    counts = []
    dialog.progress_bar.valueChanged.connect(counts.append)
    dialog.show()
    dialog.accept()                                      # Export
    assert dialog.is_exporting() and dialog.progress_bar.isVisible() and not dialog.export_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress_bar.value() > 0, timeout=60_000)
    total = dialog.progress_bar.maximum()
    assert 0 < dialog.progress_bar.value() < total, (dialog.progress_bar.value(), total)
    assert total == 1 + 2 + (32 + 2) * 2 + (64 + 2) * 3 + 2 * 3 + 1   # source, input, 5 map layers, 3 flat, manifest
    assert dialog.cancel_button.isEnabled()
    with qtbot.waitSignal(dialog.export_cancelled, timeout=60_000):
        dialog.reject()                                  # Cancel
    assert dialog.result() == QDialog.DialogCode.Rejected and not dialog.isVisible()
    assert list(tmp_path.iterdir()) == [], "a cancelled export wrote something"
    assert counts == sorted(counts) and counts[-1] < total


def test_export_figure_format_is_offered_used_and_remembered(qtbot, shown_seven, compute_client, tmp_path):
    dialog = ExportDialog(shown_seven, "layer", 2, -1, None, client=compute_client)
    qtbot.addWidget(dialog)
    formats = [dialog.figure_format_combo.itemData(i) for i in range(dialog.figure_format_combo.count())]
    assert formats == ["png", "svg", "pdf"] and dialog.figure_format_combo.currentData() == "png"
    dialog.folder_edit.setText(str(tmp_path))
    dialog.name_edit.setText("svg")
    dialog.figure_format_combo.setCurrentIndex(formats.index("svg"))
    folder = dialog.run_export()
    assert folder == tmp_path / "svg"
    grid = folder / "L3_conv2d_2_grid.svg"
    assert grid.is_file() and grid.read_text().lstrip().startswith("<?xml")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["options"]["figure_format"] == "svg"
    again = ExportDialog(shown_seven, "layer", 2, -1, None, client=compute_client)
    qtbot.addWidget(again)
    assert again.figure_format_combo.currentData() == "svg"


# --- the flatten layer -----------------------------------------------------------------------------
def test_flatten_is_a_heat_strip_laid_out_like_conv2d_3(qtbot, shown_seven):
    """9 rows (the positions y,x of conv2d_3's 3×3 maps) of 64 columns (its channels), in the app's
    colours; hovering a unit names its channel and position."""
    inspector = shown_seven
    outputs = inspector.current_outputs()
    assert inspector.layer_names()[FLATTEN] == "flatten_1" and outputs[FLATTEN - 1].shape == (3, 3, 64)
    inspector.select_layer(FLATTEN)
    view = inspector.vector_view
    assert inspector.layer_view() is view
    layout = view.strip_layout()
    assert layout is not None and (layout.rows, layout.columns) == (9, 64)
    values = outputs[FLATTEN]
    low, high = channel_levels(values, inspector.normalisation())[0]
    by_hand = values.reshape(3, 3, 64).reshape(9, 64)      # Flatten reads (y, x, c) row by row
    expected = lookup_table(inspector.colormap())[table_indices(by_hand, low, high)]
    np.testing.assert_array_equal(view.strip_pixels(), expected)

    view.unit_hovered.emit(137)                             # 137 = 0·192 + 2·64 + 9
    assert inspector.hover_text() == (f"unit 137 = conv2d_3 channel 9 at y 0, x 2  ·  "
                                            f"value {values[137]:.4f}")
    assert values[137] == outputs[FLATTEN - 1][0, 2, 9]
    inspector.select_layer(FLATTEN + 1)                 # dense_1: bars, plain unit numbers
    assert view.strip_layout() is None
    view.unit_hovered.emit(3)
    assert inspector.hover_text().startswith("unit 3  ·  value ")


# --- a model that failed to load -------------------------------------------------------------------
def test_a_model_that_failed_to_load_is_not_still_loading(qtbot, compute_client, tmp_path):
    """With no model shown, a failed load leaves the map area saying so, not "Loading the model…"."""
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a keras file")
    win = MainWindow(client=compute_client)
    qtbot.addWidget(win)
    win.show()
    inspector = win.inspector
    assert inspector.layer_message() == LOADING_TEXT
    with qtbot.waitSignal(win.model_failed, timeout=LOAD_TIMEOUT_MS):
        win.load_model_file(broken)
    if win.last_message_box is not None:
        win.last_message_box.close()
    assert win.current is None and "no model" in win.statusBar().model_label.text().lower()
    text = inspector.layer_message()
    assert "Loading" not in text and "broken.keras could not be opened" in text, text
    assert inspector.layer_view() is inspector.views.message
    assert inspector.top_guess._hint == "No model"
    win.load_model_file(broken)                             # trying again: loading, until it fails again
    assert inspector.layer_message() == LOADING_TEXT
    with qtbot.waitSignal(win.model_failed, timeout=LOAD_TIMEOUT_MS):
        pass
    if win.last_message_box is not None:
        win.last_message_box.close()
    win.close()


# --- the real title under X11 ----------------------------------------------------------------------
def x_window_titles(display: str) -> list[str]:
    """The _NET_WM_NAME (UTF-8) of every top-level window of `display` that has a name."""
    tree = subprocess.run(["xwininfo", "-display", display, "-root", "-children"], capture_output=True,
                          text=True, timeout=10).stdout
    titles = []
    for window_id in re.findall(r"^\s+(0x[0-9a-f]+) \"", tree, re.MULTILINE):
        prop = subprocess.run(["xprop", "-display", display, "-id", window_id, "_NET_WM_NAME"],
                              capture_output=True, text=True, timeout=10).stdout
        named = re.search(r'= "(.*)"$', prop.strip())
        if named:
            titles.append(named.group(1))
    return titles


@pytest.mark.slow
@pytest.mark.xvfb
def test_real_app_title_flatten_strip_and_regions_under_x(x_display, tmp_path):
    """The title the X server has for the real app's window names the model, then cnnviz, once (Qt adds
    the application name to the title the window sets); the flatten strip and its read-out in the real
    app; the regions the README's pictures are cropped by."""
    if shutil.which("xwininfo") is None or shutil.which("xprop") is None:
        tool_missing("xwininfo and xprop are not installed (apt-get install x11-utils)")
    titles: list[list[str]] = []

    def on_line(line: str, pid: int) -> None:
        if "model ready" in line:
            for _ in range(100):   # Qt sets the property on its next pass of the event loop
                titles.append(x_window_titles(x_display))
                if any("mnist_convnet.keras" in title for title in titles[-1]):
                    return
                time.sleep(0.05)

    done, pixels = run_app("flatten-and-screenshot", x_display, tmp_path, on_line)
    assert titles and "mnist_convnet.keras — cnnviz" in titles[-1], titles[-1:]
    assert "flatten strip 9x64, hover: unit 9 = conv2d_3 channel 9 at y 0, x 0  ·  value " in done.stdout, done.stdout
    regions = json.loads((tmp_path / "flatten-and-screenshot.json").read_text())
    x, y, width, height = regions["layer_stack"]
    strip = pixels[y:y + height, x:x + width]
    assert len(np.unique(strip.reshape(-1, 3), axis=0)) > 20, "no heat strip where the regions say it is"
    assert regions["window"] == [0, 0, 1280, 800] and {"canvas", "input", "layer_title", "hover"} <= set(regions)
    assert all(0 <= x < 1280 and 0 <= y < 800 for x, y, _, _ in regions.values()), regions   # all on screen


# --- scripts/make_screenshots.py -------------------------------------------------------------------
def load_screenshot_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "make_screenshots.py"
    spec = importlib.util.spec_from_file_location("make_screenshots", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module    # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_readme_picture_comes_from_an_autotest_mode():
    from cnnviz.testing.autotest import MODES

    script = load_screenshot_script()
    assert {shot.mode for shot in script.SHOTS} <= set(MODES)
    outs = [shot.out for shot in script.SHOTS]
    assert len(outs) == len(set(outs)) and "docs/screenshot.png" in outs


def test_a_picture_is_the_parts_it_names_cropped_and_scaled(tmp_path, monkeypatch):
    from PIL import Image

    script = load_screenshot_script()
    monkeypatch.setattr(script, "REPO", tmp_path)
    screen = np.zeros((800, 1280, 3), np.uint8)
    screen[100:300, 200:400] = (255, 0, 0)       # part "a"
    screen[250:350, 380:500] = (0, 0, 255)       # part "b"
    Image.fromarray(screen).save(tmp_path / "full.png")
    regions = {"a": [200, 100, 200, 200], "b": [380, 250, 120, 100]}
    shot = script.Shot("docs/images/x.png", "draw-and-screenshot", ("a", "b"), width=None, margin=2)
    assert script.write_picture(shot, tmp_path / "full.png", regions) == (304, 254)
    with Image.open(tmp_path / "docs/images/x.png") as written:
        pixels = np.asarray(written.convert("RGB"))
    np.testing.assert_array_equal(pixels, screen[98:352, 198:502])
    small = script.Shot("docs/images/y.png", "draw-and-screenshot", ("a",), width=51, margin=0)
    assert script.write_picture(small, tmp_path / "full.png", regions) == (51, 51)
    with pytest.raises(SystemExit, match="shows no c"):
        script.write_picture(script.Shot("z.png", "draw-and-screenshot", ("c",)), tmp_path / "full.png", regions)
