"""Puts the Experiments into the window (issue 22): kernel surgery, attacking your digit and the sanity check
of the explanations, in one panel with a tab each and an Experiments menu.

`install(context)` adds the "Experiments" panel (tabbed with Training, `experiments_panel.py`), the menu
(Kernel surgery… Ctrl+K, Attack this digit… Ctrl+Shift+A, Sanity check… Ctrl+Shift+Y, then Undo the last
kernel edit Ctrl+Alt+Z, Reset all kernel edits, Test accuracy with the edits, Save an edited copy…), the
named operations (`experiments.*`, below) and targets (the panel's tabs and parts, TARGETS). The
settings (method, target, ε, PGD steps, the check's mode and seed, the brush, the tab) are remembered.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QVBoxLayout, QWidget

from cnnviz.gui.experiments.attack import AttackExperiment
from cnnviz.gui.experiments.attack_view import AttackView
from cnnviz.gui.experiments.edit_checks import EditChecks
from cnnviz.gui.experiments.experiments_panel import ExperimentsPanel
from cnnviz.gui.experiments.filter_choice import editable_layers
from cnnviz.gui.experiments.kernel_surgery import KernelSurgery
from cnnviz.gui.experiments.kernel_surgery_view import KernelSurgeryView
from cnnviz.gui.experiments.model_comparison import ModelComparison
from cnnviz.gui.experiments.operations import register_operations
from cnnviz.gui.experiments.sanity_view import SanityView
from cnnviz.gui.widgets.qt_helpers import make_action

DOCK_NAME = "experiments_dock"
SETTINGS = "experiments"


@dataclass
class ExperimentsFeature:
    """What `install` made (tests and the autotest reach the pieces through `window.capabilities`)."""

    panel: ExperimentsPanel
    dock: QDockWidget
    surgery: KernelSurgery
    surgery_view: KernelSurgeryView
    checks: EditChecks
    attack: AttackExperiment
    attack_view: AttackView
    comparison: ModelComparison
    sanity: SanityView
    actions: dict[str, QAction]

    def show_tab(self, name: str) -> None:
        """Show the panel with tab `name` ("kernel_surgery", "attack", "sanity_check") in front."""
        self.dock.show()
        self.dock.raise_()
        self.panel.show_tab(name)


def install(context) -> ExperimentsFeature:
    inspector, client = context.inspector, context.client
    surgery = KernelSurgery(inspector, client, context.dialog_parent())
    surgery_view = KernelSurgeryView(surgery)
    checks = EditChecks(surgery, client)
    checks.is_training = context.is_training
    checks.ask_save_path = lambda name: context.ask_save_path("Save an edited copy", name, "Keras model (*.keras)")
    kernel_page = _column(surgery_view, checks)
    attack = AttackExperiment(inspector, client, context.dialog_parent())
    attack.is_training = context.is_training
    comparison = ModelComparison(client)
    attack_view = AttackView(attack, comparison)
    comparison.class_name = attack_view.class_name
    comparison.current_path = lambda: getattr(context.current_model(), "path", None)
    comparison.ask_open_path = lambda: context.ask_open_path("Add a model to compare", "Keras models (*.keras *.h5)")
    comparison.attack_args = lambda: None if attack.original() is None else {
        "image": attack.original() / attack.input_scale(),
        "method": attack.method, "epsilon": attack.epsilon, "target": attack.target, "steps": attack.steps}
    sanity = SanityView(client)
    sanity.current_input = inspector.current_input
    sanity.is_training = context.is_training
    panel = ExperimentsPanel({"kernel_surgery": kernel_page, "attack": attack_view, "sanity_check": sanity})
    dock = context.add_panel("Experiments", panel, DOCK_NAME, tabify_with="training_dock")
    dock.setToolTip("Experiments: edit a kernel, attack your digit, check the explanations")
    actions = _menu(context, surgery, checks)
    feature = ExperimentsFeature(panel, dock, surgery, surgery_view, checks, attack, attack_view, comparison,
                                 sanity, actions)
    for name, open_tab in (("kernel_surgery", "show_kernel"), ("attack", "show_attack"),
                           ("sanity_check", "show_sanity")):
        actions[open_tab].triggered.connect(lambda _checked=False, tab=name: feature.show_tab(tab))
    _follow_the_window(context, feature)
    _register_targets(context, feature)
    register_operations(context, feature)
    context.add_settings(lambda settings: _save(feature, settings), lambda settings: _restore(feature, settings))
    return feature


def _column(*widgets: QWidget) -> QWidget:
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return column


def _menu(context, surgery: KernelSurgery, checks: EditChecks) -> dict[str, QAction]:
    parent = context.dialog_parent()
    actions = {
        "show_kernel": make_action(parent, "&Kernel surgery…", "Edit a filter's weights by hand and watch every "
                                   "later layer change", shortcut="Ctrl+K"),
        "show_attack": make_action(parent, "&Attack this digit…", "Change the digit's pixels by at most ε until the "
                                   "network reads another class", shortcut="Ctrl+Shift+A"),
        "show_sanity": make_action(parent, "&Sanity check of the explanations…", "Randomise the layers and see "
                                   "which explanation changes", shortcut="Ctrl+Shift+Y"),
        "undo": make_action(parent, "&Undo the last kernel edit", "Take the last kernel edit back", surgery.undo,
                            "Ctrl+Alt+Z"),
        "reset": make_action(parent, "&Reset all kernel edits", "The model's own weights again", surgery.reset_all),
        "accuracy": make_action(parent, "&Test accuracy with the edits", "The test set with and without the kernel "
                                "edits, in the background", checks.test_accuracy),
        "save": make_action(parent, "Save an &edited copy…", "The model with the kernel edits as a new .keras file",
                            lambda: checks.save_copy()),
    }
    menu = context.menu("Experiments")
    for name in ("show_kernel", "show_attack", "show_sanity"):
        menu.addAction(actions[name])
    menu.addSeparator()
    for name in ("undo", "reset", "accuracy", "save"):
        menu.addAction(actions[name])

    def sync() -> None:
        edited = bool(surgery.labels())
        for name in ("undo", "reset", "save"):
            actions[name].setEnabled(edited)

    surgery.changed.connect(sync)
    sync()
    return actions


def _follow_the_window(context, feature: ExperimentsFeature) -> None:
    """A new model, new edits, the tab shown, training: each part hears what concerns it."""
    panel, attack = feature.panel, feature.attack

    def on_model_ready() -> None:
        model = context.current_model()
        feature.surgery.model_changed()
        feature.checks.model_changed()
        feature.attack_view.set_class_names([] if model is None else list(model.class_names))
        feature.attack.model_changed()
        feature.comparison.refresh_models()
        feature.sanity.model_changed()
        _say_what_applies(panel, model)

    def on_tab(name: str) -> None:
        attack.set_active(name == "attack" and feature.dock.isVisible())

    context.model_ready.connect(on_model_ready)
    feature.surgery.weights_changed.connect(attack.model_changed)
    feature.surgery.notice.connect(lambda text: context.status(text, 8000))
    feature.surgery_view.show_filter_requested.connect(
        lambda layer, channel: context.inspector.select_layer(layer) and context.inspector.select_channel(channel))
    feature.checks.firing_view.digit_clicked.connect(context.inspector.show_test_digit)
    panel.tab_changed.connect(on_tab)
    def on_visibility(visible: bool) -> None:
        panel.make_room(visible and not feature.dock.isFloating())
        on_tab(panel.current_tab())

    feature.dock.visibilityChanged.connect(on_visibility)
    context.closed.connect(lambda: [task.forget() for task in (feature.sanity.task, attack.sweep_task,
                                                               feature.checks.accuracy_task,
                                                               feature.checks.firing_task)])
    if context.current_model() is not None:
        on_model_ready()


def _say_what_applies(panel: ExperimentsPanel, model) -> None:
    """One line per tab where the experiment's maths does not apply to `model` (nothing where it does)."""
    if model is None:
        for name in ("kernel_surgery", "attack", "sanity_check"):
            panel.set_notice(name, "")
        return
    panel.set_notice("kernel_surgery", "" if editable_layers(model) else
                     "Kernel edits work on Conv2D filters and Dense units: this model has neither.")
    spatial = any(spec.is_spatial and spec.kind != "InputLayer" for spec in model.layers)
    panel.set_notice("sanity_check", "" if spatial else
                     "Grad-CAM needs a layer with maps, and this model has none: the check shows occlusion and the "
                     "gradient only.")
    panel.set_notice("attack", "" if model.output_activation in ("softmax", "linear") else
                     f"The attacks read class scores from a softmax or logits output; this model's output is "
                     f"{model.output_activation}, so they may not apply.")


