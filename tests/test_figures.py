"""Exported figures (matplotlib): real type, numbers that never touch, numeric colour bars, PNG/SVG/PDF."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from _png import read_png
from cnnviz.core import figures, tiling
from cnnviz.core.colormaps import channel_levels, colorize, lookup_table
from cnnviz.core.export import ExportOptions, export_activations

SVG = "{http://www.w3.org/2000/svg}"
NAMES = ["conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2", "conv2d_3", "flatten_1", "dense_1",
         "dense_2"]
SHAPES = [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)]
KINDS = ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D", "Flatten", "Dense", "Dense"]


@pytest.fixture(scope="module")
def outputs():
    """Layer outputs shaped like the seed convnet's (ReLU-like, the flatten equal to conv2d_3's maps)."""
    rng = np.random.default_rng(7)
    arrays = [np.maximum(rng.normal(size=shape), 0).astype(np.float32) * (i + 1) for i, shape in enumerate(SHAPES)]
    arrays[5] = arrays[4].reshape(-1).copy()
    arrays[7] = np.exp(arrays[7]) / np.exp(arrays[7]).sum()
    return arrays


def _export(folder, outputs, layers=None, **options):
    return export_activations(folder, np.zeros((28, 28), np.float32), outputs, NAMES, KINDS, layers=layers,
                              options=ExportOptions(scale=2, **options))


def _number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def _svg_texts(path) -> tuple[list[str], list[str]]:
    """(every <text> in the SVG, the colour bar's tick labels), after checking it is well-formed XML."""
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    bars = [g for g in root.iter(f"{SVG}g") if g.get("id") == "colorbar"]
    assert len(bars) <= 1
    ticks = ["".join(t.itertext()) for t in bars[0].iter(f"{SVG}text")] if bars else []
    return texts, ticks


def _overlaps(a, b) -> bool:
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


# --- SVG and PDF --------------------------------------------------------------------------------

def test_svg_figures_have_real_text_and_numeric_colour_bars(tmp_path, outputs):
    result = _export(tmp_path / "svg", outputs, figure_format="svg", normalisation="layer")
    figures_written = [e for e in result.manifest["files"] if e["type"].endswith("_svg")]
    assert sorted(e["path"] for e in figures_written) == sorted(
        [f"L{i + 1}_{n}_grid.svg" for i, n in enumerate(NAMES[:5])]
        + [f"L{i + 6}_{n}_strip.svg" for i, n in enumerate(NAMES[5:])])
    assert not any(p.endswith("_grid.png") or p.endswith("_strip.png") for p in result.files)
    assert len([p for p in result.files if "/ch" in p and p.endswith(".png")]) == 32 + 32 + 64 + 64 + 64
    for entry in figures_written:
        assert entry["format"] == "svg" and "cells" not in entry and "colorbar" not in entry
        texts, ticks = _svg_texts(result.folder / entry["path"])
        name = entry["layer"]
        assert any(t.startswith(f"{name} · ") for t in texts), texts[:3]   # the title, lower-case as named
        values = [_number(t) for t in ticks]
        low, high = entry["levels"][0] if entry["type"] == "grid_svg" else entry["levels"]
        assert len(values) >= 2 and values == sorted(values), (name, ticks)
        assert low - 1e-6 <= values[0] and values[-1] <= high + 1e-6
    grid_texts, _ = _svg_texts(result.folder / "L3_conv2d_2_grid.svg")
    assert "conv2d_2 · 11×11×64" in grid_texts and "CONV2D_2" not in " ".join(grid_texts)
    assert {str(c) for c in range(64)} <= set(grid_texts)                  # every channel number
    assert "layer 3 · Conv2D · viridis, colours per layer" in grid_texts


def test_svg_colour_bar_ticks_are_the_layers_values(tmp_path, outputs):
    result = _export(tmp_path / "svg", outputs, figure_format="svg", normalisation="layer", layers=["conv2d_3"])
    _, ticks = _svg_texts(result.folder / "L5_conv2d_3_grid.svg")
    values = [_number(t) for t in ticks]
    assert values == sorted(values) and len(values) >= 3
    maps = outputs[4]
    assert maps.min() <= values[0] and values[-1] <= maps.max()
    steps = np.diff(values)
    np.testing.assert_allclose(steps, steps[0])                            # evenly spaced, round values


def test_pdf_figures_are_pdfs_with_embedded_fonts(tmp_path, outputs):
    result = _export(tmp_path / "pdf", outputs, figure_format="pdf", layers=["conv2d_3", "dense_2"])
    pdfs = sorted(p for p in result.files if p.endswith(".pdf"))
    assert pdfs == ["L5_conv2d_3_grid.pdf", "L8_dense_2_strip.pdf"]
    for name in pdfs:
        data = (result.folder / name).read_bytes()
        assert data.startswith(b"%PDF-1.") and data.rstrip().endswith(b"%%EOF")
        assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") + data.count(b"/Type/Page") >= 1
        assert b"/FontFile2" in data and b"DejaVuSans" in data                # TrueType text, not outlines
    entry = next(e for e in result.manifest["files"] if e["path"] == "L5_conv2d_3_grid.pdf")
    assert entry["type"] == "grid_pdf" and entry["format"] == "pdf" and "cells" not in entry


def test_the_formats_share_one_layout(outputs):
    cells = [colorize(outputs[2][..., c], 0, 1) for c in range(8)]
    sizes = {fmt: figures.grid_figure(cells, 3, cell_labels=list("01234567"), title="t", fmt=fmt)
             for fmt in figures.FIGURE_FORMATS}
    assert len({(f.width, f.height, f.cell_scale) for f in sizes.values()}) == 1
    svg_root = ET.fromstring(sizes["svg"].data)
    # One PNG pixel is 1/DPI inch: 72/DPI points in the SVG (matplotlib writes e.g. 237.60072pt for 237.6).
    for side, pixels in (("width", sizes["png"].width), ("height", sizes["png"].height)):
        text = svg_root.get(side)
        assert text.endswith("pt") and float(text[:-2]) == pytest.approx(pixels * 72 / figures.DPI, abs=0.01)
    with pytest.raises(ValueError, match="unknown figure format 'gif'"):
        figures.grid_figure(cells, 3, fmt="gif")


# --- PNG: type that never touches, numeric ticks ----------------------------------------------------

@pytest.mark.parametrize("scale", [1, 2, 8])
def test_grid_numbers_never_touch_each_other_or_the_maps(outputs, scale):
    for maps in (outputs[0], outputs[4]):          # the biggest maps and the smallest (3×3)
        levels = channel_levels(maps, "channel")
        cells = [colorize(maps[..., c], *levels[c], "magma") for c in range(maps.shape[-1])]
        labels = [str(c) for c in range(len(cells))]
        rendered = figures.grid_figure(cells, scale, cell_labels=labels, title="conv2d_3 · 3×3×64",
                                       subtitle="layer 5 · Conv2D", colour_scale=figures.ColourScale(
                                           lookup_table("magma"), 0.0, 1.0, "each map from its own minimum"))
        boxes = rendered.text_boxes
        assert set(labels) <= {t for t, _ in boxes}                          # every number is drawn
        assert {"conv2d_3 · 3×3×64", "0.0", "1.0"} <= {t for t, _ in boxes}  # title, colour-bar ticks
        for i, (text_a, a) in enumerate(boxes):
            for text_b, b in boxes[i + 1:]:
                assert not _overlaps(a, b), (text_a, a, text_b, b)
            for cell in rendered.cells:
                assert not _overlaps(a, cell), (text_a, a, cell)
        image = np.asarray(Image.open(io.BytesIO(rendered.data)))
        assert image.shape == (rendered.height, rendered.width, 3)
        x, y, w, h = rendered.cells[-1]
        k = rendered.cell_scale
        np.testing.assert_array_equal(image[y:y + h, x:x + w], tiling.upscale(cells[-1], k))


def test_strip_and_channel_figures_have_numeric_axes(outputs):
    layout = tiling.strip_layout(576, (3, 3, 64))
    values = outputs[5]
    low, high = float(values.min()), float(values.max())
    pixels = colorize(layout.grid(values), low, high)
    x_ticks = figures.Ticks([c + 0.5 for c in range(0, 64, 8)], [str(c) for c in range(0, 64, 8)], "channel")
    y_ticks = figures.Ticks([r + 0.5 for r in range(9)], [layout.row_label(r) for r in range(9)], "y,x")
    rendered = figures.image_figure(pixels, 2, x_ticks=x_ticks, y_ticks=y_ticks, title="flatten_1 · 576 = 3×3×64",
                                    colour_scale=figures.ColourScale(lookup_table("viridis"), low, high, "value"))
    texts = [t for t, _ in rendered.text_boxes]
    assert {"0,0", "1,2", "2,2", "56", "channel", "y,x", "value"} <= set(texts)
    numbers = [t for t in texts if t not in ("0,0",) and t.replace(".", "", 1).isdigit()]
    bar_ticks = sorted(_number(t) for t in numbers if t not in x_ticks.labels)
    assert len(bar_ticks) >= 2 and low <= bar_ticks[0] and bar_ticks[-1] <= high
    for i, (_, a) in enumerate(rendered.text_boxes):
        assert not any(_overlaps(a, b) for _, b in rendered.text_boxes[i + 1:])
    x, y, w, h = rendered.cells[0]
    k = rendered.cell_scale
    assert (w, h) == (64 * k, 9 * k) and k >= 2
    image = np.asarray(Image.open(io.BytesIO(rendered.data)))
    np.testing.assert_array_equal(image[y:y + h, x:x + w], tiling.upscale(pixels, k))


def test_tick_labels_and_values():
    assert figures.tick_labels([0, 0.5, 1.0]) == ["0.0", "0.5", "1.0"]
    assert figures.tick_labels([-0.0, 0.25, 0.5]) == ["0.00", "0.25", "0.50"]
    assert figures.tick_labels([-2, 0, 2]) == ["\u22122", "0", "2"]
    assert figures.tick_labels([0.0012, 0.0013]) == ["0.0012", "0.0013"]
    assert figures.tick_labels([0, 200000]) == ["0", "2e+05"]
    ticks = figures.colour_bar_ticks(0.0, 3.71)
    np.testing.assert_allclose(ticks, [0, 1, 2, 3])
    np.testing.assert_allclose(figures.colour_bar_ticks(0.3, 0.31, max_ticks=2), [0.3, 0.31])
    assert figures.colour_bar_ticks(1.0, 2.0).min() >= 1.0


def test_export_manifest_figure_boxes_match_the_png(tmp_path, outputs):
    result = _export(tmp_path / "png", outputs, layers=["max_pooling2d_2", "dense_2"], normalisation="layer")
    grid = next(e for e in result.manifest["files"] if e["type"] == "grid_png")
    image = read_png(result.folder / grid["path"])
    maps = outputs[3]
    low, high = float(maps.min()), float(maps.max())
    k = grid["value_size"]
    for cell in grid["cells"]:
        x, y, w, h = cell["box"]
        expected = tiling.upscale(colorize(maps[..., cell["channel"]], low, high), k)
        np.testing.assert_array_equal(image[y:y + h, x:x + w], expected)
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["options"]["figure_format"] == "png"
    strip = next(e for e in manifest["files"] if e["type"] == "strip_png")
    assert strip["values_per_row"] == 10 and len(strip["cells"]) == 10


def test_figures_are_reproducible(outputs):
    """The same values give the same bytes (no dates, fixed SVG ids): exports can be diffed and cached."""
    cells = [colorize(outputs[3][..., c], 0, 5) for c in range(12)]
    for fmt in figures.FIGURE_FORMATS:
        made = [figures.grid_figure(cells, 2, cell_labels=[str(c) for c in range(12)], title="max_pooling2d_2",
                                    colour_scale=figures.ColourScale(lookup_table("plasma"), 0, 5), fmt=fmt).data
                for _ in range(2)]
        assert made[0] == made[1], fmt
