"""The Lessons panel in a real window on the session's compute process: every app action of the lesson
vocabulary through the named operations, every learner task completed by real input, what a question
hides until its reveal, a lesson that does not fit the model, answers of the wrong kind, progress kept
across windows, the first-launch offer, lesson packs and the keyboard."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QPushButton, QToolButton, QToolTip

sys.path.insert(0, str(Path(__file__).parent))
from _compute import call  # noqa: E402
from _mouse import hover  # noqa: E402

from cnnviz.core.lessons.actions import resolve_action  # noqa: E402
from cnnviz.core.robustness import shift_image  # noqa: E402
from cnnviz.core.lessons.expressions import parse_call  # noqa: E402
from cnnviz.gui.lessons.app_links import perform  # noqa: E402
from cnnviz.gui.lessons.concealment import Cover  # noqa: E402
from cnnviz.gui.seam.selection import Unit  # noqa: E402

pytestmark = pytest.mark.slow
WAIT_MS = 120_000
LEFT = Qt.MouseButton.LeftButton
CAPABILITIES = ("training", "models", "units", "lab", "lessons")
TASKS = """---
id: tasks
title: Every task
concepts: testing
minutes: 3
fits: digit-model()
---

## Click

```action
select-layer(conv2d_1)
click-channel(conv2d_1)
```

Click a channel.

## Hover

```action
select-layer(conv2d_2)
hover-unit(conv2d_2)
```

Hover a unit.

## Move

```action
move-digit()
```

Move it.

## Draw

```action
draw-digit(3)
```

Draw a 3.
"""

RUN = """---
id: run
title: A short run
concepts: testing
minutes: 2
fits: digit-model()
---

## The run

```question
kind: number
ask: What test accuracy, in %, after one epoch on 100 digits?
answer: percent(run(test_accuracy))
let train: percent(run(accuracy))
tolerance: 100
reveal: train-from-scratch(digits=100, epochs=1, seed=3)
highlight: training-curves
right: {answer} % (training: {train} %).
wrong: {answer} % (training: {train} %).
```

## After

