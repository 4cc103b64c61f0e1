"""Attribution's entries in the Explain menu: the Grad-CAM overlay (Ctrl+G), the class it explains and the
layer it uses, the "Where the network looks" panel (Ctrl+Shift+G), filter patterns (Ctrl+Shift+P), each
filter's top test digits and "Switch all filters back on"; kept in step with the overlay's choices."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QDockWidget, QMenu

from cnnviz.gui.attribution.ablation import Ablation
from cnnviz.gui.attribution.gradcam_overlay import GradCamOverlay, conv_layers
from cnnviz.gui.attribution.patterns_mode import PatternsMode
from cnnviz.gui.attribution.top_digits import TopDigits
from cnnviz.gui.widgets.layer_modes import MAPS
from cnnviz.gui.widgets.qt_helpers import make_action


class ExplainMenu(QObject):
    """The entries, made in `context.menu("Explain")` (see the module docstring)."""

    def __init__(self, context, overlay: GradCamOverlay, dock: QDockWidget, patterns: PatternsMode,
                 top_digits: TopDigits, ablation: Ablation):
        parent = context.dialog_parent()
        super().__init__(parent)
        self._inspector = context.inspector
        self._overlay = overlay
        self._patterns = patterns
        menu = context.menu("Explain")
        if menu.actions():
            menu.addSeparator()
        self.overlay_action = make_action(parent, "&Grad-CAM overlay", "Lay Grad-CAM's heat map over the input "
                                          "and your drawing: where the network looks for its answer",
                                          overlay.set_enabled, "Ctrl+G", checkable=True)
        self.class_menu = QMenu("Explain &class", parent)
        self.class_group = QActionGroup(self)
        self.class_group.triggered.connect(lambda action: overlay.set_class(action.data()))
        self.layer_menu = QMenu("Grad-CAM &layer", parent)
        self.layer_group = QActionGroup(self)
        self.layer_group.triggered.connect(lambda action: overlay.set_layer(action.data()))
        self.panel_action = make_action(parent, "&Where the network looks…", "Show Grad-CAM and occlusion side "
                                        "by side for the current input", lambda: _bring_forward(dock),
                                        "Ctrl+Shift+G")
        self.patterns_action = make_action(parent, "Show filter &patterns", "Show each filter's pattern (the "
                                           "input that excites it most) instead of the maps of a conv layer",
                                           self.toggle_patterns, "Ctrl+Shift+P")
        self.top_digits_action = make_action(parent, "Find each filter's &top test digits", "Rank the 10,000 "
                                             "test digits by how much they excite each channel (a few seconds, "
                                             "then cached)", top_digits.compute)
        self.all_on_action = make_action(parent, "Switch all filters back &on", "Every switched-off filter on "
                                         "again: the network as trained", ablation.all_on)
        menu.addAction(self.overlay_action)
        menu.addMenu(self.class_menu)
        menu.addMenu(self.layer_menu)
        menu.addAction(self.panel_action)
        menu.addSeparator()
        menu.addAction(self.patterns_action)
        menu.addAction(self.top_digits_action)
        menu.addAction(self.all_on_action)
        context.add_shortcuts([self.overlay_action, self.panel_action, self.patterns_action])  # wherever the focus is
        overlay.choices_changed.connect(self.sync)
        ablation.changed.connect(lambda: self.all_on_action.setEnabled(ablation.is_active()))
        self.all_on_action.setEnabled(False)

    def sync(self) -> None:
        """Offer the current model's classes and conv layers; check the chosen ones."""
        overlay, model = self._overlay, self._inspector.model()
        self.overlay_action.blockSignals(True)
        self.overlay_action.setChecked(overlay.is_enabled())
        self.overlay_action.blockSignals(False)
        names = list(model.class_names) if model is not None and model.class_names else [str(i) for i in range(10)]
        _fill(self.class_menu, self.class_group, [("the predicted class", None)] +
              [(name, index) for index, name in enumerate(names)], overlay.class_index())
        _fill(self.layer_menu, self.layer_group, [(name, name) for name in conv_layers(model)], overlay.layer())

    def toggle_patterns(self) -> None:
        """Switch the grid to the Patterns view (a conv layer is chosen first if need be), or back to the maps."""
        inspector = self._inspector
        if inspector.current_layer_mode() == self._patterns.name:
            inspector.set_layer_mode(MAPS)
            return
        kinds = inspector.layer_kinds()
        if not 0 <= inspector.current_layer() < len(kinds) or "Conv" not in kinds[inspector.current_layer()]:
            convs = [i for i, kind in enumerate(kinds) if "Conv" in kind]
            if convs:
                inspector.select_layer(convs[0])
        inspector.set_layer_mode(self._patterns.name)


def _fill(menu: QMenu, group: QActionGroup, choices: list[tuple[str, object]], chosen) -> None:
    """Replace `menu`'s checkable entries with `choices` (text, data), checking the one whose data is `chosen`."""
    for action in group.actions():
        group.removeAction(action)
    menu.clear()
    for text, data in choices:
        action = QAction(text, menu)
        action.setCheckable(True)
        action.setData(data)
        action.setChecked(data == chosen)
        group.addAction(action)
        menu.addAction(action)


def _bring_forward(dock: QDockWidget) -> None:
    dock.show()
    dock.raise_()
