"""Puts attribution into the window (issue 11): where the network looks (Grad-CAM, occlusion), what each
filter wants (patterns, top test digits), and switching filters off.

`install(context)` adds:
- the Grad-CAM overlay on the 28×28 input and the drawing (`gradcam_overlay.py`), switched with
  Explain → Grad-CAM overlay (Ctrl+G), with the class and the layer in Explain's submenus;
- the "Where the network looks" panel (Grad-CAM and occlusion side by side, `where_it_looks.py`),
  tabbed with the Training panel (Explain → Where the network looks…, Ctrl+Shift+G);
- the Patterns view of conv layers beside Maps (`patterns_mode.py`; Explain → Show filter patterns);
- under the enlarged channel, its pattern, top test digits and their patches (`top_digits_view.py`);
- "Switch this filter off" in a channel's context menu and the "Switched-off filters" panel, tabbed
  with the Curves (`ablation.py`, `ablation_panel.py`; Explain → Switch all filters back on);
- the operations "attribution.show_overlay", "attribution.show_panel", "attribution.show_patterns",
  "attribution.switch_off", "attribution.all_on".
The choices (overlay on/off, class, layer, occlusion patch, stride and fill) are remembered.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QDockWidget

from cnnviz.gui.attribution.ablation import Ablation
from cnnviz.gui.attribution.ablation_panel import AblationPanel
from cnnviz.gui.attribution.attribution_settings import restore_settings, save_settings
from cnnviz.gui.attribution.explain_menu import ExplainMenu
from cnnviz.gui.attribution.gradcam_overlay import GradCamOverlay
from cnnviz.gui.attribution.patterns_mode import PatternsMode
from cnnviz.gui.attribution.top_digits import TopDigits
from cnnviz.gui.attribution.top_digits_view import FilterView
from cnnviz.gui.attribution.where_it_looks import AttributionPanel, OcclusionMap

PANEL_NAME = "attribution_dock"
ABLATION_PANEL_NAME = "ablation_dock"


@dataclass
class AttributionFeature:
    """What `install` made (tests and the autotest reach the pieces through `window.capabilities`)."""

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
    menu: ExplainMenu


def install(context) -> AttributionFeature:
    inspector, client = context.inspector, context.client
    overlay = GradCamOverlay(inspector, client, context.dialog_parent())
    overlay.is_training = context.is_training
    occlusion = OcclusionMap(inspector, client, context.dialog_parent())
    panel = AttributionPanel(inspector, overlay, occlusion)
    dock = context.add_panel("Where it looks", panel, PANEL_NAME, tabify_with="training_dock")
    dock.setToolTip("Where the network looks: Grad-CAM and occlusion for the current input")

    patterns = PatternsMode(inspector, client)
    patterns.is_training = context.is_training
    inspector.add_layer_mode(patterns)
    top_digits = TopDigits(inspector, client, parent=context.dialog_parent())
    top_digits.is_training = context.is_training
    filter_view = FilterView(inspector, patterns, top_digits)
    inspector.add_side_widget(filter_view)

    ablation = Ablation(inspector, client, context.dialog_parent())
    ablation_panel = AblationPanel(ablation)
    ablation_dock = context.add_panel("Switched-off filters", ablation_panel, ABLATION_PANEL_NAME,
                                      tabify_with="curves_dock", visible=False)
    ablation.failed.connect(lambda text: context.status(text, 0))
    overlay.failed.connect(lambda text: context.status(text, 0))

    def on_ablation_changed() -> None:
        """The first filter switched off brings the list forward."""
        if ablation.is_active() and not ablation_dock.isVisible():
            ablation_dock.show()
            ablation_dock.raise_()

    ablation.changed.connect(on_ablation_changed)
    menu = ExplainMenu(context, overlay, dock, patterns, top_digits, ablation)

    def on_model_ready() -> None:
        panel.set_model()
        menu.sync()
        ablation.model_changed()
        top_digits.model_changed()

    context.model_ready.connect(on_model_ready)
    context.training_finished.connect(lambda _result: patterns.training_finished())
    restore_settings(overlay, occlusion)
    panel.sync_occlusion_options()
    panel.set_model()
    menu.sync()
    for signal in (overlay.choices_changed, panel.patch_box.valueChanged, panel.stride_box.valueChanged,
                   panel.fill_box.activated):
        signal.connect(lambda *_: context.remember_settings() and save_settings(overlay, occlusion))
    _register_operations(context, overlay, dock, menu, ablation)
    return AttributionFeature(overlay, occlusion, panel, dock, patterns, top_digits, filter_view, ablation,
                              ablation_panel, ablation_dock, menu)


def _register_operations(context, overlay: GradCamOverlay, dock: QDockWidget, menu: ExplainMenu,
                         ablation: Ablation) -> None:
    operations = context.operations

    def show_overlay(enabled: bool = True) -> None:
        """Lay Grad-CAM's heat map over the input and the drawing (False: take it away)."""
        overlay.set_enabled(bool(enabled))

    def show_panel() -> None:
        """Bring the "Where the network looks" panel (Grad-CAM beside occlusion) forward."""
        dock.show()
        dock.raise_()

    def show_patterns(layer: int | str | None = None) -> bool:
        """Show each filter's pattern in the grid (of conv layer `layer` if given); False if it cannot."""
        if layer is not None and not context.inspector.select_layer(layer):
            return False
        if context.inspector.current_layer_mode() != "patterns":
            menu.toggle_patterns()
        return context.inspector.current_layer_mode() == "patterns"

    operations.register("attribution.show_overlay", show_overlay)
    operations.register("attribution.show_panel", show_panel)
    operations.register("attribution.show_patterns", show_patterns)
    operations.register("attribution.switch_off", ablation.switch_off, "Switch filter `channel` of layer `layer` "
                        "(a name) off: its maps are zeros from that layer on")
    operations.register("attribution.all_on", ablation.all_on)
