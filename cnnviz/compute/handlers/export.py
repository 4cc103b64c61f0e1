"""Feature-map export as a task: the GUI hands over the arrays it shows, the core exporter writes them."""

from __future__ import annotations

from cnnviz.compute.registry import handler


@handler("export", kind="task")
def export(state, task, out_dir, model_input, outputs, layer_names, layer_kinds=None, **arguments):
    """Run `cnnviz.core.export.export_activations` (same arguments); returns its ExportResult.

    Events: "progress" {"stage": "writing"} when it starts. A cancel before the writing starts
    writes nothing; the exporter itself is all-or-nothing (a hidden folder renamed into place).
    """
    from cnnviz.core.export import export_activations

    task.check_cancelled()
    task.emit("progress", {"stage": "writing"})
    return export_activations(out_dir, model_input, outputs, layer_names, layer_kinds, **arguments)
