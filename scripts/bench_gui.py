"""Benchmarks of the two-process desktop app (issue 8) that `bench_interactions.py` does not cover. Prints
medians and ratios; the machine's load average with every figure (on a shared machine the figures are
only comparable side by side).

    python scripts/bench_gui.py memory [--epochs 5]          # peak memory of both processes during a run
    python scripts/bench_gui.py recovery [--repeats 3]       # SIGKILL the compute process mid-run -> model back
    python scripts/bench_gui.py close [--repeats 3]          # close mid-epoch -> compute process gone
    python scripts/bench_gui.py strokes-while-training       # move -> its maps while training; weights' age

Launch, first maps, strokes, hovers, the scrubber, layer switches, GUI timer gaps while training and the
in-app training speed against the headless trainer: `scripts/bench_interactions.py`. These modes use the
real display when $DISPLAY is set, else Qt's offscreen platform, and default settings (a fresh settings
folder; CNNVIZ_BENCH_USER_SETTINGS=1 keeps yours).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_app import (WindowParts, figures, fresh_settings, load_average, loaded_window,  # noqa: E402
                       send_mouse, stroke_points, wait_until)


def load() -> str:
    return f"load average {load_average():.1f}"


# --- the app in this process (offscreen or a real display) ----------------------------------------------
def _app_and_window():
    """The app's QApplication and a shown main window (default settings) on its own compute process, the
    shipped model loaded (`bench_app.loaded_window`)."""
    from cnnviz.gui.app import make_application

    fresh_settings()
    app = make_application()
    return app, loaded_window(app)


def _show_a_digit(window) -> None:
    """Give the inspector an input (its live maps follow the training), as a user who drew would."""
    window.inspector.show_test_digit(0)


def _train_in_window(window, epochs: int, limit: int | None, tick_ms: int = 0, on_event=None):
    """Start training in the window; return (TrainResult, gaps between timer ticks in ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    parts = WindowParts(window)
    panel = parts.training_panel
    panel.epochs.setValue(epochs)
    panel.limit.setValue(limit or panel.limit.maximum())
    panel.start_from.setCurrentIndex(0)
    gaps, results, last = [], [], [None]

    def on_tick():
        now = time.perf_counter()
        if last[0] is not None and panel.state() == "running":
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
        on_event(parts.training_run())
    loop.exec()
    timer.stop()
    window.training_finished.disconnect(loop.quit)
    window.training_finished.disconnect(results.append)
    return results[-1], gaps


def peak_rss_mb(pid: int) -> float:
    """The kernel's own high-water mark of a process's resident memory (VmHWM): exact, whatever the sampling."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _MemorySampler:
    """Both processes' memory while a run goes: their exact peaks (VmHWM, read at the end), and the peak of
    their sum, sampled at 100 Hz (RSS) and 2 Hz (PSS: shared pages counted once, slower to read)."""

    def __init__(self, window):
        import psutil

        self.window = window
        self.gui = psutil.Process()
        self.peak_rss = self.peak_pss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self) -> tuple[float, float]:
        """Stop; (the GUI's peak RSS, the compute process's peak RSS) in MB, exact."""
        self._stop.set()
        self._thread.join()
        return peak_rss_mb(self.gui.pid), peak_rss_mb(self.window.client.pid)

    def _run(self):
        import psutil

        ticks = 0
        while not self._stop.wait(0.01):
            try:
                compute = psutil.Process(self.window.client.pid)
                self.peak_rss = max(self.peak_rss, (self.gui.memory_info().rss + compute.memory_info().rss) / 2**20)
                if ticks % 50 == 0:
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
    gui, compute = sampler.stop()
    last = result.history[-1] if result.history else None
    print(f"memory, {args.epochs} epoch(s) on {args.limit or 60000:,} digits in the app ({result.status}, "
          "test accuracy "
          f"{last.test_accuracy if last else float('nan'):.4f}): peak RSS of each process (VmHWM) GUI {gui:,.0f} MB, "
          f"compute {compute:,.0f} MB (their sum {gui + compute:,.0f} MB bounds the peak of both together); "
          f"sampled at 100 Hz, the peak of the sum {sampler.peak_rss:,.0f} MB; peak PSS (shared pages counted "
          f"once, 2 Hz) {sampler.peak_pss:,.0f} MB; target <= 1,300 MB; {load()}")
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
        window = window if repeat == 0 else loaded_window(app)
        _show_a_digit(window)
        panel = WindowParts(window).training_panel
        panel.epochs.setValue(3)
        panel.limit.setValue(args.limit or 6000)
        panel.start_from.setCurrentIndex(0)
        panel.start_action.trigger()
        while window.capabilities["training"].curves.num_batch_points() < 5:   # a few batches into the run
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
    from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer

    from bench_app import Waker

    app, window = _app_and_window()
    waker = Waker()  # noqa: F841 (wakes the event loop while it waits)
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
            stroke = stroke_points(canvas, args.moves)
            for _ in range(args.strokes):
                if WindowParts(window).training_run() is None:
                    return
                canvas.clear()
                send_mouse(canvas, QEvent.Type.MouseButtonPress, stroke[0], Qt.MouseButton.LeftButton)
                for position in stroke[1:]:
                    started = time.perf_counter()
                    send_mouse(canvas, QEvent.Type.MouseMove, position, Qt.MouseButton.LeftButton)
                    app.processEvents()
                    wait_until(app, lambda: inspector.current_outputs() is not None, "the maps")
                    latencies.append((time.perf_counter() - started) * 1000)
                    app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 15)  # a hand moves every ~16 ms
                send_mouse(canvas, QEvent.Type.MouseButtonRelease, stroke[-1])
            WindowParts(window).training_run().stop()

        begun = []

        def begin(progress):
            if not begun:
                begun.append(progress)
                QTimer.singleShot(0, strokes)

        run.progress.connect(begin)

    result, _ = _train_in_window(window, 100, args.limit or 20000, on_event=draw_while_training)
    trained_ages = [age * 1000 for age in ages if age is not None]
    moves, weights = figures(latencies), figures(trained_ages)
    print(f"strokes while training ({result.status}, {result.samples_per_second:,.0f} digits/s): "
          f"{len(latencies)} moves, move -> its maps shown p50 {moves['median']:.1f} ms, "
          f"p95 {moves['p95']:.1f} ms, max {moves['max']:.1f} ms (target p95 <= 100); weights "
          f"age p50 {weights['median']:.0f} ms, p95 {weights['p95']:.0f} ms, "
          f"max {weights['max']:.0f} ms (target <= 500); {load()}")
    window.close()


def main() -> None:
    modes = {"memory": bench_memory, "recovery": bench_recovery, "close": bench_close,
             "strokes-while-training": bench_strokes_while_training}
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=list(modes))
    parser.add_argument("--moves", type=int, default=120, help="strokes-while-training: moves per stroke")
    parser.add_argument("--strokes", type=int, default=4, help="strokes-while-training: strokes to draw")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N digits (default all)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs for the memory run (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="runs (recovery, close; default 3)")
    args = parser.parse_args()
    modes[args.mode](args)


if __name__ == "__main__":
    main()
