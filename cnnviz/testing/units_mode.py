"""The `unit-and-screenshot` autotest mode (see `autotest.py`): issue 10's unit panel in the real app.

Draws a 7 with the mouse; first shows conv2d_2's Kernels view (filter KERNELS_FILTER enlarged, a
weight of it hovered) and saves `<PATH stem>_kernels.png`; then back to the maps, shows conv2d_3,
moves the mouse over unit (1, 1) of the channel most active there and clicks it (pinned: the Unit
panel comes forward and the channel is enlarged).
Once the outlines are painted it prints the unit, its value, its 18×18 receptive field, and where
the field's outline is on screen (on the 28×28 input and on the drawing, [left, top, right,
bottom] in screen pixels) for the test to find in the screenshot; then the autotest saves PATH.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, QTimer

from cnnviz.testing.mode_steps import ModeSteps
from cnnviz.testing.screenshots import save_screenshot
from cnnviz.testing.user_input import click, draw_seven, send_hover

UNIT_LAYER = "conv2d_3"
KERNELS_LAYER, KERNELS_FILTER = "conv2d_2", 9
UNIT_Y, UNIT_X = 1, 1
SETTLE_MS = 600    # lets the last repaints land before the screenshot
MOVE_GAP_MS = 30   # pyqtgraph drops mouse moves less than 10 ms apart


def start(autotest) -> None:
    """Run the steps on `autotest` (an `autotest.Autotest` whose model is ready)."""
    _Steps.run(autotest)


class _Steps(ModeSteps):
    capability = "units"

    def __init__(self, autotest):
        super().__init__(autotest)
        self.channel = 0

    def start(self) -> None:
        draw_seven(self.inspector.canvas)
        self.autotest.when(lambda: self.inspector.current_outputs() is not None, self.show_kernels)

    def show_kernels(self) -> None:
        self.inspector.select_layer(KERNELS_LAYER)
        self.inspector.set_layer_mode(self.feature.kernels.name)
        self.inspector.select_channel(KERNELS_FILTER)
        QTimer.singleShot(300, self.hover_kernel)

    def hover_kernel(self) -> None:
        grid = self.inspector.layer_grid
        send_hover(grid.viewport(), QPointF(grid.unit_centre(KERNELS_FILTER, 5, 10)))   # input channel 10's patch
        QTimer.singleShot(SETTLE_MS, self.save_kernels)

    def save_kernels(self) -> None:
        path = self.autotest.path.with_name(self.autotest.path.stem + "_kernels.png")
        save_screenshot(self.window, path)
        tiles = self.inspector.layer_grid.maps()
        low, high = self.inspector.colorbar.levels()
        print(f"cnnviz autotest: kernels of {KERNELS_LAYER}: {len(tiles)} tiles of {tiles.shape[1]}x{tiles.shape[2]}, "
              f"colours {low:+.4f} to {high:+.4f}, mode {self.inspector.current_layer_mode()}; "
              f"hover '{self.inspector.hover_text()}'; saved {path.name}", flush=True)
        self.inspector.set_layer_mode("maps")
        QTimer.singleShot(MOVE_GAP_MS, self.show_layer)

    def show_layer(self) -> None:
        outputs = self.inspector.current_outputs()
        layer = self.inspector.layer_names().index(UNIT_LAYER)
        self.channel = int(outputs[layer][UNIT_Y, UNIT_X].argmax())
        self.inspector.select_layer(layer)
        QTimer.singleShot(300, self.hover)

    def hover(self) -> None:
        grid = self.inspector.layer_grid
        send_hover(grid.viewport(), QPointF(grid.unit_centre(self.channel, UNIT_Y, UNIT_X)) + QPointF(3, 0))
        QTimer.singleShot(MOVE_GAP_MS, self.click)

    def click(self) -> None:
        grid = self.inspector.layer_grid
        point = QPointF(grid.unit_centre(self.channel, UNIT_Y, UNIT_X))
        send_hover(grid.viewport(), point)
        click(grid.viewport(), point)
        self.autotest.when(lambda: self.feature.focus.is_pinned() and self.inspector.canvas.unit_box() is not None,
                           lambda: QTimer.singleShot(SETTLE_MS, self.report))

    def report(self) -> None:
        focus, inspector = self.feature.focus, self.inspector
        unit, explanation, box = focus.unit(), focus.explanation(), focus.receptive_field()
        input_view, canvas = inspector.model_input_view, inspector.canvas
        top, left, bottom, right = input_view.unit_box()
        on_input = _screen_rect(input_view, input_view.target_rect(), 28, (top, left, bottom, right))
        (c_top, c_left, c_bottom, c_right), label = canvas.unit_box()
        on_canvas = _screen_rect(canvas, canvas.target_rect(), canvas.canvas_size,
                                 (c_top, c_left, c_bottom, c_right))
        print(f"cnnviz autotest: unit {focus.layer_name(unit.layer)} channel {unit.channel} ({unit.y}, {unit.x}) "
              f"{'pinned' if focus.is_pinned() else 'hovered'}; value {explanation.value:.4f} = "
              f"relu({explanation.pre_activation:.4f}), map shows {focus.shown_value():.4f}; field "
              f"{box.height}x{box.width} at input rows {box.top}-{box.bottom - 1}, columns {box.left}-{box.right - 1}; "
              f"label '{label}'; unit panel {'shown' if not self.feature.dock.visibleRegion().isEmpty() else 'hidden'}",
              flush=True)
        print(f"cnnviz autotest: field outline on input {on_input} on drawing {on_canvas}", flush=True)
        self.autotest.done()


def _screen_rect(widget, target: QRectF, size: float, box) -> list[int]:
    """[left, top, right, bottom] in screen pixels of `box` (top, left, bottom, right in `size`×`size`
    units drawn over `target`)."""
    top, left, bottom, right = box
    scale = target.width() / size
    corner = widget.mapToGlobal(QPoint(0, 0))
    return [round(corner.x() + target.x() + left * scale), round(corner.y() + target.y() + top * scale),
            round(corner.x() + target.x() + right * scale), round(corner.y() + target.y() + bottom * scale)]
