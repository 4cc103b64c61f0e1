"""Issue 10 in the app: explain one unit (the unit panel, receptive-field outlines) and the Kernels view.

`install(window)` adds the "Unit" panel (a dock, tabbed with the Training panel), the Kernels
layer mode beside Maps, and Explain → "Let go of the unit" (Esc). See `unit_focus`, `unit_panel`,
`kernels_mode` and `live_weights`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QDockWidget

from cnnviz.gui.units.kernels_mode import KernelsMode
from cnnviz.gui.units.live_weights import LiveWeights
from cnnviz.gui.widgets.qt_helpers import make_action
from cnnviz.gui.units.unit_focus import UnitFocus
from cnnviz.gui.units.unit_panel import UnitPanel

PANEL_NAME = "unit_dock"


@dataclass
class UnitsFeature:
    """What `install` made (tests and the autotest reach the pieces through `window.features`)."""

    live_weights: LiveWeights
    focus: UnitFocus
    panel: UnitPanel
    dock: QDockWidget
    kernels: KernelsMode


def install(window) -> UnitsFeature:
    inspector = window.inspector
    live = LiveWeights(inspector, window.is_training, window)
    focus = UnitFocus(inspector, live, window)
    panel = UnitPanel(focus)
    training_dock = window.findChild(QDockWidget, "training_dock")
    dock = window.add_panel("Unit", panel, PANEL_NAME, tabify_with=training_dock)
    dock.setToolTip("How the value of the unit under the cursor (or pinned) is made")
    kernels = KernelsMode(inspector, live)
    inspector.add_layer_mode(kernels)
    inspector.layer_modes.mode_changed.connect(lambda name: live.want("kernels", name == kernels.name))
    live.want("kernels", inspector.current_layer_mode() == kernels.name)

    def on_pinned() -> None:
        """Pinning a unit brings the panel forward (hovering does not: it would hide the training panel)."""
        if focus.is_pinned() and dock.isVisible():
            dock.raise_()

    focus.changed.connect(on_pinned)
    release = make_action(window, "Let go of the unit", "Forget the unit in focus: no explanation, no outlines",
                          focus.release, "Esc")
    show_kernels = make_action(window, "Show kernels", "Show the current conv layer's learned weights instead "
                               "of its maps (the Kernels button above the grid)", lambda: _show_kernels(inspector))
    menu = window.menu("Explain")
    menu.addAction(release)
    menu.addAction(show_kernels)
    window.addAction(release)
    return UnitsFeature(live, focus, panel, dock, kernels)


def _show_kernels(inspector) -> None:
    """Switch the grid to the Kernels view (on a conv layer), or back to the maps."""
    bar = inspector.layer_modes
    bar.set_current("maps" if bar.current() == "kernels" else "kernels")
