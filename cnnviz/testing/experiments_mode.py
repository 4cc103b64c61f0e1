"""The `experiments-and-screenshot` autotest mode (see `autotest.py`): issue 22's Experiments in the real app.

As a user would: closes the Curves panel and widens the right-hand panels (room for the Experiments), then
1. draws a 7, opens Experiments → Kernel surgery, clicks channel KERNEL_FILTER of conv2d_1 in the grid,
   presses "Vertical edge" and "Which digits does it fire on?"; once the maps, the prediction and the
   ranking are shown, saves `<PATH stem>_kernel.png` (the hand-made edge detector);
2. presses "Reset all", shows test digit ATTACK_DIGIT (a 7), opens Experiments → Attack this digit, picks PGD
   and the target ATTACK_TARGET; once the ε sweep has found the smallest ε that turns it into the target,
   moves the ε slider there and saves `<PATH stem>_attack.png`;
3. shows test digit 0, opens Experiments → Sanity check and presses "Run the check"; once the strip is
   filled, the autotest saves PATH.
Prints what each step showed ("cnnviz autotest: kernel …", "… attack …", "… sanity …").
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, Qt, QTimer

from cnnviz.testing.mode_steps import ModeSteps
from cnnviz.testing.screenshots import save_screenshot
from cnnviz.testing.user_input import click, draw_seven, when

KERNEL_LAYER, KERNEL_FILTER = "conv2d_1", 5
ATTACK_DIGIT, ATTACK_TARGET = 510, 3     # a 7 the shipped model reads at 99.8 % (README: "a 7 that reads as 3")
SANITY_DIGIT = 0
PANEL_WIDTH = 560
SETTLE_MS = 700


def start(autotest) -> None:
    """Run the steps on `autotest` (an `autotest.Autotest` whose model is ready)."""
    _Steps.run(autotest)


class _Steps(ModeSteps):
    capability = "experiments"

    def start(self) -> None:
        targets = self.window.context.targets
        if "curves_dock" in targets.names():
            targets.widget("curves_dock").close()
        self.feature.actions["show_kernel"].trigger()
        self.window.resizeDocks([self.feature.dock], [PANEL_WIDTH], Qt.Orientation.Horizontal)
        draw_seven(self.inspector.canvas)
        when(lambda: self.inspector.current_outputs() is not None, self.pick_filter)

    # --- 1. the hand-made edge detector ---------------------------------------------------------------
    def pick_filter(self) -> None:
        self.inspector.select_layer(KERNEL_LAYER)
        QTimer.singleShot(300, self.click_filter)

    def click_filter(self) -> None:
        grid = self.inspector.layer_grid
        click(grid.viewport(), QPointF(grid.cell_rect(KERNEL_FILTER).center()))
        when(lambda: (self.feature.surgery.slot() or _NoSlot).channel == KERNEL_FILTER, self.press_preset)

    def press_preset(self) -> None:
        self.feature.surgery_view.preset_buttons["vertical-edge"].click()
        surgery = self.feature.surgery
        when(lambda: surgery.labels() and not surgery.is_busy() and self.inspector.current_outputs() is not None,
             self.ask_firing)

    def ask_firing(self) -> None:
        checks = self.feature.checks
        checks.firing_button.click()
        when(lambda: checks.firing_view.indices() and not checks.firing_task.is_running(), self.scroll_to_answer)

    def scroll_to_answer(self) -> None:
        """Scroll the tab down to the answer, as a user would (the painter stays in view as far as it can)."""
        page = self.feature.panel.page("kernel_surgery")
        answer, choice = self.feature.checks.firing_view, self.feature.surgery_view.layer_box
        bottom = answer.mapTo(page.widget(), answer.rect().bottomLeft()).y()
        top = choice.mapTo(page.widget(), choice.rect().topLeft()).y()      # the filter's row, if it can
        page.verticalScrollBar().setValue(max(0, min(top - 4, bottom - page.viewport().height() + 8)))
        QTimer.singleShot(SETTLE_MS, self.save_kernel)

    def save_kernel(self) -> None:
        view, checks = self.feature.surgery_view, self.feature.checks
        path = self.autotest.path.with_name(self.autotest.path.stem + "_kernel.png")
        save_screenshot(self.window, path)
        top = self.inspector.prediction_bars.top_guess()
        print(f"cnnviz autotest: kernel {', '.join(self.feature.surgery.labels())}; painter "
              f"{view.painter.grid().tolist()}; prediction {top[0]} {top[1]:.1%}; channel "
              f"{self.inspector.current_channel()} of {self.inspector.layer_names()[self.inspector.current_layer()]}; "
              f"firing: {checks.firing_view.sentence.text()}; saved {path.name}", flush=True)
        self.feature.surgery_view.reset_all_button.click()
        when(lambda: not self.feature.surgery.labels() and not self.feature.surgery.is_busy(), self.start_attack)

    # --- 2. an attacked 7 that reads as 3 -------------------------------------------------------------------
    def start_attack(self) -> None:
        self.inspector.show_test_digit(ATTACK_DIGIT)
        self.feature.actions["show_attack"].trigger()
        view = self.feature.attack_view
        view.method_box.setCurrentIndex(view.method_box.findData("pgd"))
        view.method_box.activated.emit(view.method_box.currentIndex())
        view.target_box.setCurrentIndex(view.target_box.findData(ATTACK_TARGET))
        view.target_box.activated.emit(view.target_box.currentIndex())
        attack = self.feature.attack
        when(lambda: attack.sweep_result() is not None, self.move_slider)

    def move_slider(self) -> None:
        view, attack = self.feature.attack_view, self.feature.attack
        sweep = attack.sweep_result()
        epsilon = sweep.epsilon if sweep.epsilon is not None else 0.5
        view.slider.setValue(math.ceil(round(epsilon * 200, 6)))     # the slider's steps are 0.005
        when(lambda: attack.result() is not None, lambda: QTimer.singleShot(SETTLE_MS, self.save_attack))

    def save_attack(self) -> None:
        attack = self.feature.attack
        result, sweep = attack.result(), attack.sweep_result()
        path = self.autotest.path.with_name(self.autotest.path.stem + "_attack.png")
        save_screenshot(self.window, path)
        print(f"cnnviz autotest: attack test digit {ATTACK_DIGIT} {result.method} target {result.target}: "
              f"{result.before_class} {result.before_probability:.1%} -> {result.after_class} "
              f"{result.after_probability:.1%} at epsilon {result.epsilon:.3f} (smallest found "
              f"{sweep.epsilon:.4f}); linf {result.perturbation_linf:.4f}; saved {path.name}", flush=True)
        self.start_sanity()

    # --- 3. the sanity-check strip ---------------------------------------------------------------------------
    def start_sanity(self) -> None:
        self.inspector.show_test_digit(SANITY_DIGIT)
        self.feature.actions["show_sanity"].trigger()
        sanity = self.feature.sanity
        when(lambda: self.inspector.current_input() is not None, sanity.run_button.click)
        when(lambda: sanity.strip.result() is not None and not sanity.task.is_running(),
             lambda: QTimer.singleShot(SETTLE_MS, self.report_sanity))

    def report_sanity(self) -> None:
        strip = self.feature.sanity.strip
        scores = {method: [None if v is None else round(v, 2) for v in strip.scores(method)]
                  for method in strip.methods()}
        print(f"cnnviz autotest: sanity columns {strip.columns()}; scores {scores}", flush=True)
        self.autotest.done()


class _NoSlot:
    channel = None
