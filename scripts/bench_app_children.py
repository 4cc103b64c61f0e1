"""The processes `bench_interactions.py` starts (see its docstring for what each one times):

- `_launch`: runs `cnnviz` as its console script does (`cli.main([])`), with a hook that, when the main
  window is shown, reports its X window id and picks test digit 0, then reports the first paint of its maps;
- `_session`: one app (default settings, shipped model) doing the cold uses, then rounds of warm ones, then
  a training run; prints one JSON line of samples;
- `_headless`: `cnnviz train`'s defaults on the first N digits; prints the digits/s of every epoch after
  the first (the first traces).
"""

from __future__ import annotations

import importlib.abc
import json
import os
import sys
import time

import numpy as np

from bench_app import (PaintCounter, Waker, WindowParts, fresh_settings, loaded_window, send_mouse, stroke_points,
                       wait_until)

STROKE_MOVES = 40
HOVERS_PER_ROUND = 8
SWITCHES_PER_ROUND = 3
SCRUBS_PER_ROUND = 3
MOVE_GAP_S = 0.012       # hovers at a hand's pace (pyqtgraph 0.14 drops moves under 10 ms apart by default)
HOVER_TIMEOUT_S = 3.0
MAIN_WINDOW_MODULES = ("cnnviz.gui.shell.main_window", "cnnviz.gui.main_window")


def run_child(args) -> int:
    return {"_launch": launch_child, "_session": session_child, "_headless": headless_child}[args.mode](args)


