"""The messages between the GUI process and the compute process (pickled over a `Connection`).

GUI -> compute: `Request`, `Cancel`, `Pause`, `Resume`, `Shutdown`.
compute -> GUI: `Hello` (once, when listening), `Reply` (exactly one per request), `Event`
(progress of a running request, any number before its reply). A failed request reaches the GUI's
callbacks as a `ComputeError`; `ModelInfo` is the plain description of the current model.

Every request carries an id chosen by the client; replies and events name it, so the client
can drop what it no longer wants. A request with a `key` supersedes an older queued request with
the same key: the compute process answers the older one with a `SUPERSEDED` error reply and runs
only the newest (a stroke supersedes the pending one). Arrays travel as numpy arrays inside the
pickles (all layer outputs of one digit are ~150 KB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnviz.core.network import LayerSpec
from cnnviz.core.training import EpochRecord

SUPERSEDED = "Superseded"     # error_type of the reply to a request replaced by a newer one with its key
CANCELLED = "Cancelled"       # error_type of the reply to a cancelled request
CRASHED = "ComputeCrashed"    # error_type the client gives pending requests when the process died
UNKNOWN_METHOD = "UnknownMethod"


@dataclass
class Request:
    """Run handler `method` with keyword `args`; `key` lets a newer request with the same key replace it."""

    id: int
    method: str
    args: dict = field(default_factory=dict)
    key: str | None = None


@dataclass
class Reply:
    """The one answer to request `id`: `result` when `ok`, else a readable `error` and its `error_type`
    (the exception's class name, or SUPERSEDED / CANCELLED / CRASHED); `details` holds a traceback
    for unexpected failures."""

    id: int
    method: str
    ok: bool
    result: object = None
    error: str = ""
    error_type: str = ""
    details: str = ""


@dataclass
class Event:
    """Progress of running request `id` (e.g. kind "progress" with a BatchProgress payload)."""

    id: int
    kind: str
    payload: object = None


@dataclass
class Cancel:
    """Cancel request `id`: dropped if still queued, asked to stop if running (tasks)."""

    id: int


@dataclass
class Pause:
    """Pause running task `id` (training) between batches."""

    id: int


@dataclass
class Resume:
    """Resume paused task `id`."""

    id: int


@dataclass
class Shutdown:
    """Stop any running task within a batch and exit."""


@dataclass
class Hello:
    """The compute process is listening (sent once, before TensorFlow is imported)."""

    pid: int


@dataclass
class ModelInfo:
    """Everything the GUI needs to know about the current model, as plain data (no Keras object).

    `weights[i]` are the arrays of layer `layers[i]` (kernel, bias, ...; empty for pooling);
    `architecture` is the model's Keras JSON, enough to rebuild it from `weights` after a crash.
    `generation` counts the models the compute process has held; replies computed on a model
    carry it, so the GUI can tell a stale answer from a current one. `output_activation`,
    `input_scale` and `non_finite_layers` are what `cnnviz.core.model_files.ModelInfo` knows
    (`description()` gives that object: `describe()`, `matching_dataset()`, `is_digit_model`, …).
    """

    path: Path | None
    name: str
    layers: list[LayerSpec]
    input_shape: tuple[int, ...]
    class_names: list[str]
    weights: list[list[np.ndarray]]
    history: list[EpochRecord] = field(default_factory=list)
    architecture: str = ""
    generation: int = 0
    output_activation: str = "softmax"       # the output layer's: "softmax", or "linear" (logits), …
    input_scale: float = 1.0                 # the value of a white pixel the model expects: 1 or 255
    non_finite_layers: tuple[str, ...] = ()  # layers whose weights hold NaN or ±Inf

    def description(self):
        """This model as a `cnnviz.core.model_files.ModelInfo` (input, classes, output, scale)."""
        from cnnviz.core.model_files import ModelInfo as FileInfo

        return FileInfo(name=self.name, path=None if self.path is None else str(self.path),
                        input_shape=tuple(int(d) for d in self.input_shape), class_names=tuple(self.class_names),
                        output_activation=self.output_activation, input_scale=self.input_scale,
                        non_finite_layers=tuple(self.non_finite_layers))

    @property
    def outputs_logits(self) -> bool:
        """True when the output is not softmax: the GUI shows softmax of it as the probabilities."""
        return self.output_activation != "softmax"

    @property
    def is_digit_model(self) -> bool:
        """28×28 grey input and the classes 0…9: the drawing canvas and MNIST's recipe fit it."""
        return self.description().is_digit_model

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def dataset(self) -> str | None:
        """The known dataset ("mnist", "fashion-mnist") this model classifies, or None."""
        return self.description().matching_dataset()

    @property
    def test_accuracy(self) -> float | None:
        """Test accuracy after the last epoch of the history, when known."""
        if self.history and math.isfinite(self.history[-1].test_accuracy):
            return self.history[-1].test_accuracy
        return None

    @property
    def layer_names(self) -> list[str]:
        return [spec.name for spec in self.layers]

    @property
    def layer_kinds(self) -> list[str]:
        return [spec.kind for spec in self.layers]

    @property
    def num_params(self) -> int:
        return sum(spec.num_params for spec in self.layers)


class ComputeError(Exception):
    """A request that failed: what the GUI's `on_error` callbacks receive."""

    def __init__(self, message: str, error_type: str = "", method: str = "", details: str = ""):
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.method = method
        self.details = details

    @classmethod
    def from_reply(cls, reply: Reply) -> "ComputeError":
        return cls(reply.error, reply.error_type, reply.method, reply.details)

    @property
    def crashed(self) -> bool:
        """True when the compute process died before answering."""
        return self.error_type == CRASHED

    @property
    def cancelled(self) -> bool:
        return self.error_type == CANCELLED
