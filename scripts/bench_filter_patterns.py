"""Filter patterns for all 160 conv filters of the shipped model: time to compute, and time to reuse the cache.

Computes the patterns of conv2d_1, conv2d_2 and conv2d_3 with the default settings into a fresh
cache folder (so nothing earlier is reused), then asks again (cached), a few times each, and prints
the times with the issue's targets (all filters < 60 s on 2 CPU cores; cached reuse < 1 s). Also
prints the issue's check: how many patterns excite their own filter more than the layer's other
patterns do on average. Loading TensorFlow and the model is not timed.

    nice -n 10 .venv/bin/python scripts/bench_filter_patterns.py [--repeats N] [--steps N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

TARGET_SECONDS = 60.0
TARGET_CACHED_SECONDS = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="fresh computations to time (default 2)")
    parser.add_argument("--steps", type=int, help="gradient-ascent steps (default: the settings' default)")
    args = parser.parse_args()

    from cnnviz.core.filter_patterns import PatternSettings, all_filter_patterns, channel_response
    from cnnviz.core.model import load_model
    from cnnviz.core.paths import default_model_path

    model = load_model(default_model_path())
    settings = PatternSettings() if args.steps is None else PatternSettings(steps=args.steps)
    fresh, cached = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:  # interleaved: a fresh run, then its cached reuse
            os.environ["CNNVIZ_CACHE_DIR"] = folder
            start = time.perf_counter()
            patterns = all_filter_patterns(model, settings)
            fresh.append(time.perf_counter() - start)
            start = time.perf_counter()
            all_filter_patterns(model, settings)
            cached.append(time.perf_counter() - start)

    print(f"Filter patterns, shipped model, {sum(len(p) for p in patterns.values())} filters, {settings.steps} steps, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"  computed: median {np.median(fresh):6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in fresh)})  "
          f"target < {TARGET_SECONDS:.0f} s")
    print(f"  cached:   median {np.median(cached):6.3f} s  (runs: {', '.join(f'{t:.3f}' for t in cached)})  "
          f"target < {TARGET_CACHED_SECONDS:.0f} s;  ratio computed/cached {np.median(fresh) / np.median(cached):.0f}")
    for layer, images in patterns.items():
        response = channel_response(model, layer, images)
        own = np.diag(response)
        others = (response.sum(axis=0) - own) / (len(own) - 1)
        print(f"  {layer}: {int((own > others).sum())}/{len(own)} patterns excite their own filter most "
              f"(mean activation {own.mean():.3f} on their own pattern, {others.mean():.3f} on the others)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
