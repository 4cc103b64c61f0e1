"""Export feature maps as images, the exact activations as `.npy`, and a `manifest.json` (Qt-free).

One export is one folder. Names, with layers numbered from 1 in model order (L1 = conv2d_1 …
L8 = dense_2), channels zero-padded to at least two digits, and FMT the figure format (png, svg
or pdf; `ExportOptions.figure_format`)::

    00_input.png                 what the user drew or opened, grey, at its own size (only if given)
    01_model_input_28x28.png     the 28×28 model input, grey (0 black, 1 white), each pixel scale×scale
    01_model_input_28x28.npy     the model input, float32 (28, 28)
    L1_conv2d_1.npy              the layer's exact activations, float32, no batch axis: (26, 26, 32)
    L1_conv2d_1/ch00.png …       one map per file (always PNG, written with Pillow): only the map,
                                 each activation a crisp scale×scale square, no labels or bar
    L1_conv2d_1_grid.FMT         a figure (matplotlib): all maps of a spatial layer, 8 to a row, with
                                 the layer's name and shape as title, each map's channel number and a
                                 colour bar with numeric ticks
    L1_conv2d_1_ch05_figure.FMT  exporting one channel with labels or colour bar on: that map with
                                 x/y axes, title and colour bar
    L6_flatten_1.npy             vector layers (flatten, dense) as .npy …
    L6_flatten_1_strip.FMT       … and a figure: the values as a heat strip read like text. A Flatten
                                 after (H, W, C) maps has one row per position (y, x) and one column
                                 per channel (576 = 3×3×64: 9 rows of 64), others rows of 32; up to
                                 16 values (the ten classes of dense_2) are one numbered cell each
    manifest.json                what every file is (see below)
    L1_conv2d_1_kernel.npy …     with `kernels` (`cnnviz export --kernels`): a conv layer's learned
                                 weights, one PNG per filter and a grid figure (`core/kernel_export.py`)

Colours: every map pixel is `colormaps.colorize(value, low, high, colormap)` with (low, high) from
`colormaps.channel_levels(layer, normalisation)`, the same as the app shows. "channel" gives each
map its own range, "layer" one range for the whole layer; a vector layer has one range either way.
The per-map PNGs hold exactly those pixels, so a value can be read back from a pixel through the
colormap's table (to within (high - low) / 255); so do the cells of PNG figures (at the figure's
own `value_size`, which may be a multiple of the scale so that channel numbers fit).

`manifest.json` holds: format, cnnviz_version, created (UTC), source (a description), model
{path, sha256}, input {sha256 of the float32 (28, 28) model input's bytes, shape}, prediction
{digit, probabilities}, options {scale, colormap, normalisation, colorbar, labels, figure_format},
selection {layers, channel}, layers (index, name, kind, shape, min, max, array file), and files: one
entry per file with path (relative, "/"-separated), type (source_png, input_png, input_array, array,
channel_png, and grid_FMT, figure_FMT, strip_FMT for figures), format (png, svg, pdf or npy), layer,
layer_index, kind, shape, min, max, and for images colormap, normalisation, scale and levels
([low, high], or one pair per channel for grids). Figures also give value_size (pixels per value
in the figure; 1/100 inch in SVG and PDF), width and height (the same units) and, for strips,
values_per_row; PNG figures give boxes ([x, y, width, height] in pixels from the top left, read
from matplotlib's transforms) of every cell ("cells", with its channel or value index) and of the
colour bar ("colorbar", null without one). SVG and PDF figures have no pixel boxes (their cells
are in a vector page), so they carry neither key.
"kind" is the Keras layer class (Conv2D, MaxPooling2D, Flatten, Dense) from `layer_kinds`, or,
when the caller has none (the app's inspector), read from the layer name as Keras names layers.

Nothing is written unless everything is: the files go to a hidden folder beside the target,
which is then renamed into place. An existing non-empty target is refused (TargetExistsError)
unless `overwrite=True`, and then replaced as a whole (never merged), and only if it is an
earlier cnnviz export and nothing else: its manifest.json says `"format": "cnnviz-export/N"` and
the folder holds only the files that manifest lists. A writer killed mid-export leaves its hidden
folder (`.NAME.partial-PID-XXXXXXXX`); the next export beside it removes it. A `progress(done, total)`
callback hears about every file made; raising from it (e.g. ExportCancelled) cancels the export with
nothing written.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from cnnviz import __version__
from cnnviz.core import figures, tiling
from cnnviz.core.limits import dumps_strict
from cnnviz.core.colormaps import (COLORMAPS, DEFAULT_COLORMAP, DEFAULT_NORMALISATION, NORMALISATIONS,
                                   channel_levels, colorize, lookup_table)
from cnnviz.core.export_files import (array_sha256, channel_name, file_sha256,  # noqa: F401 (re-exported)
                                      layer_prefix, npy_bytes, png_bytes)
from cnnviz.core.export_folder import (MANIFEST_NAME, ExportError, TargetExistsError,  # noqa: F401 (re-exported)
                                       check_target, replace_refusal, write_folder)

FORMAT = "cnnviz-export/1"
SOURCE_NAME = "00_input.png"
INPUT_PNG_NAME = "01_model_input_28x28.png"
INPUT_ARRAY_NAME = "01_model_input_28x28.npy"
DEFAULT_SCALE = 8
MAX_SCALE = 64
MAX_LABELLED_VALUES = 16
STRIP_MIN_WIDTH = 480   # pixels: a strip of values is drawn at least this wide
FIGURE_FORMATS = figures.FIGURE_FORMATS
DEFAULT_FIGURE_FORMAT = figures.DEFAULT_FIGURE_FORMAT
_KINDS_BY_NAME = (("conv2d", "Conv2D"), ("max_pooling2d", "MaxPooling2D"), ("flatten", "Flatten"),
                  ("dense", "Dense"))
_PER_MAP_CAPTION = "each map from its own minimum (0) to maximum (1)"


class ExportCancelled(ExportError):
    """Raised from a `progress` callback to stop an export; nothing is written."""


@dataclass
class ExportOptions:
    """How the images look."""

    scale: int = DEFAULT_SCALE
    colormap: str = DEFAULT_COLORMAP
    normalisation: str = DEFAULT_NORMALISATION
    colorbar: bool = True
    labels: bool = True
    figure_format: str = DEFAULT_FIGURE_FORMAT   # grids, strips and channel figures: png, svg or pdf

    def check(self) -> None:
        """Raise ExportError for an option cnnviz cannot honour."""
        if not isinstance(self.scale, (int, np.integer)) or not 1 <= self.scale <= MAX_SCALE:
            raise ExportError(f"scale must be a whole number from 1 to {MAX_SCALE}, not {self.scale!r}")
        if self.colormap not in COLORMAPS:
            raise ExportError(f"unknown colormap {self.colormap!r}; choose one of {', '.join(COLORMAPS)}")
        if self.normalisation not in NORMALISATIONS:
            raise ExportError(f"unknown normalisation {self.normalisation!r}; "
                              f"choose one of {', '.join(NORMALISATIONS)}")
        if self.figure_format not in FIGURE_FORMATS:
            raise ExportError(f"unknown figure format {self.figure_format!r}; "
                              f"choose one of {', '.join(FIGURE_FORMATS)}")


@dataclass
class ExportResult:
    """The folder written, its files (relative paths, manifest last) and the manifest's content."""

    folder: Path
    files: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def guess_layer_kind(name: str, output: np.ndarray) -> str:
    """Keras names layers after their class (conv2d_1 -> Conv2D); fall back to the output's shape."""
    for prefix, kind in _KINDS_BY_NAME:
        if name.startswith(prefix):
            return kind
    return "maps" if np.ndim(output) == 3 else "vector"


