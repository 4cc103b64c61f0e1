"""Epoch scrubber: a slider move -> the checkpoint's maps repainted, in the real main window (offscreen).

The shipped model and its 10 checkpoints run in a real compute process; the window shows an MNIST
test digit at conv2d_1 (32 maps). One scrub sample is the time from moving the slider
(`EpochScrubber.go_to`, what a drag or Alt+←/→ does) to the end of a forced synchronous repaint of
the inspector once it shows that checkpoint's outputs: the "scrub" request (the serving copy's
weights set to the checkpoint's, one forward pass of the digit, the outputs and weights back), the
views updated, every visible map repainted. The positions visited are random, never the one shown.

Baseline, interleaved sample by sample: a new test digit at the current weights
(`inspector.show_test_digit`) -> maps repainted, i.e. the same path without the weight switch.
Also interleaved: the "scrub" and "probe" round trips alone (GUI -> compute process -> GUI).
With `--panel` the Test set panel is shown and every checkpoint's confusion matrix is computed
first (about 10 test-set passes), so a sample also waits for the matrix to follow (from its cache).

    .venv/bin/python scripts/bench_scrubber.py [--moves N] [--panel] [--json]
    .venv/bin/python scripts/bench_scrubber.py --moves 5          # a quick check that it works
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

TARGET_P95_MS = 50.0    # "moving the slider must feel instant"
WAIT_S = 300


def stats(samples: list[float]) -> dict:
    values = np.array(samples) * 1000.0
    return {"median_ms": float(np.median(values)), "p95_ms": float(np.percentile(values, 95)),
            "max_ms": float(values.max()), "count": len(samples)}


def wait_until(app, condition, what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.0005)


def call(app, client, method: str, args=None):
    """One request, waited for."""
    box = {}
    client.request(method, args, on_reply=lambda reply: box.setdefault("reply", reply),
                   on_error=lambda error: box.setdefault("error", error))
    wait_until(app, lambda: box, method)
    if "error" in box:
        raise SystemExit(f"{method} failed: {box['error']}")
    return box["reply"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=200, help="slider moves timed (default 200)")
    parser.add_argument("--panel", action="store_true", help="the Test set panel shown: the matrix follows too")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()


    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_gui import _app_and_window

    app, window = _app_and_window()   # bench_gui's: default settings, the shipped model loaded
    client = window.client
    feature = window.capabilities["history"]
    scrubbing, scrubber, inspector, panel = feature.scrubbing, feature.scrubber, window.inspector, feature.panel
    wait_until(app, lambda: len(scrubbing.stops) > 1 and scrubber.slider.isEnabled(), "the checkpoints")
    stops = len(scrubbing.stops)
    if args.panel:
        feature.focus_matrix()
        panel.prefetch(len(scrubbing.records))
        wait_until(app, lambda: all(panel.cached_checkpoint(i) is not None for i in range(len(scrubbing.records))),
                   "every checkpoint's confusion matrix")
    else:
        window.capabilities["training"].dock.raise_()   # the panel hidden: no test-set passes
    app.processEvents()

    shown: list = []
    scrubbing.checkpoint_shown.connect(lambda index, label: shown.append(index))

    def outputs_of(digit: int) -> bool:
        return inspector.current_outputs() is not None and inspector.current_input() is not None \
            and np.array_equal(inspector.current_input(), digits[digit])

    from cnnviz.core.data import load_mnist

    test = load_mnist().x_test
    digits = {i: test[i] / np.float32(255) for i in range(100)}
    inspector.show_test_digit(0)
    wait_until(app, lambda: outputs_of(0), "the first digit's maps")

    def matrix_follows(index) -> bool:
        if not args.panel:
            return True
        reply = panel.reply()
        return reply is not None and reply.checkpoint == (None if index is None else index) and \
            not panel.matrix.confusion.stale

    def scrub_to(position: int) -> float:
        target = scrubbing.stops[position].checkpoint
        before = len(shown)
        start = time.perf_counter()
        scrubber.go_to(position)
        wait_until(app, lambda: len(shown) > before and shown[-1] == target and not scrubbing.is_busy()
                   and matrix_follows(None if position == stops - 1 else target), f"checkpoint {target}")
        inspector.repaint()
        if args.panel:
            panel.repaint()
        return time.perf_counter() - start

    def new_digit(digit: int) -> float:
        start = time.perf_counter()
        inspector.show_test_digit(digit)
        wait_until(app, lambda: outputs_of(digit), f"digit {digit}")
        inspector.repaint()
        return time.perf_counter() - start

    for position in range(stops):          # warm-up: every checkpoint's weights read, every path traced
        scrub_to(position)
    rng = np.random.default_rng(args.seed)
    scrubs, digits_at_same_weights, scrub_trips, probe_trips = [], [], [], []
    for move in range(args.moves):
        position = int(rng.choice([p for p in range(stops) if p != scrubber.position()]))
        scrubs.append(scrub_to(position))
        digits_at_same_weights.append(new_digit(1 + move % 99))
        image = inspector.current_input()
        start = time.perf_counter()
        call(app, client, "scrub", {"index": scrubbing.stops[position].checkpoint, "image": image})
        scrub_trips.append(time.perf_counter() - start)
        start = time.perf_counter()
        call(app, client, "probe", {"image": image})
        probe_trips.append(time.perf_counter() - start)

    maps_shown = np.moveaxis(inspector.layer_grid.maps(), 0, -1)
    expected = call(app, client, "probe", {"image": inspector.current_input()})["outputs"][0]
    np.testing.assert_allclose(maps_shown, expected, rtol=1e-4, atol=1e-5)   # the grid shows the served weights
    report = {"slider_to_maps": stats(scrubs), "new_digit_to_maps": stats(digits_at_same_weights),
              "scrub_round_trip": stats(scrub_trips), "probe_round_trip": stats(probe_trips),
              "checkpoints": len(scrubbing.records), "panel": args.panel, "target_p95_ms": TARGET_P95_MS,
              "load_average": os.getloadavg()[0]}
    report["ratio_median_slider_to_new_digit"] = (report["slider_to_maps"]["median_ms"]
                                                  / report["new_digit_to_maps"]["median_ms"])
    feature.scrubber.go_to_end()
    window.ask_to_save = False
    window.close()
    client.shutdown()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{args.moves} slider moves over the shipped model's {report['checkpoints']} checkpoints, conv2d_1's "
          f"{inspector.layer_grid.num_maps()} maps visible{', the Test set panel shown' if args.panel else ''} "
          f"(offscreen, load average {report['load_average']:.1f} on {os.cpu_count()} cores)")
    for label, key in (("slider -> maps repainted", "slider_to_maps"),
                       ("new digit -> maps (baseline)", "new_digit_to_maps"),
                       ("scrub round trip alone", "scrub_round_trip"),
                       ("probe round trip alone", "probe_round_trip")):
        figures = report[key]
        print(f"{label:<30} median {figures['median_ms']:7.2f} ms   p95 {figures['p95_ms']:7.2f} ms   "
              f"max {figures['max_ms']:7.2f} ms")
    p95 = report["slider_to_maps"]["p95_ms"]
    print(f"slider / new digit (medians): {report['ratio_median_slider_to_new_digit']:.2f}×; slider p95 "
          f"{p95:.1f} ms: target <= {TARGET_P95_MS:.0f} ms {'met' if p95 <= TARGET_P95_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
