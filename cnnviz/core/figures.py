"""Figures for people: a layer's maps as a grid, a strip of values, one map with axes (Qt-free).

matplotlib composes them with real type (DejaVu Sans), a title, numbers that never touch and a
colour bar with numeric ticks, as PNG (Agg), SVG (text kept as text) or PDF (TrueType fonts
embedded). It is imported only inside these functions, so importing this module stays cheap.

The caller colours the values (`cnnviz.core.colormaps`, the app's colours) and passes RGB arrays
with one pixel per value; a figure shows each value as a crisp square of `scale` pixels (more when
the cells would be too small to carry their numbers: `RenderedFigure.cell_scale` says how many).
The layout is worked out in pixels at 100 dpi and every image is drawn unresampled at whole-pixel
positions, so in a PNG the cell pixels are exactly the values' colours, and `cells` / `colorbar`
give their boxes (read back from matplotlib's transforms). Vector files have no pixel boxes.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from cnnviz.core.tiling import grid_shape, upscale

FIGURE_FORMATS = ("png", "svg", "pdf")
DEFAULT_FIGURE_FORMAT = "png"
DPI = 100                  # layout unit: one pixel of a PNG, 1/100 inch in SVG and PDF
BACKGROUND = (255, 255, 255)
TEXT = "#1a1a1a"
MUTED_TEXT = "#5a5a5a"
MIN_GRID_CELL = 24         # pixels: a grid cell is never smaller, so its number fits above it
MIN_CLASS_CELL = 32        # pixels: the cells of a short labelled strip (e.g. ten classes)
MIN_IMAGE_SIDE = 200       # pixels: a single map or a strip is never smaller along its longer side
DEFAULT_COLUMNS = 8

Box = tuple[int, int, int, int]   # x, y, width, height in pixels from the top-left corner


@dataclass(frozen=True)
class ColourScale:
    """What a colour bar shows: the lookup table spread from `low` to `high`, and what they are."""

    table: np.ndarray   # (256, 3) uint8, `colormaps.lookup_table`
    low: float
    high: float
    label: str = ""


@dataclass(frozen=True)
class Ticks:
    """Tick marks along one side of an image: positions in values (value i spans i to i + 1)."""

    positions: Sequence[float]
    labels: Sequence[str]
    title: str = ""


@dataclass
class RenderedFigure:
    """A figure's file bytes and, for PNG, where its cells and colour bar are."""

    data: bytes
    format: str
    width: int                     # pixels (PNG), or 1/100 inch (SVG, PDF)
    height: int
    cell_scale: int                # pixels per value in the figure's cells
    cells: list[Box] | None = None
    colorbar: Box | None = None
    texts: list[str] = field(default_factory=list)   # every text drawn, for tests and alt text
    text_boxes: list[tuple[str, Box]] | None = None  # PNG: every visible text and its box


def _styled(function):
    """Run `function` with cnnviz's matplotlib settings (text as text in SVG, TrueType in PDF)."""
    import functools

    @functools.wraps(function)
    def styled(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_RC):
            return function(*args, **kwargs)

    return styled


