"""Digits from the MNIST test set: by index, at random, or one the current model gets wrong.

MNIST is read from the local cache only (`load_mnist(allow_download=False)`), in this process for
showing digits; the misclassified digits are found by the compute process ("test_mistakes", one
batched pass of the model), once per model generation.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.data import DataError, Dataset, load_mnist

FETCH_HINT = "MNIST is not on this machine: run `cnnviz data --fetch` once, then try again."


class TestDigits(QObject):
    """Loads the test set on first use and asks the compute process which digits a model misclassifies."""

    misclassified_ready = Signal(int, object)   # model generation, np.ndarray of indices
    misclassified_failed = Signal(str)

    def __init__(self, client=None, parent: QObject | None = None):
        super().__init__(parent)
        self._client = client
        self._dataset: Dataset | None = None
        self._misclassified: dict[int, np.ndarray] = {}   # model generation -> indices
        self._searching: set[int] = set()
        self._rng = np.random.default_rng()

    def set_client(self, client) -> None:
        self._client = client
        self.forget_misclassified()

    def dataset(self) -> Dataset:
        """The MNIST test set (raises DataError with FETCH_HINT when it is not cached)."""
        if self._dataset is None:
            try:
                full = load_mnist(allow_download=False)
            except DataError as exc:
                raise DataError(FETCH_HINT) from exc
            # Keep the 10,000 test digits only (the compute process trains on the 60,000 others).
            self._dataset = dataclasses.replace(full, x_train=full.x_train[:0].copy(), y_train=full.y_train[:0].copy())
        return self._dataset

    def count(self) -> int:
        return len(self.dataset().x_test)

    def digit(self, index: int) -> tuple[np.ndarray, int]:
        """(28×28 float32 image in [0, 1], label) of test digit `index`."""
        data = self.dataset()
        return data.x_test[index].astype(np.float32) / 255.0, int(data.y_test[index])

    def random_index(self) -> int:
        return int(self._rng.integers(self.count()))

    def misclassified(self, generation: int) -> np.ndarray | None:
        """Indices model `generation` gets wrong if already known, else None (call `find_misclassified`)."""
        return self._misclassified.get(generation)

    def random_misclassified(self, generation: int) -> int | None:
        indices = self.misclassified(generation)
        if indices is None or len(indices) == 0:
            return None
        return int(self._rng.choice(indices))

    def forget_misclassified(self) -> None:
        """Drop the known mistakes (the model changed)."""
        self._misclassified.clear()
        self._searching.clear()

    def find_misclassified(self, generation: int) -> None:
        """Ask the compute process to classify the test set; emits misclassified_ready/failed."""
        if generation in self._searching or self._client is None:
            return
        self._searching.add(generation)
        self._client.request("test_mistakes", on_reply=self._on_found, on_error=self._on_failed)

    def _on_found(self, result: dict) -> None:
        generation, indices = result["generation"], result["indices"]
        self._searching.discard(generation)
        self._misclassified[generation] = indices
        self.misclassified_ready.emit(generation, indices)

    def _on_failed(self, error: ComputeError) -> None:
        self._searching.clear()
        message = FETCH_HINT if error.error_type == "DataError" else error.message
        self.misclassified_failed.emit(f"Could not classify the test set: {message}")
