"""Adversarial examples: the smallest change to a digit's pixels that makes the model read another class.

Both attacks follow the gradient of the cross-entropy loss with respect to the *input*, computed from
the model's pre-softmax scores (`class_scores.batch_logits`, so a 100 %-sure softmax still has a
direction), and take steps of the gradient's sign, the L∞-steepest step:

- **FGSM** (fast gradient sign method, Goodfellow et al., 2015): one step of size ε.
  Untargeted: x' = clip(x + ε · sign(∇ₓ CE(x, y)), 0, 1), with y the class the model predicts for x
  (there is no true label for a drawn digit). Targeted at class t: x' = clip(x − ε · sign(∇ₓ CE(x, t)), 0, 1).
- **PGD** (projected gradient descent, Madry et al., 2018): `steps` (default 20) such steps of size
  2.5 · ε / steps, each followed by projection onto the ε ball around x (L∞: clip to [x − ε, x + ε])
  and the [0, 1] box. It starts from x itself (no random start), so it is deterministic.

ε is in intensity units of the model's input (0 = black, 1 = white; L∞: no pixel moves more than ε);
for a model that takes 0…255 inputs, ε and the box are scaled by 255 inside. `AttackResult` also
says how far each layer's output moved: ‖a(x') − a(x)‖₂ / ‖a(x)‖₂ per layer (None where a(x) is 0).

`Attacker.sweep` finds the smallest ε that flips the prediction (untargeted: any other class;
targeted: the target): the attack at ε = 0.01, 0.02, … up to `max_epsilon` (0.5) in one batch, then
twice the 9 ε that cut the interval between the last one that failed and the first that worked into
tenths (0.001 apart, then 0.0001), each time keeping the first that works, so the answer is within
0.0001 of the smallest working ε *on that search* (a success need not be monotonic in ε, so a
smaller ε off the grid may work too). Every ε of a search runs in one batched pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

METHODS = ("fgsm", "pgd")
DEFAULT_EPSILON = 0.1
PGD_STEPS = 20
PGD_STEP_FACTOR = 2.5        # PGD's step: 2.5 ε / steps, so it can cross the ball and come back
SWEEP_MAX_EPSILON = 0.5
SWEEP_GRID = 0.01
SWEEP_POINTS = 10            # points per refinement
SWEEP_REFINEMENTS = 2        # 0.01 / 10 / 10: within 0.0001


@dataclass(frozen=True)
class LayerChange:
    """How far one layer's output moved: ‖a(x') − a(x)‖₂ / ‖a(x)‖₂ (None where a(x) is all zero)."""

    name: str
    relative_change: float | None


@dataclass(frozen=True)
class AttackResult:
    """One attack on one input (arrays in the model's input shape)."""

    method: str
    epsilon: float                    # intensity units
    target: int | None                # None: untargeted
    steps: int
    original: np.ndarray              # the model input (the model's units)
    perturbed: np.ndarray             # the attacked model input (the model's units)
    perturbation: np.ndarray          # (perturbed − original) in intensity units, within [−ε, ε]
    probabilities_before: np.ndarray  # (K,)
    probabilities_after: np.ndarray   # (K,)
    layers: tuple[LayerChange, ...]
    input_scale: float = 1.0          # a white pixel's value in the model's units (1 or 255)

    @property
    def perturbed_intensity(self) -> np.ndarray:
        """The attacked input in intensity units, [0, 1]."""
        return np.clip(self.perturbed / np.float32(self.input_scale), 0.0, 1.0)

    @property
    def before_class(self) -> int:
        return int(np.argmax(self.probabilities_before))

    @property
    def after_class(self) -> int:
        return int(np.argmax(self.probabilities_after))

    @property
    def before_probability(self) -> float:
        return float(self.probabilities_before[self.before_class])

    @property
    def after_probability(self) -> float:
        return float(self.probabilities_after[self.after_class])

    @property
    def perturbation_linf(self) -> float:
        return float(np.abs(self.perturbation).max(initial=0.0))

    @property
    def succeeded(self) -> bool:
        """Untargeted: the prediction changed; targeted: the model now reads the target."""
        return self.after_class != self.before_class if self.target is None else self.after_class == self.target


@dataclass(frozen=True)
class EpsilonCurve:
    """The attack at several ε: the prediction as ε grows."""

    epsilons: np.ndarray       # (E,) intensity units
    probabilities: np.ndarray  # (E, K) after the attack at each ε
    perturbed: np.ndarray      # (E, *input shape) the attacked inputs (the model's units)

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)


