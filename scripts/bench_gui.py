"""Benchmarks of the desktop app while it trains. Prints medians and ratios.

    python scripts/bench_gui.py startup            # launch -> window painted / model shown
    python scripts/bench_gui.py responsiveness     # gaps between 10 ms GUI timer ticks while training
    python scripts/bench_gui.py throughput         # digits/s in the app vs the headless Trainer
    python scripts/bench_gui.py memory --epochs 5  # peak RSS of a training run in the app

Uses the real display when $DISPLAY is set, else Qt's offscreen platform.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
STARTED = float(os.environ.get("CNNVIZ_BENCH_T0", time.time()))


def _app_and_window(dataset=None):
    from PySide6.QtCore import QEventLoop

    from cnnviz.gui.app import make_application
    from cnnviz.gui.main_window import MainWindow

    app = make_application()
    window = MainWindow(dataset=dataset)
    window.remember_settings = False  # benchmark runs must not change the user's settings
    window.show()
    loop = QEventLoop()
    window.model_ready.connect(loop.quit)
    window.load_model_file()
    loop.exec()
    return app, window


def _show_a_digit(window, dataset) -> None:
    """Give the inspector (and so the worker's live maps) an input, as a user who drew would."""
    for action in window.inspector.input_actions():
        if "random" in action.text().lower() and action.isEnabled():
            action.trigger()
            return
    window.inspector.input_changed.emit(dataset.x_test[0].astype("float32") / 255.0)


def _train_in_window(window, epochs: int, limit: int | None, tick_ms: int = 0):
    """Start training in the window; return (TrainResult, gaps between timer ticks in ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    panel = window.panel
    panel.epochs.setValue(epochs)
    panel.limit.setValue(limit or panel.limit.maximum())
    panel.start_from.setCurrentIndex(0)
    gaps, results, last = [], [], [None]

    def on_tick():
        now = time.perf_counter()
        if last[0] is not None and window.panel.state() == "running":
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
    loop.exec()
    timer.stop()
    window.training_finished.disconnect(loop.quit)
    return results[-1], gaps


def bench_startup(args) -> None:
    painted, ready = [], []
    for _ in range(args.repeats):
        env = {**os.environ, "CNNVIZ_BENCH_T0": repr(time.time())}
        out = subprocess.run([sys.executable, __file__, "startup-child"], env=env, capture_output=True,
                             text=True, timeout=120).stdout.split()
        painted.append(float(out[-2]))
        ready.append(float(out[-1]))
    print(f"startup: window painted after {statistics.median(painted):.2f} s (median of {args.repeats}; "
          f"all {', '.join(f'{t:.2f}' for t in painted)}); model shown after {statistics.median(ready):.2f} s")


def startup_child(args) -> None:
    from PySide6.QtCore import QEvent, QObject

    from cnnviz.gui.app import make_application
    from cnnviz.gui.main_window import MainWindow

    app = make_application()
    times = {}

    class PaintWatcher(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and "painted" not in times:
                times["painted"] = time.time() - STARTED
            return False

    window = MainWindow()
    window.remember_settings = False
    watcher = PaintWatcher()
    window.installEventFilter(watcher)
    window.show()
    window.model_ready.connect(app.quit)
    from PySide6.QtCore import QTimer

    QTimer.singleShot(50, window.load_model_file)
    app.exec()
    print(f"{times.get('painted', float('nan')):.3f} {time.time() - STARTED:.3f}")
    window.close()


def bench_responsiveness(args) -> None:
    from cnnviz.core.data import load_mnist

    dataset = load_mnist(allow_download=False)
    app, window = _app_and_window(dataset)
    _show_a_digit(window, dataset)
    result, gaps = _train_in_window(window, 1, args.limit, tick_ms=10)
    gaps.sort()
    p = lambda q: gaps[min(int(q * len(gaps)), len(gaps) - 1)]  # noqa: E731
    print(f"responsiveness: {len(gaps)} ticks of a 10 ms timer while training {args.limit or 60000:,} digits "
          f"({result.status}): gap p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {gaps[-1]:.1f} ms "
          f"(targets p99 <= 20, max <= 100)")
    window.close()


def bench_throughput(args) -> None:
    from cnnviz.core.data import load_mnist
    from cnnviz.core.model import build_seed_model
    from cnnviz.core.training import Trainer, TrainConfig

    dataset = load_mnist(allow_download=False)
    app, window = _app_and_window(dataset)
    _show_a_digit(window, dataset)
    in_app, headless = [], []
    for _ in range(args.repeats):
        result, _ = _train_in_window(window, 1, args.limit)
        in_app.append(result.samples_per_second)
        config = TrainConfig(epochs=1, limit=args.limit, steps_per_execution=1)
        headless.append(Trainer(build_seed_model(), dataset, config).run().samples_per_second)
    ratio = statistics.median(in_app) / statistics.median(headless)
    print(f"throughput on {args.limit or 60000:,} digits, {args.repeats} interleaved runs each: app median "
          f"{statistics.median(in_app):,.0f} digits/s ({', '.join(f'{v:,.0f}' for v in in_app)}), headless "
          f"median {statistics.median(headless):,.0f} ({', '.join(f'{v:,.0f}' for v in headless)}); "
          f"ratio {ratio:.3f} (target >= 0.95)")
    window.close()


def bench_memory(args) -> None:
    from cnnviz.core.data import load_mnist

    dataset = load_mnist(allow_download=False)
    app, window = _app_and_window(dataset)
    _show_a_digit(window, dataset)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result, _ = _train_in_window(window, args.epochs, args.limit)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    last = result.history[-1] if result.history else None
    print(f"memory: peak RSS {peak:,.0f} MB after {args.epochs} epoch(s) on {args.limit or 60000:,} digits "
          f"({result.status}, test accuracy {last.test_accuracy if last else float('nan'):.4f}); "
          f"{before:,.0f} MB before training (target <= 1,536 MB)")
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["startup", "startup-child", "responsiveness", "throughput", "memory"])
    parser.add_argument("--limit", type=int, default=None, help="train on the first N digits (default all)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs for the memory run (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side (throughput, startup)")
    args = parser.parse_args()
    {"startup": bench_startup, "startup-child": startup_child, "responsiveness": bench_responsiveness,
     "throughput": bench_throughput, "memory": bench_memory}[args.mode](args)


if __name__ == "__main__":
    main()
