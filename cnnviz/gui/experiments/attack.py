"""Attack your digit: the state of the Attack tab and its compute calls ("attack", "attack_sweep").

The digit attacked is the inspector's input: every change of it, of the method, the target or ε sends
one "attack" through a `LatestRequest` (one in flight, the newest waiting), so dragging the ε slider
shows each step as fast as the compute process answers. A moment after the digit or the settings stop
changing, an "attack_sweep" task finds the prediction as ε grows and the smallest ε that flips it (not
while the model trains: the task thread is busy then; the button asks for it). Nothing is computed
while the tab is not shown.

"Show it in the inspector" puts the attacked digit on the canvas (every map of the attacked input);
the tab keeps attacking the original, and "Put my digit back" restores it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from cnnviz.compute.protocol import ComputeError
from cnnviz.gui.experiments.task_request import TaskRequest
from cnnviz.gui.remote.latest_request import LatestRequest

METHODS = {"fgsm": "FGSM (one step)", "pgd": "PGD (iterated steps)"}
DEFAULT_EPSILON = 0.1
DEFAULT_STEPS = 20
SWEEP_DELAY_MS = 450      # the digit or the settings must rest this long before a sweep starts


class AttackExperiment(QObject):
    """The attack on the inspector's digit (see the module docstring)."""

    result_changed = Signal()     # a new AttackResult (or none)
    sweep_changed = Signal()      # a new sweep (or none)
    failed = Signal(str)          # why there is no attack (one line; "" when it works again)

    def __init__(self, inspector, client, parent: QObject | None = None):
        super().__init__(parent)
        self._inspector = inspector
        self.method = "fgsm"
        self.target: int | None = None
        self.epsilon = DEFAULT_EPSILON
        self.steps = DEFAULT_STEPS
        self.auto_sweep = True
        self.is_training = lambda: False
        self._active = False
        self._original: np.ndarray | None = None      # the digit attacked
        self._shown_attacked: np.ndarray | None = None  # what "show it in the inspector" put on the canvas
        self._result = None
        self._result_for: tuple | None = None
        self._sweep = None
        self._sweep_for: tuple | None = None
        self._pending_sweep: tuple | None = None
        self._serial = 0          # +1 for every new digit
        self._request = LatestRequest("attack", self._on_result, self._on_failed, client, self)
        self.sweep_task = TaskRequest(client, "attack_sweep", self)
        self.sweep_task.finished.connect(self._on_sweep)
        self.sweep_task.failed.connect(self.failed)
        self._sweep_timer = QTimer(self)
        self._sweep_timer.setSingleShot(True)
        self._sweep_timer.setInterval(SWEEP_DELAY_MS)
        self._sweep_timer.timeout.connect(self.sweep)
        inspector.input_changed.connect(self._on_input_changed)
        self._original = inspector.current_input()

    # --- state ---------------------------------------------------------------------------------------
    def original(self) -> np.ndarray | None:
        """The digit attacked (the model's input units)."""
        return self._original

    def result(self):
        """The AttackResult for the digit and the settings now (None while it is on its way)."""
        return self._result if self._result_for == self._key() else None

    def last_result(self):
        """The newest AttackResult, even for settings just left (what the tab keeps showing meanwhile)."""
        return self._result

    def sweep_result(self):
        """The SweepResult (curve, smallest ε) for the digit, method and target now, or None."""
        return self._sweep if self._sweep_for == self._sweep_key() else None

    def input_scale(self) -> float:
        """A white pixel's value in the model's units (1, or 255 for models that rescale their input)."""
        return float(getattr(self._inspector.model(), "input_scale", 1.0) or 1.0)

    def can_show_in_inspector(self) -> bool:
        """True for grey models: `inspector.show_input` puts a grey input on the canvas (not a colour one)."""
        model = self._inspector.model()
        return model is not None and (len(model.input_shape) < 3 or model.input_shape[-1] == 1)

    def showing_attacked(self) -> bool:
        """True while the inspector shows the attacked digit put there by `show_in_inspector`."""
        return self._shown_attacked is not None

    def set_active(self, active: bool) -> None:
        """The tab is shown (compute) or not (nothing is sent)."""
        self._active = bool(active)
        if self._active:
            self.refresh()
        else:
            self._sweep_timer.stop()

    def configure(self, method: str | None = None, target: int | None | str = "keep", epsilon: float | None = None,
                  steps: int | None = None) -> None:
        """Change the settings given (target None: untargeted; "keep": unchanged) and attack again."""
        if method is not None:
            if method not in METHODS:
                raise ValueError(f"the method is one of {', '.join(METHODS)}, not {method!r}")
            self.method = method
        if target != "keep":
            self.target = None if target is None else int(target)
        if epsilon is not None:
            self.epsilon = float(min(max(epsilon, 0.0), 1.0))
        if steps is not None:
            self.steps = int(steps)
        self.refresh()

    # --- computing --------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Attack the digit with the settings now (and sweep ε a moment later)."""
        image, model = self._original, self._inspector.model()
        if not self._active or image is None or model is None:
            self._request.clear()
            return
        self._request.submit({"image": image, "method": self.method, "epsilon": self.epsilon, "target": self.target,
                              "steps": self.steps}, self._key())
        if self.auto_sweep and self.sweep_result() is None and not self.is_training():
            self._sweep_timer.start()

    def sweep(self) -> bool:
        """Find the prediction as ε grows and the smallest ε that flips it (a task); False if it cannot start."""
        image = self._original
        if image is None or self._inspector.model() is None or self.sweep_result() is not None:
            return False
        if self.is_training():
            self.failed.emit("The ε sweep runs once training has finished (the task thread is training).")
            return False
        key = self._sweep_key()
        started = self.sweep_task.start({"image": image, "method": self.method, "target": self.target,
                                         "steps": self.steps})
        self._pending_sweep = key
        return started

    def show_in_inspector(self) -> bool:
        """Put the attacked digit on the canvas (the tab keeps attacking the original)."""
        result = self.result() or self._result
        if result is None:
            return False
        if not self.can_show_in_inspector():
            self.failed.emit("The canvas takes grey inputs only: the attacked colour picture is shown here, not "
                             "in the inspector.")
            return False
        self._shown_attacked = np.asarray(result.perturbed_intensity, np.float32)
        self._inspector.show_input(self._shown_attacked)
        return True

    def put_back(self) -> bool:
        """Put the original digit back on the canvas."""
        if self._original is None or self._shown_attacked is None:
            return False
        self._shown_attacked = None
        self._inspector.show_input(np.asarray(self._original, np.float32) / np.float32(self.input_scale()))
        return True

    def model_changed(self) -> None:
        """Another model (or new weights): forget what was computed; attack again if shown."""
        self._result = self._sweep = None
        self._result_for = self._sweep_for = None
        self.sweep_task.forget()
        self._request.clear()
        self.result_changed.emit()
        self.sweep_changed.emit()
        self.refresh()

    # --- replies ---------------------------------------------------------------------------------------------
    def _key(self) -> tuple:
        return (self._serial, self.method, self.epsilon, self.target, self.steps)

    def _sweep_key(self) -> tuple:
        return (self._serial, self.method, self.target, self.steps)

    def _on_input_changed(self, image) -> None:
        if image is not None and self._shown_attacked is not None and _same(image, self._shown_attacked,
                                                                            self._inspector.model()):
            return   # the attacked digit we put there: keep attacking the original
        self._shown_attacked = None
        self._original = image
        self._serial += 1
        self._sweep_timer.stop()
        self.sweep_task.forget()
        self.refresh()
        self.sweep_changed.emit()

    def _on_result(self, result: dict, key: tuple) -> None:
        model = self._inspector.model()
        if model is None or result["generation"] < model.generation:
            return
        self._result, self._result_for = result["result"], key
        self.failed.emit("")
        self.result_changed.emit()

    def _on_failed(self, error: ComputeError, _key) -> None:
        if not error.crashed:
            self.failed.emit(f"No attack on this model: {error.message}")

    def _on_sweep(self, result: dict) -> None:
        model = self._inspector.model()
        if model is None or result["generation"] < model.generation:
            return
        self._sweep, self._sweep_for = result["sweep"], self._pending_sweep
        self.sweep_changed.emit()


def _same(image: np.ndarray, shown: np.ndarray, model) -> bool:
    """True if the inspector's input `image` (model units) is the attacked digit `shown` (intensity units)."""
    scale = float(getattr(model, "input_scale", 1.0) or 1.0)
    image, shown = np.asarray(image, np.float32), np.asarray(shown, np.float32)
    if image.size != shown.size:
        return False
    return bool(np.allclose(image, shown.reshape(image.shape) * np.float32(scale), atol=1e-6 * scale))