def resolve_layers(layers, layer_names: list[str]) -> list[int]:
    """0-based indices for `layers` (names or 0-based indices; None = all), in model order."""
    if layers is None:
        return list(range(len(layer_names)))
    indices = []
    for item in layers:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not 0 <= item < len(layer_names):
                raise ExportError(f"there is no layer {item}; the model has {len(layer_names)} layers")
            indices.append(int(item))
        elif item in layer_names:
            indices.append(layer_names.index(item))
        else:
            raise ExportError(f"unknown layer {item!r}; the layers are {', '.join(layer_names)}")
    if not indices:
        raise ExportError("no layer selected")
    return sorted(set(indices))


def export_activations(out_dir: str | os.PathLike, model_input: np.ndarray, outputs: list[np.ndarray],
                       layer_names: list[str], layer_kinds: list[str] | None = None, *,
                       source_image: np.ndarray | None = None, source: str | None = None,
                       probabilities: np.ndarray | None = None, model_path: str | os.PathLike | None = None,
                       options: ExportOptions | None = None, layers=None, channel: int | None = None,
                       overwrite: bool = False,
                       progress: Callable[[int, int], None] | None = None,
                       class_names=None, input_scale: float = 1.0,
                       kernels: dict[int, list[np.ndarray]] | None = None) -> ExportResult:
    """Write the export folder `out_dir` (see the module docstring) and return what was written.

    `outputs` are the per-layer arrays of `ActivationProbe` for `model_input` (28×28 floats in
    [0, 1]). `layers`: names or 0-based indices (None = all layers). `channel`: export only that
    map of the one layer in `layers`. `probabilities` default to the last layer's output.
    `kernels`: {layer index: that conv layer's `get_weights()`} to draw its learned weights too.
    `progress(done, total)` is called as files are made (raise from it to cancel).
    Raises ExportError (nothing written) for bad arguments or a folder that cannot be written.
    """
    options = options or ExportOptions()
    options.check()
    # Any model's input (issue 14): (H, W) grey, (H, W, 1) or (H, W, 3) RGB; white is `input_scale`.
    model_input = np.asarray(model_input, dtype=np.float32)
    if model_input.ndim == 3 and model_input.shape[-1] == 1:
        model_input = model_input[..., 0]
    if model_input.ndim not in (2, 3) or model_input.shape[2:] not in ((), (3,)) or 0 in model_input.shape:
        raise ExportError(f"the model input must be an (H, W) grey or (H, W, 3) RGB image, not {model_input.shape}")
    if len(outputs) != len(layer_names):
        raise ExportError(f"{len(outputs)} layer outputs for {len(layer_names)} layer names")
    outputs = [np.asarray(o, dtype=np.float32) for o in outputs]
    kinds = list(layer_kinds) if layer_kinds else [guess_layer_kind(n, o) for n, o in zip(layer_names, outputs)]
    selected = resolve_layers(layers, list(layer_names))
    if channel is not None:
        if len(selected) != 1 or outputs[selected[0]].ndim != 3:
            raise ExportError("exporting one channel needs exactly one convolution or pooling layer")
        num_channels = outputs[selected[0]].shape[-1]
        if not 0 <= channel < num_channels:
            raise ExportError(f"layer {layer_names[selected[0]]} has channels 0 to {num_channels - 1}, "
                              f"not {channel}")
    if probabilities is None:
        probabilities = outputs[-1]
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if source_image is not None:
        source_image = np.asarray(source_image, dtype=np.float32)
        if source_image.ndim != 2 or 0 in source_image.shape:
            raise ExportError(f"the source image must be a 2-D greyscale array, not {source_image.shape}")
    model_path = model_path or None  # "" = a model that has no file (trained in the app, not saved)
    model_sha = None
    if model_path is not None:
        try:
            model_sha = file_sha256(model_path)
        except OSError as exc:
            raise ExportError(f"cannot read the model file {model_path}: {exc.strerror or exc}") from exc

    check_target(out_dir, overwrite)  # before the figures are made; checked again when writing
    total = (source_image is not None) + 2 + sum(_files_per_layer(outputs[i], channel, options) for i in selected) + 1
    if kernels:
        from cnnviz.core.kernel_export import kernel_file_count

        try:
            total += sum(kernel_file_count(weights) for weights in kernels.values())
        except ValueError as exc:
            raise ExportError(f"kernels: {exc}") from exc
    writer = _Writer(options, total, progress)
    if source_image is not None:
        writer.source(source_image)
    writer.model_input(model_input, input_scale)
    for index in selected:
        previous = (layer_names[index - 1], outputs[index - 1].shape) if index > 0 else None
        writer.layer(index, layer_names[index], kinds[index], outputs[index], channel, previous)
    for index in sorted(kernels or {}):
        writer.kernels(index, layer_names[index], kinds[index], kernels[index])
    manifest = {
        "format": FORMAT,
        "cnnviz_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "model": {"path": str(Path(model_path).resolve()) if model_path is not None else None,
                  "sha256": model_sha},
        "input": {"sha256": array_sha256(model_input), "shape": list(model_input.shape), "dtype": "float32",
                  "scale": float(input_scale)},
        "prediction": {"digit": int(np.argmax(probabilities)),
                       **({"class": str(class_names[int(np.argmax(probabilities))])} if class_names else {}),
                       "probabilities": [float(p) for p in probabilities]},
        "options": asdict(options),
        "selection": {"layers": [layer_names[i] for i in selected], "channel": channel},
        "layers": writer.layers,
        **({"kernels": writer.kernel_layers} if kernels else {}),
        "files": writer.entries,
    }
    writer.files[MANIFEST_NAME] = (dumps_strict(manifest, indent=2) + "\n").encode("utf-8")
    writer.made()
    folder = write_folder(Path(out_dir), writer.files, overwrite)
    return ExportResult(folder=folder, files=list(writer.files), manifest=manifest)


