"""The Experiments panel: three tabs (Kernel surgery, Attack, Sanity check), each opening with a short
"what to try" line and, where the experiment's maths does not apply to the model shown, one line that
says so; each tab scrolls when the panel is short."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

TABS = ("kernel_surgery", "attack", "sanity_check")
TITLES = {"kernel_surgery": "Kernel surgery", "attack": "Attack", "sanity_check": "Sanity check"}
WHAT_TO_TRY = {
    "kernel_surgery": "<b>What to try:</b> build a vertical-edge detector by hand. Pick conv2d_1 in the overview, "
                      "press <i>Vertical edge</i>, watch every later map and the prediction change, then ask which "
                      "digits it fires on. Undo takes it back; the model file never changes.",
    "attack": "<b>What to try:</b> push ε up until your digit reads as another one. Then pick a target (a 7 into "
              "a 3?) and find the smallest ε that does it: which layer moves most?",
    "sanity_check": "<b>What to try:</b> randomise the layers one by one and see which explanation still looks "
                    "like your digit when the network knows nothing: that map shows the input, not the model.",
}
MIN_WIDTH = 440
ROOM = (MIN_WIDTH, 500)   # what the panel asks of the window while it is in front (panels below it give way)


class ExperimentsPanel(QWidget):
    """The tabs (see the module docstring): `page(name)` is a tab's content, `show_tab(name)` brings it up."""

    tab_changed = Signal(str)

    def __init__(self, pages: dict[str, QWidget], parent: QWidget | None = None):
        super().__init__(parent)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._pages: dict[str, QWidget] = {}
        self._notices: dict[str, QLabel] = {}
        for name in TABS:
            self.tabs.addTab(self._page(name, pages[name]), TITLES[name])
        self.tabs.currentChanged.connect(lambda index: self.tab_changed.emit(TABS[index]))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def make_room(self, shown: bool) -> None:
        """While the panel is in front it asks for ROOM (the panels it shares the side with give way); behind
        another tab it asks for nothing (a tab behind another would widen the side for nothing)."""
        self.setMinimumSize(*ROOM) if shown else self.setMinimumSize(0, 0)

    def _page(self, name: str, content: QWidget) -> QScrollArea:
        hint = QLabel(WHAT_TO_TRY[name])
        hint.setWordWrap(True)
        hint.setTextFormat(Qt.TextFormat.RichText)
        hint.setObjectName("what_to_try")
        hint.setStyleSheet("QLabel#what_to_try { background: palette(alternate-base); border-radius: 4px; "
                           "padding: 6px; }")
        notice = QLabel()
        notice.setWordWrap(True)
        notice.setStyleSheet("color: #e0782c;")
        notice.setVisible(False)
        self._notices[name] = notice
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(hint)
        layout.addWidget(notice)
        layout.addWidget(content)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName(name)
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._pages[name] = scroll
        return scroll

    def page(self, name: str) -> QWidget:
        return self._pages[name]

    def show_tab(self, name: str) -> None:
        self.tabs.setCurrentWidget(self._pages[name])

    def current_tab(self) -> str:
        return TABS[self.tabs.currentIndex()]

    def set_notice(self, name: str, text: str) -> None:
        """One line on tab `name` saying where its maths does not apply ("" hides it)."""
        self._notices[name].setText(text)
        self._notices[name].setVisible(bool(text))

    def notice(self, name: str) -> str:
        return "" if self._notices[name].isHidden() else self._notices[name].text()

    def what_to_try(self, name: str) -> str:
        return WHAT_TO_TRY[name]
