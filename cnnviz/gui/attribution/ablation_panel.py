"""The "Switched-off filters" panel: which filters are off (and which layers keep only their strongest
channels), each with a way back on, and "Switch all back on"."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from cnnviz.gui.attribution.ablation import Ablation

EMPTY_TEXT = ("No filter is switched off. Right-click a channel in the grid and choose "
              "“Switch this filter off” to see what the network does without it.")


class AblationPanel(QWidget):
    """Lists the switched-off filters; double-click one (or select it and "Back on") to switch it back on."""

    def __init__(self, ablation: Ablation, parent: QWidget | None = None):
        super().__init__(parent)
        self._ablation = ablation
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.list = QListWidget()
        self.list.setToolTip("Double-click a filter to switch it back on")
        self.back_on_button = QPushButton("Back on")
        self.back_on_button.setToolTip("Switch the selected filter back on")
        self.all_on_button = QPushButton("Switch all back on")
        self.all_on_button.setToolTip("Every filter on again: the network as trained")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_on_button)
        buttons.addWidget(self.all_on_button)
        layout.addLayout(buttons)
        self.all_on_button.clicked.connect(ablation.all_on)
        self.back_on_button.clicked.connect(self._on_back_on)
        self.list.itemActivated.connect(self._on_item_activated)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        ablation.changed.connect(self.refresh)
        self.refresh()

    def entries(self) -> list[str]:
        """The texts listed (tests and tools)."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def refresh(self) -> None:
        self.list.clear()
        off = self._ablation.switched_off()
        for layer, channels in off.items():
            for channel in channels:
                item = QListWidgetItem(f"{layer} · filter {channel}")
                item.setData(Qt.ItemDataRole.UserRole, (layer, channel))
                self.list.addItem(item)
        for layer, k in self._ablation.kept_top().items():
            item = QListWidgetItem(f"{layer} · only its {k} strongest channels")
            item.setData(Qt.ItemDataRole.UserRole, (layer, None))
            self.list.addItem(item)
        count = sum(len(channels) for channels in off.values())
        if not self._ablation.is_active():
            self.summary.setText(EMPTY_TEXT)
        else:
            self.summary.setText(f"{count} filter{'s' * (count != 1)} off: their maps are zeros from that layer on, "
                                 f"and every later layer and the prediction show the network without them.")
        self.list.setVisible(self._ablation.is_active())
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.back_on_button.setEnabled(self.list.currentItem() is not None)
        self.all_on_button.setEnabled(self._ablation.is_active())

    def _on_back_on(self) -> None:
        if self.list.currentItem() is not None:
            self._on_item_activated(self.list.currentItem())

    def _on_item_activated(self, item: QListWidgetItem) -> None:
        """Switch that filter back on (or give the layer all its channels again)."""
        layer, channel = item.data(Qt.ItemDataRole.UserRole)
        if channel is None:
            self._ablation.keep_top(layer, None)
        else:
            self._ablation.switch_on(layer, channel)
