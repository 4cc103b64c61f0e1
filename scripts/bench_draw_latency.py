"""Latency from a mouse move on the canvas to every visible map repainted, with the shipped model.

Replays a recorded stroke (a "2", as synthesised mouse-move events sent to the canvas) in a shown
InspectorWidget showing conv2d_1's 32 maps of 26×26. For each move it times: delivering the event,
`QApplication.processEvents()` (the coalesced preprocessing, the forward pass, the view updates and
the paint events they schedule) and a forced synchronous `repaint()` of the whole widget. Prints
p50/p95/max in ms, and the same without the forced full repaint (what Qt itself paints).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/bench_draw_latency.py [--moves N]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

TARGET_P95_MS = 16.0


def recorded_stroke(num_points: int) -> np.ndarray:
    """A "2" in unit coordinates: an arc over the top, a diagonal, a base line."""
    t = np.linspace(0.0, 1.0, num_points)
    points = []
    for s in t:
        if s < 0.45:
            angle = np.pi * (1.1 - 1.25 * s / 0.45)
            points.append((0.5 + 0.22 * np.cos(angle), 0.32 - 0.17 * np.sin(angle)))
        elif s < 0.8:
            u = (s - 0.45) / 0.35
            points.append((0.69 - 0.42 * u, 0.40 + 0.38 * u))
        else:
            u = (s - 0.8) / 0.2
            points.append((0.27 + 0.48 * u, 0.78))
    return np.array(points)


def send_mouse(widget, kind, position: QPointF, buttons) -> None:
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, position, widget.mapToGlobal(position), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def percentiles(samples: list[float]) -> str:
    values = np.array(samples) * 1000
    return (f"p50 {np.percentile(values, 50):6.2f} ms   p95 {np.percentile(values, 95):6.2f} ms   "
            f"max {values.max():6.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=150, help="mouse moves in the stroke (default 150)")
    parser.add_argument("--strokes", type=int, default=2, help="times to replay the stroke (default 2)")
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.model import load_model
    from cnnviz.core.paths import default_model_path
    from cnnviz.gui.inspector import InspectorWidget

    probe = ActivationProbe(load_model(default_model_path()))
    widget = InspectorWidget()
    widget.resize(900, 700)
    widget.show()
    widget.set_probe(probe)
    app.processEvents()
    canvas = widget.canvas
    side = min(canvas.width(), canvas.height())
    origin = QPointF((canvas.width() - side) / 2, (canvas.height() - side) / 2)
    stroke = [origin + QPointF(x * side, y * side) for x, y in recorded_stroke(args.moves)]

    full, qt_only, probe_times = [], [], []
    timed_probe = widget._probe

    def probe_with_timer(image):
        started = time.perf_counter()
        result = timed_probe(image)
        probe_times.append(time.perf_counter() - started)
        return result

    widget._probe = probe_with_timer
    widget._probe.model = probe.model
    for replay in range(args.strokes):
        widget.canvas.clear()
        app.processEvents()
        send_mouse(canvas, QEvent.Type.MouseButtonPress, stroke[0], Qt.MouseButton.LeftButton)
        app.processEvents()
        for position in stroke[1:]:
            started = time.perf_counter()
            send_mouse(canvas, QEvent.Type.MouseMove, position, Qt.MouseButton.LeftButton)
            app.processEvents()
            painted = time.perf_counter()
            widget.repaint()
            finished = time.perf_counter()
            if replay > 0:  # the first stroke warms caches up
                qt_only.append(painted - started)
                full.append(finished - started)
        send_mouse(canvas, QEvent.Type.MouseButtonRelease, stroke[-1], Qt.MouseButton.NoButton)
        app.processEvents()

    assert widget.current_layer() == 0 and widget.layer_grid.num_maps() == 32
    shown = np.moveaxis(widget.layer_grid.maps(), 0, -1)  # what the last repaint showed
    np.testing.assert_allclose(shown, probe(widget.current_input())[0], rtol=1e-4, atol=1e-5)
    print(f"{len(full)} mouse moves, conv2d_1 (32 maps of 26×26) visible, prediction "
          f"{widget.top_guess.guess()}")
    print(f"event -> all maps repainted (incl. forced full repaint): {percentiles(full)}")
    print(f"event -> processEvents (Qt's own repaint):              {percentiles(qt_only)}")
    print(f"forward pass (probe) alone:                             {percentiles(probe_times)}")
    p95 = float(np.percentile(np.array(full) * 1000, 95))
    print(f"target p95 <= {TARGET_P95_MS:.0f} ms: {'met' if p95 <= TARGET_P95_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
