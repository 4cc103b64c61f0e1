"""The lesson panel's page for one step: its text, the learner's task, the question and the verdict.

It only shows the `LessonPlayer`'s state (`refresh()` after each `changed`) and sends what the learner
does to it: an answer typed or chosen, Commit, Next and Back, Show me, Ask again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QScrollArea, QSizePolicy, QStackedWidget, QTextBrowser,
                               QToolButton, QVBoxLayout, QWidget)

from cnnviz.core.lessons.functions import format_value

VERDICT_STYLES = {   # status -> (headline, background, text colour)
    "right": ("✓ Right", "#1f4d2b", "#d9f5df"),
    "wrong": ("✗ Not quite", "#5c2a1f", "#ffe1d7"),
    "pending": ("⏳ Training: the answer comes when the run ends", "#1f3c5c", "#d7e9ff"),
}
MESSAGE_COLOURS = {"info": "palette(text)", "warning": "#d9a400", "error": "#e0523f"}
TASKS = {   # a learner action -> what the panel asks of the learner
    "draw-digit": "Draw a digit on the canvas{hint}.",
    "hover-unit": "Move the mouse over the maps of {layer}.",
    "click-channel": "Click a channel of {layer} in the maps.",
    "move-digit": "Move your digit with the arrows below.",
}
MOVES = (("←", -1, 0, "Move the digit 1 pixel left"), ("→", 1, 0, "Move the digit 1 pixel right"),
         ("↑", 0, -1, "Move the digit 1 pixel up"), ("↓", 0, 1, "Move the digit 1 pixel down"),
         ("⟲", 0, 0, "Put the digit back where it was drawn"))


def _label(text: str = "", wrap: bool = True, rich: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class StepView(QWidget):
    """One step of the lesson `player` plays; `actions` are the panel's Commit, Next, Back, Lessons actions."""

    def __init__(self, player, actions, parent: QWidget | None = None):
        super().__init__(parent)
        self._player = player
        self._actions = actions
        self._choices = QButtonGroup(self)
        self._choices.setExclusive(True)
        self._choice_keys: tuple = ()
        self._build()

    # --- building -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.title = _label()
        self.title.setStyleSheet("font-weight: bold; font-size: 15px;")
        self.step_title = _label()
        self.step_title.setStyleSheet("font-weight: bold;")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMaximumHeight(14)
        self.progress.setToolTip("Steps done in this lesson (an answered question's step is done once you go on)")
        self.fit = QFrame()
        self.fit.setObjectName("lesson_fit")
        self.fit.setStyleSheet("#lesson_fit { background: #5c4a12; border-radius: 4px; } "
                               "#lesson_fit QLabel { color: #fff0c2; }")
        self.fit_text = _label()
        self.offer = QPushButton("Open the shipped MNIST model")
        self.offer.setToolTip("Make the notes' MNIST convnet, shipped with cnnviz, the current model")
        self.offer.clicked.connect(self._player.offer_shipped_model)
        fit_layout = QVBoxLayout(self.fit)
        fit_layout.addWidget(self.fit_text)
        fit_layout.addWidget(self.offer, 0, Qt.AlignmentFlag.AlignLeft)
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setFrameShape(QFrame.Shape.NoFrame)
        self.text.viewport().setAutoFillBackground(False)
        self.text.setStyleSheet("QTextBrowser { background: transparent; }")
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.text.document().documentLayout().documentSizeChanged.connect(self._fit_text_height)
        self.task = _label()
        self.task.setObjectName("lesson_task")
        self.moves = QWidget()
        moves = QHBoxLayout(self.moves)
        moves.setContentsMargins(0, 0, 0, 0)
        for text, dx, dy, tip in MOVES:
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, dx=dx, dy=dy: self._player.move(dx, dy))
            moves.addWidget(button)
        moves.addStretch(1)
        self.question = self._build_question()
        self.verdict = self._build_verdict()
        self.message = _label()
        self.complete = self._build_complete()

        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(8, 4, 8, 8)
        for widget in (self.fit, self.step_title, self.text, self.task, self.moves, self.question, self.verdict,
                       self.message, self.complete):
            column.addWidget(widget)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        nav = QHBoxLayout()
        for key in ("back", "list", "next"):
            button = QToolButton()
            button.setDefaultAction(self._actions[key])
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            nav.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        header = QVBoxLayout()
        header.setContentsMargins(8, 6, 8, 0)
        header.addWidget(self.title)
        header.addWidget(self.progress)
        layout.addLayout(header)
        layout.addWidget(scroll, 1)
        layout.addLayout(nav)

    def _build_question(self) -> QGroupBox:
        box = QGroupBox("Predict first")
        box.setToolTip("Answer before you look: the app then shows the answer on your own digit")
        self.ask = _label()
        self.ask.setStyleSheet("font-weight: bold;")
        self.answers = QStackedWidget()
        self.number = QLineEdit()
        self.number.setPlaceholderText("Your number")
        self.number.setToolTip("Type a number (1,000 and 1000 are the same; 2,5 is 2.5), then Enter")
        self.number.returnPressed.connect(self.commit)
        self.choice_box = QWidget()
        self.choice_grid = QGridLayout(self.choice_box)
        self.choice_grid.setContentsMargins(0, 0, 0, 0)
        self.pick = _label()
        self.pick.setObjectName("lesson_pick")
        for page in (self.number, self.choice_box, self.pick):
            self.answers.addWidget(page)
        self.commit_button = QPushButton("Commit")
        self.commit_button.setToolTip("Lock in your answer and see the real one (Enter)")
        self.commit_button.setDefault(True)
        self.commit_button.clicked.connect(self.commit)
        row = QHBoxLayout()
        row.addWidget(self.answers, 1)
        row.addWidget(self.commit_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(box)
        layout.addWidget(self.ask)
        layout.addLayout(row)
        self.previous = _label()
        layout.addWidget(self.previous)
        return box

    def _build_verdict(self) -> QFrame:
        frame = QFrame()
        frame.setObjectName("lesson_verdict")
        self.headline = _label()
        self.headline.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.answer = _label()
        self.explanation = _label()
        self.show_me = QPushButton("Show me")
        self.show_me.setToolTip("Point at the part of the window that holds the answer again")
        self.show_me.clicked.connect(self._player.show_again)
        self.again = QPushButton("Ask me again")
        self.again.setToolTip("Answer this question once more (your first answer still counts)")
        self.again.clicked.connect(self._player.retry)
        self.run_again = QPushButton("Start the run again")
        self.run_again.setToolTip("Start the lesson's training run again")
        self.run_again.clicked.connect(self._player.retry_run)
        buttons = QHBoxLayout()
        for button in (self.show_me, self.again, self.run_again):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(frame)
        layout.addWidget(self.headline)
        layout.addWidget(self.answer)
        layout.addWidget(self.explanation)
        layout.addLayout(buttons)
        return frame

    def _build_complete(self) -> QFrame:
        frame = QFrame()
        frame.setObjectName("lesson_complete")
        frame.setStyleSheet("#lesson_complete { background: #1f4d2b; border-radius: 4px; } "
                            "#lesson_complete QLabel { color: #d9f5df; }")
        self.complete_text = _label()
        self.next_lesson = QPushButton("Next lesson")
        self.next_lesson.setToolTip("Start the next lesson of the pack")
        layout = QVBoxLayout(frame)
        layout.addWidget(self.complete_text)
        layout.addWidget(self.next_lesson, 0, Qt.AlignmentFlag.AlignLeft)
        return frame

    def _fit_text_height(self, size) -> None:
        self.text.setFixedHeight(int(size.height()) + 8)

    # --- intent -----------------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Enter commits (also from an option button, which leaves Enter to its parent)."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.commit()
            return
        super().keyPressEvent(event)

    def commit(self) -> None:
        """Commit what the learner typed, chose or picked."""
        question = self._player.session.question if self._player.session is not None else None
        if question is None:
            return
        if question.kind == "number":
            self._player.commit(self.number.text())
        elif question.kind == "choice":
            chosen = self._choices.checkedId()
            self._player.commit(self._choice_keys[chosen] if chosen >= 0 else "")
        else:
            self._player.commit()

    # --- showing ------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        player = self._player
        session = player.session
        if session is None:
            return
        lesson, progress = session.lesson, session.progress
        self.title.setText(lesson.title)
        self.progress.setRange(0, progress.steps)
        self.progress.setValue(progress.steps_done)
        self.progress.setFormat(f"step {progress.step + 1} of {progress.steps}")
        self.fit.setVisible(not session.fits)
        self.fit_text.setText(session.fit_message)
        self.offer.setEnabled(not self._player.checking)
        step = session.step
        if self.step_title.text() != step.title or self.text.property("step") != (lesson.id, session.index):
            self.step_title.setText(step.title)
            self.text.setMarkdown(step.text)
            self.text.setProperty("step", (lesson.id, session.index))
            self.number.clear()
        done = player.complete
        reading = session.fits and not done      # the step's own parts are shown
        self.step_title.setVisible(reading)
        self.text.setVisible(reading)
        self._show_task(player.task() if reading else None, session.learner_done)
        self._show_question(session, reading)
        self._show_verdict(player.verdict, session, reading)
        text, kind = player.message
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {MESSAGE_COLOURS.get(kind, MESSAGE_COLOURS['info'])};")
        self.message.setVisible(bool(text))
        self.complete.setVisible(done)
        if done:
            self.complete_text.setText(f"Lesson complete: {progress.steps_done} of {progress.steps} steps done, "
                                       f"{progress.right} of {progress.questions} questions right at the first try.")

    def _show_task(self, task, done: bool) -> None:
        visible = task is not None
        self.task.setVisible(visible)
        self.moves.setVisible(visible and task.name == "move-digit")
        if visible:
            hint = task.params.get("hint") or ""
            words = TASKS[task.name].format(hint=f", a {hint}" if hint else "", layer=task.params.get("layer", ""))
            self.task.setText(("✓ " if done else "✎ ") + words + (" Done." if done else ""))
            self.task.setStyleSheet("color: #3fae5a; font-weight: bold;" if done else "font-weight: bold;")

    def _show_question(self, session, reading: bool) -> None:
        question = session.question
        asking = question is not None and session.phase == "asking"
        self.question.setVisible(reading and question is not None)
        if question is None:
            return
        self.ask.setText(self._player.ask or question.ask)
        self._fill_choices(question)
        page = {"number": self.number, "choice": self.choice_box}.get(question.kind, self.pick)
        self.answers.setCurrentWidget(page)
        if question.kind == "pick-channel":
            pick = self._player.pick
            self.pick.setText(f"Click a channel of {question.layer} in the maps." if pick is None
                              else f"You picked channel {pick}.")
        elif question.kind == "pick-pixel":
            pick = self._player.pick
            self.pick.setText("Click the place on your digit (the canvas)." if pick is None
                              else f"You picked row {pick[0]}, column {pick[1]}.")
        for widget in (self.number, *self._choices.buttons()):
            widget.setEnabled(asking)
        self.commit_button.setEnabled(asking and not self._player.checking)
        self.commit_button.setText("Checking…" if self._player.checking else "Commit")
        previous = self._player.previous_answer()
        self.previous.setVisible(previous is not None and session.phase == "revealed")
        if previous is not None:
            given = previous.get("given")
            given = f"row {given[0]}, column {given[1]}" if isinstance(given, list) else format_value(given) \
                if isinstance(given, (int, float)) else str(given)
            self.previous.setText(f"You answered {given} in an earlier session ({previous.get('status')}). "
                                  "Ask me again to see the reveal.")
        self.again.setVisible(session.phase == "revealed")

    def _fill_choices(self, question) -> None:
        keys = tuple(option.value for option in question.options)
        if keys == self._choice_keys:
            return
        for button in self._choices.buttons():
            self._choices.removeButton(button)
            button.deleteLater()
        self._choice_keys = keys
        columns = 5 if len(keys) > 4 else len(keys) or 1
        for index, option in enumerate(question.options):
            button = QPushButton(option.label)
            button.setCheckable(True)
            button.setToolTip(f"Choose “{option.label}”, then Commit (Enter)")
            self._choices.addButton(button, index)
            self.choice_grid.addWidget(button, index // columns, index % columns)

    def choose(self, value: str) -> bool:
        """Check the option whose value is `value` (the keyboard and the tests); False if there is none."""
        if value not in self._choice_keys:
            return False
        self._choices.button(self._choice_keys.index(value)).setChecked(True)
        return True

    def _show_verdict(self, verdict, session, reading: bool) -> None:
        shown = verdict is not None
        self.verdict.setVisible(reading and (shown or session.phase == "pending"))
        self.run_again.setVisible(self._player.run_failed and session.phase == "pending")
        if not shown:
            return
        headline, background, colour = VERDICT_STYLES[verdict.status]
        self.verdict.setStyleSheet(f"#lesson_verdict {{ background: {background}; border-radius: 4px; }} "
                                   f"#lesson_verdict QLabel {{ color: {colour}; }}")
        self.headline.setText(headline)
        if verdict.status == "pending":
            self.answer.setText(f"Your answer: {verdict.given_text}.")
            self.explanation.setText("Watch the curves while it trains.")
        else:
            self.answer.setText(f"The answer: {verdict.answer_text} · you said {verdict.given_text}")
            self.explanation.setText(verdict.explanation)
        self.show_me.setVisible(bool(verdict.highlight))
