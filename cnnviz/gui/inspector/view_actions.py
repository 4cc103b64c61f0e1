"""The View menu's inspector actions: the previous and next layer, the colormap and how colours are scaled
(the same choices as the two boxes under the maps, kept in step with them)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from cnnviz.core.colormaps import COLORMAPS, NORMALISATIONS
from cnnviz.core.inspection import Inspection
from cnnviz.gui.inspector.views import NORMALISATION_LABELS, InspectorViews
from cnnviz.gui.widgets.qt_helpers import make_action


class ViewActions(QObject):
    """The actions of one inspector (`owner`: their parent widget); `num_layers()` counts its layers."""

    def __init__(self, owner: QWidget, state: Inspection, views: InspectorViews, num_layers):
        super().__init__(owner)
        self._state = state
        self._views = views
        self._num_layers = num_layers
        self.previous_action = make_action(owner, "Previous layer", "Show the layer before this one",
                                           self._on_previous_layer, "Left")
        self.next_action = make_action(owner, "Next layer", "Show the layer after this one", self._on_next_layer,
                                       "Right")
        self.colormap_action, self._colormap_group = _choice_action(
            owner, "Colormap", [(name, name) for name in COLORMAPS],
            lambda action: state.set_colormap(action.data()))
        self.normalisation_action, self._normalisation_group = _choice_action(
            owner, "Scale colours per", [(NORMALISATION_LABELS[mode], mode) for mode in NORMALISATIONS],
            lambda action: state.set_normalisation(action.data()))
        views.colormap_box.currentTextChanged.connect(state.set_colormap)
        views.normalisation_box.currentIndexChanged.connect(self._on_normalisation_box)
        state.subscribe("display", self.sync)
        self.sync()

    def actions(self) -> list[QAction]:
        return [self.previous_action, self.next_action, self.colormap_action, self.normalisation_action]

    def sync(self) -> None:
        """The boxes and the menus' checks show the state's colormap and normalisation."""
        self._views.colormap_box.setCurrentText(self._state.colormap)
        for item in self._colormap_group.actions():
            item.setChecked(item.data() == self._state.colormap)
        for item in self._normalisation_group.actions():
            item.setChecked(item.data() == self._state.normalisation)

    def _on_previous_layer(self) -> None:
        self._state.set_layer(max(0, self._state.layer - 1))

    def _on_next_layer(self) -> None:
        self._state.set_layer(min(self._num_layers() - 1, self._state.layer + 1))

    def _on_normalisation_box(self, index: int) -> None:
        self._state.set_normalisation(self._views.normalisation_box.itemData(index))


def _choice_action(owner: QWidget, title: str, choices: list[tuple[str, str]], slot) -> tuple[QAction, QActionGroup]:
    """An action with a submenu of exclusive, checkable choices (label, data); `slot` gets the chosen action."""
    group = QActionGroup(owner)
    menu = QMenu(title, owner)
    for label, data in choices:
        item = menu.addAction(label)
        item.setCheckable(True)
        item.setData(data)
        group.addAction(item)
    group.triggered.connect(slot)
    action = QAction(title, owner)
    action.setMenu(menu)
    return action, group
