"""How well each conv/pool layer's maps follow a sideways move: two bars per layer (the `robustness` probe's
`layers`).

"moves along": the correlation between the maps of the moved digit and the maps of the digit as drawn,
moved by the same amount in map units (1.00: the maps move exactly with the digit, equivariance);
"stays put": the correlation with the maps of the digit as drawn, where they were (1.00: the layer does
not see the move at all, invariance). Convolutions follow any move exactly; pooling follows whole
multiples of its stride and starts to ignore small moves.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.core.robustness import LayerFollow
from cnnviz.gui.widgets.view_colours import ACCENT, BAR, FRAME, MUTED_TEXT, text_colour

ROW = 15
HEADER = 14
NAME_WIDTH = 112
COLUMNS = (("moves along", BAR), ("stays put", ACCENT))
TIP = ("For each convolution and pooling layer, at the sideways move shown: 'moves along' is how alike the maps of "
       "the moved digit are to the maps of the digit as drawn moved by the same amount (1.00: the maps move with the "
       "digit); 'stays put' is how alike they are to those maps where they were (1.00: the layer does not see the "
       "move). Convolutions follow a move exactly; pooling starts to ignore small ones.")


class FollowBars(QWidget):
    """Rows of (layer, moves along, stays put) at one sideways shift."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._rows: list[LayerFollow] = []
        self._message = "Move the digit sideways to see how each layer's maps follow it."
        self.setToolTip(TIP)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_rows(self, rows: list[LayerFollow], message: str = "") -> None:
        """The layers at one shift (one LayerFollow each); with none, `message` says why."""
        self._rows = list(rows)
        self._message = message
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def rows(self) -> list[LayerFollow]:
        return list(self._rows)

    def message(self) -> str:
        return "" if self._rows else self._message

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(300, HEADER + ROW * max(len(self._rows), 2) + 4)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        colour = text_colour(self)
        if not self._rows:
            painter.setPen(MUTED_TEXT)
            painter.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._message)
            return
        bar_width = max((self.width() - NAME_WIDTH - 12) / len(COLUMNS), 40)
        painter.setPen(MUTED_TEXT)
        for column, (title, _) in enumerate(COLUMNS):
            painter.drawText(QRectF(NAME_WIDTH + column * (bar_width + 6), 0, bar_width, HEADER),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
        for row, follow in enumerate(self._rows):
            y = HEADER + row * ROW
            painter.setPen(colour)
            painter.drawText(QRectF(0, y, NAME_WIDTH - 4, ROW), Qt.AlignmentFlag.AlignVCenter, follow.name)
            for column, (value, (_, fill)) in enumerate(zip((follow.correlation, follow.invariance), COLUMNS)):
                box = QRectF(NAME_WIDTH + column * (bar_width + 6), y + 2, bar_width, ROW - 4)
                painter.setPen(FRAME)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(box)
                if value is not None:
                    painter.fillRect(QRectF(box.x(), box.y(), box.width() * max(0.0, min(1.0, value)), box.height()),
                                     fill)
                painter.setPen(colour)
                painter.drawText(box.adjusted(3, 0, -3, 0), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                                 "–" if value is None else f"{value:.2f}")