@_styled
def grid_figure(cells: Sequence[np.ndarray], scale: int, *, cell_labels: Sequence[str] | None = None,
                title: str | None = None, subtitle: str | None = None,
                colour_scale: ColourScale | None = None, columns: int | None = None,
                min_cell: int = MIN_GRID_CELL, fmt: str = DEFAULT_FIGURE_FORMAT) -> RenderedFigure:
    """Equally sized RGB `cells` (one pixel per value) in rows of `columns`, each under its label.

    Labels are centred above their cells and never touch: the cells grow (in whole multiples of
    `scale`) until the widest label fits over a cell and its gap.
    """
    _check_format(fmt)
    if not len(cells):
        raise ValueError("nothing to draw")
    cell_h, cell_w = cells[0].shape[:2]
    if any(c.shape[:2] != (cell_h, cell_w) for c in cells):
        raise ValueError("all cells must have the same size")
    if cell_labels is not None and len(cell_labels) != len(cells):
        raise ValueError(f"{len(cell_labels)} labels for {len(cells)} cells")
    rows, cols = grid_shape(len(cells), columns or DEFAULT_COLUMNS)
    page = _Page()
    k = _enlarged_scale(scale, min(cell_w, cell_h), min_cell)
    label_px = _clamp(round(0.18 * cell_w * k), 10, 16)
    while True:
        cw, ch = cell_w * k, cell_h * k
        gap = _clamp(round(0.08 * cw), 6, 16)
        widest = max((page.measure(t, label_px)[0] for t in cell_labels), default=0) if cell_labels else 0
        if widest + 3 <= cw + gap:
            break
        k += scale
    label_h = page.line_height(label_px) + 3 if cell_labels else 0
    grid_w = cols * cw + (cols - 1) * gap
    grid_h = rows * (label_h + ch) + (rows - 1) * gap
    head = _Header(page, title, subtitle, grid_w, min_px=round(1.25 * label_px) if cell_labels else 0)
    top = head.height
    mosaic = np.empty((grid_h, grid_w, 3), np.uint8)
    mosaic[:] = BACKGROUND
    data_boxes = []
    for i, cell in enumerate(cells):
        r, c = divmod(i, cols)
        x, y = c * (cw + gap), r * (label_h + ch + gap) + label_h
        mosaic[y:y + ch, x:x + cw] = upscale(_rgb(cell), k)
        data_boxes.append((x, y, cw, ch))
    bar = _ColourBarBlock(page, colour_scale, grid_w, head.title_px) if colour_scale else None
    width = max(head.width, page.pad + grid_w + page.pad, bar.width if bar else 0)
    height = top + grid_h + (bar.height if bar else 0) + page.pad
    page.resize(width, height)
    head.draw()
    image_ax = page.image_axes((page.pad, top, grid_w, grid_h), mosaic)
    if cell_labels:
        for (x, y, w, _), text in zip(data_boxes, cell_labels):
            page.text(page.pad + x + w / 2, top + y - 3, text, label_px, ha="center", va="baseline")
    colorbar_box = bar.draw(top + grid_h) if bar else None
    boxes = [page.box_of(image_ax, box) for box in data_boxes]
    return page.render(fmt, k, boxes, colorbar_box)


@_styled
def image_figure(image: np.ndarray, scale: int, *, x_ticks: Ticks | None = None, y_ticks: Ticks | None = None,
                 title: str | None = None, subtitle: str | None = None,
                 colour_scale: ColourScale | None = None, min_side: int = MIN_IMAGE_SIDE,
                 fmt: str = DEFAULT_FIGURE_FORMAT) -> RenderedFigure:
    """One RGB image (one pixel per value, e.g. a map or a strip of values) with ticked axes."""
    _check_format(fmt)
    image = _rgb(image)
    rows, cols = image.shape[:2]
    page = _Page()
    tick_px = 11
    tick_len, tick_pad = 4, 3
    k = _enlarged_scale(scale, max(rows, cols), min_side)
    # Grow the values until neighbouring tick labels stand apart (a row per label needs a line).
    need = max(_tick_room(page, x_ticks, tick_px, lambda w, h: w + 6),
               _tick_room(page, y_ticks, tick_px, lambda w, h: h + 2))
    k = max(k, scale * math.ceil(need / scale))
    img_w, img_h = cols * k, rows * k
    y_labels_w = max((page.measure(t, tick_px)[0] for t in y_ticks.labels), default=0) if y_ticks else 0
    # The y axis's title stands above its tick labels (a rotated one would not fit a strip's height).
    y_title_w = page.measure(y_ticks.title, tick_px)[0] if y_ticks and y_ticks.title else 0
    y_title_h = page.line_height(tick_px) + 4 if y_title_w else 0
    y_axis_w = max(y_labels_w, y_title_w) + tick_len + tick_pad if y_ticks else 0
    left = math.ceil(page.pad + y_axis_w)  # whole pixels, so the image is not resampled
    x_ticks_h = page.line_height(tick_px) + tick_len + tick_pad if x_ticks else 0
    x_title_h = page.line_height(tick_px) + 4 if x_ticks and x_ticks.title else 0
    head = _Header(page, title, subtitle, img_w)
    top = head.height + y_title_h
    bottom = top + img_h + x_ticks_h + x_title_h
    bar = _ColourBarBlock(page, colour_scale, max(img_w, 240), head.title_px, left=left) if colour_scale else None
    width = max(head.width, left + img_w + page.pad, bar.width if bar else 0)
    height = bottom + (bar.height if bar else 0) + page.pad
    page.resize(width, height)
    head.draw()
    ax = page.image_axes((left, top, img_w, img_h), upscale(image, k))
    ax.set_axis_on()
    for spine in ax.spines.values():
        spine.set_visible(False)  # a frame would cover the edge pixels; ticks point outwards instead
    params = dict(length=tick_len * 0.72, pad=tick_pad * 0.72, labelsize=tick_px * 0.72, width=0.6,
                  direction="out", colors=TEXT)
    ax.set_xticks([p * k for p in x_ticks.positions] if x_ticks else [],
                  list(x_ticks.labels) if x_ticks else [])
    ax.set_yticks([p * k for p in y_ticks.positions] if y_ticks else [],
                  list(y_ticks.labels) if y_ticks else [])
    ax.tick_params(axis="both", **params)
    page.texts.extend([*(x_ticks.labels if x_ticks else ()), *(y_ticks.labels if y_ticks else ())])
    if x_title_h:
        page.text(left + img_w / 2, top + img_h + x_ticks_h + 4, x_ticks.title, tick_px, ha="center", va="top")
    if y_title_h:
        page.text(left - tick_len - tick_pad, top - 4, y_ticks.title, tick_px, ha="right", va="baseline")
    colorbar_box = bar.draw(bottom) if bar else None
    return page.render(fmt, k, [page.box_of(ax, (0, 0, img_w, img_h))], colorbar_box)


