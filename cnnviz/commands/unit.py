"""`cnnviz unit`: the arithmetic behind one unit's value, from the model's own weights."""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from cnnviz.commands.common import CliError, add_input_args, add_model_arg, model_input_or_fail, positive_int
from cnnviz.core.limits import dumps_strict


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "unit", help="explain one unit: its receptive field and the arithmetic behind its value",
        description="Run one digit through the model and explain a unit of a layer: the box of input "
                    "pixels it sees and how its value was made. A conv unit is its 3×3 window of the "
                    "previous layer's output times the filter's weights, summed, plus the bias, then "
                    "ReLU; a pooling unit is the largest (or mean) value of its 2×2 window; a dense unit "
                    "is the sum of input × weight plus the bias.")
    add_input_args(parser, "an image file (PNG, JPEG, GIF, BMP), prepared as MNIST was made")
    parser.add_argument("--layer", required=True, metavar="NAME", help="the layer, e.g. conv2d_2 (see cnnviz summary)")
    parser.add_argument("--channel", type=int, required=True, metavar="C",
                        help="the channel (filter) of a conv or pooling layer, or the unit of a dense layer")
    parser.add_argument("--y", type=int, metavar="Y", help="the unit's row in the map (not for dense layers)")
    parser.add_argument("--x", type=int, metavar="X", help="the unit's column in the map (not for dense layers)")
    add_model_arg(parser)
    parser.add_argument("--top", type=positive_int, default=8, metavar="K",
                        help="list the K strongest input channels (conv) or inputs (dense), the rest summed "
                             "(default 8)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: layer, channel, y, x, kind, value, receptive_field, "
                             "and window/kernel/bias/pre_activation (conv), window/argmax (pool), "
                             "contributions/bias (dense)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.commands.common import open_model_or_fail
    from cnnviz.core.activations import ActivationProbe
    from cnnviz.core.network import INPUT_NAME, layer_specs, resolved_inputs
    from cnnviz.core.receptive_field import layer_index
    from cnnviz.core.unit_explanation import UnitError, check_unit, explain

    model, info = open_model_or_fail(args.model)
    specs = layer_specs(model)
    try:  # before reading data and tracing the forward pass
        index = check_unit(specs, args.layer, args.channel, args.y, args.x)
    except UnitError as exc:
        raise CliError(str(exc)) from exc
    image = model_input_or_fail(args, info, purpose="explain")
    outputs = ActivationProbe(model, info)(image)
    input_shape = tuple(info.input_shape)
    feeding = resolved_inputs(specs)[index][0]  # conv, pooling and dense layers have one input
    previous = image if feeding == INPUT_NAME else outputs[layer_index(specs, feeding)]
    try:
        unit = explain(specs, input_shape, index, previous, model.get_layer(args.layer).get_weights(),
                       args.channel, args.y, args.x)
    except UnitError as exc:  # e.g. an activation or grouped convolution cnnviz does not explain
        raise CliError(str(exc)) from exc
    own = float(outputs[index][args.channel] if unit.kind == "dense" else outputs[index][args.y, args.x, args.channel])
    if abs(own - unit.value) > 1e-4 * max(1.0, abs(own)):
        print(f"cnnviz unit: warning: the explanation gives {unit.value:.6g} but the model output is {own:.6g}",
              file=sys.stderr)
    if args.json:
        print(dumps_strict({**unit.to_json(top=args.top), "model_value": own if math.isfinite(own) else None}))
    else:
        print(describe(unit, input_shape, args.top, _flattened_map(specs, index)))
    return 0


def describe(unit, input_shape, top: int = 8, flattened=None) -> str:
    """The explanation as text for a terminal; `flattened`: the LayerSpec of the map a dense unit's
    inputs were flattened from (to say where each input came from)."""
    lines = [_title(unit), _field_line(unit.receptive_field, input_shape)]
    if unit.kind == "conv":
        lines += _conv_lines(unit, top)
    elif unit.kind == "pool":
        lines += _pool_lines(unit)
    else:
        lines += _dense_lines(unit, top, flattened)
    return "\n".join(lines)


def _flattened_map(specs, index: int):
    """For a dense layer right after Flatten of a map: that map's LayerSpec (else None)."""
    if index >= 2 and specs[index].kind == "Dense" and specs[index - 1].kind == "Flatten" \
            and specs[index - 2].is_spatial:
        return specs[index - 2]
    return None


def _title(unit) -> str:
    where = f"unit {unit.unit}" if unit.kind == "dense" else f"channel {unit.channel}, unit (y={unit.y}, x={unit.x})"
    return f"{unit.layer}, {where}: {unit.value:.6g}"


def _field_line(box, input_shape) -> str:
    height, width = input_shape[:2]
    if (box.height, box.width) == (height, width) and not box.clipped:
        return f"Receptive field: the whole {height}×{width} input"
    clipped = " (clipped: the rest lies in the zero padding)" if box.clipped else ""
    return (f"Receptive field: rows {box.top}–{box.bottom - 1}, columns {box.left}–{box.right - 1} of the "
            f"{height}×{width} input, {box.height}×{box.width} pixels{clipped}")


def _span(start: int, count: int, step: int) -> str:
    return f"{start}–{start + (count - 1) * step}" + (f" every {step}" if step != 1 else "")


def _conv_lines(unit, top: int) -> list[str]:
    height, width, num_channels = unit.window.shape
    lines = [f"Window: {unit.source} rows {_span(unit.origin[0], height, unit.step[0])}, columns "
             f"{_span(unit.origin[1], width, unit.step[1])}, {num_channels} channel{'s' * (num_channels != 1)}"
             + ("; cells outside the map are zero padding" if not unit.inside.all() else ""), ""]
    if num_channels == 1:  # the first layer: every product
        lines += _grids(("window", "kernel", "window × kernel"),
                        (unit.window[:, :, 0], unit.kernel[:, :, 0], unit.products[:, :, 0]))
        lines += ["", f"Σ window × kernel = {unit.pre_activation - unit.bias:+.6g}"]
    else:
        shown, rest, num_rest = unit.top_contributions(top)
        lines.append("Σ window × kernel per input channel, strongest first:")
        lines += [f"  channel {c.index:>3}  {c.value:+.6g}" for c in shown]
        if num_rest:
            lines.append(f"  the other {num_rest} channels  {rest:+.6g}")
    lines += [f"+ bias {unit.bias:+.6g}", f"= pre-activation {unit.pre_activation:+.6g}",
              _activation_line(unit, "channels")]
    return lines


def _pool_lines(unit) -> list[str]:
    height, width = unit.window.shape
    lines = [f"Window: {unit.source} channel {unit.channel}, rows {_span(unit.origin[0], height, 1)}, "
             f"columns {_span(unit.origin[1], width, 1)}", ""]
    for dy in range(height):
        cells = []
        for dx in range(width):
            value = unit.window[dy, dx]
            text = "   pad" if value != value else f"{value:.4f}"
            cells.append(f"[{text}]" if (dy, dx) == unit.argmax else f" {text} ")
        lines.append("  " + " ".join(cells))
    if unit.mode == "max":
        lines.append(f"\nmax = {unit.value:.6g}, at (dy={unit.argmax[0]}, dx={unit.argmax[1]}) (marked [ ])")
    else:
        lines.append(f"\nmean = {unit.value:.6g}")
    return lines


def _dense_lines(unit, top: int, flattened) -> list[str]:
    shown, rest, num_rest = unit.top_contributions(top)

    def where(i: int) -> str:  # a flattened map's input: which position and channel it was
        if flattened is None:
            return ""
        y, x, channel = (int(n) for n in np.unravel_index(i, flattened.output_shape))
        return f" ({flattened.name} y={y}, x={x}, channel {channel})"

    lines = [f"Σ input × weight over the {unit.inputs.size} outputs of {unit.source}, largest first:",
             *(f"  input {c.index:>4}{where(c.index)}  {unit.inputs[c.index]:9.4f} × {unit.weights[c.index]:+8.4f}"
               f" = {c.value:+.6g}" for c in shown)]
    if num_rest:
        lines.append(f"  the other {num_rest} inputs  {rest:+.6g}")
    return lines + [f"+ bias {unit.bias:+.6g}", f"= pre-activation {unit.pre_activation:+.6g}",
                    _activation_line(unit, "units")]


def _activation_line(unit, siblings: str) -> str:
    if unit.activation == "softmax":
        return f"softmax over the layer's {siblings} → {unit.value:.6g}"
    if unit.activation == "linear":
        return f"no activation → {unit.value:.6g}"
    name = "ReLU" if unit.activation == "relu" else unit.activation
    return f"{name}({unit.pre_activation:.6g}) = {unit.value:.6g}"


def _grids(titles, grids) -> list[str]:
    """Small 2-D arrays side by side, each under its title."""
    texts = [[" ".join(f"{value:+.4f}" for value in row) for row in grid] for grid in grids]
    width = max(len(text) for grid in texts for text in grid)
    lines = ["   ".join(title.ljust(width) for title in titles)]
    lines += ["   ".join(text.ljust(width) for text in row).rstrip() for row in zip(*texts)]
    return lines
