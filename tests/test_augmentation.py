"""Augmentation and dropout in training (issue 21): active while training only, never in the model's answers."""

from __future__ import annotations

import numpy as np
import pytest

from cnnviz.core.data import Dataset
from cnnviz.core.training import TrainConfig, TrainConfigError, make_datasets


@pytest.fixture(scope="module")
def tiny(mnist):
    return Dataset(mnist.x_train[:256], mnist.y_train[:256], mnist.x_test[:200], mnist.y_test[:200], "tiny")


def batches(pipeline) -> tuple[np.ndarray, np.ndarray]:
    images, labels = zip(*((np.asarray(x), np.asarray(y)) for x, y in pipeline))
    return np.concatenate(images), np.concatenate(labels)


def test_training_batches_are_moved_and_test_batches_are_not(tiny):
    plain_train, plain_test = make_datasets(tiny, 64, seed=5)
    moved_train, moved_test = make_datasets(tiny, 64, seed=5, augment=True)
    plain_images, plain_labels = batches(plain_train)
    moved_images, moved_labels = batches(moved_train)
    np.testing.assert_array_equal(moved_labels, plain_labels)          # the same digits in the same order
    changed = np.abs(moved_images - plain_images).reshape(len(plain_images), -1).max(axis=1) > 0.05
    assert changed.mean() > 0.9                                        # nearly every digit moved, turned or zoomed
    assert moved_images.min() >= 0.0 and moved_images.max() <= 1.0 + 1e-6
    # the background stays black: no reflected ink at the borders (fill_mode "constant", 0)
    assert np.abs(moved_images[:, 0, :, 0]).mean() < 0.01
    np.testing.assert_array_equal(batches(moved_test)[0], batches(plain_test)[0])
    np.testing.assert_allclose(batches(plain_test)[0][..., 0], tiny.x_test / 255.0, atol=1e-6)


def test_each_epoch_sees_each_digit_moved_anew(tiny):
    train, _ = make_datasets(tiny, 64, seed=5, augment=True)
    first, _ = batches(train)
    second, _ = batches(train)   # a new pass: a new shuffle and new draws
    assert not np.allclose(np.sort(first.reshape(len(first), -1).sum(axis=1)),
                           np.sort(second.reshape(len(second), -1).sum(axis=1)))


def test_the_layers_change_nothing_outside_training(digit_seven):
    from cnnviz.core.augmentation import augmentation_layers

    layers = augmentation_layers(seed=3)
    batch = np.repeat(digit_seven[None, :, :, None], 4, axis=0)
    np.testing.assert_array_equal(np.asarray(layers(batch, training=False)), batch)
    assert not np.allclose(np.asarray(layers(batch, training=True)), batch)


def test_a_model_trained_with_augmentation_has_the_seed_layers_and_learns(tiny):
    import keras

    from cnnviz.core.architectures import architecture_specs
    from cnnviz.core.model import build_seed_model
    from cnnviz.core.network import layer_specs
    from cnnviz.core.training import Trainer

    keras.utils.set_random_seed(2)
    model = build_seed_model()
    result = Trainer(model, tiny, TrainConfig(epochs=2, seed=2, augment=True)).run()
    assert result.status == "finished" and len(result.history) == 2
    assert [s.kind for s in layer_specs(model)] == [s.kind for s in architecture_specs("seed")]
    assert result.history[-1].test_accuracy > 0.3   # 10 classes: chance is 0.1


def test_dropout_sits_before_the_dense_layers_and_acts_in_training_only(digit_seven):
    import keras

    from cnnviz.core.model import build_seed_model

    keras.utils.set_random_seed(4)
    model = build_seed_model(dropout=0.5)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[kinds.index("Flatten") + 1] == "Dropout"
    assert model.get_layer("dropout_1").rate == 0.5
    plain = build_seed_model()
    plain.set_weights(model.get_weights())   # Dropout has no weights: the same network
    image = digit_seven[None, :, :, None]
    np.testing.assert_allclose(np.asarray(model(image, training=False)), np.asarray(plain(image, training=False)),
                               atol=1e-6)
    dense_in = keras.Model(model.inputs, model.get_layer("dropout_1").output)
    dropped = np.asarray(dense_in([image], training=True))
    kept = np.asarray(dense_in([image], training=False))
    active = kept > 0
    assert 0.3 < np.mean(dropped[active] == 0) < 0.7                      # about half the units dropped
    np.testing.assert_allclose(dropped[dropped > 0], 2 * kept[dropped > 0], rtol=1e-5)   # the rest scaled by 2


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rate_out_of_range_is_refused(rate):
    with pytest.raises(TrainConfigError, match="dropout"):
        TrainConfig(dropout=rate)


def test_train_command_with_augment_and_dropout(tmp_path, capsys):
    from cnnviz.cli import main
    from cnnviz.core.model import load_model

    out = tmp_path / "net.keras"
    assert main(["train", "--augment", "--dropout", "0.25", "--limit", "256", "--epochs", "1", "--seed", "1",
                 "--out", str(out)]) == 0
    assert "augmented, dropout 0.25" in capsys.readouterr().err
    assert load_model(out).get_layer("dropout_1").rate == 0.25


@pytest.mark.parametrize("value", ["1", "-0.5", "half"])
def test_train_command_refuses_a_bad_dropout(value, tmp_path, capsys):
    from cnnviz.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["train", "--dropout", value, "--out", str(tmp_path / "n.keras")])
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("cnnviz train: error: argument --dropout:") and "Traceback" not in "".join(error)


def test_compare_passes_augment_and_dropout_through(tmp_path, capsys):
    from cnnviz.cli import main
    from cnnviz.core.model import load_model

    assert main(["compare", "--architectures", "strided", "--augment", "--dropout", "0.3", "--epochs", "1",
                 "--limit", "128", "--out", str(tmp_path / "t.csv"), "--models", str(tmp_path)]) == 0
    assert load_model(tmp_path / "strided.keras").get_layer("dropout_1").rate == 0.3