@dataclass(frozen=True)
class SweepResult:
    """The smallest ε found that flips the prediction, and the coarse curve the search started from."""

    epsilon: float | None      # None: nothing up to max_epsilon flipped it
    result: AttackResult       # the attack at `epsilon` (at max_epsilon when nothing flipped)
    curve: EpsilonCurve        # ε = 0.01, 0.02, … max_epsilon
    attacks_run: int           # how many ε were tried in all


def check_epsilon(epsilon: float) -> float:
    """ε as a float in [0, 1]; ValueError otherwise."""
    value = float(epsilon)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"ε must be from 0 to 1 (intensity units), not {epsilon}")
    return value


class Attacker:
    """FGSM and PGD on one model, with a traced batched input gradient (no retrace per call).

    `probe` (an ActivationProbe of the same model) gives the per-layer changes; one is made on first use.
    """

    def __init__(self, model, probe=None):
        import tensorflow as tf

        from cnnviz.core.class_scores import batch_logits, class_head
        from cnnviz.core.model_files import input_scale
        from cnnviz.core.network import input_shape_of

        self.model = model
        self.input_shape = tuple(input_shape_of(model))
        self.scale = float(input_scale(model))      # a white pixel's value: 1 or 255
        self.num_classes = int(model.outputs[0].shape[-1])
        self._probe = probe
        head = class_head(model)

        def loss_gradient(batch, labels):
            with tf.GradientTape() as tape:
                tape.watch(batch)
                logits = batch_logits(model, batch, head)
                loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
            return tape.gradient(loss, batch)

        def probabilities(batch):
            return tf.nn.softmax(batch_logits(model, batch, head))

        def sign_steps(batch, labels, low, high, step, steps):
            """`steps` signed gradient steps (negative `step`: down the loss), each clipped into [low, high]."""
            step = tf.reshape(step, (-1, *[1] * len(self.input_shape)))

            def one_step(done, x):
                return done + 1, tf.clip_by_value(x + step * tf.sign(loss_gradient(x, labels)), low, high)

            _, batch = tf.while_loop(lambda done, x: done < steps, one_step, (tf.constant(0), batch))
            return batch, probabilities(batch)

        # Explicit graph loops, no AutoGraph: nothing here depends on reading this file's source.
        images = tf.TensorSpec((None, *self.input_shape), tf.float32)
        labels = tf.TensorSpec((None,), tf.int32)
        self._probabilities = tf.function(probabilities, input_signature=[images], autograph=False)
        self._loss_gradient = tf.function(loss_gradient, input_signature=[images, labels], autograph=False)
        self._sign_steps = tf.function(sign_steps, autograph=False, input_signature=[
            images, labels, images, images, tf.TensorSpec((None,), tf.float32), tf.TensorSpec((), tf.int32)])
        self.curve(np.zeros(self.input_shape, np.float32), "pgd", [0.0], steps=1)   # trace now

    # --- plain passes ---------------------------------------------------------------------------
    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(N, K) class probabilities of a batch in the model's units."""
        return self._probabilities(np.asarray(batch, np.float32).reshape(-1, *self.input_shape)).numpy()

    def loss_gradient(self, batch: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """∇ₓ of the summed cross-entropy of `labels` (N,) for a batch (N, *input shape)."""
        return self._loss_gradient(np.asarray(batch, np.float32), np.asarray(labels, np.int32)).numpy()

    # --- attacks --------------------------------------------------------------------------------
    def attack(self, image: np.ndarray, method: str = "fgsm", epsilon: float = DEFAULT_EPSILON,
               target: int | None = None, steps: int = PGD_STEPS) -> AttackResult:
        """One attack on `image` (the model's input shape and units; (H, W) accepted for grey models)."""
        curve = self.curve(image, method, [epsilon], target, steps)
        return self.result(image, curve.perturbed[0], method, float(curve.epsilons[0]), target, steps)

    def curve(self, image: np.ndarray, method: str, epsilons, target: int | None = None,
              steps: int = PGD_STEPS) -> EpsilonCurve:
        """The attack at every ε of `epsilons` at once (one batch): perturbed inputs and probabilities."""
        if method not in METHODS:
            raise ValueError(f"the method must be one of {', '.join(METHODS)}, not {method!r}")
        if target is not None and not 0 <= target < self.num_classes:
            raise ValueError(f"the target must be a class from 0 to {self.num_classes - 1}, not {target}")
        if steps < 1:
            raise ValueError(f"PGD needs at least one step, not {steps}")
        epsilons = np.array([check_epsilon(e) for e in epsilons], np.float64)   # as asked (reported)
        original = self._input(image)
        label = target if target is not None else int(np.argmax(self.probabilities(original[None])[0]))
        count = len(epsilons)
        radius = (epsilons * self.scale).astype(np.float32)
        if method == "fgsm":
            steps, step = 1, radius
        else:
            step = PGD_STEP_FACTOR * radius / np.float32(steps)
        direction = np.float32(1.0 if target is None else -1.0)   # away from the class, or towards the target
        around = radius.reshape(-1, *[1] * len(self.input_shape))
        low = np.maximum(original - around, 0.0).astype(np.float32)
        high = np.minimum(original + around, self.scale).astype(np.float32)
        batch = np.repeat(original[None], count, axis=0)
        perturbed, probabilities = self._sign_steps(batch, np.full(count, label, np.int32), low, high,
                                                    (direction * step).astype(np.float32), np.int32(steps))
        return EpsilonCurve(epsilons, probabilities.numpy(), perturbed.numpy())

    def sweep(self, image: np.ndarray, method: str = "fgsm", target: int | None = None,
              max_epsilon: float = SWEEP_MAX_EPSILON, steps: int = PGD_STEPS) -> SweepResult:
        """The smallest ε that flips the prediction, searched as the module docstring says."""
        max_epsilon = check_epsilon(max_epsilon)
        if max_epsilon <= 0:
            raise ValueError("the largest ε to try must be above 0")
        count = max(1, math.ceil(round(max_epsilon / SWEEP_GRID, 6)))
        grid = np.minimum(np.arange(1, count + 1) * SWEEP_GRID, max_epsilon)
        original = self._input(image)
        before = int(np.argmax(self.probabilities(original[None])[0]))
        curve = self.curve(original, method, grid, target, steps)
        attacks_run = len(grid)
        if target == before:    # already there: ε 0 does it
            return SweepResult(0.0, self.result(original, original, method, 0.0, target, steps), curve, attacks_run)

        def first_success(found: EpsilonCurve) -> int | None:
            hits = found.predicted != before if target is None else found.predicted == target
            return int(np.argmax(hits)) if hits.any() else None

        index = first_success(curve)
        if index is None:
            result = self.result(original, curve.perturbed[-1], method, float(grid[-1]), target, steps)
            return SweepResult(None, result, curve, attacks_run)
        low, best_epsilon, best_input = (float(grid[index - 1]) if index else 0.0), float(grid[index]), \
            curve.perturbed[index]
        for _ in range(SWEEP_REFINEMENTS):
            points = np.linspace(low, best_epsilon, SWEEP_POINTS + 1)[1:-1]
            if not len(points):
                break
            finer = self.curve(original, method, points, target, steps)
            attacks_run += len(points)
            hit = first_success(finer)
            if hit is None:     # none below the known success: it stays, the interval shrinks to its last step
                low = float(points[-1])
                continue
            low = float(points[hit - 1]) if hit else low
            best_epsilon, best_input = float(points[hit]), finer.perturbed[hit]
        result = self.result(original, best_input, method, best_epsilon, target, steps)
        return SweepResult(best_epsilon, result, curve, attacks_run)

    # --- results --------------------------------------------------------------------------------
    def result(self, image: np.ndarray, perturbed: np.ndarray, method: str, epsilon: float,
               target: int | None, steps: int) -> AttackResult:
        """The AttackResult of `perturbed` against `image`, with both predictions and the layer changes."""
        original = self._input(image)
        perturbed = np.asarray(perturbed, np.float32).reshape(self.input_shape)
        probabilities = self.probabilities(np.stack([original, perturbed]))
        return AttackResult(method, float(epsilon), target, 1 if method == "fgsm" else int(steps), original, perturbed,
                            ((perturbed - original) / np.float32(self.scale)).astype(np.float32),
                            probabilities[0], probabilities[1], self.layer_changes(original, perturbed), self.scale)

    def layer_changes(self, original: np.ndarray, perturbed: np.ndarray) -> tuple[LayerChange, ...]:
        """‖a(x') − a(x)‖₂ / ‖a(x)‖₂ for every layer (None where a(x) is all zero)."""
        if self._probe is None:
            from cnnviz.core.activations import ActivationProbe

            self._probe = ActivationProbe(self.model)
        before, after = self._probe(original), self._probe(perturbed)
        changes = []
        for name, a, b in zip(self._probe.layer_names, before, after, strict=True):
            a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
            norm = math.sqrt(float(np.square(a).sum()))          # not np.linalg.norm: its BLAS dot was 2 ms
            moved = math.sqrt(float(np.square(b - a).sum()))     # a call on a loaded machine
            changes.append(LayerChange(name, moved / norm if norm > 0 else None))
        return tuple(changes)

    def _input(self, image: np.ndarray) -> np.ndarray:
        image = np.asarray(image, np.float32)
        if image.size != int(np.prod(self.input_shape)):
            raise ValueError(f"the model takes {'×'.join(map(str, self.input_shape))} inputs, not {image.shape}")
        return image.reshape(self.input_shape)
