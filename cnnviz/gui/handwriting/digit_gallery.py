"""The gallery of the user's own digits: one thumbnail per picture of the digit folder, its label under it,
and what the current model reads (a mistake framed in red: "7 → 1").

The thumbnails are the pictures as kept (what the user drew or opened), read a few at a time after the
list is shown, so a large folder opens at once. The gallery only shows and says what the user asks for
(`show_requested`, `relabel_requested`, `delete_requested`); the panel does it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QImageReader, QKeySequence, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QMenu, QWidget

from cnnviz.core.own_digits import DigitEntry

THUMB = 52
PATH_ROLE = Qt.ItemDataRole.UserRole
LABEL_ROLE = Qt.ItemDataRole.UserRole + 1
IMAGE_ROLE = Qt.ItemDataRole.UserRole + 2   # the thumbnail, once read
LOADS_PER_TICK = 40
MISTAKE = QColor(230, 60, 60)
RIGHT = QColor(60, 170, 90)


class DigitGallery(QListWidget):
    """Thumbnails of (path, label) entries; `set_readings` marks what the model reads."""

    show_requested = Signal(object)              # the Path of a picture to show in the inspector
    relabel_requested = Signal(object, int)      # [Path], the new label
    delete_requested = Signal(object)            # [Path]

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setGridSize(QSize(THUMB + 14, THUMB + 26))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setToolTip("Your digits: double-click one to show what the model reads; right-click to relabel or "
                        "delete the selected ones (Delete)")
        self.setMinimumHeight(THUMB + 26 + 10)   # one row at least: the panel scrolls in less room
        self._items: dict[Path, QListWidgetItem] = {}
        self._readings: dict[Path, int] = {}
        self._to_load: list[QListWidgetItem] = []
        self._loader = QTimer(self)
        self._loader.setInterval(0)
        self._loader.timeout.connect(self._load_some)
        self.itemDoubleClicked.connect(lambda item: self.show_requested.emit(item.data(PATH_ROLE)))
        self.customContextMenuRequested.connect(self._on_context_menu)

    # --- contents ---------------------------------------------------------------------------------------
    def set_entries(self, entries: tuple[DigitEntry, ...] | list[DigitEntry]) -> None:
        """Show these pictures (by label, then name); keeps what the model read for those still there."""
        selected = set(self.selected_paths())
        self.clear()
        self._items = {}
        self._to_load = []
        for entry in sorted(entries, key=lambda e: (e.label, e.path.name)):
            item = QListWidgetItem(_blank_icon(), str(entry.label))
            item.setData(PATH_ROLE, entry.path)
            item.setData(LABEL_ROLE, entry.label)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.addItem(item)
            self._items[entry.path] = item
            self._to_load.append(item)
            item.setSelected(entry.path in selected)
        self._readings = {path: guess for path, guess in self._readings.items() if path in self._items}
        for path in self._items:
            self._mark(path)
        if self._to_load:
            self._loader.start()

    def set_readings(self, readings: dict[Path, int] | None) -> None:
        """What the model reads for each picture (path -> class); None: not known (a new model, a new digit)."""
        self._readings = dict(readings or {})
        for path in self._items:
            self._mark(path)

    def paths(self) -> list[Path]:
        return list(self._items)

    def label_of(self, path: Path) -> int | None:
        item = self._items.get(Path(path))
        return None if item is None else int(item.data(LABEL_ROLE))

    def reading_of(self, path: Path) -> int | None:
        return self._readings.get(Path(path))

    def mistakes(self) -> list[Path]:
        """The pictures the model reads as another digit than their label."""
        return [path for path, guess in self._readings.items() if path in self._items and guess != self.label_of(path)]

    def selected_paths(self) -> list[Path]:
        return [item.data(PATH_ROLE) for item in self.selectedItems()]

    def item_for(self, path: Path) -> QListWidgetItem | None:
        return self._items.get(Path(path))

    def thumbnails_loaded(self) -> bool:
        return not self._to_load

    # --- marks and thumbnails -----------------------------------------------------------------------------
    def _mark(self, path: Path) -> None:
        item = self._items[path]
        label, guess = int(item.data(LABEL_ROLE)), self._readings.get(path)
        if guess is None:
            item.setText(str(label))
            item.setForeground(self.palette().text())
            item.setToolTip(f"{path.name}: labelled {label}")
        elif guess == label:
            item.setText(f"{label} ✓")
            item.setForeground(RIGHT)
            item.setToolTip(f"{path.name}: labelled {label}, and the model reads {guess}")
        else:
            item.setText(f"{label} → {guess}")
            item.setForeground(MISTAKE)
            item.setToolTip(f"{path.name}: labelled {label}, but the model reads {guess}")
        if item not in self._to_load:
            item.setIcon(thumbnail_icon(item.data(IMAGE_ROLE), guess is not None and guess != label))

    def _load_some(self) -> None:
        for _ in range(min(LOADS_PER_TICK, len(self._to_load))):
            item = self._to_load.pop(0)
            image = read_thumbnail(item.data(PATH_ROLE))
            item.setData(IMAGE_ROLE, image)
            path = item.data(PATH_ROLE)
            guess = self._readings.get(path)
            item.setIcon(thumbnail_icon(image, guess is not None and guess != int(item.data(LABEL_ROLE))))
        if not self._to_load:
            self._loader.stop()

    # --- what the user asks -------------------------------------------------------------------------------
    def event(self, event) -> bool:  # noqa: D102
        # Delete deletes the selected digits here (not the window's "Clear canvas", which also uses it).
        if event.type() == QEvent.Type.ShortcutOverride and event.matches(QKeySequence.StandardKey.Delete) \
                and self.selectedItems():
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.matches(QKeySequence.StandardKey.Delete) and self.selectedItems():
            self.delete_requested.emit(self.selected_paths())
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self.show_requested.emit(self.currentItem().data(PATH_ROLE))
            return
        super().keyPressEvent(event)

    def context_menu(self) -> QMenu:
        """The menu for the selected digits: show, relabel as 0–9, delete."""
        menu = QMenu(self)
        paths = self.selected_paths()
        current = self.currentItem()
        show = menu.addAction("Show what the model reads")
        show.setEnabled(current is not None)
        show.triggered.connect(lambda: self.show_requested.emit(current.data(PATH_ROLE)))
        relabel = menu.addMenu(f"Relabel {len(paths)} as")
        relabel.setEnabled(bool(paths))
        for digit in range(10):
            relabel.addAction(str(digit), lambda digit=digit: self.relabel_requested.emit(paths, digit))
        delete = menu.addAction(f"Delete {len(paths)}…" if len(paths) != 1 else "Delete…")
        delete.setEnabled(bool(paths))
        delete.triggered.connect(lambda: self.delete_requested.emit(paths))
        return menu

    def _on_context_menu(self, position) -> None:
        item = self.itemAt(position)
        if item is not None and not item.isSelected():
            self.setCurrentItem(item)
        self.context_menu().popup(self.viewport().mapToGlobal(position))


def read_thumbnail(path: Path) -> QImage:
    """The picture scaled to fit THUMB × THUMB (read at that size when the format allows), on black."""
    reader = QImageReader(str(path))
    size = reader.size()
    if size.isValid() and (size.width() > THUMB or size.height() > THUMB):
        reader.setScaledSize(size.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        image = QImage(THUMB, THUMB, QImage.Format.Format_RGB32)
        image.fill(QColor(90, 40, 40))
    return image.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


def thumbnail_icon(image: QImage | None, mistake: bool) -> QIcon:
    """The thumbnail centred on a THUMB square, framed in red for a mistake."""
    pixmap = QPixmap(THUMB, THUMB)
    pixmap.fill(QColor(0, 0, 0))
    painter = QPainter(pixmap)
    if image is not None:
        painter.drawImage((THUMB - image.width()) // 2, (THUMB - image.height()) // 2, image)
    if mistake:
        painter.setPen(QPen(MISTAKE, 3))
        painter.drawRect(1, 1, THUMB - 3, THUMB - 3)
    painter.end()
    return QIcon(pixmap)


def _blank_icon() -> QIcon:
    return thumbnail_icon(None, False)
