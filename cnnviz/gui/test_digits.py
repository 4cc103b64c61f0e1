"""Digits from the MNIST test set: by index, at random, or one the current model gets wrong.

MNIST is read from the local cache only (`load_mnist(allow_download=False)`); the misclassified
digits are found with one batched pass of the model on a background thread, once per model.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.core.data import DataError, Dataset, load_mnist

FETCH_HINT = "MNIST is not on this machine: run `cnnviz data --fetch` once, then try again."
_BATCH = 1000


class TestDigits(QObject):
    """Loads the test set on first use and finds the digits a model misclassifies."""

    misclassified_ready = Signal(object, object)   # model, np.ndarray of indices
    misclassified_failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._dataset: Dataset | None = None
        self._misclassified: dict[int, np.ndarray] = {}   # id(model) -> indices
        self._searching: set[int] = set()
        self._rng = np.random.default_rng()

    def dataset(self) -> Dataset:
        """The MNIST test set (raises DataError with FETCH_HINT when it is not cached)."""
        if self._dataset is None:
            try:
                self._dataset = load_mnist(allow_download=False)
            except DataError as exc:
                raise DataError(FETCH_HINT) from exc
        return self._dataset

    def count(self) -> int:
        return len(self.dataset().x_test)

    def digit(self, index: int) -> tuple[np.ndarray, int]:
        """(28×28 float32 image in [0, 1], label) of test digit `index`."""
        data = self.dataset()
        return data.x_test[index].astype(np.float32) / 255.0, int(data.y_test[index])

    def random_index(self) -> int:
        return int(self._rng.integers(self.count()))

    def misclassified(self, model) -> np.ndarray | None:
        """Indices `model` gets wrong if already known, else None (call `find_misclassified`)."""
        return self._misclassified.get(id(model))

    def random_misclassified(self, model) -> int | None:
        indices = self.misclassified(model)
        if indices is None or len(indices) == 0:
            return None
        return int(self._rng.choice(indices))

    def forget_misclassified(self) -> None:
        """Drop the known mistakes (the model was trained further)."""
        self._misclassified.clear()

    def find_misclassified(self, model) -> None:
        """Classify the whole test set on a background thread; emits misclassified_ready/failed."""
        if id(model) in self._searching:
            return
        dataset = self.dataset()
        self._searching.add(id(model))
        threading.Thread(target=self._search, args=(model, dataset), daemon=True, name="misclassified").start()

    def _search(self, model, dataset: Dataset) -> None:
        """Runs on the worker thread: predictions in batches, then the indices that are wrong."""
        try:
            guesses = []
            for start in range(0, len(dataset.x_test), _BATCH):
                batch = dataset.x_test[start:start + _BATCH, :, :, None].astype(np.float32) / 255.0
                guesses.append(np.argmax(np.asarray(model(batch, training=False)), axis=1))
            wrong = np.flatnonzero(np.concatenate(guesses) != dataset.y_test)
        except Exception as exc:  # report any failure of the model call in the window
            self._searching.discard(id(model))
            self.misclassified_failed.emit(f"Could not classify the test set: {exc}")
            return
        self._misclassified[id(model)] = wrong
        self._searching.discard(id(model))
        self.misclassified_ready.emit(model, wrong)