def _tick_room(page: "_Page", ticks: Ticks | None, px: float, room) -> float:
    """Pixels per value that `ticks` need so no two labels touch (`room(width, height)` per label)."""
    if ticks is None or len(ticks.positions) < 2:
        return 0.0
    spacing = float(np.diff(np.sort(np.asarray(ticks.positions, dtype=np.float64))).min())
    widest = max(room(*page.measure(label, px)) for label in ticks.labels)
    return widest / spacing if spacing > 0 else 0.0


def tick_labels(values: Sequence[float]) -> list[str]:
    """Labels for tick values, all with the decimals the most precise one needs ('0.0', '0.5', '1.0')."""
    values = [float(v) for v in values]
    biggest = max((abs(v) for v in values), default=0.0)
    if biggest and (biggest >= 1e5 or biggest < 1e-3):
        return [_minus(f"{v:.3g}") for v in values]
    for decimals in range(0, 7):
        texts = [f"{v:.{decimals}f}" for v in values]
        if all(abs(float(t) - v) <= 1e-9 * max(1.0, abs(v)) for t, v in zip(texts, values)):
            break
    return [_minus(t.replace("-0", "0") if float(t) == 0 else t) for t in texts]


def colour_bar_ticks(low: float, high: float, max_ticks: int = 6) -> np.ndarray:
    """Round tick values inside [low, high] (both ends when no round value falls inside)."""
    from matplotlib.ticker import MaxNLocator

    locator = MaxNLocator(nbins=max(1, max_ticks - 1), steps=[1, 2, 2.5, 5, 10])
    ticks = locator.tick_values(low, high)
    span = high - low
    ticks = ticks[(ticks >= low - 1e-9 * span) & (ticks <= high + 1e-9 * span)]
    return ticks if len(ticks) >= 2 else np.array([low, high])


# --- the page: a matplotlib figure laid out in pixels ----------------------------------------------

def _check_format(fmt: str) -> None:
    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}; choose one of {', '.join(FIGURE_FORMATS)}")


def _clamp(value: float, low: float, high: float) -> int:
    return int(min(max(value, low), high))


def _enlarged_scale(scale: int, side: int, minimum: int) -> int:
    """The smallest multiple of `scale` that makes `side` values at least `minimum` pixels."""
    return scale * max(1, math.ceil(minimum / max(side * scale, 1)))


def _rgb(cell: np.ndarray) -> np.ndarray:
    cell = np.asarray(cell, dtype=np.uint8)
    return np.repeat(cell[..., None], 3, axis=-1) if cell.ndim == 2 else cell[..., :3]


def _minus(text: str) -> str:
    return text.replace("-", "\u2212")  # a real minus sign, as matplotlib writes its own ticks


_RC = {"svg.fonttype": "none", "svg.hashsalt": "cnnviz", "pdf.fonttype": 42, "font.family": "DejaVu Sans",
       "text.parse_math": False, "axes.unicode_minus": True}


