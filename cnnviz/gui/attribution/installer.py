"""Issue 11 in the app: where the network looks (Grad-CAM, occlusion), what each filter wants (patterns,
top test digits), and switching filters off.

`install(window)` adds:
- the Grad-CAM overlay on the 28×28 input and the drawing (`attribution_overlay`), switched with
  Explain → Grad-CAM overlay (Ctrl+G), with the class and the layer in Explain's submenus;
- the "Where the network looks" panel (Grad-CAM and occlusion side by side, `attribution_panel`),
  tabbed with the Training panel (Explain → Where the network looks…, Ctrl+Shift+G);
- the Patterns view of conv layers beside Maps (`patterns_mode`; Explain → Show filter patterns);
- under the enlarged channel, its pattern, top test digits and their patches (`top_digits_view`);
- "Switch this filter off" in a channel's context menu and the "Switched-off filters" panel, tabbed
  with the Curves (`ablation`, `ablation_panel`; Explain → Switch all filters back on).
The choices (overlay on/off, class, layer, occlusion patch, stride and fill) are remembered.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QDockWidget, QMenu

from cnnviz.gui.attribution.ablation import Ablation
from cnnviz.gui.attribution.ablation_panel import AblationPanel
from cnnviz.gui.attribution.gradcam_overlay import GradCamOverlay, conv_layers
from cnnviz.gui.attribution.where_it_looks import AttributionPanel, OcclusionMap
from cnnviz.gui.widgets.layer_modes import MAPS
from cnnviz.gui.attribution.patterns_mode import PatternsMode
from cnnviz.gui.widgets.qt_helpers import app_settings, make_action
from cnnviz.gui.attribution.top_digits import TopDigits
from cnnviz.gui.attribution.top_digits_view import FilterView

PANEL_NAME = "attribution_dock"
ABLATION_PANEL_NAME = "ablation_dock"
SETTINGS_GROUP = "attribution"


@dataclass
class AttributionFeature:
    """What `install` made (tests and the autotest reach the pieces through `window.features`)."""

    overlay: GradCamOverlay
    occlusion: OcclusionMap
    panel: AttributionPanel
    dock: QDockWidget
    patterns: PatternsMode
    top_digits: TopDigits
    filter_view: FilterView
    ablation: Ablation
    ablation_panel: AblationPanel
    ablation_dock: QDockWidget
    menu: "ExplainMenu"


def install(window) -> AttributionFeature:
    inspector, client = window.inspector, window.client
    overlay = GradCamOverlay(inspector, client, window)
    overlay.is_training = window.is_training
    occlusion = OcclusionMap(inspector, client, window)
    panel = AttributionPanel(inspector, overlay, occlusion)
    training_dock = window.findChild(QDockWidget, "training_dock")
    curves_dock = window.findChild(QDockWidget, "curves_dock")
    dock = window.add_panel("Where it looks", panel, PANEL_NAME, tabify_with=training_dock)
    dock.setToolTip("Where the network looks: Grad-CAM and occlusion for the current input")
    if training_dock is not None:
        training_dock.raise_()   # the training panel stays in front until the user asks for this one

    patterns = PatternsMode(inspector, client)
    patterns.is_training = window.is_training
    inspector.add_layer_mode(patterns)
    top_digits = TopDigits(inspector, client, parent=window)
    top_digits.is_training = window.is_training
    filter_view = FilterView(inspector, patterns, top_digits)
    inspector.add_side_widget(filter_view)

    ablation = Ablation(inspector, client, window)
    ablation_panel = AblationPanel(ablation)
    ablation_dock = window.add_panel("Switched-off filters", ablation_panel, ABLATION_PANEL_NAME,
                                     tabify_with=curves_dock, visible=False)
    ablation.failed.connect(window.statusBar().showMessage)
    overlay.failed.connect(window.statusBar().showMessage)

    def on_ablation_changed() -> None:
        """The first filter switched off brings the list forward."""
        if ablation.is_active() and not ablation_dock.isVisible():
            ablation_dock.show()
            ablation_dock.raise_()

    ablation.changed.connect(on_ablation_changed)
    menu = ExplainMenu(window, overlay, dock, patterns, top_digits, ablation)

    def on_model_ready() -> None:
        panel.set_model()
        menu.sync()
        ablation.model_changed()
        top_digits.model_changed()

    window.model_ready.connect(on_model_ready)
    window.training_finished.connect(lambda _result: patterns.training_finished())
    restore_settings(overlay, occlusion)
    panel.sync_occlusion_options()
    panel.set_model()
    menu.sync()
    for signal in (overlay.choices_changed, panel.patch_box.valueChanged, panel.stride_box.valueChanged,
                   panel.fill_box.activated):
        signal.connect(lambda *_: window.remember_settings and save_settings(overlay, occlusion))
    return AttributionFeature(overlay, occlusion, panel, dock, patterns, top_digits, filter_view, ablation,
                              ablation_panel, ablation_dock, menu)


class ExplainMenu(QObject):
    """This feature's entries in the Explain menu, kept in step with the overlay's choices."""

    def __init__(self, window, overlay: GradCamOverlay, dock: QDockWidget, patterns: PatternsMode,
                 top_digits: TopDigits, ablation: Ablation):
        super().__init__(window)
        self._window = window
        self._overlay = overlay
        inspector = window.inspector
        menu = window.menu("Explain")
        if menu.actions():
            menu.addSeparator()
        self.overlay_action = make_action(window, "&Grad-CAM overlay", "Lay Grad-CAM's heat map over the input "
                                          "and your drawing: where the network looks for its answer",
                                          overlay.set_enabled, "Ctrl+G", checkable=True)
        self.class_menu = QMenu("Explain &class", window)
        self.class_group = QActionGroup(self)
        self.class_group.triggered.connect(lambda action: overlay.set_class(action.data()))
        self.layer_menu = QMenu("Grad-CAM &layer", window)
        self.layer_group = QActionGroup(self)
        self.layer_group.triggered.connect(lambda action: overlay.set_layer(action.data()))
        self.panel_action = make_action(window, "&Where the network looks…", "Show Grad-CAM and occlusion side "
                                        "by side for the current input", lambda: _bring_forward(dock),
                                        "Ctrl+Shift+G")
        self.patterns_action = make_action(window, "Show filter &patterns", "Show each filter's pattern (the "
                                           "input that excites it most) instead of the maps of a conv layer",
                                           lambda: _toggle_patterns(inspector, patterns), "Ctrl+Shift+P")
        self.top_digits_action = make_action(window, "Find each filter's &top test digits", "Rank the 10,000 "
                                             "test digits by how much they excite each channel (a few seconds, "
                                             "then cached)", top_digits.compute)
        self.all_on_action = make_action(window, "Switch all filters back &on", "Every switched-off filter on "
                                         "again: the network as trained", ablation.all_on)
        menu.addAction(self.overlay_action)
        menu.addMenu(self.class_menu)
        menu.addMenu(self.layer_menu)
        menu.addAction(self.panel_action)
        menu.addSeparator()
        menu.addAction(self.patterns_action)
        menu.addAction(self.top_digits_action)
        menu.addAction(self.all_on_action)
        for action in (self.overlay_action, self.panel_action, self.patterns_action):
            window.addAction(action)   # shortcuts work wherever the focus is
        overlay.choices_changed.connect(self.sync)
        ablation.changed.connect(lambda: self.all_on_action.setEnabled(ablation.is_active()))
        self.all_on_action.setEnabled(False)

    def sync(self) -> None:
        """Offer the current model's classes and conv layers; check the chosen ones."""
        overlay, model = self._overlay, self._window.inspector.model()
        self.overlay_action.blockSignals(True)
        self.overlay_action.setChecked(overlay.is_enabled())
        self.overlay_action.blockSignals(False)
        names = list(model.class_names) if model is not None and model.class_names else [str(i) for i in range(10)]
        _fill(self.class_menu, self.class_group, [("the predicted class", None)] +
              [(name, index) for index, name in enumerate(names)], overlay.class_index())
        _fill(self.layer_menu, self.layer_group, [(name, name) for name in conv_layers(model)], overlay.layer())


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


