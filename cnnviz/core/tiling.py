"""Stitch feature maps into one grid image with margins, labels and a colour bar (Qt-free).

As in keras-io's visualizing_what_convnets_learn, the maps of a layer are pasted into one array
with a margin between cells. Text is drawn with a tiny built-in 5×7 bitmap font (upper-case
letters, digits and a few signs; lower-case letters print as capitals), so grid images need no
Qt and no font files: the command line and the app produce identical PNGs.

Everything here works on uint8 RGB arrays; colouring values is `cnnviz.core.colormaps`' job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

BACKGROUND = (255, 255, 255)
FOREGROUND = (25, 25, 25)
DEFAULT_COLUMNS = 8

# 5×7 glyphs, seven rows of five pixels each ("#" = ink).
_GLYPHS = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
    "A": (".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "B": ("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
    "D": ("###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "F": ("#####", "#....", "#....", "####.", "#....", "#....", "#...."),
    "G": (".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"),
    "H": ("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "I": (".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "J": ("..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."),
    "K": ("#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"),
    "L": ("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
    "M": ("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
    "N": ("#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"),
    "O": (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "P": ("####.", "#...#", "#...#", "####.", "#....", "#....", "#...."),
    "Q": (".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "S": (".####", "#....", "#....", ".###.", "....#", "....#", "####."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "U": ("#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "V": ("#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "W": ("#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."),
    "X": ("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
    "Y": ("#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."),
    "Z": ("#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"),
    " ": (".....", ".....", ".....", ".....", ".....", ".....", "....."),
    ".": (".....", ".....", ".....", ".....", ".....", ".##..", ".##.."),
    "-": (".....", ".....", ".....", ".###.", ".....", ".....", "....."),
    "_": (".....", ".....", ".....", ".....", ".....", ".....", "#####"),
    ":": (".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."),
    "=": (".....", ".....", "#####", ".....", "#####", ".....", "....."),
    "(": ("...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."),
    ")": (".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."),
    "/": (".....", "....#", "...#.", "..#..", ".#...", "#....", "....."),
    "%": ("##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"),
    "+": (".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."),
    ",": (".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."),
    "×": (".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#"),
    "?": (".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."),
}
_GLYPH_W, _GLYPH_H = 5, 7
_FONT = {ch: np.array([[c == "#" for c in row] for row in rows], dtype=bool)
         for ch, rows in _GLYPHS.items()}


def text_mask(text: str, scale: int = 1) -> np.ndarray:
    """Boolean ink mask of `text` in the built-in font, each font pixel `scale`×`scale` wide."""
    glyphs = [_FONT.get(ch.upper(), _FONT["?"]) for ch in text] or [_FONT[" "]]
    gap = np.zeros((_GLYPH_H, 1), dtype=bool)
    pieces = []
    for i, glyph in enumerate(glyphs):
        if i:
            pieces.append(gap)
        pieces.append(glyph)
    mask = np.concatenate(pieces, axis=1)
    return upscale(mask, scale)


def text_size(text: str, scale: int = 1) -> tuple[int, int]:
    """(width, height) in pixels of `text` as `text_mask` draws it."""
    n = max(len(text), 1)
    return (n * (_GLYPH_W + 1) - 1) * scale, _GLYPH_H * scale


def draw_text(image: np.ndarray, text: str, x: int, y: int, scale: int = 1,
              color: tuple[int, int, int] = FOREGROUND) -> None:
    """Paint `text` into the RGB `image` with its top-left corner at (x, y), clipped to the image."""
    mask = text_mask(text, scale)
    h = min(mask.shape[0], image.shape[0] - y)
    w = min(mask.shape[1], image.shape[1] - x)
    if h > 0 and w > 0:
        image[y:y + h, x:x + w][mask[:h, :w]] = color


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement: each pixel becomes a crisp `scale`×`scale` square."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, not {scale}")
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def grid_shape(num_cells: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) for `num_cells` cells, `columns` (default 8) to a row."""
    columns = min(num_cells, columns or DEFAULT_COLUMNS)
    return math.ceil(num_cells / columns), columns