class _Page:
    """A matplotlib Figure whose layout is given in pixels from the top-left corner."""

    def __init__(self):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(4, 3), dpi=DPI, facecolor="white")
        self.canvas = FigureCanvasAgg(self.figure)
        self._renderer = self.canvas.get_renderer()
        self.pad = 12
        self.width = self.height = 0
        self.texts: list[str] = []

    def _font(self, px: float, weight: str = "normal"):
        from matplotlib.font_manager import FontProperties

        return FontProperties(family="DejaVu Sans", size=px * 72 / DPI, weight=weight)

    def measure(self, text: str, px: float, weight: str = "normal") -> tuple[float, float]:
        """(width, height) in pixels of `text` at a font size of `px` pixels."""
        width, height, _ = self._renderer.get_text_width_height_descent(text, self._font(px, weight), ismath=False)
        return width, height

    def line_height(self, px: float) -> int:
        return math.ceil(self.measure("0123456789g", px)[1])

    def resize(self, width: float, height: float) -> None:
        # Agg truncates the figure's size in pixels: a hair over the whole number keeps it exact.
        self.width, self.height = int(math.ceil(width)), int(math.ceil(height))
        self._fig_w, self._fig_h = self.width + 1e-3, self.height + 1e-3
        self.figure.set_size_inches(self._fig_w / DPI, self._fig_h / DPI)

    def _fraction(self, x: float, y: float) -> tuple[float, float]:
        return x / self._fig_w, 1.0 - y / self._fig_h

    def text(self, x: float, y: float, text: str, px: float, *, colour: str = TEXT, weight: str = "normal",
             **kwargs) -> None:
        fx, fy = self._fraction(x, y)
        self.figure.text(fx, fy, text, fontproperties=self._font(px, weight), color=colour, **kwargs)
        self.texts.append(text)

    def axes(self, box: tuple[float, float, float, float]):
        x, y, w, h = box
        left, top = self._fraction(x, y)
        return self.figure.add_axes((left, top - h / self._fig_h, w / self._fig_w, h / self._fig_h))

    def image_axes(self, box: Box, pixels: np.ndarray):
        """Axes covering `box` that show `pixels` one to one (data units are the image's pixels)."""
        ax = self.axes(box)
        h, w = pixels.shape[:2]
        ax.imshow(pixels, interpolation="none", aspect="auto", extent=(0, w, h, 0), resample=False, zorder=1)
        ax.set_axisbelow(True)  # outward ticks must not smudge the edge pixels: the image is drawn last
        ax.set_gid("values")
        ax.set_xlim(0, w)
        ax.set_ylim(h, 0)
        ax.set_axis_off()
        return ax

    def box_of(self, ax, data_box: Box) -> Box:
        """Where the data-space rectangle `data_box` of `ax` is drawn, in pixels from the top left."""
        x, y, w, h = data_box
        (x0, y0), (x1, y1) = ax.transData.transform([(x, y), (x + w, y + h)])
        left, right = sorted((x0, x1))
        low, high = sorted((y0, y1))
        top = self._fig_h - high
        return (int(round(left)), int(round(top)), int(round(right - left)), int(round(high - low)))

    def axes_box(self, ax) -> Box:
        """Where a whole axes is drawn, in pixels from the top left (from its window extent)."""
        extent = ax.get_window_extent()
        top = self._fig_h - extent.y1
        return (int(round(extent.x0)), int(round(top)), int(round(extent.width)), int(round(extent.height)))

    def render(self, fmt: str, cell_scale: int, cells: list[Box], colorbar: Box | None) -> RenderedFigure:
        import matplotlib

        from cnnviz import __version__

        buffer = io.BytesIO()
        text_boxes = None
        creator = f"cnnviz {__version__} with matplotlib {matplotlib.__version__}"
        if fmt == "png":
            from PIL import Image, PngImagePlugin

            self.canvas.draw()
            text_boxes = self._text_boxes()
            rgba = np.asarray(self.canvas.buffer_rgba())
            info = PngImagePlugin.PngInfo()
            info.add_text("Software", creator)
            Image.fromarray(np.ascontiguousarray(rgba[..., :3])).save(buffer, "PNG", pnginfo=info)
        else:
            metadata = {"Date": None, "Creator": creator} if fmt == "svg" else {"CreationDate": None,
                                                                                 "Creator": creator}
            self.figure.savefig(buffer, format=fmt, dpi=DPI, facecolor="white", metadata=metadata)
        pixel_boxes = fmt == "png"
        return RenderedFigure(data=buffer.getvalue(), format=fmt, width=self.width, height=self.height,
                              cell_scale=cell_scale, cells=cells if pixel_boxes else None,
                              colorbar=colorbar if pixel_boxes else None, texts=list(self.texts),
                              text_boxes=text_boxes)

    def _text_boxes(self) -> list[tuple[str, Box]]:
        """Every visible, non-empty text of the drawn figure with its box in pixels from the top left."""
        renderer = self.canvas.get_renderer()
        texts = list(self.figure.texts)
        for ax in self.figure.axes:
            if ax.axison:
                for axis in (ax.xaxis, ax.yaxis):
                    if axis.get_visible():
                        ticks = [tick for tick in axis.get_major_ticks() if tick.get_visible()]
                        texts += [tick.label1 for tick in ticks if tick.label1.get_visible()]
        boxes = []
        for text in texts:
            if text.get_visible() and text.get_text():
                extent = text.get_window_extent(renderer)
                box = (math.floor(extent.x0), math.floor(self._fig_h - extent.y1),
                       math.ceil(extent.width), math.ceil(extent.height))
                boxes.append((text.get_text(), box))
        return boxes


