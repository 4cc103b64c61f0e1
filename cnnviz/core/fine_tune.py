"""Teach it my handwriting: fine-tune a digit model on the user's own digits mixed with MNIST (issue 21).

The mix, so the model learns the user's way of writing without forgetting everyone else's: each epoch
holds the user's digits, repeated until they are at least OWN_PER_EPOCH (100 digits: 5 times), and
MNIST_SHARE times as many MNIST training digits drawn at random once per run (6 times: 6 of every 7
digits of an epoch are MNIST's; with 3 times a made-up style was learnt as well, but MNIST lost 0.3
points instead of 0.2). Unless the user gives one, the learning rate is FINE_TUNE_LEARNING_RATE
(1e-4, a tenth of rmsprop's and adam's default), so the weights move a little, not start again. Each
epoch is tested on the 10,000 MNIST test digits, so the history shows whether MNIST is kept.

`fine_tune` reports before and after: the accuracy on the user's digits and on the MNIST test set, and
which of the user's digits changed their prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cnnviz.core.data import Dataset
from cnnviz.core.own_digits import OwnDigits

OWN_PER_EPOCH = 500
MNIST_SHARE = 6
FINE_TUNE_LEARNING_RATE = 1e-4


@dataclass(frozen=True)
class Scores:
    """Accuracy on the user's digits and on the MNIST test set at one moment."""

    own_accuracy: float
    mnist_accuracy: float


@dataclass(frozen=True)
class ChangedDigit:
    """One of the user's digits whose prediction fine-tuning changed."""

    path: str
    label: int
    before: int
    after: int


@dataclass
class FineTuneResult:
    """Before and after, the digits that changed, and how the training went (core TrainResult)."""

    before: Scores
    after: Scores
    changed: list[ChangedDigit]
    training: object
    mix: str
    own_predictions_before: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    own_predictions_after: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def to_json(self) -> dict:
        return {"before": vars(self.before), "after": vars(self.after), "mix": self.mix,
                "changed": [vars(c) for c in self.changed], "status": self.training.status,
                "epochs": len(self.training.history)}


def mix_counts(num_own: int) -> tuple[int, int]:
    """(times the user's digits are repeated, MNIST digits) in each epoch for `num_own` digits."""
    if num_own < 1:
        raise ValueError("fine-tuning needs at least one digit of your own")
    repeats = max(1, math.ceil(OWN_PER_EPOCH / num_own))
    return repeats, MNIST_SHARE * repeats * num_own


def describe_mix(num_own: int, num_mnist_available: int = 60_000) -> str:
    """The mix in words, for the command line and the app."""
    repeats, mnist = mix_counts(num_own)
    mnist = min(mnist, num_mnist_available)
    return (f"each epoch: your {num_own:,} digit(s) ×{repeats} and {mnist:,} MNIST training digits "
            f"({mnist / (mnist + repeats * num_own):.0%} MNIST)")


def fine_tune_dataset(own: OwnDigits, mnist: Dataset, seed: int | None = None) -> Dataset:
    """The training set of the mix (module docstring) as uint8 digits, tested on MNIST's test set."""
    repeats, wanted = mix_counts(own.count)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(mnist.x_train), size=min(wanted, len(mnist.x_train)), replace=False)
    images = np.concatenate([np.tile(own.as_uint8(), (repeats, 1, 1)), mnist.x_train[chosen]])
    labels = np.concatenate([np.tile(own.labels, repeats), mnist.y_train[chosen]]).astype(np.uint8)
    return Dataset(images, labels, mnist.x_test, mnist.y_test, f"{own.folder} + MNIST", mnist.name)


def scores(model, own: OwnDigits, mnist: Dataset) -> tuple[Scores, np.ndarray]:
    """(accuracies on the user's digits and the MNIST test set, the predictions for the user's digits)."""
    from cnnviz.core.confusion import predict_probabilities

    own_predictions = predict_probabilities(model, own.images).argmax(axis=1)
    mnist_predictions = predict_probabilities(model, mnist.x_test).argmax(axis=1)
    return (Scores(float(np.mean(own_predictions == own.labels)), float(np.mean(mnist_predictions == mnist.y_test))),
            own_predictions)


def trainable_copy(model):
    """A new model with `model`'s layers and weights (the original is left as it is: a cancelled
    run changes nothing)."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


def check_fine_tunable(info) -> None:
    """ValueError unless the model (its ModelInfo) is one cnnviz's training fits: a digit model with a
    softmax output and inputs in [0, 1], as every model cnnviz trains."""
    if not info.is_digit_model or info.outputs_logits or info.input_scale != 1:
        raise ValueError("fine-tuning works on digit models with 28×28 grey inputs in [0, 1] and a softmax "
                         f"output over the digits 0 to 9, as cnnviz trains them; this one is {info.describe()}")


def fine_tune(model, own: OwnDigits, mnist: Dataset, config, listener=None, control=None) -> FineTuneResult:
    """Fine-tune `model` in place on the mix (module docstring) with `config` (a TrainConfig; its
    learning rate None means FINE_TUNE_LEARNING_RATE); keeps the weights of the last finished epoch.
    ValueError for a model `check_fine_tunable` refuses."""
    import dataclasses

    from cnnviz.core.model_files import model_info
    from cnnviz.core.training import Trainer

    check_fine_tunable(model_info(model))
    if config.learning_rate is None:
        config = dataclasses.replace(config, learning_rate=FINE_TUNE_LEARNING_RATE)
    before, predicted_before = scores(model, own, mnist)
    data = fine_tune_dataset(own, mnist, config.seed)
    training = Trainer(model, data, dataclasses.replace(config, limit=None), listener=listener, control=control,
                       keep="last_epoch").run()
    after, predicted_after = scores(model, own, mnist)
    changed = [ChangedDigit(str(path), int(label), int(old), int(new))
               for path, label, old, new in zip(own.paths, own.labels, predicted_before, predicted_after) if old != new]
    return FineTuneResult(before, after, changed, training, describe_mix(own.count, len(mnist.x_train)),
                          predicted_before, predicted_after)
