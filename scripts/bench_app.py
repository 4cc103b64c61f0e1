"""Helpers the app benchmarks share: the real main window of whichever cnnviz is importable (this one, or an
older checkout put first on PYTHONPATH: 0.2's flat `cnnviz/gui/*.py` layout is recognised), an X server
of our own and a watcher of its windows being mapped, synthesised mouse input, waiting without spinning,
and the figures (medians, percentiles).

Not a benchmark itself: `bench_interactions.py` and `bench_gui.py` import it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WAIT_S = 300.0


def load_average() -> float:
    return os.getloadavg()[0]


def figures(samples_ms: list[float]) -> dict:
    """Median, p95, p99, max and count of samples in ms (NaN when there are none)."""
    values = np.asarray(samples_ms, dtype=float)
    if values.size == 0:
        return {"median": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan"), "count": 0}
    return {"median": float(np.median(values)), "p95": float(np.percentile(values, 95)),
            "p99": float(np.percentile(values, 99)), "max": float(values.max()), "count": int(values.size)}


# --- an X server and its map events ------------------------------------------------------------------
class _XMapEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("event", ctypes.c_ulong), ("window", ctypes.c_ulong),
                ("override_redirect", ctypes.c_int)]


class _XEvent(ctypes.Union):
    _fields_ = [("type", ctypes.c_int), ("xmap", _XMapEvent), ("pad", ctypes.c_long * 24)]


class MapWatcher:
    """Records every top-level window mapped on a display (MapNotify on the root): window id -> time.time()."""

    MAP_NOTIFY = 19
    SUBSTRUCTURE_NOTIFY_MASK = 1 << 19

    def __init__(self, display_name: str):
        self.x = ctypes.CDLL(ctypes.util.find_library("X11"))
        self.x.XOpenDisplay.restype = ctypes.c_void_p
        self.x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x.XDefaultRootWindow.restype = ctypes.c_ulong
        self.x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        self.x.XSelectInput.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_long]
        self.x.XPending.argtypes = [ctypes.c_void_p]
        self.x.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.POINTER(_XEvent)]
        self.x.XConnectionNumber.argtypes = [ctypes.c_void_p]
        self.x.XFlush.argtypes = [ctypes.c_void_p]
        self.display = self.x.XOpenDisplay(display_name.encode())
        if not self.display:
            raise RuntimeError(f"cannot open X display {display_name}")
        self.x.XSelectInput(self.display, self.x.XDefaultRootWindow(self.display), self.SUBSTRUCTURE_NOTIFY_MASK)
        self.x.XFlush(self.display)
        self.fd = self.x.XConnectionNumber(self.display)
        self.mapped: dict[int, float] = {}

    def poll(self, timeout_s: float = 0.0) -> None:
        """Read the map events that arrived (waiting up to `timeout_s` for the first)."""
        select.select([self.fd], [], [], timeout_s)
        event = _XEvent()
        while self.x.XPending(self.display):
            self.x.XNextEvent(self.display, ctypes.byref(event))
            if event.type == self.MAP_NOTIFY and not event.xmap.override_redirect:
                self.mapped.setdefault(int(event.xmap.window), time.time())


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """An Xvfb of our own on a free display (1280×800, 24 bits, like a small laptop screen)."""
    for number in range(140, 200):
        if Path(f"/tmp/.X{number}-lock").exists():
            continue
        server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return server, f":{number}"
            time.sleep(0.05)
        server.kill()
    raise RuntimeError("no free display for Xvfb")


# --- the app of whichever cnnviz is importable --------------------------------------------------------
def main_window_module():
    """`cnnviz.gui.shell.main_window` (0.3's capability folders) or `cnnviz.gui.main_window` (0.2)."""
    try:
        return importlib.import_module("cnnviz.gui.shell.main_window")
    except ModuleNotFoundError:
        return importlib.import_module("cnnviz.gui.main_window")


def fresh_settings() -> None:
    """Default settings (a new settings folder), as on a first launch: a remembered layout would change
    what the window does, and the figures would depend on who ran the benchmark last."""
    if not os.environ.get("CNNVIZ_BENCH_USER_SETTINGS"):
        os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="cnnviz-bench-config-")


class WindowParts:
    """The parts of a main window a benchmark drives, in either layout (0.3's `capabilities`, 0.2's
    `features` list and window attributes)."""

    def __init__(self, window):
        self.window = window
        self.inspector = window.inspector
        self.new_layout = hasattr(window, "capabilities")

    def _feature(self, name: str, old_class: str):
        if self.new_layout:
            return self.window.capabilities[name]
        return next(f for f in self.window.features if type(f).__name__ == old_class)

    @property
    def units(self):
        return self._feature("units", "UnitsFeature")

    @property
    def history(self):
        return self._feature("history", "HistoryFeature")

    @property
    def training_panel(self):
        return self.window.capabilities["training"].panel if self.new_layout else self.window.panel

    def training_run(self):
        return self.window.capabilities["training"].run if self.new_layout else self.window.training

    def show_test_set_panel(self) -> None:
        history = self.history
        dock = getattr(history, "panel_dock", None) or history.panel.parentWidget()
        dock.show()
        dock.raise_()


