"""Benchmarks of the two-process desktop app (issue 8). Prints medians and ratios.

    python scripts/bench_gui.py launch [--repeats 5]         # whole process: exec -> main window mapped (X)
    python scripts/bench_gui.py throughput [--limit N]       # in-app digits/s vs `cnnviz train`'s default
    python scripts/bench_gui.py responsiveness [--limit N]   # gaps between 10 ms GUI timer ticks while training
    python scripts/bench_gui.py memory [--epochs 5]          # peak memory of both processes during a run
    python scripts/bench_gui.py recovery [--repeats 3]       # SIGKILL the compute process mid-run -> model back
    python scripts/bench_gui.py close [--repeats 3]          # close mid-epoch -> compute process gone
    python scripts/bench_gui.py strokes-while-training       # move -> its maps while training; weights' age

`launch` needs an X server: it uses $DISPLAY, or starts its own Xvfb. The other modes use the
real display when $DISPLAY is set, else Qt's offscreen platform, and default settings (a fresh
settings folder; CNNVIZ_BENCH_USER_SETTINGS=1 keeps yours). The machine's load average is
printed with every figure: on a shared machine the figures are only comparable side by side.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


HEADLESS_STEPS_PER_EXECUTION = 32  # what `cnnviz train` uses when --steps-per-execution is not given


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


# --- launch: exec -> window mapped, seen by an X client of our own ------------------------------------
class _XMapEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("event", ctypes.c_ulong), ("window", ctypes.c_ulong),
                ("override_redirect", ctypes.c_int)]


class _XEvent(ctypes.Union):
    _fields_ = [("type", ctypes.c_int), ("xmap", _XMapEvent), ("pad", ctypes.c_long * 24)]


class MapWatcher:
    """Listens on the root window for top-level windows being mapped (MapNotify)."""

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
        self.x.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
        self.x.XFlush.argtypes = [ctypes.c_void_p]
        self.display = self.x.XOpenDisplay(display_name.encode())
        if not self.display:
            raise RuntimeError(f"cannot open X display {display_name}")
        self.x.XSelectInput(self.display, self.x.XDefaultRootWindow(self.display), self.SUBSTRUCTURE_NOTIFY_MASK)
        self.x.XFlush(self.display)
        self.fd = self.x.XConnectionNumber(self.display)

    def wait_for_window(self, title_part: str, timeout_s: float) -> float | None:
        """time.time() when a top-level window (not a popup) whose title contains `title_part` is mapped
        (the app's title is "MODEL — cnnviz" or "cnnviz"); None on timeout."""
        deadline = time.monotonic() + timeout_s
        event = _XEvent()
        while time.monotonic() < deadline:
            while self.x.XPending(self.display):
                self.x.XNextEvent(self.display, ctypes.byref(event))
                if event.type == self.MAP_NOTIFY and not event.xmap.override_redirect:
                    seen = time.time()
                    name = ctypes.c_char_p()  # None when Qt set a UTF-8 title only (_NET_WM_NAME)
                    self.x.XFetchName(self.display, event.xmap.window, ctypes.byref(name))
                    if name.value is None or title_part in name.value.decode("utf-8", "replace"):
                        return seen
            select.select([self.fd], [], [], 0.05)
        return None


def _start_xvfb() -> tuple[subprocess.Popen, str]:
    for number in range(140, 170):
        if Path(f"/tmp/.X{number}-lock").exists():
            continue
        server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return server, f":{number}"
            time.sleep(0.05)
        server.kill()
    raise RuntimeError("no free display for Xvfb")


def bench_launch(args) -> None:
    """`python -m cnnviz` from exec to its main window mapped, whole process, `--repeats` times."""
    import psutil

    import compileall

    import cnnviz

    # As after a normal first run: cnnviz's bytecode cached (this machine sets PYTHONDONTWRITEBYTECODE).
    compileall.compile_dir(Path(cnnviz.__file__).parent, quiet=1)
    server = None
    display = os.environ.get("DISPLAY")
    if not display:
        if shutil.which("Xvfb") is None:
            raise SystemExit("launch needs $DISPLAY or Xvfb")
        server, display = _start_xvfb()
    watcher = MapWatcher(display)
    env = {key: value for key, value in os.environ.items() if key not in ("QT_QPA_PLATFORM", "CNNVIZ_AUTOTEST")}
    env["DISPLAY"] = display
    mapped = []
    try:
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as config:
                env["XDG_CONFIG_HOME"] = config
                started = time.time()
                app = subprocess.Popen([sys.executable, "-m", "cnnviz"], env=env, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
                seen = watcher.wait_for_window("cnnviz", 60)
                mapped.append(float("nan") if seen is None else seen - started)
                time.sleep(0.5)  # let it start the compute process: we check that it goes too
                children = psutil.Process(app.pid).children(recursive=True)
                app.kill()  # the compute process must follow (PR_SET_PDEATHSIG / watchdog)
                app.wait()
                gone, alive = psutil.wait_procs(children, timeout=10)
                if alive:
                    print(f"  left behind: {[p.pid for p in alive]}")
            time.sleep(1.0)
    finally:
        if server is not None:
            server.kill()
    print(f"launch -> main window mapped (whole process, {len(mapped)} runs): median "
          f"{statistics.median(mapped):.2f} s (all {', '.join(f'{t:.2f}' for t in mapped)}); target <= 1.0 s; "
          f"{load()}")


# --- the app in this process (offscreen or a real display) ----------------------------------------------
def _app_and_window():
    """The app's QApplication and a shown main window on its own compute process, model loaded.

    The window starts from default settings (a fresh settings folder), as on a first launch: a
    user's remembered layout (say, the Grad-CAM panel shown beside the training) changes the work
    done while training, and the figures would depend on whoever ran the benchmark last."""
    if not os.environ.get("CNNVIZ_BENCH_USER_SETTINGS"):
        os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="cnnviz-bench-config-")

    from cnnviz.gui.app import make_application

    app = make_application()
    return app, _loaded_window()


def _loaded_window():
    """A shown main window (default settings) on its own compute process, the shipped model loaded."""
    from PySide6.QtCore import QEventLoop

    from cnnviz.gui.shell.main_window import MainWindow

    window = MainWindow()
    window.remember_settings = False  # benchmark runs must not change the user's settings
    window.ask_to_save = False        # nor ask to save what they trained when they close
    window.show()
    loop = QEventLoop()
    window.model_ready.connect(loop.quit)
    window.load_model_file()
    loop.exec()
    window.model_ready.disconnect(loop.quit)
    return window


def _show_a_digit(window) -> None:
    """Give the inspector an input (its live maps follow the training), as a user who drew would."""
    window.inspector.show_test_digit(0)


def _train_in_window(window, epochs: int, limit: int | None, tick_ms: int = 0, on_event=None):
    """Start training in the window; return (TrainResult, gaps between timer ticks in ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    panel = window.capabilities["training"].panel
    panel.epochs.setValue(epochs)
    panel.limit.setValue(limit or panel.limit.maximum())
    panel.start_from.setCurrentIndex(0)
    gaps, results, last = [], [], [None]

    def on_tick():
        now = time.perf_counter()
        if last[0] is not None and window.capabilities["training"].panel.state() == "running":
            gaps.append((now - last[0]) * 1000)
        last[0] = now

    timer = QTimer()
    if tick_ms:
        timer.setInterval(tick_ms)
        timer.timeout.connect(on_tick)
        timer.start()
    loop = QEventLoop()
    window.training_finished.connect(results.append)
    window.training_finished.connect(loop.quit)
    panel.start_action.trigger()
    if on_event is not None:
        on_event(window.capabilities["training"].run)
    loop.exec()
    timer.stop()
    window.training_finished.disconnect(loop.quit)
    window.training_finished.disconnect(results.append)
    return results[-1], gaps


def bench_responsiveness(args) -> None:
    app, window = _app_and_window()
    _show_a_digit(window)
    result, gaps = _train_in_window(window, 1, args.limit, tick_ms=10)
    gaps.sort()
    print(f"responsiveness: {len(gaps)} ticks of a 10 ms timer while training {args.limit or 60000:,} digits "
          f"({result.status}, {result.samples_per_second:,.0f} digits/s): gap p50 {percentile(gaps, 0.5):.1f} ms, "
          f"p99 {percentile(gaps, 0.99):.1f} ms, max {gaps[-1]:.1f} ms (targets p99 <= 12, max <= 50); {load()}")
    window.close()


def headless_child(args) -> None:
    """`cnnviz train`'s default settings on the first --limit digits, one epoch: print digits/s."""
    from cnnviz.cli import build_parser
    from cnnviz.core.data import load_mnist
    from cnnviz.core.model import build_seed_model
    from cnnviz.core.training import Trainer, TrainConfig

    defaults = build_parser().parse_args(["train"])
    steps = defaults.steps_per_execution or HEADLESS_STEPS_PER_EXECUTION
    config = TrainConfig(epochs=1, batch_size=defaults.batch_size, optimizer=defaults.optimizer,
                         limit=args.limit, steps_per_execution=steps)
    result = Trainer(build_seed_model(), load_mnist(allow_download=False), config).run()
    print(f"{result.samples_per_second:.1f} {steps}")


def _headless_rate(args) -> tuple[float, int]:
    """One headless run in a fresh process at the compute process's priority (like for like)."""
    from cnnviz.compute.server import NICE_INCREMENT

    command = [sys.executable, __file__, "headless-child"] + (["--limit", str(args.limit)] if args.limit else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=3600,
                          preexec_fn=lambda: os.nice(int(os.environ.get("CNNVIZ_COMPUTE_NICE", NICE_INCREMENT))))
    rate, steps = done.stdout.split()[-2:]
    return float(rate), int(steps)


def _use_steps_per_execution(steps: int | None) -> None:
    """Make the window's training runs use `steps` batches per call (None: the app's own choice)."""
    from cnnviz.gui.training import training_controller, training_run

    training_controller.TrainingRun = type("TrainingRun", (training_run.TrainingRun,), {"steps_per_execution": steps})


def bench_throughput(args) -> None:
    from cnnviz.compute.handlers.training import APP_STEPS_PER_EXECUTION

    app, window = _app_and_window()
    _show_a_digit(window)
    variants = args.app_steps or [APP_STEPS_PER_EXECUTION]
    in_app = {steps: [] for steps in variants}
    headless, headless_steps = [], 0
    for run in range(args.repeats):
        for steps in variants:
            _use_steps_per_execution(steps)
            result, _ = _train_in_window(window, 1, args.limit)
            in_app[steps].append(result.samples_per_second)
            print(f"run {run + 1}: app (steps_per_execution={steps}) {in_app[steps][-1]:,.0f} digits/s; {load()}",
                  flush=True)
        rate, headless_steps = _headless_rate(args)
        headless.append(rate)
        print(f"run {run + 1}: headless `cnnviz train` default {rate:,.0f} digits/s; {load()}", flush=True)
    base = statistics.median(headless)
    print(f"\nthroughput on {args.limit or 60000:,} digits, {args.repeats} interleaved runs each; headless "
          f"(steps_per_execution={headless_steps}, at the compute process's nice) median {base:,.0f} digits/s")
    for steps, rates in in_app.items():
        median = statistics.median(rates)
        print(f"in the app, steps_per_execution={steps:<3} median {median:8,.0f} digits/s   ratio "
              f"{median / base:.3f} (target >= 0.97)")
    window.close()


class _MemorySampler:
    """Samples the resident memory of this process and of the compute process (10 Hz; PSS at 1 Hz)."""

    def __init__(self, window):
        import psutil

        self.window = window
        self.gui = psutil.Process()
        self.peak_rss = self.peak_pss = 0.0
        self.peak_parts = (0.0, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def _run(self):
        import psutil

        ticks = 0
        while not self._stop.wait(0.1):
            try:
                compute = psutil.Process(self.window.client.pid)
                gui_rss, compute_rss = self.gui.memory_info().rss / 2**20, compute.memory_info().rss / 2**20
                if gui_rss + compute_rss > self.peak_rss:
                    self.peak_rss, self.peak_parts = gui_rss + compute_rss, (gui_rss, compute_rss)
                if ticks % 10 == 0:
                    pss = (self.gui.memory_full_info().pss + compute.memory_full_info().pss) / 2**20
                    self.peak_pss = max(self.peak_pss, pss)
            except (psutil.Error, TypeError):
                pass
            ticks += 1


def bench_memory(args) -> None:
    app, window = _app_and_window()
    _show_a_digit(window)
    sampler = _MemorySampler(window)
    sampler.start()
    result, _ = _train_in_window(window, args.epochs, args.limit)
    sampler.stop()
    last = result.history[-1] if result.history else None
    gui, compute = sampler.peak_parts
    print(f"memory, {args.epochs} epoch(s) on {args.limit or 60000:,} digits in the app ({result.status}, "
          "test accuracy "
          f"{last.test_accuracy if last else float('nan'):.4f}): peak RSS of both processes together "
          f"{sampler.peak_rss:,.0f} MB (GUI {gui:,.0f} + compute {compute:,.0f}); peak PSS (shared pages counted "
          f"once) {sampler.peak_pss:,.0f} MB; target <= 1,300 MB; {load()}")
    window.close()


def bench_recovery(args) -> None:
    """SIGKILL the compute process in the second epoch; time until the model is back and its maps shown."""
    from PySide6.QtCore import QEventLoop, QTimer

    app, window = _app_and_window()
    _show_a_digit(window)
    back, shown = [], []
    for _ in range(args.repeats):
        killed = {}

        def kill_in_second_epoch(run):
            def on_epoch(record):
                if not killed:
                    QTimer.singleShot(200, lambda: (killed.setdefault("at", time.perf_counter()),
                                                    window.client.kill()))
            run.epoch_finished.connect(on_epoch)

        loop = QEventLoop()
        window.recovered.connect(loop.quit)
        _train_in_window(window, 3, args.limit or 6000, on_event=kill_in_second_epoch)
        loop.exec()  # until the model is back
        window.recovered.disconnect(loop.quit)
        back.append(time.perf_counter() - killed["at"])
        while window.inspector.current_outputs() is None:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
        shown.append(time.perf_counter() - killed["at"])
        print(f"SIGKILL -> model back {back[-1]:.2f} s, maps shown {shown[-1]:.2f} s "
              f"(banner: {window.banner.text()!r}); {load()}", flush=True)
    print(f"recovery, {args.repeats} runs: SIGKILL -> model back median {statistics.median(back):.2f} s, maps shown "
          f"median {statistics.median(shown):.2f} s (target <= 10 s)")
    window.close()


def bench_close(args) -> None:
    """Close the window a few batches into a 3-epoch run: seconds until the close returns (the compute
    process stopped its fit and exited, or was killed after the window's CLOSE_TIMEOUT_S), and how it ended
    (tests/test_gui_training.py checks that it exits by itself; the time is this benchmark's)."""
    from PySide6.QtCore import QEventLoop

    app, window = _app_and_window()
    closing, ends = [], []
    for repeat in range(args.repeats):
        window = window if repeat == 0 else _loaded_window()
        _show_a_digit(window)
        panel = window.panel
        panel.epochs.setValue(3)
        panel.limit.setValue(args.limit or 6000)
        panel.start_from.setCurrentIndex(0)
        panel.start_action.trigger()
        while window.curves.num_batch_points() < 5:   # a few batches into the run
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
        process = window.client._process
        started = time.perf_counter()
        window.close()
        closing.append(time.perf_counter() - started)
        ends.append("exited" if process.exitcode == 0 else f"ended with {process.exitcode}")
        print(f"close mid-epoch -> returned {closing[-1]:.2f} s, compute process {ends[-1]}; {load()}", flush=True)
    print(f"close mid-epoch, {args.repeats} runs: median {statistics.median(closing):.2f} s "
          f"(max {max(closing):.2f} s; target <= 2 s); compute process: {', '.join(ends)}")


def bench_strokes_while_training(args) -> None:
    """Replay strokes on the canvas while the app trains: move -> that input's maps shown, and how
    old the weights were that computed them (issue 8: p95 <= 100 ms, weights <= 0.5 s old)."""
    from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt, QTimer

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_draw_latency import recorded_stroke, send_mouse, wait_until

    app, window = _app_and_window()
    inspector, canvas = window.inspector, window.inspector.canvas
    ages, latencies = [], []
    request = window.client.request

    def recording_request(method, args=None, **kwargs):
        if method == "probe":
            on_reply = kwargs["on_reply"]
            kwargs["on_reply"] = lambda result: (ages.append(result.get("weights_age_s")), on_reply(result))
        return request(method, args, **kwargs)

    window.client.request = recording_request

    def draw_while_training(run):
        def strokes():
            side = min(canvas.width(), canvas.height())
            origin = QPointF((canvas.width() - side) / 2, (canvas.height() - side) / 2)
            stroke = [origin + QPointF(x * side, y * side) for x, y in recorded_stroke(args.moves)]
            for _ in range(args.strokes):
                if window.capabilities["training"].run is None:
                    return
                canvas.clear()
                send_mouse(canvas, QEvent.Type.MouseButtonPress, stroke[0], Qt.MouseButton.LeftButton)
                for position in stroke[1:]:
                    started = time.perf_counter()
                    send_mouse(canvas, QEvent.Type.MouseMove, position, Qt.MouseButton.LeftButton)
                    app.processEvents()
                    wait_until(lambda: inspector.current_outputs() is not None, inspector.outputs_shown)
                    latencies.append((time.perf_counter() - started) * 1000)
                    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 15)  # a hand moves every ~16 ms
                send_mouse(canvas, QEvent.Type.MouseButtonRelease, stroke[-1], Qt.MouseButton.NoButton)
            window.capabilities["training"].run.stop()

        begun = []

        def begin(progress):
            if not begun:
                begun.append(progress)
                QTimer.singleShot(0, strokes)

        run.progress.connect(begin)

    result, _ = _train_in_window(window, 100, args.limit or 20000, on_event=draw_while_training)
    trained_ages = [age * 1000 for age in ages if age is not None]
    print(f"strokes while training ({result.status}, {result.samples_per_second:,.0f} digits/s): "
          f"{len(latencies)} moves, move -> its maps shown p50 {percentile(latencies, 0.5):.1f} ms, "
          f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms (target p95 <= 100); weights "
          f"age p50 {percentile(trained_ages, 0.5):.0f} ms, p95 {percentile(trained_ages, 0.95):.0f} ms, "
          f"max {max(trained_ages):.0f} ms (target <= 500); {load()}")
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["launch", "throughput", "headless-child", "responsiveness", "memory",
                                         "recovery", "close", "strokes-while-training"])
    parser.add_argument("--moves", type=int, default=120, help="strokes-while-training: moves per stroke")
    parser.add_argument("--strokes", type=int, default=4, help="strokes-while-training: strokes to draw")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N digits (default all)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs for the memory run (default 5)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="runs (launch 5, throughput 3, recovery 3, close 3)")
    parser.add_argument("--app-steps", type=int, nargs="+", help="throughput: steps_per_execution values to try "
                                                                 "in the app (default: the app's own)")
    args = parser.parse_args()
    if args.repeats is None:
        args.repeats = {"launch": 5, "throughput": 3, "recovery": 3, "close": 3}.get(args.mode, 1)
    {"launch": bench_launch, "throughput": bench_throughput, "headless-child": headless_child,
     "responsiveness": bench_responsiveness, "memory": bench_memory, "recovery": bench_recovery,
     "close": bench_close, "strokes-while-training": bench_strokes_while_training}[args.mode](args)


if __name__ == "__main__":
    main()
