"""What a training step leaves for another thread to read while a long compiled call runs.

Keras calls its callbacks only between compiled calls: with the headless trainer's 32 batches per call the
app would see the curves and the weights move once or twice a second. A `StepRecorder` adds two things to
the model's own train step (inside the compiled loop, after the optimizer's update):

- every step writes one row (optimizer iteration, the epoch's running loss and accuracy) into a ring
  variable, in one assignment;
- when another thread asks (`request_weights`), the next step copies every weight into shadow variables,
  then marks the request served.

Reading from another thread is safe and consistent: TensorFlow reads a resource variable under its lock
and an assignment swaps or copies its buffer under the same lock, so one read sees one whole assignment
(a ring row never mixes two steps); and the shadows are written only by the step that serves a request,
before `served` is set (control dependencies), and not again until the reader asks anew, so the weights
read after `served` caught up all come from one and the same step (`tests/test_step_recorder.py`).
Keras on a CPU does not compile with XLA (`jit_compile="auto"`), so the loop runs op by op and each step's
writes land as it ends.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

RING_ROWS = 1024   # steps kept; the reader takes them ~25 times a second (far fewer than 1024 steps apart)


@dataclass
class WeightsCopy:
    """The weights after optimizer step `iteration`, in `model.weights` order (as `model.get_weights()`)."""

    iteration: int
    weights: list[np.ndarray]


class StepRecorder:
    """Records `model`'s training steps while installed (see the module docstring); any thread may read."""

    def __init__(self, model, rows: int = RING_ROWS):
        import tensorflow as tf

        self.model = model
        self.rows = rows
        self._weights = list(model.weights)
        with tf.init_scope():
            self._ring = tf.Variable(np.full((rows, 3), np.nan), dtype=tf.float64, trainable=False,
                                     name="cnnviz_step_ring")
            self._shadows = [tf.Variable(np.asarray(w), trainable=False, name="cnnviz_shadow")
                             for w in self._weights]
            self._requested = tf.Variable(0, dtype=tf.int64, trainable=False, name="cnnviz_weights_requested")
            self._served = tf.Variable(0, dtype=tf.int64, trainable=False, name="cnnviz_weights_served")
            self._copied_at = tf.Variable(0, dtype=tf.int64, trainable=False, name="cnnviz_weights_iteration")
            self._held = tf.Variable(False, trainable=False, name="cnnviz_hold")
        self._lock = threading.Lock()
        self._asked = 0      # requests made
        self._taken = 0      # requests whose weights were taken
        self._installed = False

    # --- the model's train step (task thread) ------------------------------------------------------------
    def install(self, wait: Callable[[], None] | None = None) -> None:
        """Wrap the model's train step (before `fit`; its compiled function is made again). With `wait`,
        a step that begins while `hold(True)` is in force calls `wait()` (in Python: say, until a pause ends),
        so a pause lands within a batch however many batches a call runs."""
        import tensorflow as tf

        model, original = self.model, self.model.train_step
        ring, rows, held = self._ring, self.rows, self._held

        def wait_in_python():
            wait()
            return True

        def train_step(data):
            if wait is not None:   # the step's data waits for the hold (Python only while held)
                go = tf.cond(held, lambda: tf.py_function(wait_in_python, [], tf.bool), lambda: tf.constant(True))
                with tf.control_dependencies([go]):
                    data = tf.nest.map_structure(tf.identity, data)
            logs = original(data)
            iteration = model.optimizer.iterations
            row = tf.stack([tf.cast(iteration, tf.float64), tf.cast(logs["loss"], tf.float64),
                            tf.cast(logs.get("accuracy", np.nan), tf.float64)])
            ring.scatter_nd_update([[tf.math.floormod(tf.cast(iteration, tf.int64), rows)]], [row])
            tf.cond(tf.not_equal(self._requested, self._served), self._serve_weights,
                    lambda: tf.constant(False))
            return logs

        model.train_step = train_step
        model.train_function = None
        self._installed = True

    def _serve_weights(self):
        import tensorflow as tf

        copies = [shadow.assign(weight) for shadow, weight in zip(self._shadows, self._weights)]
        copies.append(self._copied_at.assign(tf.cast(self.model.optimizer.iterations, tf.int64)))
        with tf.control_dependencies(copies):
            served = self._served.assign(self._requested.read_value())
        with tf.control_dependencies([served]):
            return tf.constant(True)

    def hold(self, held: bool) -> None:
        """(any thread) Steps that begin from now call the `wait` given to `install` (True), or not (False)."""
        self._held.assign(bool(held))

    def uninstall(self) -> None:
        """The model's own train step again (later fits compile without the recorder)."""
        if self._installed:
            del self.model.train_step
            self.model.train_function = None
            self._installed = False

    # --- reading (any thread) -------------------------------------------------------------------------------
    def steps_after(self, iteration: int) -> np.ndarray:
        """(k, 3) rows (iteration, running loss, running accuracy) of the steps after `iteration` still in the
        ring, oldest first."""
        ring = self._ring.numpy()
        ring = ring[np.isfinite(ring[:, 0]) & (ring[:, 0] > iteration)]
        return ring[np.argsort(ring[:, 0])]

    def request_weights(self) -> None:
        """Ask the next step to copy the weights (a no-op while a request is pending)."""
        with self._lock:
            if self._asked == int(self._served.numpy()):
                self._asked += 1
                self._requested.assign(self._asked)

    def take_weights(self) -> WeightsCopy | None:
        """The weights of the step that served the last request, once; None while it is pending or when
        they were taken already."""
        with self._lock:
            if self._taken == self._asked or int(self._served.numpy()) != self._asked:
                return None
            copy = WeightsCopy(int(self._copied_at.numpy()), [shadow.numpy() for shadow in self._shadows])
            self._taken = self._asked
        return copy

    def pending(self) -> bool:
        """A request was made and no step has served it yet."""
        with self._lock:
            return self._asked != int(self._served.numpy())