Something else.
"""


@pytest.fixture
def window(capability_window, qtbot, shipped_info, digit_seven):
    window = capability_window(*CAPABILITIES)
    window.show()
    window.show_model(shipped_info)
    window.inspector.show_input(digit_seven)
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=WAIT_MS)
    window.capabilities["lessons"].show_panel()
    return window


def act(window, text: str) -> str:
    """Perform the lesson action written `text` in `window` as a lesson step would."""
    action = resolve_action(parse_call(text, bare_name_is_call=True), {}, tuple(window.current.layers))
    return perform(window.context.operations, action)


def go_to_question(qtbot, player, lesson_id: str, number: int = 0):
    """Start `lesson_id` from its first step and go on to its question `number` (0: the first); its step."""
    assert player.start(lesson_id, from_the_start=True)
    asked = -1
    while True:
        if player.session.question is not None:
            asked += 1
            if asked == number:
                break
        player.next()
    qtbot.waitUntil(lambda: player.values is not None and bool(player.ask), timeout=WAIT_MS)
    return player.session.step


def test_every_app_action_works_through_the_named_operations(window, qtbot, mnist, shipped_model_path):
    inspector, operations = window.inspector, window.context.operations
    lessons, lab = window.capabilities["lessons"], window.capabilities["lab"]
    assert act(window, "select-layer(conv2d_2)") == "" and inspector.current_layer() == 2
    assert act(window, "show-kernels(conv2d_2)") == "" and inspector.current_layer_mode() == "kernels"
    assert act(window, "enlarge-channel(conv2d_3, 5)") == ""
    assert (inspector.current_layer(), inspector.current_channel(), inspector.current_layer_mode()) == (4, 5, "maps")
    assert act(window, "pin-unit(conv2d_3, unit(6, 1, 2))") == ""
    assert operations.call("units.focused") == Unit(4, 6, 1, 2) and window.capabilities["units"].focus.is_pinned()
    assert act(window, "scale-maps(layer)") == "" and inspector.normalisation() == "layer"
    assert act(window, "scale-maps(channel)") == "" and inspector.normalisation() == "channel"
    digit = mnist.x_test[1].astype(np.float32) / 255
    assert act(window, "load-test-digit(1)") == ""
    qtbot.waitUntil(lambda: np.array_equal(inspector.current_input(), digit), timeout=WAIT_MS)
    assert act(window, "shift-digit(2, -1)") == ""
    qtbot.waitUntil(lambda: np.array_equal(inspector.current_input(), shift_image(digit, 2, -1)), timeout=WAIT_MS)
    assert np.array_equal(lessons.shift.original(), digit) and lessons.shift.offset() == (2, -1)  # still "your" digit
    assert act(window, "shift-digit(0, 0)") == ""
    qtbot.waitUntil(lambda: np.array_equal(inspector.current_input(), digit), timeout=WAIT_MS)
    assert act(window, "open-variant(no-pooling)") == ""
    assert lab.dock.isVisible() and lab.lab.side_by_side.pair() == ("seed", "no-pooling")
    assert act(window, "show-lab-results()") == "" and lab.lab.tabs.currentWidget() is lab.lab.table
    finished = []
    window.context.training_finished.connect(finished.append)
    assert act(window, "train-from-scratch(digits=100, epochs=1, seed=5)") == ""
    training = window.capabilities["training"]
    config = training.run.config
    assert (config.epochs, config.limit, config.seed, config.batch_size, config.optimizer) == (1, 100, 5, 64, "rmsprop")
    assert "one run at a time" in act(window, "train-from-scratch(digits=100, epochs=1)")
    qtbot.waitUntil(lambda: bool(finished), timeout=WAIT_MS * 3)
    assert finished[0].status == "finished" and len(finished[0].history) == 1
    assert window.current.path is None                          # the run's model is the window's now
    assert act(window, "open-shipped-model()") == ""
    qtbot.waitUntil(lambda: window.current.path is not None and Path(window.current.path) == shipped_model_path,
                    timeout=WAIT_MS)


def test_an_action_of_a_part_not_installed_is_said_not_done(capability_window, qtbot, shipped_info):
    window = capability_window("units", "lessons")        # no Lab, no training
    window.show_model(shipped_info)
    assert "no lab.show_variant" in act(window, "open-variant(strided)")
    assert "no training.start" in act(window, "train-from-scratch(digits=100, epochs=1)")
    assert act(window, "select-layer(conv2d_1)") == ""


def test_every_learner_task_waits_for_the_learner(window, qtbot, tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "01-tasks.md").write_text(TASKS, encoding="utf-8")
    lessons = window.capabilities["lessons"]
    player, step = lessons.player, lessons.panel.step_page
    inspector = window.inspector
    assert window.context.operations.call("lessons.open_pack", pack)
    assert lessons.panel.list_page.lesson_ids() == ["tasks"] and lessons.panel.list_page.shipped.isVisible()
    assert window.context.operations.call("lessons.start", "tasks")
    session = player.session
    grid = inspector.layer_grid
    assert not session.learner_done and step.task.text().startswith("✎ Click a channel of conv2d_1")
    qtbot.mouseClick(grid.viewport(), LEFT, pos=grid.cell_centre(4))          # click-channel
    assert session.learner_done and step.task.text().startswith("✓")
    player.next()
    assert not session.learner_done and inspector.current_layer() == 2
    hover(qtbot, grid.viewport(), grid.unit_centre(7, 2, 3))                   # hover-unit
    qtbot.waitUntil(lambda: session.learner_done, timeout=WAIT_MS)
    player.next()
    assert not session.learner_done and step.moves.isVisible()
    before = inspector.current_input().copy()
    right = next(button for button in step.moves.findChildren(QToolButton) if button.text() == "→")
    qtbot.mouseClick(right, LEFT)                                              # move-digit
    assert session.learner_done
    qtbot.waitUntil(lambda: np.array_equal(inspector.current_input(), shift_image(before, 1, 0)), timeout=WAIT_MS)
    inspector.clear_input()
    qtbot.waitUntil(lambda: inspector.current_input() is None, timeout=WAIT_MS)
    player.next()
    assert not session.learner_done and step.task.text() == "✎ Draw a digit on the canvas, a 3."
    canvas = inspector.canvas
    side = min(canvas.width(), canvas.height())
    qtbot.mousePress(canvas, LEFT, pos=QPoint(side // 3, side // 4))           # draw-digit: a stroke
    for k in range(1, 12):
        qtbot.mouseMove(canvas, QPoint(side // 3 + k * side // 30, side // 4 + k * side // 20))
    qtbot.mouseRelease(canvas, LEFT, pos=QPoint(side // 3 + side * 11 // 30, side // 4 + side * 11 // 20))
    qtbot.waitUntil(lambda: session.learner_done, timeout=WAIT_MS)
    assert np.array_equal(lessons.shift.original(), inspector.current_input())


def test_a_question_hides_what_would_give_its_answer_away(window, qtbot):
    player = window.capabilities["lessons"].player
    views = window.inspector.views
    go_to_question(qtbot, player, "feature-maps")                        # "how many maps?", conceal: pipeline
    covers = [cover for cover in views.pipeline.findChildren(Cover) if cover.isVisible()]
    assert len(covers) == 1 and covers[0].geometry() == views.pipeline.labels_rect().toAlignedRect()
    assert any(cover.isVisible() for cover in views.layer_title.findChildren(Cover))
    tip = views.pipeline.block_rect(0).center().toPoint()
    QApplication.sendEvent(views.pipeline, QHelpEvent(QHelpEvent.Type.ToolTip, tip, views.pipeline.mapToGlobal(tip)))
    assert not QToolTip.isVisible()                                      # the blocks' tooltips tell the shapes
    window.capabilities["lessons"].panel.step_page.number.setText("32")
    window.capabilities["lessons"].panel.step_page.commit()
    qtbot.waitUntil(lambda: player.verdict is not None, timeout=WAIT_MS)
    assert not any(cover.isVisible() for cover in views.pipeline.findChildren(Cover))
    assert not any(cover.isVisible() for cover in views.layer_title.findChildren(Cover))
    QApplication.sendEvent(views.pipeline, QHelpEvent(QHelpEvent.Type.ToolTip, tip, views.pipeline.mapToGlobal(tip)))
    assert QToolTip.isVisible() and "26×26×32" in QToolTip.text()
    QToolTip.hideText()

    units = window.capabilities["units"]
    go_to_question(qtbot, player, "spatial-hierarchy")                   # conceal: receptive-field
    assert not units.focus.fields_shown()
    assert window.context.operations.call("units.pin", "conv2d_2", 3, 2, 2)
    assert window.inspector.canvas.unit_box() is None and window.context.targets.locate("receptive_field") is None
    assert "sees input rows" not in units.panel.text()
    go_to_question(qtbot, player, "convolution-window")                  # conceal: unit-panel
    dock = units.dock
    dock.show()
    dock.raise_()
    assert any(cover.isVisible() for cover in dock.widget().findChildren(Cover))
    player.close()                                                       # leaving the lesson shows it all again
    assert units.focus.fields_shown() and not any(cover.isVisible() for cover in dock.widget().findChildren(Cover))
    assert window.context.operations.call("units.pin", "conv2d_2", 3, 2, 2)
    assert window.context.targets.locate("receptive_field") is not None


def test_a_pick_pixel_is_a_pixel_of_the_input(window, qtbot):
    """The picker maps a click on the drawing back to the 28×28 input (here shown whole on the canvas)."""
    player = window.capabilities["lessons"].player
    go_to_question(qtbot, player, "convolution-window", number=4)        # "click where channel … fires most"
    picker = player.picker
    assert picker.is_active() and player.session.question.kind == "pick-pixel"
    canvas = window.inspector.canvas
    drawing = canvas.image().copy()
    target = canvas.target_rect()
    cell = target.width() / 28
    point = QPoint(int(target.x() + 20.5 * cell), int(target.y() + 6.5 * cell))   # row 6, column 20
    qtbot.mouseClick(picker, LEFT, pos=point)
    assert player.pick == (6, 20) and "row 6, column 20" in window.capabilities["lessons"].panel.step_page.pick.text()
    assert np.array_equal(canvas.image(), drawing)                        # the click drew nothing


def test_an_answer_of_the_wrong_kind_is_said_and_the_question_stays(window, qtbot):
    lessons = window.capabilities["lessons"]
    player, step = lessons.player, lessons.panel.step_page
    go_to_question(qtbot, player, "feature-maps")
    qtbot.keyClicks(step.number, "thirty")
    qtbot.keyClick(step.number, Qt.Key.Key_Return)
    assert player.message == ("Type a number, not 'thirty'.", "error") and step.message.isVisible()
    assert player.session.phase == "asking" and player.verdict is None and step.commit_button.isEnabled()
    step.number.clear()
    qtbot.mouseClick(step.commit_button, LEFT)
    assert player.message[0] == "Type a number first." and player.verdict is None
    qtbot.keyClicks(step.number, "32")
    qtbot.keyClick(step.number, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: player.verdict is not None, timeout=WAIT_MS)
    assert player.verdict.status == "right" and step.headline.text() == "✓ Right"


def test_a_lesson_that_does_not_fit_offers_the_shipped_model(window, qtbot, compute_client, shipped_model_path):
    from cnnviz.gui.models.model_notice import fashion_model_path

    window.show_model(call(qtbot, compute_client, "load_model", {"path": fashion_model_path()}))
    lessons = window.capabilities["lessons"]
    player, step = lessons.player, lessons.panel.step_page
    window.inspector.select_layer("conv2d_3")
    assert player.start("feature-maps", from_the_start=True)
    session = player.session
    assert not session.fits and step.fit.isVisible() and "does not fit" in step.fit_text.text()
    assert not step.question.isVisible() and not step.text.isVisible()
    player.next()
    player.next()                                         # "The presence of a fact": select-layer, scale-maps
    assert window.inspector.current_layer() == 4 and window.inspector.normalisation() == "channel"   # not done
    qtbot.mouseClick(step.offer, LEFT)
    qtbot.waitUntil(lambda: session.fits, timeout=WAIT_MS)
    assert Path(window.current.path) == shipped_model_path
    assert not step.fit.isVisible() and step.text.isVisible()
    assert window.inspector.current_layer() == 0 and window.inspector.normalisation() == "layer"   # done now


def test_progress_is_kept_per_lesson_and_shown_in_the_list(capability_window, qtbot, shipped_info, digit_seven):
    first = capability_window(*CAPABILITIES)
    first.show_model(shipped_info)
    first.inspector.show_input(digit_seven)
    lessons = first.capabilities["lessons"]
    player, panel = lessons.player, lessons.panel
    go_to_question(qtbot, player, "padding")                             # "how wide is conv2d_1's map?"
    index = player.session.index
    qtbot.keyClicks(panel.step_page.number, "26")
    qtbot.keyClick(panel.step_page.number, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: player.verdict is not None, timeout=WAIT_MS)
    panel.next_action.trigger()
    lesson = player.session.lesson
    panel.list_action.trigger()
    assert panel.stack.currentWidget() is panel.list_page
    row = panel.list_page.lesson_ids().index("padding")
    text = panel.list_page.list.item(row).text()
    assert f"{index + 1} of {len(lesson.steps)} steps · 1 of {lesson.num_questions} right" in text
    first.close()
    second = capability_window(*CAPABILITIES)                             # the settings of the same user
    second.show_model(shipped_info)
    chooser = second.capabilities["lessons"].panel.list_page
    assert chooser.list.currentItem().data(Qt.ItemDataRole.UserRole) == "padding"   # where the learner was
    assert chooser.list.item(row).text() == text and chooser.start.text() == f"Continue at step {index + 2}"
    qtbot.mouseClick(chooser.start, LEFT)
    session = second.capabilities["lessons"].player.session
    assert session.index == index + 1 and session.progress.right == 1
    assert not second.capabilities["lessons"].offer.isVisible()          # a lesson was started: no offer


def test_the_first_launch_offers_lesson_one_quietly(capability_window, qtbot, shipped_info):
    window = capability_window(*CAPABILITIES)
    window.show()
    window.show_model(shipped_info)
    lessons = window.capabilities["lessons"]
    assert lessons.offer.isVisible() and "Lesson 1, “Feature maps and channels”" in lessons.offer.text.text()
    assert not lessons.dock.isVisible() and QApplication.activeModalWidget() is None
    start = lessons.offer.findChild(QPushButton)
    qtbot.mouseClick(start, LEFT)
    assert lessons.dock.isVisible() and lessons.player.session.lesson.id == "feature-maps"
    assert not lessons.offer.isVisible()
    again = capability_window(*CAPABILITIES)
    again.show()
    assert not again.capabilities["lessons"].offer.isVisible()


def test_a_dismissed_offer_stays_dismissed(capability_window, qtbot):
    window = capability_window("lessons")
    window.show()
    offer = window.capabilities["lessons"].offer
    close = next(button for button in offer.findChildren(QToolButton) if button.text() == "✕")
    qtbot.mouseClick(close, LEFT)
    assert not offer.isVisible()
    again = capability_window("lessons")
    again.show()
    assert not again.capabilities["lessons"].offer.isVisible()


def test_help_lessons_the_toolbar_and_a_pack_that_is_not_one(capability_window, qtbot, tmp_path):
    window = capability_window("lessons")
    window.show()
    lessons = window.capabilities["lessons"]
    help_menu = window.context.menu("Help")
    assert help_menu.actions()[0] is lessons.show_action and lessons.show_action.shortcut().toString() == "F1"
    assert lessons.show_action in window.context.targets.widget("toolbar").actions()
    assert lessons.open_pack_action in window.context.menu("File").actions()
    help_menu.actions()[0].trigger()
    assert lessons.dock.isVisible() and len(lessons.panel.list_page.lesson_ids()) == 9
    assert not lessons.panel.list_page.shipped.isVisible()
    (tmp_path / "notes.txt").write_text("not a lesson")
    assert not window.context.operations.call("lessons.open_pack", tmp_path)
    assert window.last_message_box is not None and "no lesson" in window.last_message_box.text()
    assert len(lessons.panel.list_page.lesson_ids()) == 9                 # the shipped lessons stay


def test_keyboard_next_and_previous_step(window, qtbot):
    lessons = window.capabilities["lessons"]
    player, panel = lessons.player, lessons.panel
    assert player.start("strides", from_the_start=True)
    assert panel.next_action.shortcut().toString() == "Ctrl+PgDown" and panel.back_action.shortcut().toString() \
        == "Ctrl+PgUp"
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    window.inspector.setFocus()
    qtbot.keyClick(window.inspector, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert player.session.index == 1
    qtbot.keyClick(window.inspector, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier)
    assert player.session.index == 0


def test_a_pending_answer_waits_for_its_run_even_when_the_learner_goes_on(window, qtbot, tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "run.md").write_text(RUN, encoding="utf-8")
    lessons = window.capabilities["lessons"]
    player, step = lessons.player, lessons.panel.step_page
    finished = []
    window.context.training_finished.connect(finished.append)
    assert lessons.open_pack(pack) and lessons.start("run")
    qtbot.waitUntil(lambda: player.values is not None, timeout=WAIT_MS)
    qtbot.keyClicks(step.number, "50")
    qtbot.keyClick(step.number, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: player.verdict is not None, timeout=WAIT_MS)
    assert player.verdict.status == "pending" and window.is_training() and step.headline.text().startswith("⏳")
    player.next()                                            # on to the next step while it trains
    qtbot.waitUntil(lambda: bool(finished), timeout=WAIT_MS * 3)
    assert player.session.index == 1 and player.verdict is None
    player.back()
    qtbot.waitUntil(lambda: player.verdict is not None and player.verdict.status != "pending", timeout=WAIT_MS)
    record = finished[0].history[-1]
    assert player.verdict.status == "right"                  # 50 ± 100 holds any accuracy
    assert player.verdict.answer == pytest.approx(record.test_accuracy * 100)
    assert f"{round(record.test_accuracy * 100, 2):g}" in step.answer.text()


def test_a_lesson_moves_the_digit_through_the_move_it_panel(capability_window, qtbot, shipped_info, digit_seven):
    """With issue 21's Move it panel in the window, a lesson's shift-digit goes through its operation: the panel
    shows the same move of the same digit (its plot and bars follow), and the lesson keeps the digit as drawn."""
    from cnnviz.gui.robustness.move import Move

    window = capability_window("robustness", "lessons")
    window.show()
    window.show_model(shipped_info)
    window.inspector.show_input(digit_seven)
    qtbot.waitUntil(lambda: window.inspector.current_outputs() is not None, timeout=WAIT_MS)
    shift, panel, inspector = window.capabilities["lessons"].shift, window.capabilities["robustness"].panel, \
        window.inspector
    drawn = shift.original().copy()
    assert shift.shift(3, -2)
    assert panel.current_move() == Move(3, -2) and np.array_equal(panel.original(), drawn)
    qtbot.waitUntil(lambda: np.array_equal(inspector.current_input(), shift_image(drawn, 3, -2)), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None, timeout=WAIT_MS)
    assert shift.offset() == (3, -2) and np.array_equal(shift.original(), drawn)   # still the digit as drawn
    assert panel.current_move() == Move(3, -2)                                    # the panel did not take it as new
    assert not shift.shift(11, 0) and panel.current_move() == Move(3, -2)       # beyond the lessons' range
    assert shift.shift(0, 0) and panel.current_move() == Move()
    qtbot.waitUntil(lambda: np.array_equal(inspector.current_input(), drawn), timeout=WAIT_MS)
    assert np.array_equal(shift.original(), drawn) and shift.offset() == (0, 0)
