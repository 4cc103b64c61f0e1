"""Feature-map export as a task: the GUI hands over the arrays it shows, the core exporter writes them."""

from __future__ import annotations

import time

from cnnviz.compute.registry import handler

PROGRESS_INTERVAL_S = 0.1   # progress events at most this often (and for the last file)


@handler("export", kind="task")
def export(state, task, out_dir, model_input, outputs, layer_names, layer_kinds=None, **arguments):
    """Run `cnnviz.core.export.export_activations` (same arguments); returns its ExportResult.

    Events: "progress" {"stage": "writing"} when it starts, then {"stage": "making", "done", "total"}
    as the files are made (≤ 10 a second). A cancel stops it before the next file and nothing is
    written: the exporter makes every file in memory first and then renames a hidden folder into place.
    """
    from cnnviz.core.export import export_activations

    task.check_cancelled()
    task.emit("progress", {"stage": "writing"})
    last_event = [0.0]

    def progress(done: int, total: int) -> None:
        task.check_cancelled()
        now = time.monotonic()
        if done >= total or now - last_event[0] >= PROGRESS_INTERVAL_S:
            last_event[0] = now
            task.emit("progress", {"stage": "making", "done": done, "total": total})

    arguments.setdefault("progress", progress)
    return export_activations(out_dir, model_input, outputs, layer_names, layer_kinds, **arguments)
