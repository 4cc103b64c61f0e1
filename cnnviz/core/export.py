"""Export feature maps as PNG images, the exact activations as `.npy`, and a `manifest.json` (Qt-free).

One export is one folder. Names, with layers numbered from 1 in model order (L1 = conv2d_1 …
L8 = dense_2) and channels zero-padded to at least two digits::

    00_input.png                 what the user drew or opened, grey, at its own size (only if given)
    01_model_input_28x28.png     the 28×28 model input, grey (0 black, 1 white), each pixel scale×scale
    01_model_input_28x28.npy     the model input, float32 (28, 28)
    L1_conv2d_1.npy              the layer's exact activations, float32, no batch axis: (26, 26, 32)
    L1_conv2d_1_grid.png         all maps of a spatial layer in one grid (8 to a row), with margins,
                                 optional labels (title + channel numbers) and colour bar
    L1_conv2d_1/ch00.png …       one map per file: only the map, each activation a crisp
                                 scale×scale square, no labels or bar (so pixels are data)
    L1_conv2d_1_ch05_figure.png  exporting one channel with labels or colour bar on: that map
                                 with its title and colour bar
    L6_flatten_1.npy             vector layers (flatten, dense) as .npy …
    L6_flatten_1_strip.png       … and a strip: values in rows of 32 squares (up to 16 values:
                                 one labelled cell each, e.g. the ten classes of dense_2)
    manifest.json                what every file is (see below)

Colours: every map pixel is `colormaps.colorize(value, low, high, colormap)` with (low, high) from
`colormaps.channel_levels(layer, normalisation)`, the same as the app shows. "channel" gives each
map its own range, "layer" one range for the whole layer; a vector layer has one range either way.
The per-map PNGs and the grid cells hold exactly those pixels, so a value can be read back from a
pixel through the colormap's table (to within (high - low) / 255).

`manifest.json` holds: format, cnnviz_version, created (UTC), source (a description), model
{path, sha256}, input {sha256 of the float32 (28, 28) model input's bytes, shape}, prediction
{digit, probabilities}, options {scale, colormap, normalisation, colorbar, labels}, selection
{layers, channel}, layers (index, name, kind, shape, min, max, array file), and files: one entry per
file with path (relative, "/"-separated), type (source_png, input_png, input_array, array,
channel_png, grid_png, figure_png, strip_png), layer, layer_index, kind, shape, min, max, and for
images colormap, normalisation, scale and levels ([low, high], or one pair per channel for grids),
plus boxes ([x, y, width, height] in pixels) of every cell and of the colour bar in composed images
(strips also give values_per_row and value_size, the side of one value's square in pixels).
"kind" is the Keras layer class (Conv2D, MaxPooling2D, Flatten, Dense) from `layer_kinds`, or,
when the caller has none (the app's inspector), read from the layer name as Keras names layers.

Nothing is written unless everything is: the files go to a hidden folder beside the target,
which is then renamed into place. An existing non-empty target is refused (TargetExistsError)
unless `overwrite=True`, and then replaced as a whole (never merged), and only if it is an
earlier cnnviz export (has a manifest.json).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from cnnviz import __version__
from cnnviz.core import tiling
from cnnviz.core.colormaps import (COLORMAPS, DEFAULT_COLORMAP, DEFAULT_NORMALISATION, NORMALISATIONS,
                                   channel_levels, colorize, lookup_table)
from cnnviz.core.png import encode_png

FORMAT = "cnnviz-export/1"
MANIFEST_NAME = "manifest.json"
SOURCE_NAME = "00_input.png"
INPUT_PNG_NAME = "01_model_input_28x28.png"
INPUT_ARRAY_NAME = "01_model_input_28x28.npy"
DEFAULT_SCALE = 8
MAX_SCALE = 64
STRIP_VALUES_PER_ROW = 32
MAX_LABELLED_VALUES = 16
_KINDS_BY_NAME = (("conv2d", "Conv2D"), ("max_pooling2d", "MaxPooling2D"), ("flatten", "Flatten"),
                  ("dense", "Dense"))


class ExportError(Exception):
    """An export that cannot be done; the message says why, and nothing was written."""


class TargetExistsError(ExportError):
    """The target folder exists and is not empty (pass overwrite=True to replace a cnnviz export)."""


@dataclass
class ExportOptions:
    """How the images look."""

    scale: int = DEFAULT_SCALE
    colormap: str = DEFAULT_COLORMAP
    normalisation: str = DEFAULT_NORMALISATION
    colorbar: bool = True
    labels: bool = True

    def check(self) -> None:
        """Raise ExportError for an option cnnviz cannot honour."""
        if not isinstance(self.scale, (int, np.integer)) or not 1 <= self.scale <= MAX_SCALE:
            raise ExportError(f"scale must be a whole number from 1 to {MAX_SCALE}, not {self.scale!r}")
        if self.colormap not in COLORMAPS:
            raise ExportError(f"unknown colormap {self.colormap!r}; choose one of {', '.join(COLORMAPS)}")
        if self.normalisation not in NORMALISATIONS:
            raise ExportError(f"unknown normalisation {self.normalisation!r}; "
                              f"choose one of {', '.join(NORMALISATIONS)}")


@dataclass
class ExportResult:
    """The folder written, its files (relative paths, manifest last) and the manifest's content."""

    folder: Path
    files: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def layer_prefix(index: int, name: str) -> str:
    """File-name stem of layer `index` (0-based in the model): 'L1_conv2d_1' for index 0."""
    return f"L{index + 1}_{name}"


