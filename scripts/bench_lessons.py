"""How long the Lessons panel takes from Commit to the verdict on screen, in the real window (offscreen) with
its real compute process, for two kinds of question, interleaved:

- "map-size": padding's first question (`map-size(conv2d_1)`: the layers only, one quick request);
- "stable-shift": translation invariance's fourth (`stable-shift()`: up to 13 forward passes of the digit).

Timed: from `LessonPlayer.commit()` (the answer's values are then computed in the compute process, the
verdict judged, the reveal's actions performed) to its `revealed` signal, ROUNDS times each (Ask me again
between them), after one warm-up each. Also timed: starting a lesson (its fit checked on the model, in the
GUI process). Prints medians, milliseconds.

    .venv/bin/python scripts/bench_lessons.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

QUESTIONS = {"map-size": ("padding", 0, "26"), "stable-shift": ("translation-invariance", 3, "3")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    import numpy as np
    from PySide6.QtCore import QEventLoop

    from cnnviz.core.data import load_mnist
    from cnnviz.gui.app import make_application

    app = make_application()
    from cnnviz.gui.shell.main_window import MainWindow

    def wait(condition, limit_s: float = 120.0) -> None:
        end = time.monotonic() + limit_s
        while not condition():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            if time.monotonic() > end:
                raise TimeoutError("the app did not answer in time")

    window = MainWindow()
    window.remember_settings = False
    window.show()
    window.load_model_file(None)
    wait(lambda: window.current is not None, 300)
    window.inspector.show_input(load_mnist().x_test[0].astype(np.float32) / 255)
    wait(lambda: window.inspector.current_outputs() is not None)
    player = window.capabilities["lessons"].player

    def go_to(kind: str) -> None:
        lesson, number, _ = QUESTIONS[kind]
        player.start(lesson, from_the_start=True)
        asked = -1
        while True:
            if player.session.question is not None:
                asked += 1
                if asked == number:
                    break
            player.next()
        wait(lambda: player.values is not None)

    def commit_once(kind: str) -> float:
        if player.session.phase == "revealed":
            player.retry()
        wait(lambda: player.values is not None)
        shown = []
        player.revealed.connect(shown.append)
        started = time.perf_counter()
        player.commit(QUESTIONS[kind][2])
        wait(lambda: bool(shown))
        elapsed = time.perf_counter() - started
        player.revealed.disconnect(shown.append)
        return elapsed * 1000

    starts, times = [], {kind: [] for kind in QUESTIONS}
    for kind in QUESTIONS:       # warm-up
        go_to(kind)
        commit_once(kind)
    for _ in range(args.rounds):
        for kind in QUESTIONS:
            started = time.perf_counter()
            go_to(kind)
            starts.append((time.perf_counter() - started) * 1000)
            times[kind].append(commit_once(kind))
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores, shared)")
    for kind, values in times.items():
        print(f"commit → verdict, {kind:12}: median {statistics.median(values):6.1f} ms "
              f"(min {min(values):.1f}, max {max(values):.1f}, {len(values)} rounds)")
    print(f"start a lesson and go to its question: median {statistics.median(starts):.1f} ms")
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
