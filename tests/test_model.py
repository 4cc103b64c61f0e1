"""The seed convnet: shapes, parameter count, compilation, loading and saving."""

import numpy as np
import pytest

from cnnviz.core.model import (ModelFileError, format_layer_table, layer_table, load_model,
                               save_model)

EXPECTED_SHAPES = [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)]
EXPECTED_PARAMS = [320, 0, 18_496, 0, 36_928, 0, 36_928, 650]


def test_seed_model_has_the_notes_shapes_and_93322_parameters(fresh_model):
    rows = layer_table(fresh_model)
    assert [r.output_shape for r in rows] == EXPECTED_SHAPES
    assert [r.num_params for r in rows] == EXPECTED_PARAMS
    assert [r.kind for r in rows] == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D",
                                      "Flatten", "Dense", "Dense"]
    assert fresh_model.count_params() == 93_322


def test_seed_model_is_compiled_as_in_the_notes(fresh_model):
    assert type(fresh_model.optimizer).__name__ == "RMSprop"
    assert fresh_model.loss == "categorical_crossentropy"
    probabilities = fresh_model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_layer_table_text_ends_with_the_total(fresh_model):
    text = format_layer_table(fresh_model)
    assert "conv2d_1" in text and "26 × 26 × 32" in text
    assert text.splitlines()[-1] == "Total params: 93,322"


def test_save_then_load_gives_the_same_predictions(fresh_model, tmp_path):
    path = save_model(fresh_model, tmp_path / "sub" / "m.keras")
    loaded = load_model(path)
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), fresh_model.predict(x, verbose=0), atol=1e-6)
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["m.keras"]  # no temporary left


def test_failed_save_leaves_the_existing_file_untouched(fresh_model, tmp_path, monkeypatch):
    target = tmp_path / "m.keras"
    target.write_bytes(b"previous model")

    def broken_save(path, *args, **kwargs):
        open(path, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(fresh_model, "save", broken_save)
    with pytest.raises(OSError):
        save_model(fresh_model, target)
    assert target.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]


@pytest.mark.parametrize("content, message", [
    (b"not a zip at all", "corrupt or truncated"),
    (None, "Could not load"),  # a truncated real model
])
def test_corrupt_model_files_raise_a_readable_error(fresh_model, tmp_path, content, message):
    path = tmp_path / "bad.keras"
    if content is None:
        save_model(fresh_model, path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        message = "corrupt or truncated"  # a cut zip loses its directory
    else:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_missing_and_wrong_suffix_model_files(tmp_path):
    with pytest.raises(ModelFileError, match="No model file"):
        load_model(tmp_path / "absent.keras")
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(ModelFileError, match="m.h5 is corrupt or truncated: it is not an HDF5 file"):
        load_model(tmp_path / "m.h5")
    (tmp_path / "m.txt").write_bytes(b"x")
    with pytest.raises(ModelFileError, match="not a Keras model file"):
        load_model(tmp_path / "m.txt")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_model(tmp_path)


def test_other_image_classifiers_open_and_non_classifiers_are_refused(tmp_path):
    import keras

    other = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(5)])
    other.save(tmp_path / "other.keras")
    assert load_model(tmp_path / "other.keras").outputs[0].shape[1:] == (5,)
    maps = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(2, 3)])   # no class vector
    maps.save(tmp_path / "maps.keras")
    with pytest.raises(ModelFileError, match=r"gives outputs of shape \(30, 30, 2\)"):
        load_model(tmp_path / "maps.keras")


def test_a_weights_only_h5_file_is_refused(fresh_model, tmp_path):
    path = tmp_path / "only.weights.h5"
    fresh_model.save_weights(path)
    with pytest.raises(ModelFileError, match="holds weights only"):
        load_model(path)


def test_the_seed_model_round_trips_through_legacy_h5(fresh_model, tmp_path):
    path = tmp_path / "seed.h5"
    fresh_model.save(path)
    loaded = load_model(path)
    x = np.random.default_rng(1).random((2, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), fresh_model.predict(x, verbose=0), atol=1e-6)


def test_shipped_model_reaches_the_notes_accuracy_on_a_test_slice(shipped_model, mnist):
    x = mnist.x_test[:2000].astype(np.float32)[..., None] / 255
    predicted = shipped_model.predict(x, verbose=0).argmax(axis=1)
    assert (predicted == mnist.y_test[:2000]).mean() >= 0.985
