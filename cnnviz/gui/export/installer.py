"""Puts exporting into the window: File → Export… (Ctrl+E, and in the toolbar) and the inspector's
"Export this channel/layer/all layers…" open the options dialog (`export_dialog.py`); the export runs in
the compute process ("export" task). Operation: "export.open_dialog"."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction

from cnnviz.gui.export.export_dialog import export_with_dialog
from cnnviz.gui.widgets.qt_helpers import Icon, make_action


@dataclass
class ExportFeature:
    """What `install` made: File → Export… (`action`)."""

    action: QAction


def install(context) -> ExportFeature:
    inspector = context.inspector

    def export(scope: str = "layer", layer: int | None = None, channel: int | None = None) -> None:
        """Open the export dialog for the current layer (`scope` "channel", "layer" or "all")."""
        if context.current_model() is None or inspector.current_outputs() is None:
            context.status("Draw or open a digit first: there are no feature maps to export.", 5000)
            return
        layer = inspector.current_layer() if layer is None else layer
        channel = inspector.current_channel() if channel is None else channel
        path = context.current_model().path
        folder = export_with_dialog(context.dialog_parent(), inspector, scope, layer,
                                    -1 if channel is None or channel < 0 else channel, str(path) if path else "",
                                    context.client)
        if folder is not None:
            context.status(f"Exported to {folder}", 8000)

    action = make_action(context.dialog_parent(), "&Export…", "Export feature maps as PNG images", lambda: export(),
                         "Ctrl+E", icon=Icon.SP_FileDialogDetailedView)
    context.menu("File").addAction(action)
    context.add_toolbar_actions([action])
    inspector.export_requested.connect(lambda scope, layer, channel: export(scope, layer, channel))

    def update() -> None:
        """Possible with a model, and not while it trains."""
        action.setEnabled(context.current_model() is not None and not context.is_training())

    for signal in (context.model_ready, context.model_failed, context.training_started, context.training_ended):
        signal.connect(update)
    update()
    context.operations.register("export.open_dialog", export)
    return ExportFeature(action)
