"""The confusion matrix of a model on a labelled set of images, and the digits behind each cell.

One batched pass gives every digit's class probabilities; everything else (matrix, accuracies,
the gallery of a cell sorted most confident first) is numpy on those probabilities and the labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

PREDICT_BATCH_SIZE = 1000
# Keras's categorical cross-entropy clips probabilities to [eps, 1 - eps] with this epsilon.
LOG_LOSS_EPSILON = 1e-7

Progress = Callable[[int, int], None]  # (images done, images in all); raise in it to cancel


@dataclass
class CellDigits:
    """The digits of one confusion cell, most confident first."""

    true_class: int
    predicted_class: int
    indices: np.ndarray  # (K,) int: positions in the evaluated set
    confidences: np.ndarray  # (K,) float32: probability of the predicted class
    true_probabilities: np.ndarray  # (K,) float32: probability the model gave the true class


@dataclass
class ConfusionResult:
    """A model's predictions on a labelled set: matrix rows are true classes, columns predictions."""

    matrix: np.ndarray  # (C, C) int64
    labels: np.ndarray  # (N,) int64 true classes
    probabilities: np.ndarray  # (N, C) float32

    @property
    def num_classes(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def num_images(self) -> int:
        return int(self.labels.shape[0])

    @property
    def predictions(self) -> np.ndarray:
        """(N,) the predicted class of every image."""
        return self.probabilities.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        """Right answers / images: the matrix's trace over its sum."""
        return float(np.trace(self.matrix) / max(self.num_images, 1))

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """(C,) float: the share of each true class predicted right; NaN for a class with no images."""
        totals = self.matrix.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, np.diag(self.matrix) / np.maximum(totals, 1), np.nan)

    @property
    def log_loss(self) -> float:
        """Mean categorical cross-entropy, as Keras computes it from probabilities."""
        true_probabilities = self.probabilities[np.arange(self.num_images), self.labels]
        return float(-np.mean(np.log(np.clip(true_probabilities, LOG_LOSS_EPSILON, 1.0))))

    @property
    def mistakes(self) -> int:
        return self.num_images - int(np.trace(self.matrix))

    def cell(self, true_class: int, predicted_class: int, least_confident_first: bool = False) -> CellDigits:
        """The images of cell (true, predicted), most confident first (ties: lower index first).

        For an off-diagonal cell that is the most confident mistakes first; pass
        `least_confident_first=True` for the shakiest right answers of a diagonal cell.
        """
        for name, value in (("true class", true_class), ("predicted class", predicted_class)):
            if not 0 <= value < self.num_classes:
                raise ValueError(f"{name} {value} is outside 0..{self.num_classes - 1}")
        indices = np.flatnonzero((self.labels == true_class) & (self.predictions == predicted_class))
        confidences = self.probabilities[indices, predicted_class]
        order = np.argsort(confidences if least_confident_first else -confidences, kind="stable")
        indices = indices[order]
        return CellDigits(true_class, predicted_class, indices, self.probabilities[indices, predicted_class],
                          self.probabilities[indices, true_class])

    def to_json(self) -> dict:
        """Plain JSON types: `confusion` (rows true class), `accuracy`, `per_class_accuracy` (null: no images)."""
        return {
            "confusion": self.matrix.tolist(),
            "accuracy": self.accuracy,
            "per_class_accuracy": [None if np.isnan(v) else float(v) for v in self.per_class_accuracy],
            "num_images": self.num_images,
            "mistakes": self.mistakes,
            "loss": self.log_loss,
        }


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts: row = true class, column = predicted class."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.shape[0]} labels but {predictions.shape[0]} predictions")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}")
    flat = np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def confusion_from_probabilities(probabilities: np.ndarray, labels: np.ndarray) -> ConfusionResult:
    """The result for (N, C) class probabilities and (N,) true labels (no model involved)."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.shape[0]:
        raise ValueError(f"need (N, C) probabilities for N labels, got {probabilities.shape} for {labels.shape}")
    matrix = confusion_matrix(labels, probabilities.argmax(axis=1), probabilities.shape[1])
    return ConfusionResult(matrix, labels, probabilities)


def model_input(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W) or (N, H, W, C) -> float32 in [0, 1] with a channel axis, as in training."""
    images = np.asarray(images)
    batch = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    return batch[..., np.newaxis] if batch.ndim == 3 else batch


def predict_probabilities(model, images: np.ndarray, batch_size: int = PREDICT_BATCH_SIZE,
                          progress: Progress | None = None, outputs_logits: bool | None = None) -> np.ndarray:
    """(N, C) float32 class probabilities of `images` (uint8 digits), in batches of `batch_size`.

    `progress(done, total)` is called after every batch. Models whose last layer gives logits
    (`outputs_logits`; None: no softmax activation on the last layer) get a softmax applied.
    """
    batch = model_input(images)
    total = len(batch)
    chunks = []
    for start in range(0, total, batch_size):
        chunks.append(np.asarray(model.predict_on_batch(batch[start:start + batch_size]), dtype=np.float32))
        if progress is not None:
            progress(min(start + batch_size, total), total)
    outputs = np.concatenate(chunks) if chunks else np.zeros((0, model.outputs[0].shape[-1]), np.float32)
    if outputs_logits is None:
        outputs_logits = last_layer_gives_logits(model)
    return softmax(outputs) if outputs_logits else outputs


def last_layer_gives_logits(model) -> bool:
    """True when the model's last layer has no activation (a linear head), so it outputs logits."""
    layer = model.layers[-1]
    if type(layer).__name__ == "Softmax":
        return False
    return layer.get_config().get("activation") in (None, "linear")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (shifted / shifted.sum(axis=-1, keepdims=True)).astype(np.float32)


def compute_confusion(model, images: np.ndarray, labels: np.ndarray, batch_size: int = PREDICT_BATCH_SIZE,
                      progress: Progress | None = None, outputs_logits: bool | None = None) -> ConfusionResult:
    """One batched pass of `model` over `images`, then the confusion result against `labels`."""
    probabilities = predict_probabilities(model, images, batch_size, progress, outputs_logits)
    return confusion_from_probabilities(probabilities, labels)


def format_confusion_table(result: ConfusionResult, class_names: list[str] | None = None) -> str:
    """The matrix as text: one row per true class with its count and accuracy, then the overall accuracy."""
    names = class_names or [str(c) for c in range(result.num_classes)]
    label_width = max(len("true \\ predicted"), *(len(n) for n in names))
    cell_width = max(5, len(str(int(result.matrix.max(initial=0)))) + 1, *(len(n) + 1 for n in names))
    header = "true \\ predicted".ljust(label_width) + "".join(n.rjust(cell_width) for n in names)
    header += "   total  accuracy"
    lines = [header, "-" * len(header)]
    totals = result.matrix.sum(axis=1)
    for name, row, total, accuracy in zip(names, result.matrix, totals, result.per_class_accuracy):
        shown = "n/a".rjust(9) if np.isnan(accuracy) else f"{accuracy:9.4f}"
        lines.append(name.ljust(label_width) + "".join(f"{int(v):>{cell_width}}" for v in row)
                     + f"{int(total):>8} {shown}")
    lines.append("-" * len(header))
    lines.append(f"Accuracy {result.accuracy:.4f}: {int(np.trace(result.matrix)):,} of {result.num_images:,} right, "
                 f"{result.mistakes:,} mistakes.")
    return "\n".join(lines)
