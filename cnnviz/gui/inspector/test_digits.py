"""Images from the test set of the model's dataset (MNIST, or Fashion-MNIST for a Fashion-MNIST
model): by index, at random, or one the current model gets wrong.

The dataset is read from the local sources only (`load_dataset(name, allow_download=False)`), in
this process for showing images; the misclassified ones are found by the compute process
("test_mistakes", one batched pass of the model), once per model generation.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.data import DataError, Dataset, dataset_spec, load_dataset

FETCH_HINT = "MNIST is not on this machine: run `cnnviz data --fetch` once, then try again."


def fetch_hint(name: str) -> str:
    """What to do when dataset `name` is not on this machine."""
    if name == "mnist":
        return FETCH_HINT
    spec = dataset_spec(name)
    return (f"{spec.title} is not on this machine: install the `dataset-{name}` package (Debian/Ubuntu) or run "
            f"`cnnviz data --dataset {name} --fetch` once, then try again.")


class TestDigits(QObject):
    """Loads the test set on first use and asks the compute process which digits a model misclassifies."""

    misclassified_ready = Signal(int, object)   # model generation, np.ndarray of indices
    misclassified_failed = Signal(str)

    def __init__(self, client=None, parent: QObject | None = None):
        super().__init__(parent)
        self._client = client
        self._name = "mnist"
        self._datasets: dict[str, Dataset] = {}
        self._misclassified: dict[int, np.ndarray] = {}   # model generation -> indices
        self._searching: set[int] = set()
        self._rng = np.random.default_rng()

    def set_client(self, client) -> None:
        self._client = client
        self.forget_misclassified()

    def set_dataset(self, name: str) -> None:
        """Show images of dataset `name` ("mnist", "fashion-mnist") from now on."""
        dataset_spec(name)   # DataError for an unknown name
        if name != self._name:
            self._name = name
            self.forget_misclassified()

    def dataset_name(self) -> str:
        return self._name

    def title(self) -> str:
        """The dataset's name for people: "MNIST", "Fashion-MNIST"."""
        return dataset_spec(self._name).title

    def item(self) -> str:
        """What one image shows: "digit" (MNIST), "image" (Fashion-MNIST)."""
        return dataset_spec(self._name).item

    def class_name(self, label: int) -> str:
        """The name of class `label` ("7", "Ankle boot")."""
        return dataset_spec(self._name).class_names[label]

    def describe(self, index: int, separator: str = ",") -> str:
        """E.g. "MNIST test digit #3, labelled 0" or "Fashion-MNIST test image #0, labelled Ankle boot"."""
        label = int(self.dataset().y_test[index])
        return f"{self.title()} test {self.item()} #{index}{separator} labelled {self.class_name(label)}"

    def dataset(self) -> Dataset:
        """The test set (raises DataError with what to do when the dataset is not on this machine)."""
        if self._name not in self._datasets:
            try:
                full = load_dataset(self._name, allow_download=False)
            except DataError as exc:
                raise DataError(fetch_hint(self._name)) from exc
            # Keep the 10,000 test images only (the compute process trains on the 60,000 others).
            self._datasets[self._name] = dataclasses.replace(full, x_train=full.x_train[:0].copy(),
                                                             y_train=full.y_train[:0].copy())
        return self._datasets[self._name]

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
        self._client.request("test_mistakes", {"dataset": self._name}, on_reply=self._on_found,
                             on_error=self._on_failed)

    def _on_found(self, result: dict) -> None:
        generation, indices = result["generation"], result["indices"]
        self._searching.discard(generation)
        self._misclassified[generation] = indices
        self.misclassified_ready.emit(generation, indices)

    def _on_failed(self, error: ComputeError) -> None:
        self._searching.clear()
        message = fetch_hint(self._name) if error.error_type == "DataError" else error.message
        self.misclassified_failed.emit(f"Could not classify the test set: {message}")
