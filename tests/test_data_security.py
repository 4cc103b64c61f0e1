"""Data files never run code and never make cnnviz read what they merely declare (issue 15, items 2, 6, 11)."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.core import dataset_files
from cnnviz.core.data import FASHION_MNIST, MNIST, DataError, read_dataset_file


class _RunsCode:
    """Unpickling this calls os.system: it would create the marker file if anything ran it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def write_pickle(path, value):
    with gzip.open(path, "wb") as stream:
        pickle.dump(value, stream)
    return path


def mnist_like_pickle_with(payload):
    """The mnist.pkl layout, with `payload` hidden where the validation labels belong."""
    images = np.zeros((2, 784), np.float32)
    labels = np.zeros(2, np.int64)
    return ((images, labels), (images, payload), (images, labels))


@pytest.mark.parametrize("payload", ["top level", "nested"])
def test_a_malicious_pickle_runs_no_code(tmp_path, payload, capsys):
    marker = tmp_path / "pwned"
    value = _RunsCode(marker) if payload == "top level" else mnist_like_pickle_with(_RunsCode(marker))
    path = write_pickle(tmp_path / "mnist.pkl.gz", value)
    with pytest.raises(DataError, match="which is not a numpy array"):
        read_dataset_file(path, MNIST)
    assert not marker.exists()
    for command in (["data", "--data", str(path)], ["evaluate", "--data", str(path)],
                    ["train", "--data", str(path), "--out", str(tmp_path / "m.keras")]):
        assert main(command) == 2
        assert "not a numpy array" in capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "m.keras").exists()


def test_a_pickle_naming_any_other_function_is_refused(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as stream:   # builtins.eval by name, the classic payload
        stream.write(b"cbuiltins\neval\n(S'1+1'\ntR.")
    with pytest.raises(DataError, match="builtins.eval"):
        read_dataset_file(path, MNIST)


def test_array_pickles_of_every_protocol_still_read(mnist):
    """Python 2 era (the original mnist.pkl.gz), protocol 2 from Python 3 (bytes via _codecs), today's 5."""
    images = mnist.x_test[:50].reshape(50, -1).astype(np.float32) / 256
    labels = mnist.y_test[:50].astype(np.int64)
    triple = ((images, labels), (images[:5], labels[:5]), (images, labels))
    for protocol in (0, 2, 5):
        value = dataset_files.load_arrays_pickle(gzip.compress(pickle.dumps(triple, protocol=protocol)))
        arrays = dataset_files.mnist_pickle_arrays(value)
        np.testing.assert_array_equal(arrays["x_test"], mnist.x_test[:50])
        np.testing.assert_array_equal(arrays["y_train"], np.concatenate([labels, labels[:5]]))


def test_a_pickle_asking_for_another_codec_is_refused():
    raw = b"\x80\x02c_codecs\nencode\nq\x00X\x02\x00\x00\x00abq\x01X\x05\x00\x00\x00rot13q\x02\x86q\x03Rq\x04."
    with pytest.raises(dataset_files.DatasetFileError, match="'rot13' codec"):
        dataset_files.load_arrays_pickle(gzip.compress(raw))


def test_a_pickle_of_the_wrong_structure_gets_a_clear_message(tmp_path):
    path = write_pickle(tmp_path / "mnist.pkl.gz", (np.zeros(3), np.zeros(3)))
    with pytest.raises(DataError, match="does not have the mnist.pkl layout"):
        read_dataset_file(path, MNIST)


def test_object_arrays_are_refused(tmp_path):
    path = write_pickle(tmp_path / "mnist.pkl.gz", mnist_like_pickle_with(np.array([1, "x"], dtype=object)))
    with pytest.raises(DataError, match="not a numpy array|Python objects"):
        read_dataset_file(path, MNIST)
    npz = tmp_path / "objects.npz"
    np.savez(npz, x_train=np.array([None], dtype=object), y_train=np.zeros(1), x_test=np.zeros(1), y_test=np.zeros(1))
    with pytest.raises(DataError, match="x_train is object"):
        read_dataset_file(npz, MNIST)


def test_a_pickle_bomb_is_refused_before_it_is_unpacked(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset_files, "MAX_PICKLE_BYTES", 1000)
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(b"\0" * 5000))
    with pytest.raises(DataError, match="unpacks to more than"):
        read_dataset_file(path, MNIST)


def npz_declaring(path, shape, data_bytes=b""):
    """An .npz whose x_train.npy header declares `shape` (uint8) but holds only `data_bytes`."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", header.getvalue() + data_bytes)
        for key, size in (("y_train", 60_000), ("x_test", 10_000), ("y_test", 10_000)):
            buffer = io.BytesIO()
            np.save(buffer, np.zeros((size, 28, 28) if key == "x_test" else size, np.uint8))
            archive.writestr(f"{key}.npy", buffer.getvalue())
    return path


def test_an_npz_declaring_gigabytes_is_refused_from_its_header(tmp_path, monkeypatch):
    path = npz_declaring(tmp_path / "huge.npz", (4_000_000, 28, 28))   # 3 GB declared, a few bytes stored

    def never(*args, **kwargs):
        raise AssertionError("the arrays were loaded before their headers were checked")

    monkeypatch.setattr(dataset_files.np, "load", never)
    with pytest.raises(DataError, match=r"x_train is uint8\[4000000, 28, 28\], expected uint8\[60000, 28, 28\]"):
        read_dataset_file(path, MNIST)


def test_an_npz_with_a_right_header_but_missing_data_is_refused(tmp_path):
    path = npz_declaring(tmp_path / "short.npz", (60_000, 28, 28), b"\0" * 100)
    with pytest.raises(DataError, match="corrupt"):
        read_dataset_file(path, MNIST)


def test_an_idx_file_declaring_more_than_expected_is_refused(tmp_path):
    for key, name in dataset_files.IDX_NAMES.items():
        dims = (10**8, 28, 28) if key == "x_train" else ((60_000,) if key == "y_train" else (10_000,))
        head = bytes([0, 0, 8, len(dims)]) + np.array(dims, ">u4").tobytes()
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(head))
    with pytest.raises(DataError, match=r"holds \[100000000, 28, 28\], expected \[60000, 28, 28\]"):
        read_dataset_file(tmp_path, FASHION_MNIST)
