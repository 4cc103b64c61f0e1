"""Hover → unit panel, the numpy part: receptive field, feeding units and the unit's arithmetic.

What the GUI process does on every mouse move over a unit, from arrays it already holds (layer
outputs and weights sent by the compute process), with no TensorFlow: the layers' geometries,
the unit's box on the input, the block of units feeding it on every earlier map, and
`unit_explanation.explain` (window, kernel, per-channel contributions, value). Random units of
every conv, pooling and dense layer of the shipped model, on MNIST test digits.

The baseline, timed interleaved with it, is one forward pass of the compiled activation probe
(~1 ms here), which the app runs whenever the drawing changes: the ratio says how the panel's own
work compares. The target for the whole hover → panel path is p95 ≤ 16 ms.

    .venv/bin/python scripts/bench_unit_panel.py [--hovers N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

TARGET_P95_MS = 16.0


def hover(specs, input_shape, index, previous, weights, channel, y, x, earlier):
    """Everything the panel and the outlines need for one unit under the cursor."""
    from cnnviz.core.receptive_field import feeding_units, geometries, unit_box
    from cnnviz.core.unit_explanation import explain

    geometry = geometries(specs, input_shape)[index]
    box = unit_box(geometry, y or 0, x or 0, input_shape[:2])
    blocks = [feeding_units(specs, input_shape, index, y or 0, x or 0, e) for e in earlier]
    return box, blocks, explain(specs, input_shape, index, previous, weights, channel, y, x)


def stats(samples: list[float]) -> dict:
    values = np.array(samples) * 1000.0
    return {"median_ms": float(np.median(values)), "p95_ms": float(np.percentile(values, 95)),
            "max_ms": float(values.max()), "count": len(samples)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hovers", type=int, default=3000, help="random units to time (default 3000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args()

    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.data import load_mnist
    from cnnviz.core.model import load_model
    from cnnviz.core.network import INPUT_NAME, layer_specs, resolved_inputs
    from cnnviz.core.paths import default_model_path

    model = load_model(default_model_path())
    probe = ActivationProbe(model)
    specs = layer_specs(model)
    input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    weights = [layer.get_weights() for layer in model.layers]
    feeding = [names[0] for names in resolved_inputs(specs)]
    explained = [i for i, spec in enumerate(specs) if spec.kind in ("Conv2D", "MaxPooling2D", "Dense")]
    digits = load_mnist(allow_download=False).x_test[:20].astype(np.float32) / 255.0
    inputs = [digit.reshape(input_shape) for digit in digits]
    outputs = [probe(image) for image in inputs]
    names = [spec.name for spec in specs]

    rng = np.random.default_rng(args.seed)
    per_layer: dict[str, list[float]] = {specs[i].name: [] for i in explained}
    every, baseline = [], []
    for _ in range(args.hovers):
        sample = int(rng.integers(len(inputs)))
        index = int(rng.choice(explained))
        spec = specs[index]
        previous = inputs[sample] if feeding[index] == INPUT_NAME else outputs[sample][names.index(feeding[index])]
        if spec.kind == "Dense":
            channel, y, x = int(rng.integers(spec.output_shape[0])), None, None
            earlier = []
        else:
            height, width, channels = spec.output_shape
            channel, y, x = (int(rng.integers(n)) for n in (channels, height, width))
            earlier = [INPUT_NAME] + [i for i in range(index) if specs[i].is_spatial]
        start = time.perf_counter()
        hover(specs, input_shape, index, previous, weights[index], channel, y, x, earlier)
        elapsed = time.perf_counter() - start
        per_layer[spec.name].append(elapsed)
        every.append(elapsed)
        start = time.perf_counter()  # the baseline, interleaved: one forward pass
        probe(inputs[sample])
        baseline.append(time.perf_counter() - start)

    report = {"hover": stats(every), "forward_pass_baseline": stats(baseline),
              "per_layer": {name: stats(samples) for name, samples in per_layer.items() if samples},
              "target_p95_ms": TARGET_P95_MS}
    report["ratio_median_hover_to_forward"] = (report["hover"]["median_ms"]
                                               / report["forward_pass_baseline"]["median_ms"])
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{args.hovers} hovers over random units of {', '.join(per_layer)} (shipped model, 20 MNIST digits)")
    for name, figures in report["per_layer"].items():
        print(f"  {name:<16} median {figures['median_ms']:6.3f} ms   p95 {figures['p95_ms']:6.3f} ms   "
              f"max {figures['max_ms']:6.3f} ms   ({figures['count']} units)")
    for label, key in (("hover, all layers", "hover"), ("forward pass (baseline)", "forward_pass_baseline")):
        figures = report[key]
        print(f"{label:<24} median {figures['median_ms']:6.3f} ms   p95 {figures['p95_ms']:6.3f} ms   "
              f"max {figures['max_ms']:6.3f} ms")
    print(f"hover / forward pass (medians): {report['ratio_median_hover_to_forward']:.2f}×; "
          f"hover p95 is {report['hover']['p95_ms'] / TARGET_P95_MS:.1%} of the {TARGET_P95_MS:.0f} ms budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
