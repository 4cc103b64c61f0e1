"""The Experiments' named operations, for lessons and other capabilities (docs/ARCHITECTURE.md, "Named
operations"): open a tab on a given filter or attack, apply a preset, take edits back, start the
background checks. Each returns what a lesson needs to know (True if it did it)."""

from __future__ import annotations


def register_operations(context, feature) -> None:
    """Register `experiments.*` for the installed `feature` (installer.ExperimentsFeature)."""
    surgery, inspector = feature.surgery, context.inspector

    def show_kernel_surgery(layer: int | str | None = None, channel: int | None = None) -> bool:
        """The Kernel surgery tab on filter `channel` of `layer` (shown in the inspector); False if it has none."""
        feature.show_tab("kernel_surgery")
        if layer is None:
            return surgery.slot() is not None or surgery.select()
        chosen = surgery.select(layer, channel or 0)
        if chosen:
            slot = surgery.slot()
            inspector.select_layer(slot.index)
            if slot.kind == "Conv2D":
                inspector.select_channel(slot.channel)
        return chosen

    def apply_preset(preset: str, layer: int | str | None = None, channel: int | None = None) -> bool:
        """Set a filter from a preset: vertical-edge, horizontal-edge, blur, identity, zero, negate, double, halve
        or scale:F (the painter's filter unless `layer`/`channel` name another); False if there is no filter."""
        if layer is not None and not show_kernel_surgery(layer, channel):
            return False
        return surgery.apply_preset(preset)

    def attack(method: str | None = None, target: int | None | str = "keep", epsilon: float | None = None) -> bool:
        """The Attack tab, attacking the digit shown with these settings (the tab's own where not given)."""
        feature.show_tab("attack")
        feature.attack.configure(method=method, target=target, epsilon=epsilon)
        feature.attack_view.sync_settings()
        return feature.attack.original() is not None

    def run_sanity_check(mode: str | None = None, seed: int | None = None) -> bool:
        """The Sanity check tab, running the check on the digit shown (cascading or independent, seeded)."""
        feature.show_tab("sanity_check")
        return feature.sanity.run(mode, seed)

    register = context.operations.register
    register("experiments.show_kernel_surgery", show_kernel_surgery)
    register("experiments.apply_preset", apply_preset)
    register("experiments.undo_edit", surgery.undo, "Take the last kernel edit back")
    register("experiments.reset_edits", surgery.reset_all, "Take back every kernel edit")
    register("experiments.edits", surgery.labels, "The kernel edits in force, as `predict --edit` writes them")
    register("experiments.test_accuracy", feature.checks.test_accuracy,
             "Test the accuracy with the edits (and without) in the background")
    register("experiments.find_firing_digits", feature.checks.find_firing_digits,
             "Rank the test digits by the painter filter's mean activation: which digits it fires on")
    register("experiments.attack", attack)
    register("experiments.find_smallest_epsilon", feature.attack.sweep,
             "Sweep ε: the prediction as ε grows and the smallest ε that flips it")
    register("experiments.show_sanity_check", lambda: feature.show_tab("sanity_check"),
             "Bring the Sanity check tab forward")
    register("experiments.run_sanity_check", run_sanity_check)
