"""The Experiments panel in a real window with only it installed, on the session's compute process: a preset
edit repaints every later map and the prediction and Undo restores them exactly; a brush stroke is one
edit; the ε slider gives what `cnnviz attack` gives; the sanity task fills the strip and can be
cancelled; the bad situations say so in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from _compute import call

WAIT_MS = 120_000
OUTPUT_TOL = {"rtol": 1e-4, "atol": 1e-5}


@pytest.fixture
def experiments(capability_window, qtbot, shipped_info, digit_seven):
    """A window with only the Experiments, the shipped model shown (no edit in force) and the 7 drawn."""
    window = capability_window("experiments")
    window.resize(1280, 800)
    window.show()
    window.show_model(shipped_info)
    feature = window.capabilities["experiments"]
    qtbot.waitUntil(lambda: not feature.surgery.is_busy(), timeout=WAIT_MS)
    if feature.surgery.labels():                     # an edit left by an earlier test in this process
        feature.surgery.reset_all()
        qtbot.waitUntil(lambda: not feature.surgery.is_busy() and not feature.surgery.labels(), timeout=WAIT_MS)
    window.inspector.show_input(digit_seven)
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=WAIT_MS)
    return window, feature


def settled(qtbot, window, feature) -> list[np.ndarray]:
    """Wait until the edits are answered and the maps shown are for them; the outputs shown."""
    qtbot.waitUntil(lambda: not feature.surgery.is_busy() and window.inspector.current_outputs() is not None,
                    timeout=WAIT_MS)
    return [np.array(o, copy=True) for o in window.inspector.current_outputs()]


def test_a_preset_edit_repaints_every_later_map_and_undo_restores_them_exactly(experiments, qtbot, shipped_model,
                                                                               digit_seven):
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.kernel_edit import SHAPE_PRESETS, edited_copy, parse_edit

    window, feature = experiments
    inspector, call_op = window.inspector, window.context.operations.call
    before = settled(qtbot, window, feature)
    shown_before = inspector.prediction_bars.probabilities().copy()
    assert call_op("experiments.show_kernel_surgery", "conv2d_1", 5)
    assert (inspector.current_layer(), inspector.current_channel()) == (0, 5)
    assert feature.panel.current_tab() == "kernel_surgery" and feature.dock.isVisible()
    with qtbot.waitSignal(feature.surgery.weights_changed, timeout=WAIT_MS):
        assert call_op("experiments.apply_preset", "vertical-edge")
    after = settled(qtbot, window, feature)
    assert call_op("experiments.edits") == ["conv2d_1:5=vertical-edge"]
    expected = ActivationProbe(edited_copy(shipped_model, [parse_edit("conv2d_1:5=vertical-edge")]))(digit_seven)
    for shown, theirs in zip(after, expected, strict=True):
        np.testing.assert_allclose(shown, theirs, **OUTPUT_TOL)
    np.testing.assert_array_equal(after[0][..., :5], before[0][..., :5])          # the other filters: untouched
    assert not np.allclose(after[0][..., 5], before[0][..., 5])
    assert all(not np.allclose(a, b, atol=1e-3) for a, b in zip(after[1:], before[1:]))   # every later layer
    shown_after = inspector.prediction_bars.probabilities()
    np.testing.assert_allclose(shown_after, expected[-1], atol=1e-5)              # the prediction follows
    assert abs(shown_after[7] - shown_before[7]) > 0.01
    np.testing.assert_array_equal(feature.surgery_view.painter.grid(), SHAPE_PRESETS["vertical-edge"])
    assert feature.surgery_view.undo_button.isEnabled() and feature.actions["undo"].isEnabled()

    with qtbot.waitSignal(feature.surgery.weights_changed, timeout=WAIT_MS):
        call_op("experiments.undo_edit")
    restored = settled(qtbot, window, feature)
    assert call_op("experiments.edits") == []
    for shown, original in zip(restored, before, strict=True):
        np.testing.assert_array_equal(shown, original)                             # exactly
    np.testing.assert_array_equal(inspector.prediction_bars.probabilities(), shown_before)
    assert not feature.surgery_view.undo_button.isEnabled()


def test_a_brush_stroke_paints_cells_as_one_edit(experiments, qtbot, shipped_model, digit_seven):
    from cnnviz.core.activations import ActivationProbe

    window, feature = experiments
    window.context.operations.call("experiments.show_kernel_surgery", "conv2d_1", 2)   # a dead filter
    painter = feature.surgery_view.painter
    qtbot.waitUntil(lambda: painter.isVisible() and painter.width() > 60, timeout=WAIT_MS)
    grid_before = painter.grid()
    feature.surgery_view.brush_slider.setValue(30)                                   # +1.50
    points = [painter.cell_rect(0, col).center() for col in range(3)]
    qtbot.mousePress(painter, Qt.MouseButton.LeftButton, pos=points[0].toPoint())
    for point in points[1:]:
        qtbot.mouseMove(painter, pos=point.toPoint())
    qtbot.mouseRelease(painter, Qt.MouseButton.LeftButton, pos=points[-1].toPoint())
    qtbot.waitUntil(lambda: not feature.surgery.is_busy(), timeout=WAIT_MS)
    assert feature.surgery.labels() == ["conv2d_1:2=paint[0]"]                       # three cells, one edit
    painted = grid_before.copy()
    painted[0, :] = 1.5
    np.testing.assert_allclose(painter.grid(), painted)
    import keras

    model = keras.models.clone_model(shipped_model)
    model.set_weights(shipped_model.get_weights())
    kernel = model.get_layer("conv2d_1").kernel.numpy()
    kernel[0, :, 0, 2] = 1.5
    model.get_layer("conv2d_1").kernel.assign(kernel)
    shown = settled(qtbot, window, feature)
    np.testing.assert_allclose(shown[0][..., 2], ActivationProbe(model)(digit_seven)[0][..., 2], **OUTPUT_TOL)
    feature.surgery_view.undo_button.click()
    qtbot.waitUntil(lambda: not feature.surgery.is_busy() and not feature.surgery.labels(), timeout=WAIT_MS)
    np.testing.assert_array_equal(painter.grid(), grid_before)


def test_the_epsilon_slider_gives_what_the_attack_command_gives(experiments, qtbot, capsys, mnist):
    from cnnviz.cli import main

    window, feature = experiments
    view = feature.attack_view
    assert window.context.highlight("epsilon")                                        # its tab comes forward
    assert feature.panel.current_tab() == "attack"
    view.method_box.setCurrentIndex(view.method_box.findData("pgd"))
    view.method_box.activated.emit(view.method_box.currentIndex())
    view.target_box.setCurrentIndex(view.target_box.findData(3))
    view.target_box.activated.emit(view.target_box.currentIndex())
    view.slider.setValue(36)                                                          # ε 0.18
    qtbot.waitUntil(lambda: feature.attack.result() is not None, timeout=WAIT_MS)
    ours = feature.attack.result()
    assert (ours.method, ours.target, ours.epsilon) == ("pgd", 3, pytest.approx(0.18))
    assert main(["attack", "--test-index", "0", "--method", "pgd", "--target", "3", "--epsilon", "0.18",
                 "--json"]) == 0
    theirs = json.loads(capsys.readouterr().out)
    assert theirs["after"]["class"] == ours.after_class == 3
    assert theirs["before"]["class"] == ours.before_class == 7
    assert theirs["after"]["probability"] == pytest.approx(ours.after_probability, abs=1e-4)
    assert theirs["perturbation_linf"] == pytest.approx(ours.perturbation_linf, abs=1e-5)
    for mine, line in zip(ours.layers, theirs["layers"], strict=True):
        assert mine.name == line["name"] and mine.relative_change == pytest.approx(line["relative_change"], abs=1e-4)
    assert "3 · " in view.verdict.text() and "reads as the target, 3" in view.verdict.text()
    pixels = view.perturbation_pixels()
    assert pixels.shape == (28, 28, 3)
    red = pixels[..., 0].astype(int) - pixels[..., 2]
    change = ours.perturbation[..., 0]
    assert (red[change >= 0.09] > 40).all() and (red[change <= -0.09] < -40).all()   # red: brighter, blue: darker
    assert (np.abs(red[change == 0]) < 10).all() and (change == 0).any()              # white: unchanged
    assert view.bars.values() == pytest.approx([c.relative_change for c in ours.layers])
    qtbot.waitUntil(lambda: feature.attack.sweep_result() is not None, timeout=WAIT_MS)   # it sweeps by itself
    sweep = feature.attack.sweep_result()
    assert sweep.epsilon is not None and sweep.epsilon < 0.18 and view.plot.classes() == (7, 3)


def test_the_sanity_task_fills_the_strip_and_can_be_cancelled(experiments, qtbot, shipped_model, digit_seven):
    from cnnviz.core.sanity_check import sanity_check

    window, feature = experiments
    sanity = feature.sanity
    with qtbot.waitSignal(sanity.task.finished, timeout=WAIT_MS):
        assert window.context.operations.call("experiments.run_sanity_check", "cascading", 2)
    strip = sanity.strip
    theirs = sanity_check(shipped_model, digit_seven, "cascading", 2)
    assert strip.columns() == ["trained", *(step.layer for step in theirs.steps)]
    assert strip.methods() == ["gradcam", "occlusion", "gradient"]
    for method in strip.methods():
        for ours, expected in zip(strip.scores(method), (s.spearman[method] for s in theirs.steps), strict=True):
            assert (ours is None) == (expected is None)
            assert ours is None or ours == pytest.approx(expected, abs=1e-3)
    assert strip.tile_rect("gradient", 5).right() <= strip.width() and not sanity.progress.isVisible()
    assert "with every layer random" in sanity.summary.text()

    # Cancel: a queued check is dropped, a running task stops between its steps.
    accuracy = feature.checks.accuracy_task
    events = []
    accuracy.progress.connect(events.append)
    assert feature.checks.test_accuracy()
    assert sanity.run("independent")
    with qtbot.waitSignal(sanity.task.cancelled, timeout=WAIT_MS):
        sanity.progress.cancel_clicked.emit()
    assert sanity.strip.result() is not None and "Cancelled" in sanity.message.text()  # the last full run stays
    qtbot.waitUntil(lambda: any(fraction > 0 for fraction in events), timeout=WAIT_MS)
    with qtbot.waitSignal(accuracy.cancelled, timeout=WAIT_MS):
        feature.checks.accuracy_progress.cancel_clicked.emit()
    assert not feature.checks.accuracy_progress.isVisible() and sanity.run_button.isEnabled()


def test_another_model_drops_the_edits_and_says_so(experiments, qtbot, compute_client, fresh_model, tmp_path):
    from cnnviz.core.model import save_model

    window, feature = experiments
    window.context.operations.call("experiments.apply_preset", "zero", "conv2d_2", 3)
    qtbot.waitUntil(lambda: feature.surgery.labels() == ["conv2d_2:3=zero"], timeout=WAIT_MS)
    path = tmp_path / "other.keras"
    save_model(fresh_model, path)
    info = call(qtbot, compute_client, "load_model", {"path": path})
    with qtbot.waitSignal(feature.surgery.notice, timeout=WAIT_MS) as said:
        window.show_model(info)
    assert said.args[0].startswith("Kernel edits dropped: another model is shown")
    assert feature.surgery.labels() == [] and feature.surgery_view.status.text() == said.args[0]
    assert "\n" not in said.args[0]
    assert not feature.actions["save"].isEnabled()


def test_where_the_maths_does_not_apply_one_line_says_so(experiments, qtbot, compute_client, tmp_path):
    import keras

    window, feature = experiments
    inspector, surgery = window.inspector, feature.surgery
    assert inspector.select_layer("max_pooling2d_1")                                 # a layer with no filters
    assert surgery.slot().layer == "conv2d_1"                                        # the painter keeps its filter
    surgery.follow = True
    layers = keras.layers
    flat = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(name="flat"),
                             layers.Dense(16, activation="relu", name="hidden"),
                             layers.Dense(10, activation="softmax", name="classes")])
    path = tmp_path / "flat.keras"
    flat.save(path)
    window.show_model(call(qtbot, compute_client, "load_model", {"path": path}))
    panel = feature.panel
    assert panel.notice("sanity_check").startswith("Grad-CAM needs a layer with maps")
    assert panel.notice("kernel_surgery") == "" and panel.notice("attack") == ""
    slot = surgery.slot()
    assert (slot.layer, slot.kind, slot.grid, slot.inputs, slot.wraps) == ("hidden", "Dense", (28, 28), 1, False)
    assert not feature.surgery_view.preset_buttons["vertical-edge"].isEnabled()
    assert feature.surgery_view.preset_buttons["zero"].isEnabled()
    assert "the 3×3 presets fit 3×3 conv kernels" in feature.surgery_view.description.text()
    assert inspector.select_layer("flat") and surgery.refusal() == ""                # it keeps the unit
    assert surgery.select("flat") is False
    assert surgery.refusal() == ("flat is a Flatten layer, with no filters of its own to edit: pick one of hidden, "
                                 "classes in the overview.")
    with qtbot.waitSignal(feature.surgery.notice, timeout=WAIT_MS) as said:
        surgery.apply_preset("vertical-edge")                                        # refused by the compute process
    assert said.args[0].startswith("That edit was not made: hidden is a Dense layer") and "\n" not in said.args[0]


def test_the_lesson_task_through_named_operations(experiments, qtbot):
    """"Build a vertical-edge detector by hand and find the digits it fires on", as a lesson would drive it."""
    window, feature = experiments
    call_op = window.context.operations.call
    assert call_op("experiments.apply_preset", "vertical-edge", "conv2d_1", 5)
    qtbot.waitUntil(lambda: call_op("experiments.edits") == ["conv2d_1:5=vertical-edge"], timeout=WAIT_MS)
    with qtbot.waitSignal(feature.checks.firing_task.finished, timeout=WAIT_MS):
        assert call_op("experiments.find_firing_digits")
    view = feature.checks.firing_view
    assert view.isVisible() and len(view.indices()) == 9
    assert view.sentence.text().startswith("<b>conv2d_1 filter 5</b>: Fires most on ")
    assert "Ranked by its map's mean over every position" in view.note.text()
    assert "tie at its peak, 3.00, so the peak cannot rank them" in view.note.text()
    with qtbot.waitSignal(window.inspector.input_changed, timeout=WAIT_MS):
        view.tiles[0].clicked.emit()                                  # the top digit goes onto the canvas
    assert window.inspector.current_input() is not None
    assert window.context.highlight("firing_digits") and feature.panel.current_tab() == "kernel_surgery"


def test_the_settings_are_remembered(capability_window, qtbot, shipped_info):
    window = capability_window("experiments")
    window.show_model(shipped_info)
    window.context.operations.call("experiments.attack", method="pgd", target=4, epsilon=0.25)
    feature = window.capabilities["experiments"]
    feature.sanity.seed_box.setValue(11)
    window.close()
    again = capability_window("experiments")
    restored = again.capabilities["experiments"]
    attack = restored.attack
    assert (attack.method, attack.target, attack.epsilon) == ("pgd", 4, pytest.approx(0.25))
    assert restored.sanity.seed_box.value() == 11 and restored.panel.current_tab() == "attack"
    assert restored.attack_view.slider.value() == 50 and restored.attack_view.epsilon_label.text() == "0.250"


def test_an_rgb_model_is_attacked_and_edited_and_says_what_does_not_apply(experiments, qtbot, compute_client,
                                                                          tmp_path):
    """A 32×32 colour model with a residual block: the painter pages through the stem's 3 colour channels, the
    attack runs on the colour input, and the test-set ranking says in one line why it does not apply."""
    import keras
    from test_any_model_app import save_colour_picture, wide_rgb_model

    window, feature = experiments
    keras.utils.set_random_seed(5)
    path = tmp_path / "rgb.keras"
    wide_rgb_model().save(path)
    window.show_model(call(qtbot, compute_client, "load_model", {"path": path}))
    picture = tmp_path / "colours.png"
    save_colour_picture(picture)
    assert window.inspector.open_image(picture)
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=WAIT_MS)
    assert window.context.operations.call("experiments.show_kernel_surgery", "stem", 3)
    slot = feature.surgery.slot()
    assert (slot.layer, slot.grid, slot.inputs, slot.takes_presets) == ("stem", (3, 3), 3, True)
    assert feature.surgery_view.input_box.isVisible() and feature.surgery_view.input_box.maximum() == 2
    with qtbot.waitSignal(feature.checks.firing_task.failed, timeout=WAIT_MS) as failed:
        feature.checks.find_firing_digits()
    assert failed.args[0].startswith("The test-set views know MNIST and Fashion-MNIST") and "\n" not in failed.args[0]
    assert feature.checks.message.text() == failed.args[0]
    assert window.context.operations.call("experiments.attack", method="fgsm", target=None, epsilon=0.05)
    qtbot.waitUntil(lambda: feature.attack.result() is not None, timeout=WAIT_MS)
    result = feature.attack.result()
    assert result.perturbation.shape == (32, 32, 3) and result.perturbation_linf <= 0.05 + 1e-6
    assert feature.attack_view.attacked_tile.has_image() and not feature.attack_view.show_button.isEnabled()
    assert not feature.attack.show_in_inspector()               # the canvas takes grey inputs only: it says so
    assert feature.attack_view.message.text().startswith("The canvas takes grey inputs only")
