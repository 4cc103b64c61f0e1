"""Kernel surgery's latency in the real main window: a preset pressed → the edited network's outputs back
from the compute process → every map of the window repainted.

A MainWindow with every capability (the app's own, 1280×800, offscreen), the shipped model loaded in its
compute process (nice +10, as in the app), test digit 0 on the canvas, conv2d_1's 32 maps in the grid and
the Experiments panel in front on conv2d_1's filter 5. What is timed, per sample: from the click on a
preset button ("Vertical edge", then "Undo" to take it back: both are edits, each an "edit_kernel" or
"undo_kernel_edit" round trip carrying every layer's output) to the inspector showing those outputs and a
synchronous `repaint()` of the whole window having finished (the overview's thumbnails, the grid, the
enlarged channel, the prediction, the painter). Beside it, interleaved in the same rounds, the same path
for a plain "probe" of the same digit (`inspector.recompute_outputs()`: what a stroke costs).

- cold: the first edit in a fresh app (a new compute process each time: its first KernelEditor, its first
  variable assignments), `--cold` apps right after the digit's maps are shown (the compute process is
  still busy with the app's start-up tasks then, e.g. reading the checkpoints) and `--cold` apps left
  to settle for `--settle` seconds first, interleaved;
- warm: `--rounds` interleaved rounds of (edit, undo, probe) after that.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/bench_experiments.py [--rounds 30] [--cold 3]

Prints medians (and p90) in ms and the load average: compare figures of one run only.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

WAIT_MS = 180_000
POLL_MS = 1


def run_until(condition) -> None:
    """Run the event loop until `condition()` holds, checked every POLL_MS without spinning (a busy loop
    would take the CPU from the compute process); TimeoutError after WAIT_MS."""
    if condition():
        return
    loop = QEventLoop()
    deadline = time.monotonic() + WAIT_MS / 1000
    timer = QTimer()
    timer.setInterval(POLL_MS)
    timer.timeout.connect(lambda: (condition() or time.monotonic() > deadline) and loop.quit())
    timer.start()
    loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("nothing came back within three minutes")


def fresh_window():
    """A shown MainWindow with every capability on a new compute process, the shipped model and test digit
    0 on the canvas, conv2d_1 shown, the Kernel surgery tab in front on filter 5."""
    from cnnviz.core.paths import default_model_path
    from cnnviz.gui.shell.main_window import MainWindow

    window = MainWindow()
    window.remember_settings = False
    window.ask_to_save = False
    window.resize(1280, 800)
    window.show()
    window.load_model_file(default_model_path())
    run_until(lambda: window.current is not None and window.inspector.model() is not None)
    feature = window.capabilities["experiments"]
    window.inspector.show_test_digit(0)
    run_until(lambda: window.inspector.current_outputs() is not None)
    window.context.operations.call("experiments.show_kernel_surgery", "conv2d_1", 5)
    run_until(lambda: not feature.surgery.is_busy())
    QApplication.instance().processEvents()
    return window, feature


def timed(window, feature, press) -> float:
    """Seconds from `press()` to the new outputs shown and the whole window repainted."""
    shown = []

    def on_shown() -> None:
        shown.append(True)

    window.inspector.outputs_shown.connect(on_shown)
    started = time.perf_counter()
    press()
    run_until(lambda: shown and not feature.surgery.is_busy() and window.inspector.current_outputs() is not None)
    window.repaint()
    elapsed = time.perf_counter() - started
    window.inspector.outputs_shown.disconnect(on_shown)
    return elapsed


def summary(name: str, samples: list[float]) -> str:
    values = np.array(samples) * 1000
    return f"{name:62} median {np.median(values):7.1f} ms   p90 {np.percentile(values, 90):7.1f} ms   (n={len(values)})"


def close(window) -> None:
    window.close()
    QApplication.instance().processEvents()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="warm rounds of (edit, undo, probe) (default 30)")
    parser.add_argument("--cold", type=int, default=3, help="fresh apps for the first edit, each way (default 3)")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds a settled fresh app waits (default 10)")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    loads = [os.getloadavg()[0]]

    cold, settled = [], []
    for run in range(2 * args.cold):
        window, feature = fresh_window()
        if run % 2:
            wait_s = time.monotonic() + args.settle
            run_until(lambda: time.monotonic() > wait_s)
        preset = feature.surgery_view.preset_buttons["vertical-edge"]
        (settled if run % 2 else cold).append(timed(window, feature, preset.click))
        close(window)
        loads.append(os.getloadavg()[0])

    window, feature = fresh_window()
    view = feature.surgery_view
    edits, undos, probes = [], [], []
    for _ in range(args.rounds):
        edits.append(timed(window, feature, view.preset_buttons["vertical-edge"].click))
        undos.append(timed(window, feature, view.undo_button.click))
        probes.append(timed(window, feature, window.inspector.recompute_outputs))
    loads.append(os.getloadavg()[0])
    assert feature.surgery.labels() == [] and window.inspector.current_layer() == 0
    print(f"MainWindow 1280×800 with every capability, conv2d_1's 32 maps shown, test digit 0; load average "
          f"{min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} cores")
    print(summary("cold: the first preset in a fresh app -> all repainted", cold))
    print(summary(f"cold, settled: the same {args.settle:g} s after the maps were shown", settled))
    print(summary("warm: a preset -> edited outputs -> all repainted", edits))
    print(summary("warm: Undo -> outputs -> all repainted", undos))
    print(summary("warm: a plain probe of the same digit -> all repainted (reference)", probes))
    close(window)
    app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