def _register_targets(context, feature: ExperimentsFeature) -> None:
    register = context.targets.register
    panel, view, attack_view = feature.panel, feature.surgery_view, feature.attack_view
    for name in ("kernel_surgery", "attack", "sanity_check"):
        register(name, panel.page(name), summary=f"the Experiments panel's {name.replace('_', ' ')} tab")
    register("weight_painter", view.painter, summary="the kernel painter's grid")
    register("kernel_presets", view.presets_box, summary="the preset, scale and negate buttons")
    register("kernel_edits", view.edits_list, summary="the edits in force")
    register("firing_digits", feature.checks, summary="accuracy, which digits it fires on, save a copy")
    register("attack_images", attack_view.images, summary="the digit, the attacked digit, the perturbation")
    register("epsilon", attack_view.slider, summary="the ε slider")
    register("attack_curve", attack_view.plot, summary="the prediction as ε grows")
    register("layer_changes", attack_view.bars, summary="how far each layer's output moved")
    register("model_comparison", attack_view.compare_group, summary="other models on the same attack")
    register("sanity_strip", feature.sanity.strip, summary="the maps of every step with their ρ")


def _save(feature: ExperimentsFeature, settings) -> None:
    attack, sanity = feature.attack, feature.sanity
    values = {"tab": feature.panel.current_tab(), "method": attack.method, "target": -1 if attack.target is None
              else attack.target, "epsilon": attack.epsilon, "steps": attack.steps,
              "sanity_mode": sanity.mode_box.currentData(), "seed": sanity.seed_box.value(),
              "brush": feature.surgery_view.brush_slider.value()}
    for key, value in values.items():
        settings.setValue(f"{SETTINGS}/{key}", value)


def _restore(feature: ExperimentsFeature, settings) -> None:
    def value(key, default, kind):
        try:
            return kind(settings.value(f"{SETTINGS}/{key}", default))
        except (TypeError, ValueError):
            return default

    attack, sanity = feature.attack, feature.sanity
    method = value("method", attack.method, str)
    target = value("target", -1, int)
    attack.configure(method=method if method in ("fgsm", "pgd") else "fgsm",
                     target=None if target < 0 or target > 999 else target,
                     epsilon=value("epsilon", attack.epsilon, float), steps=max(1, min(200, value("steps", 20, int))))
    feature.attack_view.sync_settings()
    sanity.mode_box.setCurrentIndex(max(0, sanity.mode_box.findData(value("sanity_mode", "cascading", str))))
    sanity.seed_box.setValue(value("seed", 0, int))
    feature.surgery_view.brush_slider.setValue(value("brush", feature.surgery_view.brush_slider.value(), int))
    tab = value("tab", "kernel_surgery", str)
    if tab in ("kernel_surgery", "attack", "sanity_check"):
        feature.panel.show_tab(tab)