def _toggle_patterns(inspector, patterns: PatternsMode) -> None:
    """Switch the grid to the Patterns view (a conv layer is chosen first if need be), or back to the maps."""
    bar = inspector.layer_modes
    if bar.current() == patterns.name:
        bar.set_current(MAPS)
        return
    kinds = inspector.layer_kinds()
    if not 0 <= inspector.current_layer() < len(kinds) or "Conv" not in kinds[inspector.current_layer()]:
        convs = [i for i, kind in enumerate(kinds) if "Conv" in kind]
        if convs:
            inspector._state.set_layer(convs[0])
    bar.set_current(patterns.name)


def save_settings(overlay: GradCamOverlay, occlusion: OcclusionMap) -> None:
    settings = app_settings()
    settings.beginGroup(SETTINGS_GROUP)
    settings.setValue("overlay", overlay.is_enabled())
    settings.setValue("layer", overlay.chosen_layer() or "")
    settings.setValue("class", -1 if overlay.class_index() is None else overlay.class_index())
    settings.setValue("patch", occlusion.patch)
    settings.setValue("stride", occlusion.stride)
    settings.setValue("fill", occlusion.fill)
    settings.endGroup()


def restore_settings(overlay: GradCamOverlay, occlusion: OcclusionMap) -> None:
    settings = app_settings()
    settings.beginGroup(SETTINGS_GROUP)
    try:
        overlay.set_layer(str(settings.value("layer", "") or "") or None)
        chosen = _to_int(settings.value("class", -1), -1)
        overlay.set_class(None if chosen < 0 else chosen)
        occlusion.set_options(_to_int(settings.value("patch", occlusion.patch), occlusion.patch),
                              _to_int(settings.value("stride", occlusion.stride), occlusion.stride),
                              str(settings.value("fill", occlusion.fill)), class_index=overlay.class_index())
        overlay.set_enabled(str(settings.value("overlay", "false")).lower() in ("true", "1"))
    finally:
        settings.endGroup()


def _to_int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
