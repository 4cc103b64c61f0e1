"""Puts unit explanation into the window (issue 10): the unit panel, receptive-field outlines and the
Kernels view.

`install(context)` adds the "Unit" panel (a dock, tabbed with the Training panel), the Kernels layer
mode beside Maps, Explain → "Let go of the unit" (Esc) and "Show kernels", the operations
"units.pin", "units.release", "units.focused", "units.show_kernels", "units.show_fields", and the target
"receptive_field" (the focused unit's field on the drawing). See `unit_focus.py`, `unit_panel.py`, `kernels_mode.py`
and `live_weights.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRect, QRectF
from PySide6.QtWidgets import QDockWidget

from cnnviz.gui.seam.selection import Unit
from cnnviz.gui.units.kernels_mode import KernelsMode
from cnnviz.gui.units.live_weights import LiveWeights
from cnnviz.gui.units.unit_focus import UnitFocus
from cnnviz.gui.units.unit_panel import UnitPanel
from cnnviz.gui.widgets.layer_modes import MAPS
from cnnviz.gui.widgets.qt_helpers import make_action

PANEL_NAME = "unit_dock"


@dataclass
class UnitsFeature:
    """What `install` made (tests and the autotest reach the pieces through `window.capabilities`)."""

    live_weights: LiveWeights
    focus: UnitFocus
    panel: UnitPanel
    dock: QDockWidget
    kernels: KernelsMode


def install(context) -> UnitsFeature:
    inspector, parent = context.inspector, context.dialog_parent()
    live = LiveWeights(inspector, context.is_training, parent)
    focus = UnitFocus(inspector, live, parent)
    panel = UnitPanel(focus)
    dock = context.add_panel("Unit", panel, PANEL_NAME, tabify_with="training_dock")
    dock.setToolTip("How the value of the unit under the cursor (or pinned) is made")
    kernels = KernelsMode(inspector, live)
    inspector.add_layer_mode(kernels)
    inspector.layer_mode_changed.connect(lambda name: live.want("kernels", name == kernels.name))
    live.want("kernels", inspector.current_layer_mode() == kernels.name)

    def on_pinned() -> None:
        """Pinning a unit brings the panel forward (hovering does not: it would hide the training panel)."""
        if focus.is_pinned() and dock.isVisible():
            dock.raise_()

    focus.changed.connect(on_pinned)
    release = make_action(parent, "Let go of the unit", "Forget the unit in focus: no explanation, no outlines",
                          focus.release, "Esc")
    show_kernels = make_action(parent, "Show kernels", "Show the current conv layer's learned weights instead "
                               "of its maps (the Kernels button above the grid)", lambda: _toggle_kernels(inspector))
    menu = context.menu("Explain")
    menu.addAction(release)
    menu.addAction(show_kernels)
    context.add_shortcuts([release])
    _register_operations(context, focus, dock)
    context.targets.register("receptive_field", inspector.canvas, locate=lambda: _field_on_canvas(inspector.canvas),
                             summary="the focused unit's receptive field outlined on the drawing")
    return UnitsFeature(live, focus, panel, dock, kernels)


def _toggle_kernels(inspector) -> None:
    """Switch the grid to the Kernels view (on a conv layer), or back to the maps."""
    inspector.set_layer_mode(MAPS if inspector.current_layer_mode() == "kernels" else "kernels")


def _field_on_canvas(canvas) -> QRect | None:
    """Where the focused unit's receptive field is outlined on the drawing (None: no outline)."""
    shown = canvas.unit_box()
    if shown is None:
        return None
    (top, left, bottom, right), _ = shown
    target = canvas.target_rect()
    scale = target.width() / canvas.canvas_size
    return QRectF(target.x() + left * scale, target.y() + top * scale, (right - left) * scale,
                  (bottom - top) * scale).intersected(target).toAlignedRect()


def _register_operations(context, focus: UnitFocus, dock: QDockWidget) -> None:
    def pin(layer: int | str, channel: int, y: int | None = None, x: int | None = None) -> bool:
        """Pin a unit (layer index or name, channel, and y, x on a map) and explain it in the Unit panel; the
        inspector shows its layer. False if the model has no such unit."""
        inspector = context.inspector
        if not inspector.select_layer(layer):
            return False
        focus.focus(Unit(inspector.current_layer(), int(channel), y, x), pinned=True)
        if focus.unit() is None:
            return False
        if focus.unit().y is not None:
            inspector.select_channel(int(channel))
        dock.show()
        dock.raise_()
        return True

    def show_kernels(layer: int | str) -> bool:
        """Show layer `layer` (index or name) in the Kernels view: its filters' weights instead of its maps;
        False if it has no kernels."""
        inspector = context.inspector
        return inspector.select_layer(layer) and inspector.set_layer_mode("kernels")

    context.operations.register("units.pin", pin)
    context.operations.register("units.show_kernels", show_kernels)
    context.operations.register("units.show_fields", focus.set_fields_shown)
    context.operations.register("units.release", focus.release, "Forget the unit in focus (no explanation, "
                                "no outlines)")
    context.operations.register("units.focused", focus.unit, "The Unit in focus (hovered or pinned), or None")