def channel_name(channel: int, num_channels: int) -> str:
    """'ch05' for channel 5 of 32: zero-padded to the width of the largest channel number (>= 2)."""
    return f"ch{channel:0{max(2, len(str(num_channels - 1)))}d}"


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


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def array_sha256(array: np.ndarray) -> str:
    """sha256 of an array's C-ordered bytes (as cnnviz.core.data.array_sha256)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def export_activations(out_dir: str | os.PathLike, model_input: np.ndarray, outputs: list[np.ndarray],
                       layer_names: list[str], layer_kinds: list[str] | None = None, *,
                       source_image: np.ndarray | None = None, source: str | None = None,
                       probabilities: np.ndarray | None = None, model_path: str | os.PathLike | None = None,
                       options: ExportOptions | None = None, layers=None, channel: int | None = None,
                       overwrite: bool = False) -> ExportResult:
    """Write the export folder `out_dir` (see the module docstring) and return what was written.

    `outputs` are the per-layer arrays of `ActivationProbe` for `model_input` (28×28 floats in
    [0, 1]). `layers`: names or 0-based indices (None = all layers). `channel`: export only that
    map of the one layer in `layers`. `probabilities` default to the last layer's output.
    Raises ExportError (nothing written) for bad arguments or a folder that cannot be written.
    """
    options = options or ExportOptions()
    options.check()
    model_input = np.asarray(model_input, dtype=np.float32)
    if model_input.size != 28 * 28:
        raise ExportError(f"the model input must be 28×28, not {model_input.shape}")
    model_input = model_input.reshape(28, 28)
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

    writer = _Writer(options)
    if source_image is not None:
        writer.source(source_image)
    writer.model_input(model_input)
    for index in selected:
        writer.layer(index, layer_names[index], kinds[index], outputs[index], channel)
    manifest = {
        "format": FORMAT,
        "cnnviz_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "model": {"path": str(Path(model_path).resolve()) if model_path is not None else None,
                  "sha256": model_sha},
        "input": {"sha256": array_sha256(model_input), "shape": [28, 28], "dtype": "float32"},
        "prediction": {"digit": int(np.argmax(probabilities)),
                       "probabilities": [float(p) for p in probabilities]},
        "options": asdict(options),
        "selection": {"layers": [layer_names[i] for i in selected], "channel": channel},
        "layers": writer.layers,
        "files": writer.entries,
    }
    writer.files[MANIFEST_NAME] = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    folder = _write_folder(Path(out_dir), writer.files, overwrite)
    return ExportResult(folder=folder, files=list(writer.files), manifest=manifest)


class _Writer:
    """Builds every file's bytes in memory (a full export is a few MB) and its manifest entry."""

    def __init__(self, options: ExportOptions):
        self.options = options
        self.files: dict[str, bytes] = {}
        self.entries: list[dict] = []
        self.layers: list[dict] = []
        self.text_scale = tiling.text_scale_for(options.scale)
        self.margin = tiling.margin_for(options.scale)

    def _add(self, path: str, data: bytes, **entry) -> None:
        self.files[path] = data
        self.entries.append({"path": path, **entry})

    def _image_entry(self, levels) -> dict:
        return {"colormap": self.options.colormap, "normalisation": self.options.normalisation,
                "scale": self.options.scale, "levels": levels}

    def source(self, image: np.ndarray) -> None:
        pixels = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
        self._add(SOURCE_NAME, encode_png(pixels), type="source_png", shape=list(image.shape),
                  min=float(image.min()), max=float(image.max()), colormap="gray", levels=[0.0, 1.0], scale=1)

    def model_input(self, image: np.ndarray) -> None:
        pixels = tiling.upscale(colorize(image, 0.0, 1.0, "gray")[..., 0], self.options.scale)
        stats = {"shape": [28, 28], "min": float(image.min()), "max": float(image.max())}
        self._add(INPUT_PNG_NAME, encode_png(pixels), type="input_png", colormap="gray", levels=[0.0, 1.0],
                  scale=self.options.scale, **stats)
        self._add(INPUT_ARRAY_NAME, _npy_bytes(image), type="input_array", dtype="float32", **stats)

    def layer(self, index: int, name: str, kind: str, values: np.ndarray, channel: int | None) -> None:
        prefix = layer_prefix(index, name)
        common = {"layer": name, "layer_index": index + 1, "kind": kind}
        stats = {"min": float(values.min()), "max": float(values.max())}
        array_path = f"{prefix}.npy"
        self._add(array_path, _npy_bytes(values), type="array", dtype="float32", shape=list(values.shape),
                  **common, **stats)
        self.layers.append({"index": index + 1, "name": name, "kind": kind, "shape": list(values.shape),
                            **stats, "array": array_path})
        if values.ndim == 3:
            self._maps(prefix, common, values, channel)
        else:
            self._strip(prefix, common, values)

    def _cell(self, values: np.ndarray, low: float, high: float) -> np.ndarray:
        return tiling.upscale(colorize(values, low, high, self.options.colormap), self.options.scale)

    def _colorbar(self, low: float | None, high: float | None) -> tiling.ColorBar | None:
        if not self.options.colorbar:
            return None
        if low is None:
            high_text, low_text = "MAX", "MIN"  # per-channel levels: each map has its own range
        else:
            high_text, low_text = f"{high:.3g}", f"{low:.3g}"
        return tiling.ColorBar(lookup_table(self.options.colormap), high_text, low_text,
                               width=max(12, 2 * self.options.scale))

    def _title(self, prefix: str, shape, note: str = "", per_channel: bool = True) -> str | None:
        if not self.options.labels:
            return None
        dims = "×".join(str(d) for d in shape)
        text = f"{prefix.replace('_', ' ', 1)}  {dims}{note}  {self.options.colormap}"
        if per_channel:
            text += ", levels per channel" if self.options.normalisation == "channel" else ", levels per layer"
        return text

    def _maps(self, prefix: str, common: dict, maps: np.ndarray, channel: int | None) -> None:
        levels = channel_levels(maps, self.options.normalisation)
        num = maps.shape[-1]
        channels = [channel] if channel is not None else list(range(num))
        cells = []
        for c in channels:
            low, high = (float(v) for v in levels[c])
            cell = self._cell(maps[..., c], low, high)
            cells.append(cell)
            values = maps[..., c]
            self._add(f"{prefix}/{channel_name(c, num)}.png", encode_png(cell), type="channel_png",
                      **common, channel=c, shape=list(values.shape), min=float(values.min()),
                      max=float(values.max()), **self._image_entry([low, high]))
        decorated = self.options.labels or self.options.colorbar
        if channel is not None:
            if not decorated:
                return
            low, high = (float(v) for v in levels[channel])
            figure = tiling.compose(cells, margin=self.margin, text_scale=self.text_scale,
                                    title=self._title(prefix, maps.shape[:2], f"  channel {channel}"),
                                    colorbar=self._colorbar(low, high))
            self._composed(f"{prefix}_{channel_name(channel, num)}_figure.png", "figure_png", figure, common,
                           maps[..., channel], [low, high], [channel])
            return
        same_levels = self.options.normalisation == "layer"
        figure = tiling.compose(
            cells, margin=self.margin, text_scale=self.text_scale,
            cell_labels=[str(c) for c in channels] if self.options.labels else None,
            title=self._title(prefix, maps.shape),
            colorbar=self._colorbar(*(levels[0] if same_levels else (None, None))),
        )
        self._composed(f"{prefix}_grid.png", "grid_png", figure, common, maps,
                       [[float(lo), float(hi)] for lo, hi in levels], channels)

    def _composed(self, path, kind, figure, common, values, levels, channels) -> None:
        self._add(path, encode_png(figure.image), type=kind, **common, shape=list(values.shape),
                  min=float(values.min()), max=float(values.max()), **self._image_entry(levels),
                  labels=self.options.labels,
                  cells=[{"channel": c, "box": list(box)} for c, box in zip(channels, figure.cells)],
                  colorbar=list(figure.colorbar) if figure.colorbar else None)

    def _strip(self, prefix: str, common: dict, vector: np.ndarray) -> None:
        low, high = (float(v) for v in channel_levels(vector, self.options.normalisation)[0])
        vector = vector.reshape(-1)
        bar = self._colorbar(low, high)
        title = self._title(prefix, vector.shape, " values", per_channel=False)
        if len(vector) <= MAX_LABELLED_VALUES:
            # Few values (the ten classes): big enough squares to carry their index as a label.
            size = max(self.options.scale, 12 * self.text_scale)
            cells = [tiling.upscale(colorize(np.array([[v]]), low, high, self.options.colormap), size)
                     for v in vector]
            figure = tiling.compose(cells, columns=len(cells), margin=self.margin, text_scale=self.text_scale,
                                    cell_labels=[str(i) for i in range(len(cells))] if self.options.labels
                                    else None, title=title, colorbar=bar)
            values_per_row, cell_size = 1, size
        else:
            rows = -(-len(vector) // STRIP_VALUES_PER_ROW)
            padded = np.full(rows * STRIP_VALUES_PER_ROW, np.nan, dtype=np.float32)
            padded[:len(vector)] = vector
            grid = padded.reshape(rows, STRIP_VALUES_PER_ROW)
            strip = colorize(np.nan_to_num(grid, nan=low), low, high, self.options.colormap)
            strip[np.isnan(grid)] = tiling.BACKGROUND
            figure = tiling.compose([tiling.upscale(strip, self.options.scale)], margin=self.margin,
                                    text_scale=self.text_scale, title=title, colorbar=bar)
            values_per_row, cell_size = STRIP_VALUES_PER_ROW, self.options.scale
        self._add(f"{prefix}_strip.png", encode_png(figure.image), type="strip_png", **common,
                  shape=list(vector.shape), min=float(vector.min()), max=float(vector.max()),
                  **self._image_entry([low, high]), labels=self.options.labels, values_per_row=values_per_row,
                  value_size=cell_size,
                  cells=[{"index": i, "box": list(box)} for i, box in enumerate(figure.cells)],
                  colorbar=list(figure.colorbar) if figure.colorbar else None)


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def check_target(out_dir: str | os.PathLike, overwrite: bool = False) -> Path:
    """The absolute target folder, if it may be written; else ExportError.

    A missing or empty folder is fine. A non-empty one raises TargetExistsError unless
    `overwrite`, and even then only an earlier cnnviz export (it has a manifest.json) is
    replaced: pointing an export at, say, one's home folder must never delete it.
    """
    out = Path(out_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file, not a folder")
    existing = next(folder for folder in out.parents if folder.exists() or folder == folder.parent)
    if not existing.is_dir():
        raise ExportError(f"cannot write the export to {out}: {existing} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise TargetExistsError(f"{out} already exists and is not empty; choose another folder "
                                    "or overwrite it")
        if not (out / MANIFEST_NAME).is_file():
            raise ExportError(f"{out} is not a cnnviz export (it has no {MANIFEST_NAME}), so it is not "
                              "replaced; choose a new or empty folder")
    return out


def _write_folder(out_dir: Path, files: dict[str, bytes], overwrite: bool) -> Path:
    """Write `files` to a hidden folder beside `out_dir`, then rename it into place (all or nothing)."""
    out = check_target(out_dir, overwrite)
    created = _missing_ancestors(out.parent)
    tmp = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        for relative, data in files.items():
            path = tmp / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        _move_into_place(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:  # deepest first: leave no empty parents behind
            try:
                folder.rmdir()
            except OSError:
                break
        reason = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename and Path(exc.filename) != out else ""
        raise ExportError(f"cannot write the export to {out}: {reason}{where}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _missing_ancestors(folder: Path) -> list[Path]:
    """The folders `mkdir(parents=True)` would create for `folder`, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename `tmp` to `out`; an existing `out` is set aside first and removed only after success."""
    if not out.exists():
        os.rename(tmp, out)
        return
    if not any(out.iterdir()):
        out.rmdir()
        os.rename(tmp, out)
        return
    old = out.parent / f".{out.name}.old-{secrets.token_hex(4)}"
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