class _Header:
    """The title (bold) and subtitle (muted) lines at the top of a figure."""

    def __init__(self, page: _Page, title: str | None, subtitle: str | None, content_width: int, min_px: int = 0):
        self.page, self.title, self.subtitle = page, title, subtitle
        self.title_px = _clamp(max(content_width / 55, min_px), 14, 26)
        self.subtitle_px = max(11, round(self.title_px * 0.7))
        widths, y = [0.0], page.pad
        self._lines = []
        for text, px, weight, colour in ((title, self.title_px, "bold", TEXT),
                                         (subtitle, self.subtitle_px, "normal", MUTED_TEXT)):
            if text:
                self._lines.append((y, text, px, weight, colour))
                widths.append(page.measure(text, px, weight)[0])
                y += page.line_height(px) + round(0.35 * px)
        self.height = y + (round(0.4 * self.title_px) if self._lines else 0)
        self.width = page.pad + max(widths) + page.pad

    def draw(self) -> None:
        for y, text, px, weight, colour in self._lines:
            self.page.text(self.page.pad, y, text, px, weight=weight, colour=colour, ha="left", va="top")


class _ColourBarBlock:
    """A horizontal colour bar under the figure's content, with numeric ticks and a caption."""

    def __init__(self, page: _Page, scale: ColourScale, content_width: int, title_px: int, left: int | None = None):
        self.page, self.scale = page, scale
        self.left = page.pad if left is None else left
        self.tick_px = _clamp(round(title_px * 0.65), 11, 16)
        self.bar_w = content_width if content_width <= 480 else max(480, content_width // 2)
        self.bar_h = _clamp(round(self.tick_px * 1.3), 12, 20)
        low, high = float(scale.low), float(scale.high)
        ticks = colour_bar_ticks(low, high)
        labels = tick_labels(ticks)
        # Fewer ticks until their labels stand apart (at least a label's width between centres).
        while len(ticks) > 2:
            widest = max(page.measure(t, self.tick_px)[0] for t in labels)
            spacing = self.bar_w * (ticks[1] - ticks[0]) / (high - low)
            if spacing >= 1.6 * widest + 8:
                break
            ticks = colour_bar_ticks(low, high, max_ticks=len(ticks) - 1)
            labels = tick_labels(ticks)
        self.ticks, self.labels = ticks, labels
        self.gap = round(0.9 * title_px)
        line = page.line_height(self.tick_px)
        self.height = self.gap + self.bar_h + 4 + 3 + line + (line + 6 if scale.label else 0)
        overhang = page.measure(labels[-1], self.tick_px)[0] / 2
        caption_w = page.measure(scale.label, self.tick_px)[0] if scale.label else 0
        self.width = self.left + max(self.bar_w + overhang, caption_w) + page.pad

    def draw(self, top: float) -> Box:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colorbar import Colorbar
        from matplotlib.colors import ListedColormap, Normalize

        y = top + self.gap
        cax = self.page.axes((self.left, y, self.bar_w, self.bar_h))
        cax.set_gid("colorbar")  # the group's id in an SVG
        mappable = ScalarMappable(Normalize(self.scale.low, self.scale.high),
                                  ListedColormap(np.asarray(self.scale.table, np.float64) / 255.0))
        bar = Colorbar(cax, mappable=mappable, orientation="horizontal")
        bar.set_ticks(list(self.ticks), labels=self.labels)
        bar.outline.set_linewidth(0.6)
        cax.tick_params(axis="x", length=4 * 0.72, pad=3 * 0.72, labelsize=self.tick_px * 0.72, width=0.6,
                        colors=TEXT)
        self.page.texts.extend(self.labels)
        if self.scale.label:
            line = self.page.line_height(self.tick_px)
            self.page.text(self.left, y + self.bar_h + 4 + 3 + line + 6, self.scale.label, self.tick_px,
                           colour=MUTED_TEXT, ha="left", va="top")
        return self.page.axes_box(cax)
