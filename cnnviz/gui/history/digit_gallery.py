"""A gallery of test images: thumbnails with the model's confidence, in the order given.

The images of one confusion cell, most confident mistakes first (or, on the diagonal, the least sure
right answers first). Thumbnails arrive after the list (the compute process holds the test set):
until then a cell shows an empty square. Click a thumbnail, or move to it with the arrow keys and
press Enter, to open that test image in the inspector (`digit_opened(index)`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QLabel, QListView, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.gui.history.confusion_view import owns_navigation_key

THUMBNAIL = 44          # pixels a side (28×28 images at about 1.6×)
GRID = QSize(54, 64)    # room for the thumbnail and its percentage


def thumbnail(image: np.ndarray, size: int = THUMBNAIL) -> QPixmap:
    """A uint8 (H, W) grey image as a square pixmap `size` pixels a side (nearest neighbour: crisp pixels)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = image.shape
    qimage = QImage(image.data, width, height, width, QImage.Format.Format_Grayscale8)
    return QPixmap.fromImage(qimage.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.FastTransformation))


def _placeholder(size: int = THUMBNAIL) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(40, 40, 40))
    return pixmap


class GalleryModel(QAbstractListModel):
    """Test image indices with the probability of the predicted class (and of the true one)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.indices = np.zeros(0, np.int64)
        self.confidences = np.zeros(0, np.float32)
        self.true_probabilities = np.zeros(0, np.float32)
        self.true_name = self.predicted_name = ""
        self._pixmaps: dict[int, QPixmap] = {}
        self._images: dict[int, np.ndarray] = {}
        self._empty = _placeholder()

    def set_digits(self, indices, confidences, true_probabilities, true_name: str, predicted_name: str) -> None:
        self.beginResetModel()
        self.indices = np.asarray(indices, dtype=np.int64)
        self.confidences = np.asarray(confidences, dtype=np.float32)
        self.true_probabilities = np.asarray(true_probabilities, dtype=np.float32)
        self.true_name, self.predicted_name = true_name, predicted_name
        self._pixmaps = {}
        self.endResetModel()

    def set_images(self, images: dict[int, np.ndarray]) -> None:
        """Thumbnails for test indices (a cache shared across cells)."""
        self._images = images
        self._pixmaps = {}
        if self.rowCount():
            self.dataChanged.emit(self.index(0), self.index(self.rowCount() - 1), [Qt.ItemDataRole.DecorationRole])

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.indices)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = index.row()
        test_index = int(self.indices[row])
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{self.confidences[row]:.0%}"
        if role == Qt.ItemDataRole.DecorationRole:
            pixmap = self._pixmaps.get(row)
            if pixmap is None:
                image = self._images.get(test_index)
                if image is None:
                    return self._empty
                pixmap = self._pixmaps[row] = thumbnail(image)
            return pixmap
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.describe(row)
        if role == Qt.ItemDataRole.UserRole:
            return test_index
        return None

    def describe(self, row: int) -> str:
        test_index = int(self.indices[row])
        said = f"predicted {self.predicted_name} with {self.confidences[row]:.1%}"
        if self.true_name != self.predicted_name:
            said += f" ({self.true_name}: {self.true_probabilities[row]:.1%})"
        return f"Test image #{test_index} · labelled {self.true_name} · {said}. Click or press Enter to open it."


class _GalleryList(QListView):
    """The thumbnails; Enter (or Return) opens the current one."""

    opened = Signal(int)   # row

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.opened.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)

    def event(self, event) -> bool:  # noqa: D102
        if owns_navigation_key(event):
            event.accept()   # the arrows move between thumbnails, not between the inspector's layers
            return True
        return super().event(event)


class DigitGallery(QWidget):
    """A title and the thumbnails of one cell; `digit_opened(test index)` on click or Enter."""

    digit_opened = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel("Click a cell of the matrix to see its test images here.")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)   # no wrapping: one line
        self.title.setStyleSheet("color: gray;")
        self.gallery = GalleryModel(self)
        self.list = _GalleryList()
        self.list.setModel(self.gallery)
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setWrapping(True)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setLayoutMode(QListView.LayoutMode.Batched)
        self.list.setBatchSize(200)
        self.list.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.list.setGridSize(GRID)
        self.list.setSpacing(0)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setMinimumHeight(GRID.height() + 8)
        self.list.setToolTip("Click a test image (or move with the arrow keys and press Enter) to open it "
                             "in the inspector")
        self.list.clicked.connect(self._on_clicked)
        self.list.opened.connect(self._on_opened)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)

    def show_digits(self, indices, confidences, true_probabilities, true_name: str, predicted_name: str,
                    title: str) -> None:
        """Show these test images (in this order) under `title`."""
        self.title.setText(title)
        self.gallery.set_digits(indices, confidences, true_probabilities, true_name, predicted_name)
        if len(indices):
            self.list.setCurrentIndex(self.gallery.index(0))
        self.list.scrollToTop()

    def clear(self, title: str = "") -> None:
        self.show_digits([], [], [], "", "", title or "Click a cell of the matrix to see its test images here.")

    def set_images(self, images: dict[int, np.ndarray]) -> None:
        self.gallery.set_images(images)

    def indices(self) -> np.ndarray:
        return self.gallery.indices

    def item_rect(self, row: int):
        """Where thumbnail `row` is, in the list's viewport coordinates."""
        return self.list.visualRect(self.gallery.index(row))

    def focus_first(self) -> None:
        """Give the thumbnails the keyboard (the first one current)."""
        if self.gallery.rowCount():
            if not self.list.currentIndex().isValid():
                self.list.setCurrentIndex(self.gallery.index(0))
            self.list.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_clicked(self, index: QModelIndex) -> None:
        self._on_opened(index.row())

    def _on_opened(self, row: int) -> None:
        self.digit_opened.emit(int(self.gallery.indices[row]))
