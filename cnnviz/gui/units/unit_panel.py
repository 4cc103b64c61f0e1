"""The unit panel: how the number under the cursor was made, with the model's own weights.

For the focused unit (`UnitFocus`): a conv unit's input window, the filter's weights and bias,
Σ window × weights + bias = the pre-activation, then ReLU = the value the map shows. On the first
layer all nine products (window × weight = product) as a 3×3 table; deeper, the input channels
that contribute most (signed, sorted, the rest summed), each a link that opens that channel's 3×3
window, 3×3 weights and products. A pooling unit: its 2×2 window with the winner marked (average
pooling: the mean). A dense unit: its largest signed contributions (input × weight) and the bias.
Numbers to 4 decimals; red for positive, blue for negative; one line says how to read it.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtWidgets import QFrame, QTextBrowser, QVBoxLayout, QWidget

from cnnviz.core.unit_explanation import TOP_CONTRIBUTIONS
from cnnviz.gui.widgets.front_tab import FrontTab

MINUS = "\u2212"
EMPTY_TEXT = ("Hover a unit in the maps (the grid, the enlarged channel or a dense layer's values) to see "
              "how its value is made; click it to pin it, Esc to let go.")
# Colours for sign, readable on a light and on a dark window (matching the Kernels view's red and blue).
SIGN_COLOURS = {"light": ("#b2182b", "#2166ac"), "dark": ("#ff8a80", "#82b1ff")}
MUTED = "#808088"
MARK_COLOUR = "#ffaa28"   # the winner of a max pool (the app's accent)


def number(value: float, signed: bool = False) -> str:
    """4 decimals with a real minus sign; `signed` puts + before positive numbers. What rounds to 0
    is "0.0000" (no "−0.0000" for 0 × a negative weight)."""
    if value is None or not np.isfinite(value):
        return "–"
    if round(float(value), 4) == 0:
        return "0.0000"
    text = f"{value:+.4f}" if signed else f"{value:.4f}"
    return text.replace("-", MINUS)


class _Html:
    """Builds the panel's rich text with the colours of the current theme."""

    def __init__(self, dark: bool):
        self.positive, self.negative = SIGN_COLOURS["dark" if dark else "light"]

    def signed(self, value: float, bold: bool = False, signed: bool = True) -> str:
        rounded = round(float(value), 4)
        colour = self.positive if rounded > 0 else self.negative if rounded < 0 else MUTED
        text = number(value, signed)
        return f'<span style="color:{colour}">{"<b>" + text + "</b>" if bold else text}</span>'

    @staticmethod
    def muted(text: str) -> str:
        return f'<span style="color:{MUTED}">{text}</span>'

    def products_table(self, window: np.ndarray, weights: np.ndarray, inside: np.ndarray | None = None) -> str:
        """A kh×kw table of "window × weight = product" cells (padding cells say so)."""
        rows = []
        for i in range(window.shape[0]):
            cells = []
            for j in range(window.shape[1]):
                if inside is not None and not inside[i, j]:
                    cells.append(f'<td align="center">{self.muted("padding<br>0")}</td>')
                    continue
                value, weight = float(window[i, j]), float(weights[i, j])
                cells.append(f'<td align="center">{number(value)}<br>× {self.signed(weight)}<br>'
                             f'= {self.signed(value * weight, bold=True)}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        return '<table cellspacing="0" cellpadding="3" border="1" style="border-color:#888">' + "".join(rows) + \
            "</table>"

    def sums(self, lines: list[tuple[str, str]]) -> str:
        """Right-aligned arithmetic lines: (label, number html)."""
        rows = "".join(f'<tr><td>{label}</td><td width="12"></td><td align="right">{value}</td></tr>'
                       for label, value in lines)
        return f'<table cellspacing="0" cellpadding="1">{rows}</table>'


def render_unit(focus, detail_channel: int | None, dark: bool = False) -> str:
    """The panel's rich text for `focus` (a UnitFocus); `detail_channel`: the input channel opened."""
    unit = focus.unit()
    if unit is None:
        return f"<p>{html.escape(EMPTY_TEXT)}</p>"
    out = _Html(dark)
    explanation = focus.explanation()
    parts = [_header(focus, out)]
    if explanation is None:
        parts.append(_without_explanation(focus, out))
    elif explanation.kind == "conv":
        parts.append(_conv(focus, explanation, detail_channel, out))
    elif explanation.kind == "pool":
        parts.append(_pool(focus, explanation, out))
    else:
        parts.append(_dense(focus, explanation, out))
    return "".join(parts)


def _header(focus, out: _Html) -> str:
    unit = focus.unit()
    name = html.escape(focus.layer_name(unit.layer))
    where = f"unit <b>{unit.channel}</b>" if unit.y is None else \
        f"channel <b>{unit.channel}</b> · y <b>{unit.y}</b>, x <b>{unit.x}</b>"
    state = "pinned: Esc (or a click on it) lets go" if focus.is_pinned() else "under the cursor: click to pin"
    value = focus.shown_value()
    shown = "" if value is None else f" &nbsp; value <b>{number(value)}</b>"
    lines = [f"<p style='margin-bottom:2px'><b>{name}</b> · {where}{shown}<br>{out.muted(state)}</p>"]
    box, full = focus.receptive_field(), focus.full_field_size()
    if box is not None and focus.spatial_unit() is not None:
        field = (f"sees input rows {box.top}–{box.bottom - 1}, columns {box.left}–{box.right - 1} "
                 f"(<b>{box.height}×{box.width}</b> pixels, outlined on the input and your drawing)")
        if box.clipped and full is not None:
            field += (f"; <b>clipped</b>: its full {full[0]}×{full[1]} field reaches past the input's edge, "
                      "where there is nothing to see")
        lines.append(f"<p style='margin-top:2px'>{field}</p>")
    elif unit.y is None:
        lines.append("<p style='margin-top:2px'>A dense unit sees the whole input.</p>")
    return "".join(lines)


def _without_explanation(focus, out: _Html) -> str:
    note = focus.note()
    spatial = focus.spatial_unit()
    if note == "flatten" and spatial is not None:
        name = html.escape(focus.layer_name(spatial.layer))
        return (f"<p>This value is <b>{name}</b> channel {spatial.channel} at y {spatial.y}, x {spatial.x}. "
                f"Flatten computes nothing: it lays the maps out in one row (y, then x, then channel), so the "
                f"dense layer after it can weigh every value.</p>")
    return f"<p>{html.escape(note)}</p>" if note else ""


def _how_to_read(text: str, out: _Html) -> str:
    return f"<p>{out.muted('How to read this: ' + text)}</p>"


def _conv(focus, unit, detail_channel: int | None, out: _Html) -> str:
    source = html.escape(unit.source)
    kh, kw, channels = unit.window.shape
    rows = f"{unit.origin[0]}–{unit.origin[0] + unit.step[0] * (kh - 1)}"
    cols = f"{unit.origin[1]}–{unit.origin[1] + unit.step[1] * (kw - 1)}"
    if channels == 1:
        return "".join([
            _how_to_read("each pixel × its weight (red +, blue −); the sum + bias, then ReLU (negative → 0).", out),
            f"<p>{kh}×{kw} window of <b>{source}</b> at rows {rows}, columns {cols}: input × weight = product</p>",
            out.products_table(unit.window[:, :, 0], unit.kernel[:, :, 0], unit.inside),
            "<br>" + out.sums(_sum_lines("Σ products", unit, out)) + _agreement(focus, unit.value, out)])
    shown, rest, num_rest = unit.top_contributions(TOP_CONTRIBUTIONS)
    contributions = unit.channel_contributions
    if detail_channel is None or not 0 <= detail_channel < channels:
        detail_channel = shown[0].index
    lines = []
    for item in shown:
        link = f'<a href="channel:{item.index}">input channel {item.index}</a>'
        lines.append((f"<b>▸ {link}</b>" if item.index == detail_channel else link, out.signed(item.value)))
    if num_rest:
        lines.append((out.muted(f"the other {num_rest} channels"), out.signed(rest)))
    lines += _sum_lines(f"Σ over all {channels} channels", unit, out)
    return "".join([
        _how_to_read("each input channel adds window × weights; click one for its numbers.", out),
        f"<p>{kh}×{kw}×{channels} window of <b>{source}</b> at rows {rows}, columns {cols}:</p>",
        out.sums(lines) + _agreement(focus, unit.value, out),
        (f"<p><a name=\"detail\"></a>Input channel <b>{detail_channel}</b>: window × weights = products, "
         f"sum {out.signed(float(contributions[detail_channel]), bold=True)}</p>"),
        out.products_table(unit.window[:, :, detail_channel], unit.kernel[:, :, detail_channel], unit.inside)])


def _sum_lines(total_label: str, unit, out: _Html) -> list[tuple[str, str]]:
    """Σ, + bias, = pre-activation, activation → value."""
    return [(total_label, out.signed(unit.pre_activation - unit.bias)), ("+ bias", out.signed(unit.bias)),
            ("= pre-activation", out.signed(unit.pre_activation, bold=True)),
            (f"{_activation_text(unit.activation)} → value", f"<b>{number(unit.value)}</b>")]


def _pool(focus, unit, out: _Html) -> str:
    source = html.escape(unit.source)
    ph, pw = unit.window.shape
    if unit.mode == "max":
        how = "max pooling keeps the largest value of the window (marked)."
    else:
        how = "average pooling takes the mean of the window."
    cells = []
    for i in range(ph):
        row = []
        for j in range(pw):
            value = float(unit.window[i, j])
            if not np.isfinite(value):
                row.append(f'<td align="center">{out.muted("padding")}</td>')
            elif unit.argmax is not None and (i, j) == tuple(unit.argmax):
                row.append(f'<td align="center" style="background-color:{MARK_COLOUR}; color:#000">'
                           f'<b>{number(value)}</b><br>max</td>')
            else:
                row.append(f'<td align="center">{number(value)}</td>')
        cells.append("<tr>" + "".join(row) + "</tr>")
    rows = f"{unit.origin[0]}–{unit.origin[0] + ph - 1}"
    cols = f"{unit.origin[1]}–{unit.origin[1] + pw - 1}"
    table = '<table cellspacing="0" cellpadding="5" border="1" style="border-color:#888">' + "".join(cells) + \
        "</table>"
    result = "max" if unit.mode == "max" else "mean"
    return (_how_to_read(how, out)
            + f"<p>{ph}×{pw} window of <b>{source}</b> channel {unit.channel} at rows {rows}, columns {cols}:</p>"
            + table + f"<p>{result} → value <b>{number(unit.value)}</b>{_agreement(focus, unit.value, out)}</p>")


def _dense(focus, unit, out: _Html) -> str:
    source = html.escape(unit.source)
    shown, rest, num_rest = unit.top_contributions(TOP_CONTRIBUTIONS)
    parts = [_how_to_read(f"each of the {unit.inputs.size} values of {source} × its weight, summed, + bias; "
                          "largest products first.", out)]
    map_layer = _flattened_layer(focus)
    first = "" if map_layer is None else out.muted(f"#  ({html.escape(map_layer.name)} y x ch)")
    rows = [(f'<tr><td>{first}</td><td align="right">input</td><td align="right">× weight</td>'
             '<td align="right">= product</td></tr>')]
    for item in shown:
        rows.append(f'<tr><td>{_input_name(focus, item.index, out)}</td>'
                    f'<td align="right">{number(float(unit.inputs[item.index]))}</td>'
                    f'<td align="right">{out.signed(float(unit.weights[item.index]))}</td>'
                    f'<td align="right">{out.signed(item.value, bold=True)}</td></tr>')
    if num_rest:
        rows.append(f'<tr><td colspan="3">{out.muted(f"the other {num_rest} inputs")}</td>'
                    f'<td align="right">{out.signed(rest)}</td></tr>')
    parts.append('<table cellspacing="0" cellpadding="2">' + "".join(rows) + "</table>")
    parts.append("<br>" + out.sums(_sum_lines(f"Σ of all {unit.inputs.size} products", unit, out))
                 + _agreement(focus, unit.value, out))
    return "".join(parts)


def _flattened_layer(focus):
    """The LayerSpec of the maps a dense unit's inputs are (a Flatten just before it), else None."""
    specs = focus.specs()
    layer = focus.unit().layer
    if layer > 1 and specs[layer - 1].kind == "Flatten" and specs[layer - 2].is_spatial:
        return specs[layer - 2]
    return None


def _input_name(focus, index: int, out: _Html) -> str:
    """A dense input's name: its index, and which map unit it is (y, x, channel; the header row names
    the layer) when the layer before is a Flatten. Short, to stay on one line."""
    maps = _flattened_layer(focus)
    if maps is not None:
        y, x, c = np.unravel_index(index, maps.output_shape)
        return f"#{index} " + out.muted(f"({y} {x} {c})")
    return f"#{index}"


def _activation_text(name: str) -> str:
    return {"relu": "ReLU", "linear": "no activation", "softmax": "softmax over all units"}.get(name, name)


def _agreement(focus, value: float, out: _Html) -> str:
    """Whether the arithmetic gives the value the maps show (it does, to float32 precision)."""
    shown = focus.shown_value()
    if shown is None:
        return ""
    if abs(shown - value) <= 1e-4 + 1e-4 * abs(shown):
        return out.muted(f"<br>= {number(shown)}, the value the maps show ✓")
    return out.muted(f"<br>the maps show {number(shown)}: the weights are changing (training), "
                     "the next update catches up")


class UnitPanel(QWidget):
    """The dockable panel explaining the focused unit (`UnitFocus`).

    A read-only QTextBrowser: replacing its text repaints the text alone (a QLabel would ask the
    whole dock, and so the window, to lay out again on every mouse move)."""

    repainted = Signal()   # the text was replaced (benchmarks and tests wait for it)

    def __init__(self, focus, parent: QWidget | None = None):
        super().__init__(parent)
        self._focus = focus
        self._detail_channel: int | None = None
        self._detail_for = None
        self._html = ""
        self._text = QTextBrowser()
        self._text.setOpenLinks(False)
        self._text.setFrameShape(QFrame.Shape.NoFrame)
        self._text.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._text.viewport().setAutoFillBackground(False)   # the dock's colour, not a text field's
        self._text.document().setDocumentMargin(6)
        self._text.anchorClicked.connect(self._on_link)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._text)
        self.setMinimumWidth(260)
        self._stale = False
        self.front = FrontTab(self)   # behind another tab: no rebuild per hover
        self.front.changed.connect(self._on_seen_changed)
        self._render_soon = QTimer(self)   # one rebuild per pass of the event loop, however many changes
        self._render_soon.setSingleShot(True)
        self._render_soon.setInterval(0)
        self._render_soon.timeout.connect(self._render)
        focus.changed.connect(self._on_focus_changed)
        self._render()

    def text(self) -> str:
        """The rich text shown (as set; a change not drawn yet is drawn first)."""
        if self._stale:
            self._render()
        return self._html

    def _on_focus_changed(self) -> None:
        """Rebuild the text once this pass of the event loop is done, and only while it can be seen (a stroke
        changes the focused unit's numbers at every move, with the panel behind another often)."""
        self._stale = True
        if self.front.seen() and not self._render_soon.isActive():
            self._render_soon.start()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().showEvent(event)
        if self._stale:
            self._render()

    def _on_seen_changed(self, seen: bool) -> None:
        if seen and self._stale:
            self._render()

    def text_view(self) -> QTextBrowser:
        """The widget showing the text (links, scrolling)."""
        return self._text

    def detail_channel(self) -> int | None:
        """The input channel whose window and weights are open (deeper conv units), None: the strongest."""
        return self._detail_channel

    def open_channel(self, channel: int) -> None:
        """Show input channel `channel`'s 3×3 window, weights and products (as clicking its link does)."""
        self._detail_channel = int(channel)
        self._render()

    def _on_link(self, url: QUrl) -> None:
        kind, _, value = url.toString().partition(":")
        if kind == "channel" and value.isdigit():
            self.open_channel(int(value))
            bar = self._text.verticalScrollBar()   # its table ends the text: bring it into view
            bar.setValue(bar.maximum())

    def _render(self) -> None:
        """Rebuild the text for the focused unit (a new unit opens its strongest channel again)."""
        self._stale = False
        self._render_soon.stop()
        unit = self._focus.unit()
        if unit != self._detail_for:
            self._detail_for = unit
            self._detail_channel = None
        dark = self.palette().window().color().lightnessF() < 0.5
        html_text = render_unit(self._focus, self._detail_channel, dark)
        if html_text != self._html:
            scroll = self._text.verticalScrollBar().value()
            self._html = html_text
            self._text.setHtml(html_text)
            self._text.verticalScrollBar().setValue(scroll)   # the same place while the numbers change
        self.repainted.emit()