def loaded_window(app):
    """A shown main window (default settings) on its own compute process, the shipped model loaded."""
    from PySide6.QtCore import QEventLoop

    window = main_window_module().MainWindow()
    window.remember_settings = False  # benchmark runs must not change the user's settings
    window.ask_to_save = False        # nor ask to save what they trained when they close
    window.show()
    loop = QEventLoop()
    window.model_ready.connect(loop.quit)
    window.load_model_file()
    loop.exec()
    window.model_ready.disconnect(loop.quit)
    return window


# --- waiting and input ------------------------------------------------------------------------------
class Waker:
    """A timer that wakes the event loop every `interval_ms`, so `wait_until` never blocks for good."""

    def __init__(self, interval_ms: int = 20):
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: None)
        self.timer.start()


def wait_until(app, condition, what: str, timeout_s: float = WAIT_S) -> None:
    """Run the event loop (sleeping while nothing happens) until `condition()` holds."""
    from PySide6.QtCore import QEventLoop

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)


class PaintCounter:
    """Counts the paint events one widget receives; `watch(condition)` sets `hit` at the first paint
    during which `condition()` holds (the paint shows that state); `on_paint()` is called at each."""

    def __init__(self, widget, on_paint=None):
        from PySide6.QtCore import QEvent, QObject

        counter = self

        class Filter(QObject):
            def eventFilter(self, watched, event):  # noqa: N802 (Qt API)
                if event.type() == QEvent.Type.Paint:
                    counter.count += 1
                    if counter._condition is not None and counter._condition():
                        counter.hit = True
                        counter._condition = None
                    if on_paint is not None:
                        on_paint()
                return False

        self.count = 0
        self.hit = False
        self._condition = None
        self._filter = Filter()
        widget.installEventFilter(self._filter)

    def watch(self, condition) -> None:
        self.hit = False
        self._condition = condition


def send_mouse(widget, kind, position, buttons=None) -> None:
    """A synthesised mouse event delivered to `widget` (press/release with the left button)."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    position = QPointF(position)
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    if buttons is None:
        buttons = Qt.MouseButton.NoButton
    QApplication.sendEvent(widget, QMouseEvent(kind, position, widget.mapToGlobal(position), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))


def recorded_stroke(num_points: int, variant: int = 0) -> np.ndarray:
    """A "2" in unit coordinates (an arc over the top, a diagonal, a base line), shifted a little by
    `variant` so that strokes differ."""
    shift = 0.03 * ((variant % 5) - 2)
    points = []
    for s in np.linspace(0.0, 1.0, num_points):
        if s < 0.45:
            angle = np.pi * (1.1 - 1.25 * s / 0.45)
            points.append((0.5 + 0.22 * np.cos(angle), 0.32 - 0.17 * np.sin(angle)))
        elif s < 0.8:
            u = (s - 0.45) / 0.35
            points.append((0.69 - 0.42 * u, 0.40 + 0.38 * u))
        else:
            u = (s - 0.8) / 0.2
            points.append((0.27 + 0.48 * u, 0.78))
    return np.array(points) + shift


def stroke_points(canvas, num_points: int, variant: int = 0) -> list:
    """The recorded stroke in `canvas`'s widget coordinates (its centred square)."""
    from PySide6.QtCore import QPointF

    side = min(canvas.width(), canvas.height())
    origin = QPointF((canvas.width() - side) / 2, (canvas.height() - side) / 2)
    return [origin + QPointF(x * side, y * side) for x, y in recorded_stroke(num_points, variant)]


def call(app, client, method: str, args: dict | None = None, timeout_s: float = WAIT_S):
    """One request to the compute process, waited for; its result (raises its ComputeError)."""
    box: dict = {}
    client.request(method, args, on_reply=lambda reply: box.setdefault("reply", reply),
                   on_error=lambda error: box.setdefault("error", error))
    wait_until(app, lambda: box, method, timeout_s)
    if "error" in box:
        raise box["error"]
    return box["reply"]


def python_for(checkout: str | None) -> tuple[list[str], dict]:
    """(interpreter command, environment) that imports cnnviz from `checkout` (None: this one)."""
    env = dict(os.environ)
    if checkout:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(checkout).resolve()), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep)
    return [sys.executable], env
