"""Puts the lessons into the window (issue 20): the Lessons panel (a dock at the left, beside the canvas),
Help → Lessons (F1) and a toolbar button, File → Open lesson pack…, and on a first launch one quiet
line under the toolbar offering lesson 1 (never a modal; gone once dismissed or a lesson is started).

Operations: "lessons.show" (the panel), "lessons.start" (a lesson of the pack, by id), "lessons.open_pack"
(a folder of lesson files; `cnnviz --lessons DIR` calls it), "lessons.shift_digit" (the lessons'
shift-digit: the learner's digit moved, until issue 21's Move it panel owns that). The lessons drive the
other capabilities only through their named operations and targets (`app_links.py`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QToolButton

from cnnviz.core.lessons.validate import shipped_lessons_dir
from cnnviz.gui.lessons.digit_shift import DigitShift
from cnnviz.gui.lessons.lesson_panel import LessonPanel
from cnnviz.gui.lessons.lesson_player import LessonPlayer
from cnnviz.gui.lessons.progress_store import ProgressStore
from cnnviz.gui.widgets.qt_helpers import Icon, app_settings, make_action

DOCK_NAME = "lesson_dock"
FOLDER_KEY = "lessons/pack_folder"    # where Open lesson pack… looked last


class FirstLessonOffer(QFrame):
    """One quiet line: lesson 1, its minutes, Start and a close button."""

    start_clicked = Signal()
    dismissed = Signal()

    def __init__(self, title: str, minutes: int):
        super().__init__()
        self.setObjectName("lesson_offer")
        self.setStyleSheet("#lesson_offer { background: #1f3c5c; border-radius: 4px; } "
                           "#lesson_offer QLabel { color: #d7e9ff; }")
        self.text = QLabel(f"New to convnets? Lesson 1, “{title}”, takes {minutes} minutes: predict, then see it "
                           "happen on your own digit.")
        self.text.setWordWrap(True)
        start = QPushButton("Start lesson 1")
        start.setToolTip("Open the Lessons panel at lesson 1 (Help → Lessons lists them all)")
        start.clicked.connect(self.start_clicked)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Not now (Help → Lessons has them whenever you want)")
        close.clicked.connect(self.dismissed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 3, 4, 3)
        layout.addWidget(self.text, 1)
        layout.addWidget(start)
        layout.addWidget(close)


class LessonsFeature(QObject):
    """The lessons of one window: the player, its panel and dock, the menu entries, the offer."""

    def __init__(self, context):
        super().__init__(context.dialog_parent())
        self._context = context
        self.store = ProgressStore(context.remember_settings)
        self.shift = DigitShift(context.inspector, context.operations, self)
        self.player = LessonPlayer(context, self.shift, self.store, self)
        self.panel = LessonPanel(self.player, self.store)
        self.dock = context.add_panel("Lessons", self.panel, DOCK_NAME, area=Qt.DockWidgetArea.LeftDockWidgetArea,
                                      visible=False)
        self.dock.setToolTip("Lessons: predict first, then see it happen on your own digit")
        self.player.open_pack(shipped_lessons_dir())
        self.show_action = make_action(self, "&Lessons", "Learn the notes' ideas step by step: predict, then see",
                                       self.show_panel, "F1", icon=Icon.SP_DialogHelpButton)
        self.open_pack_action = make_action(self, "Open lesson &pack…", "Play a teacher's lessons: a folder of "
                                            "lesson files (docs/LESSONS.md)", self.ask_for_pack)
        help_menu = context.menu("Help")
        help_menu.insertAction(help_menu.actions()[0] if help_menu.actions() else None, self.show_action)
        context.menu("File").insertAction(context.shell_action("save_model"), self.open_pack_action)
        context.add_toolbar_actions([self.show_action], separator=True)
        context.add_shortcuts([self.panel.next_action, self.panel.back_action])
        first = self.player.lessons()[0]
        self.offer = FirstLessonOffer(first.title, first.minutes)
        self.offer.start_clicked.connect(lambda: self.start(first.id))
        self.offer.dismissed.connect(self._dismiss_offer)
        context.add_banner(self.offer)
        self.offer.setVisible(not self.store.offer_done())
        self.player.changed.connect(self._on_player_changed)
        context.closed.connect(self.player.close)
        operations = context.operations
        operations.register("lessons.show", self.show_panel)
        operations.register("lessons.start", self.start)
        operations.register("lessons.open_pack", self.open_pack)
        operations.register("lessons.shift_digit", self.shift.shift)

    def show_panel(self) -> None:
        """Show the Lessons panel: the list of lessons, or the lesson being played."""
        self.dock.show()
        self.dock.raise_()
        self.panel.refresh()

    def start(self, lesson_id: str) -> bool:
        """Play lesson `lesson_id` of the pack shown (where the learner left it); False if there is none."""
        if not self.player.start(lesson_id):
            return False
        self.show_panel()
        return True

    def open_pack(self, folder) -> bool:
        """Show the lessons of the pack in `folder` (a folder of lesson files); False (and why, in a message
        box) when it cannot be read or holds no valid lesson."""
        problem = self.player.open_pack(folder)
        if problem:
            self._context.message_box(QMessageBox.Icon.Warning, "Not a lesson pack", problem,
                                      "A lesson pack is a folder of lesson files: see docs/LESSONS.md, and "
                                      "`cnnviz lessons --check DIR` for every problem with its line.")
            return False
        self.show_panel()
        return True

    def ask_for_pack(self) -> None:
        """File → Open lesson pack…: choose a folder of lesson files."""
        settings = app_settings()
        start = settings.value(FOLDER_KEY, str(Path.home()))
        folder = QFileDialog.getExistingDirectory(self._context.dialog_parent(), "Open a lesson pack",
                                                  start if isinstance(start, str) else str(Path.home()))
        if folder:
            if self._context.remember_settings():
                settings.setValue(FOLDER_KEY, folder)
            self.open_pack(folder)

    def _on_player_changed(self) -> None:
        """A lesson started (from the offer, the list or an operation): the offer has been taken."""
        if self.player.session is not None and self.offer.isVisible():
            self.offer.hide()

    def _dismiss_offer(self) -> None:
        self.offer.hide()
        self.store.set_offer_done()


def install(context) -> LessonsFeature:
    """Add the lessons to the window of `context` (see the module docstring)."""
    feature = LessonsFeature(context)
    feature.panel.list_page.open_pack_requested.connect(feature.ask_for_pack)
    feature.panel.list_page.shipped_requested.connect(lambda: feature.open_pack(shipped_lessons_dir()))
    return feature