# --- _launch --------------------------------------------------------------------------------------------
class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls `patch(module)` right after one of `names` has been imported (the app itself is not changed)."""

    def __init__(self, names, patch):
        self.names, self.patch = set(names), patch

    def find_spec(self, name, path, target=None):
        if name not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            self.patch(module)

        spec.loader.exec_module = exec_module
        return spec


def launch_child(args) -> int:
    out_path = os.environ["BENCH_OUT"]

    def record(event: str, **fields) -> None:
        with open(out_path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"event": event, "at": time.time(), **fields}) + "\n")

    def on_shown(window) -> None:
        from PySide6.QtCore import QTimer

        record("shown", window=int(window.winId()))
        client = window.client
        if client.is_ready():
            record("compute_listening")
        else:
            client.ready.connect(lambda: record("compute_listening"))
        window.model_ready.connect(lambda: record("model_ready"))
        inspector = window.inspector
        painted = []
        if os.environ.get("BENCH_TRACE_REQUESTS"):   # where the launch time goes: every request and reply
            request = client.request

            def traced(method, args=None, **kwargs):
                for name in ("on_reply", "on_error"):
                    callback = kwargs.get(name)
                    kwargs[name] = (lambda c, n: lambda *a: (record(f"{method} {n}"), c and c(*a)))(callback, name)
                record(f"{method} sent")
                return request(method, args, **kwargs)

            client.request = traced

        def on_paint() -> None:
            if not painted and inspector.current_outputs() is not None:
                painted.append(True)
                QTimer.singleShot(0, lambda: record("first_maps"))

        window._bench_paints = PaintCounter(inspector.layer_grid.viewport(), on_paint)

        def pick() -> None:
            if inspector.show_test_digit(0):
                record("digit_picked")
            else:
                QTimer.singleShot(50, pick)

        QTimer.singleShot(0, pick)

    def patch(module) -> None:
        show = module.MainWindow.show

        def shown(window, *rest):
            show(window, *rest)
            on_shown(window)

        module.MainWindow.show = shown

    sys.meta_path.insert(0, _AfterImport(MAIN_WINDOW_MODULES, patch))
    from cnnviz.cli import main

    return main([])


# --- _session -------------------------------------------------------------------------------------------
class Session:
    """One app and the samples it gives (ms)."""

    def __init__(self, seed: int = 0):
        from PySide6.QtCore import QEventLoop

        from cnnviz.gui.app import make_application

        fresh_settings()
        self.app = make_application()
        self.waker = Waker()
        self.window = loaded_window(self.app)
        self.parts = WindowParts(self.window)
        self.inspector = self.window.inspector
        self.grid = self.inspector.layer_grid
        self.grid_paints = PaintCounter(self.grid.viewport())
        self.rng = np.random.default_rng(seed)
        self.samples: dict[str, list[float]] = {}
        self.inputs = 0
        self.inspector.input_changed.connect(self._count_input)
        self.flags = QEventLoop.ProcessEventsFlag.WaitForMoreEvents
        specs = self.window.current.layers
        self.spatial = [i for i, spec in enumerate(specs) if spec.kind in ("Conv2D", "MaxPooling2D")]
        history = self.parts.history
        wait_until(self.app, lambda: len(history.scrubbing.stops) > 1 and history.scrubber.slider.isEnabled(),
                   "the checkpoints")

    def _count_input(self, *_):
        self.inputs += 1

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds * 1000)

    def until_painted(self, counter: PaintCounter, condition, timeout_s: float = 60.0) -> float | None:
        """Run the loop until a paint of `counter`'s widget happens while `condition()` holds; the time at
        the end of that pass (perf_counter), None on timeout."""
        counter.watch(condition)
        deadline = time.monotonic() + timeout_s
        while not counter.hit:
            if time.monotonic() > deadline:
                return None
            self.app.processEvents(self.flags)
        return time.perf_counter()

    # the interactions
    def stroke(self, name: str, variant: int) -> None:
        canvas = self.inspector.canvas
        canvas.clear()
        self.app.processEvents()
        points = stroke_points(canvas, STROKE_MOVES, variant)
        from PySide6.QtCore import QEvent, Qt

        send_mouse(canvas, QEvent.Type.MouseButtonPress, points[0], Qt.MouseButton.LeftButton)
        for point in points[1:]:
            before = self.inputs
            started = time.perf_counter()
            send_mouse(canvas, QEvent.Type.MouseMove, point, Qt.MouseButton.LeftButton)
            ended = self.until_painted(self.grid_paints, lambda: self.inputs > before
                                       and self.inspector.current_outputs() is not None)
            self.add(name, ended - started)
        send_mouse(canvas, QEvent.Type.MouseButtonRelease, points[-1])
        self.app.processEvents()

    def hover(self, name: str) -> None:
        """One move of the (buttonless) mouse onto a random unit of the grid -> the first paint of the grid's
        hover read-out (the line under the grid) while it names that unit. That read-out is what the user
        sees change on hover in the default layout: the Unit panel is tabbed behind the Training panel there
        (a tab in the back is laid out off-screen, so it never paints), and hovering does not bring it
        forward."""
        from PySide6.QtCore import QEvent

        readout = self.inspector.hover
        if not hasattr(self, "_readout_paints"):
            self._readout_paints = PaintCounter(self.inspector.views.hover_label)
        layer = self.inspector.current_layer()
        _, height, width = self.grid.maps().shape
        channels = self.grid.maps().shape[0]
        channel, y, x = (int(self.rng.integers(n)) for n in (min(channels, 16), height, width))
        if readout.unit() is not None and (readout.unit().channel, readout.unit().y, readout.unit().x) == (
                channel, y, x):
            y = (y + 1) % height   # a move onto another unit: the read-out must change
        wanted = f"channel {channel}  ·  x {x}, y {y}  ·"
        point = self.grid.unit_centre(channel, y, x)
        time.sleep(MOVE_GAP_S)
        started = time.perf_counter()
        send_mouse(self.grid.viewport(), QEvent.Type.MouseMove, point)
        ended = self.until_painted(self._readout_paints, lambda: (lambda u: u is not None and (
            u.layer, u.channel, u.y, u.x) == (layer, channel, y, x))(readout.unit())
            and readout.text().startswith(wanted), HOVER_TIMEOUT_S)
        if ended is None:
            self.add("hover_missed", 0.0)
        else:
            self.add(name, ended - started)

    def switch_layer(self, name: str) -> None:
        current = self.inspector.current_layer()
        layer = int(self.rng.choice([i for i in self.spatial if i != current]))
        started = time.perf_counter()
        self.inspector.pipeline.layer_clicked.emit(layer)
        ended = self.until_painted(self.grid_paints, lambda: self.inspector.current_layer() == layer
                                   and self.inspector.current_outputs() is not None)
        self.add(name, ended - started)

    def scrub(self, name: str) -> None:
        history = self.parts.history
        if not history.panel.isVisible():   # brought forward, not timed
            self.parts.show_test_set_panel()
            wait_until(self.app, history.panel.isVisible, "the Test set panel")
            self.app.processEvents()
        if not hasattr(self, "_scrubbed"):
            self._scrubbed = []
            history.scrubbing.checkpoint_shown.connect(lambda index, label: self._scrubbed.append(index))
        stops = history.scrubbing.stops
        position = int(self.rng.choice([p for p in range(len(stops)) if p != history.scrubber.position()]))
        target = stops[position].checkpoint
        before = len(self._scrubbed)
        started = time.perf_counter()
        history.scrubber.go_to(position)
        ended = self.until_painted(self.grid_paints, lambda: len(self._scrubbed) > before
                                   and self._scrubbed[-1] == target and not history.scrubbing.is_busy())
        self.add(name, ended - started)

    def back_to_current(self) -> None:
        history = self.parts.history
        history.scrubber.go_to_end()
        wait_until(self.app, lambda: not history.scrubbing.is_busy(), "the current weights")

    # training
    def train(self, epochs: int, limit: int) -> dict:
        from PySide6.QtCore import QTimer

        self.back_to_current()
        self.inspector.show_test_digit(0)
        wait_until(self.app, lambda: self.inspector.current_outputs() is not None, "the digit's maps")
        panel = self.parts.training_panel
        panel.epochs.setValue(epochs)
        panel.limit.setValue(limit)
        panel.start_from.setCurrentIndex(0)
        results, progress, ages, last = [], [], [], [None]

        def on_tick():
            now = time.perf_counter()
            if last[0] is not None and panel.state() == "running":
                self.add("timer_gap", now - last[0])
            last[0] = now

        def probe():   # the served weights' age while they change (not while the run builds and traces)
            image = self.inspector.current_input()
            if panel.state() == "running" and progress and image is not None:
                self.window.client.request("probe", {"image": image}, on_reply=lambda r: ages.append(
                    r.get("weights_age_s")))

        ticks, prober = QTimer(), QTimer()
        ticks.setInterval(10)
        ticks.timeout.connect(on_tick)
        prober.setInterval(250)
        prober.timeout.connect(probe)
        self.window.training_finished.connect(results.append)
        panel.start_action.trigger()
        run = self.parts.training_run()
        run.progress.connect(lambda p: progress.append((time.perf_counter(), p)))
        ticks.start()
        prober.start()
        wait_until(self.app, lambda: bool(results), "the training run", 1800)
        ticks.stop()
        prober.stop()
        result = results[-1]
        times = [t for t, _ in progress]
        batches = epochs * progress[-1][1].num_batches if progress else 1
        points = sum(len(p.batch_steps) for _, p in progress)
        return {"training_rates": [record.samples_per_second for record in result.history[1:]],
                "training_status": result.status,
                "progress_hz": (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0,
                "points_per_batch": points / batches, "weights_age_s": [a for a in ages if a is not None]}


def session_child(args) -> int:
    session = Session()
    session.stroke("stroke_cold", 0)
    session.hover("hover_cold")
    session.switch_layer("layer_switch_cold")
    session.scrub("scrubber_cold")
    for round_number in range(args.rounds):
        session.back_to_current()
        session.stroke("stroke_warm", round_number + 1)
        for index in range(HOVERS_PER_ROUND):
            session.hover("hover")
            if index % 3 == 2:
                session.switch_layer("layer_switch")
        session.switch_layer("layer_switch")
        for _ in range(SCRUBS_PER_ROUND):
            session.scrub("scrubber")
    training = session.train(args.epochs, args.limit)
    report = {**session.samples, **training}
    for name in ("stroke_cold", "stroke_warm", "hover_cold", "hover", "hover_missed", "layer_switch_cold",
                 "layer_switch", "scrubber_cold", "scrubber", "timer_gap"):
        report.setdefault(name, [])
    print(json.dumps(report), flush=True)
    os._exit(0)   # the compute process follows its parent; no slow teardown


# --- _headless ------------------------------------------------------------------------------------------
def headless_child(args) -> int:
    from cnnviz.cli import build_parser
    from cnnviz.core.data import load_mnist
    from cnnviz.core.model import build_seed_model
    from cnnviz.core.training import Trainer, TrainConfig

    defaults = build_parser().parse_args(["train"])
    config = TrainConfig(epochs=args.epochs, batch_size=defaults.batch_size, optimizer=defaults.optimizer,
                         limit=args.limit, steps_per_execution=defaults.steps_per_execution or 32)
    result = Trainer(build_seed_model(), load_mnist(allow_download=False), config).run()
    print(" ".join(f"{record.samples_per_second:.1f}" for record in result.history[1:]))
    return 0
