"""The Move it panel (issue 21) in a real window on the session's compute process: the digit moved by the
panel is `shift_image`'s (and the rest of the app follows it), the plot is the `robustness` command's
figures, a Lab variant plots beside the model, and the lessons can drive it by name and hear the learner."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF

from cnnviz.core.robustness import SHIFTS, rotate_image, scale_image, shift_image
from cnnviz.gui.robustness.robustness_plot import MODEL, SCALE, SIDEWAYS, TURN, UP_DOWN, VARIANT
from cnnviz.testing.user_input import send_mouse

WAIT_MS = 120_000


def run_cli(*args, timeout=600):
    """`python -m cnnviz ARGS` in a fresh process, as a user runs it."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, "-m", "cnnviz", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture
def move_it(capability_window, qtbot, shipped_info, monkeypatch, tmp_path):
    """A window with Move it and the Lab (its variants: the shipped ones only), showing MNIST test digit 0."""
    monkeypatch.setenv("CNNVIZ_LAB_DIR", str(tmp_path / "lab"))   # no variant trained by whoever runs the tests
    window = capability_window("robustness", "lab")
    window.show()
    window.show_model(shipped_info)
    feature = window.capabilities["robustness"]
    feature.show()
    assert window.inspector.show_test_digit(0)
    qtbot.waitUntil(lambda: feature.panel.plot.result(MODEL) is not None, timeout=WAIT_MS)
    return window, feature


def outputs_for(qtbot, inspector, image):
    """The inspector's outputs once it shows exactly `image`."""
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None and np.array_equal(inspector.current_input(),
                                                                                       image), timeout=WAIT_MS)
    return inspector.current_outputs()


def test_moving_the_digit_shows_shift_image_and_the_model_follows(move_it, qtbot, digit_seven, shipped_model):
    window, feature = move_it
    panel, inspector, call = feature.panel, window.inspector, window.context.operations.call
    heard = []
    call("robustness.follow_moves", lambda dx, dy: heard.append((dx, dy)))
    assert call("robustness.shift", 3, -2)
    expected = shift_image(digit_seven, 3, -2)
    outputs = outputs_for(qtbot, inspector, expected)
    independent = np.asarray(shipped_model(expected[None, ..., None], training=False))[0]
    np.testing.assert_allclose(outputs[-1], independent, atol=1e-4)
    assert panel.original() is not None and np.array_equal(panel.original(), digit_seven)   # the digit as drawn
    assert heard == []                                   # an operation moved it, not the learner
    assert not call("robustness.shift", 7, 0) and not call("robustness.shift", 0, -7)   # beyond the ±6 px
    assert np.array_equal(inspector.current_input(), expected)

    # The learner drags the digit two input pixels to the right: absolute (−… from 3, −2), not added.
    view = panel.controls.view
    pixel = view.pixel_size()
    start = QPointF(view.width() / 2, view.height() / 2)
    send_mouse(view, QEvent.Type.MouseButtonPress, start)
    send_mouse(view, QEvent.Type.MouseMove, start + QPointF(2 * pixel, 0))
    send_mouse(view, QEvent.Type.MouseButtonRelease, start + QPointF(2 * pixel, 0))
    dragged = shift_image(digit_seven, 5, -2)
    outputs = outputs_for(qtbot, inspector, dragged)
    assert heard == [(5, -2)] and panel.current_move().dx == 5
    np.testing.assert_allclose(outputs[-1], np.asarray(shipped_model(dragged[None, ..., None], training=False))[0],
                               atol=1e-4)
    assert panel.controls.dx.value() == 5 and panel.plot.axis() == SIDEWAYS

    # Turned and scaled by the sliders: scaled, then turned, about the centre, then shifted.
    panel.controls.scale.setValue(80)
    panel.controls.turn.setValue(10)
    moved = shift_image(rotate_image(scale_image(digit_seven, 0.8), 10.0), 5, -2)
    outputs_for(qtbot, inspector, moved)
    assert panel.plot.axis() == TURN and heard[-1] == (5, -2)

    call("robustness.reset")
    outputs_for(qtbot, inspector, digit_seven)
    assert panel.current_move().is_identity() and panel.controls.scale.value() == 100

    # A new digit starts unmoved, and is the digit as drawn from then on.
    inspector.show_test_digit(1)
    qtbot.waitUntil(lambda: panel.original() is not None and not np.array_equal(panel.original(), digit_seven),
                    timeout=WAIT_MS)
    assert panel.current_move().is_identity() and panel.controls.dx.value() == 0


