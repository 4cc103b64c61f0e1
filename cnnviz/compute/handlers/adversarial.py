"""Adversarial examples in the app: attack the digit on the canvas, sweep ε, compare models.

- "attack" (quick; FGSM a few ms, a 20-step PGD tens of ms): the core `Attacker` on the serving
  copy (kernel edits included), traced once per serving model -> {"result": AttackResult, "generation"}.
  The ε slider sends one per move with a key, so only the newest waits.
- "attack_sweep" (task): the prediction as ε grows (ε = 0.01 … max_epsilon, one batch) and the
  smallest ε that flips it -> {"sweep": core SweepResult, "generation"}; on a copy of the served weights.
- "attack_models" (task): the same attack on several models side by side: the current one (its
  served weights) and variants of the Lab's store ({name: path}, loaded with "lab_load" first, as
  for "lab_probe") -> {"results": {name: AttackResult}, "missing": [names not loaded],
  "failed": {name: why the attack does not apply to it}, "generation"}. The image is in intensity
  units (0-1), so models that take 0-255 get it scaled.
"""

from __future__ import annotations

import numpy as np

from cnnviz.compute.registry import handler

CURRENT = "current"


def _attacker(state, key: str, model, probe=None):
    """The core Attacker of `model`, traced on first use and kept while `model` is the one under `key`."""
    from cnnviz.core.adversarial import Attacker

    return state.model_feature(f"adversarial.{key}", model, lambda m: Attacker(m, probe))


@handler("attack")
def attack(state, image, method: str = "fgsm", epsilon: float | None = None, target: int | None = None,
           steps: int | None = None) -> dict:
    """FGSM or PGD on `image` (the model's input) with ε in intensity units (core defaults)."""
    from cnnviz.core.adversarial import DEFAULT_EPSILON, PGD_STEPS

    with state.serving() as serving:
        attacker = _attacker(state, "serving", serving.model, serving.probe)
        result = attacker.attack(np.asarray(image, np.float32), method,
                                 DEFAULT_EPSILON if epsilon is None else epsilon, target, steps or PGD_STEPS)
    return {"result": result, "generation": state.generation}


@handler("attack_sweep", kind="task")
def attack_sweep(state, task, image, method: str = "fgsm", target: int | None = None,
                 max_epsilon: float | None = None, steps: int | None = None) -> dict:
    """The prediction against ε and the smallest ε that flips it (see the module docstring)."""
    from cnnviz.core.adversarial import PGD_STEPS, SWEEP_MAX_EPSILON

    generation = state.generation
    model = state.served_copy()
    task.check_cancelled()
    sweep = _attacker(state, "task", model).sweep(np.asarray(image, np.float32), method, target,
                                                   SWEEP_MAX_EPSILON if max_epsilon is None else max_epsilon,
                                                   steps or PGD_STEPS)
    return {"sweep": sweep, "generation": generation}


@handler("attack_models", kind="task")
def attack_models(state, task, image, variants: dict | None = None, method: str = "fgsm",
                  epsilon: float | None = None, target: int | None = None, steps: int | None = None,
                  include_current: bool = True) -> dict:
    """The same attack on the current model and on stored Lab variants (see the module docstring)."""
    from cnnviz.compute.handlers.lab import store_of
    from cnnviz.core.adversarial import DEFAULT_EPSILON, PGD_STEPS

    generation = state.generation
    intensity = np.asarray(image, np.float32)
    models, missing = {}, []
    if include_current:
        models[CURRENT] = (state.served_copy(), None)
    store = store_of(state)
    for name, path in dict(variants or {}).items():
        entry = store.get(name, path)
        if entry is None:
            missing.append(name)
        else:
            models[name] = (entry.model, entry.probe)
    results, failed = {}, {}
    for name, (model, probe) in models.items():
        task.check_cancelled()
        try:
            attacker = _attacker(state, "task" if name == CURRENT else f"variant.{name}", model, probe)
            results[name] = attacker.attack(intensity * np.float32(attacker.scale), method,
                                            DEFAULT_EPSILON if epsilon is None else epsilon, target,
                                            steps or PGD_STEPS)
        except ValueError as exc:   # an input shape, class count or class head the attack cannot use
            failed[name] = str(exc)
        task.emit("progress", (len(results) + len(failed), len(models)))
    return {"results": results, "missing": missing, "failed": failed, "generation": generation}