def _files_per_layer(values: np.ndarray, channel: int | None, options: ExportOptions) -> int:
    """How many files one layer makes: its array, and its map PNGs and figure (or its strip)."""
    if values.ndim != 3:
        return 2
    if channel is None:
        return 1 + values.shape[-1] + 1
    return 2 + bool(options.labels or options.colorbar)


class _Writer:
    """Builds every file's bytes in memory (a full export is a few MB) and its manifest entry."""

    def __init__(self, options: ExportOptions, total: int, progress: Callable[[int, int], None] | None):
        self.options = options
        self.files: dict[str, bytes] = {}
        self.entries: list[dict] = []
        self.layers: list[dict] = []
        self.kernel_layers: list[dict] = []
        self._total, self._progress = total, progress

    def made(self) -> None:
        """One more file is ready: tell the progress callback (which may cancel by raising)."""
        if self._progress is not None:
            self._progress(len(self.files), self._total)

    def _add(self, path: str, data: bytes, **entry) -> None:
        self.files[path] = data
        self.entries.append({"path": path, **entry})
        self.made()

    def _image_entry(self, levels, fmt: str = "png") -> dict:
        return {"format": fmt, "colormap": self.options.colormap, "normalisation": self.options.normalisation,
                "scale": self.options.scale, "levels": levels}

    def source(self, image: np.ndarray) -> None:
        pixels = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
        self._add(SOURCE_NAME, png_bytes(pixels), type="source_png", format="png", shape=list(image.shape),
                  min=float(image.min()), max=float(image.max()), colormap="gray", levels=[0.0, 1.0], scale=1)

    def model_input(self, image: np.ndarray, white: float = 1.0) -> None:
        if image.ndim == 3:  # RGB: the colours themselves
            pixels = tiling.upscale(np.round(np.clip(image / white, 0.0, 1.0) * 255).astype(np.uint8),
                                    self.options.scale)
        else:
            pixels = tiling.upscale(colorize(image, 0.0, white, "gray")[..., 0], self.options.scale)
        stats = {"shape": list(image.shape), "min": float(image.min()), "max": float(image.max())}
        stem = f"01_model_input_{image.shape[0]}x{image.shape[1]}"  # INPUT_PNG_NAME for 28×28
        self._add(f"{stem}.png", png_bytes(pixels), type="input_png", format="png",
                  colormap="rgb" if image.ndim == 3 else "gray", levels=[0.0, float(white)],
                  scale=self.options.scale, **stats)
        self._add(f"{stem}.npy", npy_bytes(image), type="input_array", format="npy", dtype="float32", **stats)

    def layer(self, index: int, name: str, kind: str, values: np.ndarray, channel: int | None,
              previous: tuple[str, tuple] | None) -> None:
        prefix = layer_prefix(index, name)
        common = {"layer": name, "layer_index": index + 1, "kind": kind}
        stats = {"min": float(values.min()), "max": float(values.max())}
        array_path = f"{prefix}.npy"
        self._add(array_path, npy_bytes(values), type="array", format="npy", dtype="float32",
                  shape=list(values.shape), **common, **stats)
        self.layers.append({"index": index + 1, "name": name, "kind": kind, "shape": list(values.shape),
                            **stats, "array": array_path})
        if values.ndim == 3:
            self._maps(prefix, common, values, channel)
        else:
            source_shape = previous[1] if previous and kind == "Flatten" else None
            self._strip(prefix, common, values, tiling.strip_layout(values.size, source_shape),
                        previous[0] if source_shape else None)

    def kernels(self, index: int, name: str, kind: str, weights) -> None:
        """A conv layer's learned weights: arrays, a PNG per filter, a grid figure (`core.kernel_export`)."""
        from cnnviz.core.kernel_export import kernel_files

        files, entry = kernel_files(layer_prefix(index, name), {"layer": name, "layer_index": index + 1, "kind": kind},
                                    weights, self.options.scale, self.options.labels, self.options.colorbar,
                                    self.options.figure_format)
        for path, data, fields in files:
            self._add(path, data, **fields)
        self.kernel_layers.append(entry)

    # --- decoration ------------------------------------------------------------------------------
    def _scale(self, low: float, high: float, label: str) -> figures.ColourScale | None:
        if not self.options.colorbar:
            return None
        return figures.ColourScale(lookup_table(self.options.colormap), low, high, label)

    def _titles(self, common: dict, title: str, details: str) -> dict:
        if not self.options.labels:
            return {"title": None, "subtitle": None}
        return {"title": title,
                "subtitle": f"layer {common['layer_index']} · {common['kind']} · {details}"}

    def _colours_note(self, vector: bool = False) -> str:
        if vector:  # a vector layer has one range either way
            return self.options.colormap
        return f"{self.options.colormap}, colours per {self.options.normalisation}"

    def _figure(self, path: str, kind: str, rendered: figures.RenderedFigure, common: dict, values: np.ndarray,
                levels, index_key: str | None = None, indices=(), **extra) -> None:
        entry = {"type": f"{kind}_{rendered.format}", **common, "shape": list(values.shape),
                 "min": float(values.min()), "max": float(values.max()),
                 **self._image_entry(levels, rendered.format), "labels": self.options.labels,
                 "value_size": rendered.cell_scale, "width": rendered.width, "height": rendered.height, **extra}
        if rendered.cells is not None:
            entry["cells"] = [{index_key: i, "box": list(box)} for i, box in zip(indices, rendered.cells)]
            entry["colorbar"] = list(rendered.colorbar) if rendered.colorbar else None
        self._add(f"{path}.{rendered.format}", rendered.data, **entry)

    # --- spatial layers ----------------------------------------------------------------------------
    def _maps(self, prefix: str, common: dict, maps: np.ndarray, channel: int | None) -> None:
        levels = channel_levels(maps, self.options.normalisation)
        num = maps.shape[-1]
        channels = [channel] if channel is not None else list(range(num))
        cells = []
        for c in channels:
            low, high = (float(v) for v in levels[c])
            cell = colorize(maps[..., c], low, high, self.options.colormap)
            cells.append(cell)
            values = maps[..., c]
            self._add(f"{prefix}/{channel_name(c, num)}.png", png_bytes(tiling.upscale(cell, self.options.scale)),
                      type="channel_png", **common, channel=c, shape=list(values.shape), min=float(values.min()),
                      max=float(values.max()), **self._image_entry([low, high]))
        shape = "×".join(str(d) for d in maps.shape)
        fmt = self.options.figure_format
        if channel is not None:
            if self.options.labels or self.options.colorbar:
                self._channel_figure(prefix, common, maps, channel, cells[0], levels[channel])
            return
        if self.options.normalisation == "layer":
            scale = self._scale(float(levels[0][0]), float(levels[0][1]), "activation")
        else:
            scale = self._scale(0.0, 1.0, _PER_MAP_CAPTION)
        rendered = figures.grid_figure(
            cells, self.options.scale, cell_labels=[str(c) for c in channels] if self.options.labels else None,
            colour_scale=scale, fmt=fmt, **self._titles(common, f"{common['layer']} · {shape}", self._colours_note()))
        self._figure(f"{prefix}_grid", "grid", rendered, common, maps, [[float(lo), float(hi)] for lo, hi in levels],
                     "channel", channels)

    def _channel_figure(self, prefix: str, common: dict, maps: np.ndarray, channel: int, cell: np.ndarray,
                        levels) -> None:
        low, high = (float(v) for v in levels)
        height, width, num = maps.shape
        ticks = {}
        if self.options.labels:
            ticks = {"x_ticks": _index_ticks(width, "x"), "y_ticks": _index_ticks(height, "y")}
        rendered = figures.image_figure(
            cell, self.options.scale, colour_scale=self._scale(low, high, "activation"),
            fmt=self.options.figure_format, **ticks,
            **self._titles(common, f"{common['layer']} · channel {channel}",
                           f"map {height}×{width} of {height}×{width}×{num} · {self._colours_note()}"))
        self._figure(f"{prefix}_{channel_name(channel, num)}_figure", "figure", rendered, common,
                     maps[..., channel], [low, high], "channel", [channel], channel=channel)

    # --- vector layers ---------------------------------------------------------------------------
    def _strip(self, prefix: str, common: dict, vector: np.ndarray, layout: tiling.StripLayout,
               source_name: str | None) -> None:
        low, high = (float(v) for v in channel_levels(vector, self.options.normalisation)[0])
        vector = vector.reshape(-1)
        scale = self._scale(low, high, "value")
        fmt = self.options.figure_format
        if len(vector) <= MAX_LABELLED_VALUES:
            # Few values (the ten classes): one numbered cell each.
            cells = [colorize(np.array([[v]]), low, high, self.options.colormap) for v in vector]
            rendered = figures.grid_figure(
                cells, self.options.scale, columns=len(cells), min_cell=figures.MIN_CLASS_CELL, colour_scale=scale,
                cell_labels=[str(i) for i in range(len(cells))] if self.options.labels else None, fmt=fmt,
                **self._titles(common, f"{common['layer']} · {len(vector)} values", self._colours_note(True)))
            self._figure(f"{prefix}_strip", "strip", rendered, common, vector, [low, high], "index",
                         range(len(vector)), values_per_row=len(vector))
            return
        grid = layout.grid(vector)
        pixels = colorize(np.nan_to_num(grid, nan=low), low, high, self.options.colormap)
        pixels[np.isnan(grid)] = figures.BACKGROUND
        ticks = {}
        if self.options.labels:
            ticks = _strip_ticks(layout, source_name)
        if layout.source_shape is not None:
            h, w, c = layout.source_shape
            title = f"{common['layer']} · {len(vector)} = {h}×{w}×{c}"
        else:
            title = f"{common['layer']} · {len(vector)} values"
        rendered = figures.image_figure(pixels, self.options.scale, colour_scale=scale, fmt=fmt, **ticks,
                                        min_side=STRIP_MIN_WIDTH,
                                        **self._titles(common, title, self._colours_note(True)))
        self._figure(f"{prefix}_strip", "strip", rendered, common, vector, [low, high], "index", [0],
                     values_per_row=layout.columns)


def _index_ticks(size: int, title: str, step: int | None = None) -> figures.Ticks:
    """Ticks at every `step`-th value (5 for a map), centred on the values."""
    step = step or (1 if size <= 8 else 5 if size <= 40 else 8)
    positions = list(range(0, size, step))
    return figures.Ticks([p + 0.5 for p in positions], [str(p) for p in positions], title)


def _strip_ticks(layout: tiling.StripLayout, source_name: str | None) -> dict:
    """Axis ticks of a strip: channels and positions of flattened maps, else offsets and row starts."""
    rows = range(layout.rows)
    step = 1 if layout.columns <= 16 else 8
    if layout.source_shape is not None:
        x = _index_ticks(layout.columns, f"channel of {source_name}", step)
        y = figures.Ticks([r + 0.5 for r in rows], [layout.row_label(r) for r in rows], "y,x")
    else:
        x = _index_ticks(layout.columns, "position in the row", step)
        y = figures.Ticks([r + 0.5 for r in rows], [layout.row_label(r) for r in rows])
    return {"x_ticks": x, "y_ticks": y}


