"""Switching filters off: every probe (strokes, test digits, the live maps while training) goes through
the ablated forward pass while some filters are off.

"set_ablation" (quick) sets `state.probe_variant` to a core `AblatedProbe` of the serving copy (traced
once per serving model, kept in `state.features`), or back to the plain probe when nothing is off.
Probes run on the same quick thread in arrival order, so every probe sent after "set_ablation"
honours it. Channels that the current model does not have (another model was loaded since) are
left out rather than failing the probe.
"""

from __future__ import annotations

import functools
import weakref

from cnnviz.compute.registry import handler

_PROBE_KEY = "ablation.probe"   # state.features: (weak reference to the serving model, its AblatedProbe)


@handler("set_ablation")
def set_ablation(state, off: dict | None = None, keep_top: dict | None = None) -> dict:
    """Switch off `off` ({layer: [channels]}) and keep only the k strongest channels of the layers in
    `keep_top` ({layer: k}) in every probe from now on; empty: every filter on again.
    Raises LayerChoiceError for an unknown layer or channel. -> {"off", "keep_top", "generation"}."""
    from cnnviz.core.ablation import check_switched_off

    off = {str(layer): sorted({int(c) for c in channels}) for layer, channels in dict(off or {}).items() if channels}
    keep_top = {str(layer): int(k) for layer, k in dict(keep_top or {}).items()}
    check_switched_off(state.specs, off, keep_top)
    state.probe_variant = functools.partial(_ablated_outputs, state, off, keep_top) if off or keep_top else None
    return {"off": off, "keep_top": keep_top, "generation": state.generation}


def _ablated_outputs(state, off: dict, keep_top: dict, serving, image):
    """The probe with filters switched off (those of layers and channels the serving model has)."""
    probe = ablated_probe(state, serving.model)
    widths = dict(zip(probe.layer_names, (shape[-1] for shape in probe.layer_shapes)))
    off = {layer: [c for c in channels if c < widths[layer]] for layer, channels in off.items() if layer in widths}
    keep_top = {layer: k for layer, k in keep_top.items() if layer in widths}
    return probe(image, off, keep_top)


def ablated_probe(state, model):
    """The AblatedProbe of `model` (the serving copy), traced on first use and kept while it is current."""
    from cnnviz.core.ablation import AblatedProbe

    entry = state.features.get(_PROBE_KEY)
    if entry is None or entry[0]() is not model:
        entry = state.features[_PROBE_KEY] = (weakref.ref(model), AblatedProbe(model))
    return entry[1]