def text_scale_for(scale: int) -> int:
    """A font size that stays readable and fits a cell at map scale `scale` (1 to 3)."""
    return max(1, min(3, scale // 4))


def margin_for(scale: int) -> int:
    """The gap between cells at map scale `scale`."""
    return max(4, scale // 2 + 2)


@dataclass
class ColorBar:
    """A vertical colour bar: the colormap's table from `low_text` (bottom) to `high_text` (top)."""

    table: np.ndarray  # (256, 3) uint8, see colormaps.lookup_table
    high_text: str
    low_text: str
    width: int = 16


@dataclass
class Figure:
    """A composed image and where its parts are: boxes are (x, y, width, height) in pixels."""

    image: np.ndarray
    cells: list[tuple[int, int, int, int]] = field(default_factory=list)
    colorbar: tuple[int, int, int, int] | None = None


def compose(cells: list[np.ndarray], *, columns: int | None = None, margin: int = 4,
            cell_labels: list[str] | None = None, title: str | None = None,
            colorbar: ColorBar | None = None, text_scale: int = 1,
            background: tuple[int, int, int] = BACKGROUND,
            foreground: tuple[int, int, int] = FOREGROUND) -> Figure:
    """Paste equally sized RGB `cells` into a grid with margins; optional labels, title and colour bar.

    Layout, top to bottom: title (if any), then rows of cells, each cell with its label above it
    (if labels are given); the colour bar stands right of the grid with its values beside it.
    Cell pixels are copied unchanged, so they can be read back exactly from the returned boxes.
    """
    if not cells:
        raise ValueError("nothing to tile")
    cell_h, cell_w = cells[0].shape[:2]
    if any(c.shape[:2] != (cell_h, cell_w) for c in cells):
        raise ValueError("all cells must have the same size")
    rows, cols = grid_shape(len(cells), columns)
    line_h = _GLYPH_H * text_scale
    label_h = line_h + 2 * text_scale if cell_labels else 0
    title_h = line_h + 2 * margin if title else 0
    pitch_x, pitch_y = cell_w + margin, label_h + cell_h + margin
    grid_w = margin + cols * pitch_x
    grid_h = margin + rows * pitch_y

    bar_box, bar_text_w = None, 0
    if colorbar is not None:
        bar_text_w = max(text_size(colorbar.high_text, text_scale)[0], text_size(colorbar.low_text, text_scale)[0])
        bar_h = max(grid_h - 2 * margin - label_h, 64)
        bar_box = (grid_w + margin, title_h + margin + label_h, colorbar.width, bar_h)
        grid_h = max(grid_h, bar_box[1] - title_h + bar_h + margin)
    width = grid_w + (2 * margin + colorbar.width + 2 * text_scale + bar_text_w if colorbar else 0)
    if title:
        width = max(width, text_size(title, text_scale)[0] + 2 * margin)
    height = title_h + grid_h

    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = background
    if title:
        draw_text(image, title, margin, margin, text_scale, foreground)
    boxes = []
    for i, cell in enumerate(cells):
        r, c = divmod(i, cols)
        x = margin + c * pitch_x
        y = title_h + margin + r * pitch_y + label_h
        image[y:y + cell_h, x:x + cell_w] = cell[..., :3] if cell.ndim == 3 else cell[..., None]
        boxes.append((x, y, cell_w, cell_h))
        if cell_labels:
            draw_text(image, cell_labels[i], x, y - label_h + text_scale, text_scale, foreground)
    if colorbar is not None:
        bx, by, bw, bh = bar_box
        # Row 0 is the top: the highest value.
        index = np.round(np.linspace(255, 0, bh)).astype(np.intp)
        image[by:by + bh, bx:bx + bw] = colorbar.table[index][:, None, :]
        tx = bx + bw + 2 * text_scale
        draw_text(image, colorbar.high_text, tx, by, text_scale, foreground)
        draw_text(image, colorbar.low_text, tx, by + bh - line_h, text_scale, foreground)
    return Figure(image=image, cells=boxes, colorbar=bar_box)
