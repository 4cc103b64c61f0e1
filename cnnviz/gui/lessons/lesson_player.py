"""Playing a lesson in the window: the core's `LessonSession` driven by what happens in the app.

The player opens a step (its app actions performed through the named operations, `app_links.perform`),
waits for the learner's task (drew, hovered-unit, clicked-channel, moved-digit: from the inspector's
public signals and `DigitShift`), asks the question with its values computed on the learner's digit by
the compute process (`lesson_values`), takes the answer (typed, chosen, a channel clicked in the grid, a
pixel picked on the drawing), and reveals: the reveal's actions, the target highlighted, the verdict. A
question whose answer comes from a training run waits for the run the reveal starts. The panel
(`lesson_panel.py`) shows `LessonPlayer`'s state after each `changed` and sends the learner's intents.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from cnnviz.core.lessons.actions import ActionCall
from cnnviz.core.lessons.engine import ModelView, Unavailable
from cnnviz.core.lessons.functions import EvaluationError
from cnnviz.core.lessons.pack import LessonPack, PackError, read_pack
from cnnviz.core.lessons.session import (SHIPPED_MODEL_OFFER, AnswerError, AnswerUnavailable, LessonSession,
                                         LessonStateError, Verdict)
from cnnviz.core.lessons.vocabulary import MAX_SHIFT
from cnnviz.gui.lessons.app_links import perform, place_of
from cnnviz.gui.lessons.concealment import Concealment
from cnnviz.gui.lessons.pixel_picker import PixelPicker
from cnnviz.gui.lessons.progress_store import ProgressStore, pack_key

HIGHLIGHT_DELAY_MS = 120    # the reveal's panels are shown and laid out before the outline finds them
ASK_DELAY_MS = 250          # a stroke's many input changes recompute the question's values once


class LessonPlayer(QObject):
    """One window's lesson in play (None between lessons) and everything the lesson panel shows of it."""

    changed = Signal()            # what the panel shows changed
    revealed = Signal(object)     # a Verdict was shown ("right", "wrong", or "pending" while a run trains)

    def __init__(self, context, shift, store: ProgressStore, parent: QObject | None = None):
        super().__init__(parent)
        self._context = context
        self._shift = shift
        self._store = store
        self.concealment = Concealment(context, self)
        self.picker = PixelPicker(context.inspector)
        self.pack: LessonPack | None = None
        self.pack_key = ""
        self.session: LessonSession | None = None
        self._clear_step()
        self.complete = False
        self._waiting_for: str | None = None     # a lesson to start once the model has loaded
        self._run: list | None = None             # the EpochRecords of this lesson's last training run
        self._awaiting_run = False
        self.run_failed = False
        self._pending_actions: tuple[ActionCall, ...] = ()
        self._pending_verdict: Verdict | None = None
        self._serial = 0
        self._ask_timer = QTimer(self)
        self._ask_timer.setSingleShot(True)
        self._ask_timer.setInterval(ASK_DELAY_MS)
        self._ask_timer.timeout.connect(self._compute_ask)
        inspector = context.inspector
        shift.drawn.connect(lambda: self._learner("drew"))
        inspector.input_changed.connect(self._on_input_changed)
        inspector.unit_hovered.connect(self._on_unit_hovered)
        inspector.layer_grid.channel_clicked.connect(self._on_channel_clicked)
        self.picker.picked.connect(self._on_pixel_picked)
        context.model_ready.connect(self._on_model_ready)
        context.training_finished.connect(self._on_training_finished)
        context.training_ended.connect(lambda: QTimer.singleShot(0, self, self._on_training_ended))

    def _clear_step(self) -> None:
        self.verdict: Verdict | None = None
        self.ask = ""
        self.pick = None
        self.values: dict | None = None
        self.message = ("", "info")
        self.checking = False
        self.highlighted: tuple[str, bool] | None = None

    # --- packs and lessons --------------------------------------------------------------------------
    def open_pack(self, folder) -> str:
        """Read the lesson pack in `folder` (its valid lessons; its problems are kept); "" or why not."""
        try:
            pack = read_pack(folder)
        except PackError as exc:
            return str(exc)
        if not pack.lessons:
            return f"{folder} has no valid lesson ({pack.problems[0]})" if pack.problems else f"{folder} has no lesson"
        self.close()
        self.pack, self.pack_key = pack, pack_key(pack.folder)
        self.changed.emit()
        return ""

    def lessons(self) -> list:
        return list(self.pack.lessons) if self.pack is not None else []

    def lesson_by_id(self, lesson_id: str):
        return next((lesson for lesson in self.lessons() if lesson.id == lesson_id), None)

    def start(self, lesson_id: str, from_the_start: bool = False) -> bool:
        """Play lesson `lesson_id` of the pack, where the learner left it (or from its first step)."""
        lesson = self.lesson_by_id(lesson_id)
        if lesson is None:
            return False
        self.close()
        if from_the_start:
            self._store.forget_progress(self.pack_key, lesson.id)
        model = self._context.current_model()
        if model is None:
            self._waiting_for = lesson.id
            self.message = ("The model is still loading: the lesson starts when it is ready.", "info")
            self.changed.emit()
            return True
        self.session = LessonSession(lesson, ModelView.from_model_info(model))
        saved = self._store.progress(self.pack_key, lesson.id)
        if saved is not None and not from_the_start:
            self.session.restore(saved)
        self._store.set_offer_done()
        self._store.set_last_place(self.pack.folder, lesson.id)
        self._run, self._awaiting_run, self.run_failed, self._pending_verdict = None, False, False, None
        self._open_step()
        return True

    def close(self) -> None:
        """Leave the lesson (its progress is kept): everything hidden comes back."""
        if self.session is not None:
            self._save()
        self.session, self.complete, self._waiting_for, self._awaiting_run = None, False, None, False
        self._clear_step()
        self.concealment.lift_all()
        self.picker.deactivate()
        self.changed.emit()

    # --- the step ----------------------------------------------------------------------------------------
    @property
    def lesson(self):
        return None if self.session is None else self.session.lesson

    def task(self) -> ActionCall | None:
        try:
            return None if self.session is None or not self.session.fits else self.session.learner_task
        except EvaluationError:
            return None

    def previous_answer(self) -> dict | None:
        """The saved answer of the current question when it was answered in an earlier session."""
        if self.session is None or self.verdict is not None:
            return None
        return self.session.to_json()["answers"].get(str(self.session.index))

    def next(self) -> None:
        if self.session is None:
            return
        if self.session.next():
            self._open_step()
        else:
            self.complete = True
            self._clear_step()
            self.concealment.lift_all()
            self.picker.deactivate()
            self._save()
            self.changed.emit()

    def back(self) -> None:
        if self.session is not None and (self.complete or self.session.back()):
            self.complete = False
            self._open_step()

    def _open_step(self) -> None:
        session = self.session
        self._clear_step()
        self.picker.deactivate()
        if not session.fits:
            self.concealment.lift_all()
            self.changed.emit()
            return
        problems = []
        try:
            actions = session.entry_actions()
        except EvaluationError as exc:
            actions, problems = (), [str(exc)]
        for action in actions:
            problems.append(perform(self._context.operations, action))
        self.concealment.conceal(session.concealed)
        if session.phase == "pending":          # back at a question whose run was started: its verdict waits
            self.verdict = self._pending_verdict
            if self._run is not None and not self._awaiting_run:
                self._request_values(self._complete)
        task = self.task()
        if task is not None and task.name == "draw-digit" and self._shift.original() is not None:
            session.learner_event("drew")      # a digit is there already: the step uses it
        if session.phase == "asking":
            self._ask_question()
        self._say_problems(problems)
        self._save()
        self.changed.emit()

    def _say_problems(self, problems) -> None:
        problems = [problem for problem in problems if problem]
        if problems:
            self.message = ("; ".join(problems), "warning")

    # --- asking ----------------------------------------------------------------------------------------
    def _ask_question(self) -> None:
        question = self.session.question
        if question.kind == "pick-channel":
            operations = self._context.operations
            inspector = self._context.inspector
            if inspector.layer_names()[inspector.current_layer()] != question.layer:
                operations.call("inspector.set_layer_mode", "maps")
                operations.call("inspector.select_layer", question.layer)
        self._compute_ask()

    def _compute_ask(self) -> None:
        if self.session is not None and self.session.phase == "asking":
            self._request_values(self._on_ask_values)

    def _on_ask_values(self, values: dict) -> None:
        self.values = values
        self.ask = self.session.ask_text(values)
        answer = values.get("answer")
        if isinstance(answer, Unavailable) and answer.reason == "input":
            self.message = ("This question is about your digit: draw one on the canvas first.", "info")
        elif self.message[0].startswith("This question is about your digit"):
            self.message = ("", "info")
        self._arm_picker()
        self.changed.emit()

    def _arm_picker(self) -> None:
        question = self.session.question if self.session is not None else None
        wanted = (question is not None and question.kind == "pick-pixel" and self.session.phase == "asking"
                  and self._shift.original() is not None)
        if wanted and not self.picker.is_active():
            self.picker.activate("Click on your digit: " + (self.ask or question.ask))
        elif not wanted:
            self.picker.deactivate()

    def _request_values(self, then) -> None:
        """Compute the question's values in the compute process on the learner's digit (as drawn, before any
        shift) and the lesson's run; `then(values)` if the step is still the same when they come."""
        self._serial += 1
        serial, session, step = self._serial, self.session, self.session.index
        args = {"values": session.needed_values(), "image": self._shift.original(), "run": self._run}

        def on_reply(result: dict) -> None:
            if serial == self._serial and self.session is session and session.index == step:
                then(result["values"])

        def on_error(error) -> None:
            if serial == self._serial and self.session is session:
                self.checking = False
                self.message = ("The compute process restarted: commit again." if error.crashed
                                else f"The answer could not be computed: {error}", "error")
                self.changed.emit()

        self._context.client.request("lesson_values", args, on_reply=on_reply, on_error=on_error)

    # --- answering -----------------------------------------------------------------------------------
    def commit(self, given=None) -> None:
        """Commit the learner's answer (`given`: typed text or an option's value; None: the pick)."""
        session = self.session
        if session is None or session.phase != "asking" or self.checking:
            return
        given = self.pick if given is None else given
        if given is None or (isinstance(given, str) and not given.strip()):
            self.message = (_WHAT_TO_ANSWER[session.question.kind], "info")
            self.changed.emit()
            return
        try:
            session.commit(given, {})        # checks the answer's kind only: the values are not asked for yet
        except AnswerError as exc:
            self.message = (_sentence(str(exc)), "error")
            self.changed.emit()
            return
        except AnswerUnavailable:
            pass
        self.checking, self.message = True, ("", "info")
        self.changed.emit()
        self._request_values(lambda values: self._judge(given, values))

    def _judge(self, given, values: dict) -> None:
        self.checking = False
        try:
            verdict = self.session.commit(given, values)
        except (AnswerError, AnswerUnavailable) as exc:
            self.message = (_sentence(str(exc)), "error" if isinstance(exc, AnswerError) else "info")
            self.changed.emit()
            return
        except LessonStateError:
            return
        self.values = values
        self._show_verdict(verdict)

    def _show_verdict(self, verdict: Verdict) -> None:
        self.verdict = verdict
        self.picker.deactivate()
        self.concealment.conceal(self.session.concealed)
        problems = [perform(self._context.operations, action) for action in verdict.actions]
        if verdict.status == "pending":
            self._pending_verdict, self._pending_actions = verdict, verdict.actions
            self._awaiting_run = not any(problems) and any(a.name == "train-from-scratch" for a in verdict.actions)
            self.run_failed = not self._awaiting_run
        self._say_problems(problems)
        if verdict.highlight:
            self.show_again()
        self._save()
        self.changed.emit()
        self.revealed.emit(verdict)

    def show_again(self) -> None:
        """Highlight the reveal's target (again): its panel comes forward, an outline flashes around it."""
        if self.verdict is None or not self.verdict.highlight:
            return
        place = place_of(self.verdict.highlight)
        operations = self._context.operations
        if place.show and operations.has(place.show):
            operations.call(place.show)
        QTimer.singleShot(HIGHLIGHT_DELAY_MS, self, lambda name=self.verdict.highlight: self._flash(name))

    def _flash(self, name: str) -> None:
        place = place_of(name)
        shown = self._context.highlight(place.targets[0])
        self.highlighted = (name, shown)
        if not shown:
            missing = place.targets[0] not in self._context.targets.names()
            self.message = (f"{place.about[:1].upper()}{place.about[1:]} " +
                            ("is not part of this window yet: the answer is in the verdict below." if missing
                             else "is not on screen now."), "info")
        self.changed.emit()

    def retry(self) -> None:
        """Ask the revealed question again (the first answer still counts for the progress)."""
        if self.session is None or self.session.phase != "revealed":
            return
        self.session.retry()
        self._clear_step()
        self.concealment.conceal(self.session.concealed)
        self._ask_question()
        self.changed.emit()

    def retry_run(self) -> None:
        """Start the pending question's training run again (it did not start, or ended without an epoch)."""
        if self.session is None or self.session.phase != "pending":
            return
        problems = [perform(self._context.operations, action) for action in self._pending_actions]
        self._awaiting_run = not any(problems)
        self.run_failed = not self._awaiting_run
        self.message = ("", "info")
        self._say_problems(problems)
        self.changed.emit()

    def offer_shipped_model(self) -> None:
        """Open the shipped MNIST model (for a lesson that does not fit the model shown)."""
        self.message = ("", "info")
        self._say_problems([perform(self._context.operations, SHIPPED_MODEL_OFFER)])
        self.changed.emit()

    def move(self, dx: int, dy: int) -> None:
        """The learner moves the digit by (dx, dy) more pixels (the move-digit task); (0, 0): back."""
        if dx == dy == 0:
            offset = (0, 0)
        else:
            x, y = self._shift.offset()
            offset = (max(-MAX_SHIFT, min(MAX_SHIFT, x + dx)), max(-MAX_SHIFT, min(MAX_SHIFT, y + dy)))
        if self._context.operations.call("lessons.shift_digit", *offset) and offset != (0, 0):
            self._learner("moved-digit")

    # --- what happens in the window --------------------------------------------------------------------
    def _learner(self, event: str, layer: str | None = None) -> None:
        if self.session is not None and self.session.fits and self.session.learner_event(event, layer):
            self._save()
            self.changed.emit()

    def _on_input_changed(self, _image) -> None:
        if self.session is not None and self.session.phase == "asking":
            self._ask_timer.start()

    def _on_unit_hovered(self, unit) -> None:
        names = self._context.inspector.layer_names()
        if unit is not None and 0 <= unit.layer < len(names):
            self._learner("hovered-unit", names[unit.layer])

    def _on_channel_clicked(self, channel: int) -> None:
        inspector = self._context.inspector
        layer = inspector.layer_names()[inspector.current_layer()]
        self._learner("clicked-channel", layer)
        question = self.session.question if self.session is not None else None
        if question is not None and question.kind == "pick-channel" and self.session.phase == "asking" \
                and layer == question.layer and inspector.current_layer_mode() == "maps":
            self.pick = int(channel)
            self.changed.emit()

    def _on_pixel_picked(self, row: int, col: int) -> None:
        if self.session is not None and self.session.phase == "asking":
            self.pick = (row, col)
            self.changed.emit()

    def _on_model_ready(self) -> None:
        model = self._context.current_model()
        if model is None:
            return
        if self._waiting_for is not None:
            waiting, self._waiting_for = self._waiting_for, None
            self.start(waiting)
            return
        if self.session is None:
            return
        fitted = self.session.fits
        self.session.set_model(ModelView.from_model_info(model))
        if self.session.fits and not fitted:
            self._open_step()          # the shipped model came back: the step can open now
        elif not self.session.fits:
            self.concealment.lift_all()
            self.picker.deactivate()
            self.changed.emit()
        elif self.session.phase == "asking":
            self._compute_ask()

    def _on_training_finished(self, result) -> None:
        if not self._awaiting_run or self.session is None:
            return
        self._awaiting_run = False
        history = list(result.history or [])
        if not history:
            self.run_failed = True
            self.message = ("The run ended before its first epoch: start it again.", "warning")
            self.changed.emit()
            return
        self._run = history
        self.session.set_model(ModelView.from_model_info(self._context.current_model()))
        if self.session.phase == "pending":     # else when the learner is back at its step (`_open_step`)
            self._request_values(self._complete)

    def _on_training_ended(self) -> None:
        """A run ended without a result (it failed, or was cut before the end was announced)."""
        if self._awaiting_run:
            self._awaiting_run, self.run_failed = False, True
            self.message = ("The training run stopped without a result: start it again.", "warning")
            self.changed.emit()

    def _complete(self, values: dict) -> None:
        try:
            verdict = self.session.complete(values)
        except (AnswerUnavailable, LessonStateError) as exc:
            self.message = (_sentence(str(exc)), "warning")
            self.changed.emit()
            return
        self.values = values
        self._show_verdict(verdict)

    def _save(self) -> None:
        if self.session is not None:
            self._store.save_progress(self.pack_key, self.session.lesson.id, self.session.to_json())


_WHAT_TO_ANSWER = {"number": "Type a number first.", "choice": "Choose one of the answers first.",
                   "pick-channel": "Click a channel in the maps first.",
                   "pick-pixel": "Click a place on your digit (the canvas) first."}


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