def test_the_plot_is_the_robustness_commands_figures_for_the_model_and_a_variant(move_it, qtbot, tmp_path):
    window, feature = move_it
    panel = feature.panel
    figures = json.loads(run_cli("robustness", "--test-index", "0", "--json").stdout)
    assert figures["target"] == 7 and panel.plotted_class() == 7

    def line(entries, key, value, along):
        chosen = sorted((e for e in entries if e[key] == value), key=lambda e: e[along])
        return [e[along] for e in chosen], [e["target_probability"] for e in chosen]

    for axis, (x, y) in ((SIDEWAYS, line(figures["shifts"], "dy", 0, "dx")),
                         (UP_DOWN, line(figures["shifts"], "dx", 0, "dy")),
                         (TURN, ([e["degrees"] for e in figures["rotations"]],
                                 [e["target_probability"] for e in figures["rotations"]])),
                         (SCALE, ([e["factor"] for e in figures["scales"]],
                                  [e["target_probability"] for e in figures["scales"]]))):
        panel.axis_choice.setCurrentIndex(panel.axis_choice.findData(axis))
        plotted_x, plotted_y = panel.plot.curve(MODEL)
        np.testing.assert_allclose(plotted_x, x)
        np.testing.assert_allclose(plotted_y, y, atol=2e-4)

    # Moved 2 px down, the sideways curve is the grid's row dy = 2, and the bars are for 0 px sideways: none.
    assert window.context.operations.call("robustness.shift", 0, 2)
    panel.axis_choice.setCurrentIndex(panel.axis_choice.findData(SIDEWAYS))
    np.testing.assert_allclose(panel.plot.curve(MODEL)[1], line(figures["shifts"], "dy", 2, "dx")[1], atol=2e-4)
    assert panel.bars.rows() == [] and "sideways" in panel.bars.message()
    window.context.operations.call("robustness.shift", 3, 0)
    expected = [(layer["name"], layer["correlation"], layer["invariance"]) for layer in figures["layers"]
                if layer["shift"] == 3]
    shown = [(f.name, f.correlation, f.invariance) for f in panel.bars.rows()]
    assert [name for name, *_ in shown] == [name for name, *_ in expected]
    np.testing.assert_allclose([v for _, *values in shown for v in values],
                               [v for _, *values in expected for v in values], atol=1e-3)

    # One click: the Lab's no-pooling variant beside it, its curve the command's on that variant's model.
    variant_path = window.context.operations.call("lab.variant_model", "no-pooling")
    assert variant_path is not None and variant_path.is_file()
    panel.beside.setChecked(True)
    qtbot.waitUntil(lambda: panel.plot.curve(VARIANT) is not None, timeout=WAIT_MS)
    theirs = json.loads(run_cli("robustness", "--test-index", "0", "--model", str(variant_path), "--json").stdout)
    x, y = panel.plot.curve(VARIANT)
    np.testing.assert_allclose(x, list(SHIFTS))
    np.testing.assert_allclose(y, line(theirs["shifts"], "dy", 0, "dx")[1], atol=2e-4)
    assert "no-pooling" in panel.plot.legend.text()
    panel.beside.setChecked(False)
    assert panel.plot.curve(VARIANT) is None


def test_the_lessons_find_the_panel_by_name(capability_window, qtbot, shipped_info):
    window = capability_window("robustness")
    window.show()
    window.show_model(shipped_info)
    context = window.context
    assert not context.operations.call("robustness.shift", 1, 0)      # no digit yet
    assert context.highlight("move-it") and context.highlight("move_it_dock")
    feature = window.capabilities["robustness"]
    assert not feature.dock.visibleRegion().isEmpty()
    feature.panel.beside.setChecked(True)                               # no Lab in this window: it says so
    assert feature.panel.plot.curve(VARIANT) is None and "no trained model" in feature.panel.note.toolTip()
