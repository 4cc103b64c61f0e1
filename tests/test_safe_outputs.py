"""Issue 25.6: outputs go only to regular files or new paths, never onto a device, FIFO or one of the
command's own inputs; every OSError from a path is one line; side files are read within limits.

The independent sweep found, as root: `attribution --out /dev/null` turned /dev/null into a PNG,
`attribution --model own.keras --out own.keras` turned the model into a PNG, `export --out /
--overwrite` ended in StopIteration, a file name over 255 bytes in `OSError: File name too long`,
NaN or deep nesting in `checkpoints.json` in a ValueError or RecursionError, a 2 GiB `--data` file
was read whole, a poisoned filter-pattern cache entry allocated what it declared.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.core.atomic import atomic_path, remove_pending_temporaries, write_bytes_atomic
from cnnviz.core.safe_paths import OutputPathError, output_file, output_folder, write_target

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import hostile_files as hostile  # noqa: E402


def one_error_line(capsys, command: str) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith(f"cnnviz {command}: "), err
    assert "Traceback" not in err[0]
    return err[0]


# --- the shared checks -------------------------------------------------------------------------------

def test_a_fifo_a_device_and_a_socket_are_never_replaced(tmp_path):
    import socket

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    for path, kind in ((fifo, "a FIFO"), (Path("/dev/null"), "a device"), (tmp_path / "sock", "a socket")):
        with pytest.raises(OutputPathError, match=f"is {kind}"):
            write_bytes_atomic(path, b"data")
    sock.close()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe", "sock"]   # no temporary left


def test_a_link_is_written_through_and_kept(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_bytes_atomic(link, b"new")
    assert link.is_symlink() and real.read_text() == "new"
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    with pytest.raises(OutputPathError, match="symbolic link to nothing"):
        write_target(tmp_path / "dangling")
    (tmp_path / "to_fifo").symlink_to("/dev/null")
    with pytest.raises(OutputPathError, match="is a device"):
        write_target(tmp_path / "to_fifo")


def test_an_output_that_is_an_input_by_any_name_is_refused(tmp_path):
    model = tmp_path / "own.keras"
    model.write_bytes(b"model")
    os.link(model, tmp_path / "hard.keras")
    (tmp_path / "soft.png").symlink_to(model)
    for name in ("own.keras", "hard.keras", "soft.png", "./sub/../own.keras"):
        with pytest.raises(OutputPathError, match="cnnviz never writes over one of its own inputs"):
            output_file(tmp_path / name, {"--model": model}, "--out")
    assert output_file(tmp_path / "new.png", {"--model": model}) == tmp_path / "new.png"
    with pytest.raises(OutputPathError, match="holds --model"):
        output_folder(tmp_path, {"--model": model})


def test_names_too_long_and_paths_below_files_are_refused(tmp_path):
    with pytest.raises(OutputPathError, match="is 304 bytes long"):
        output_file(tmp_path / ("a" * 300 + ".png"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputPathError, match="file is a file, not a folder"):
        output_file(tmp_path / "file" / "deeper" / "x.png")


def test_a_temporary_in_progress_is_removed_by_the_exit_paths(tmp_path):
    with pytest.raises(FileNotFoundError):   # (the process would be gone by now)
        with atomic_path(tmp_path / "out.bin") as tmp:
            tmp.write_bytes(b"half")
            remove_pending_temporaries()   # what Ctrl+C and SIGTERM call before os._exit
            assert not tmp.exists()
    assert list(tmp_path.iterdir()) == []


# --- through the commands ------------------------------------------------------------------------------

@pytest.mark.parametrize("flags", [["--out", "/dev/null"], ["--out", "a.png", "--npy", "/dev/null"],
                                   ["--out", "{fifo}"], ["--out", "{long}"]])
def test_attribution_refuses_devices_fifos_and_long_names_in_one_line(flags, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "fifo.png")
    words = [w.format(fifo=tmp_path / "fifo.png", long="b" * 300 + ".png") for w in flags]
    assert main(["attribution", "--test-index", "0", *words]) == 2
    line = one_error_line(capsys, "attribution")
    assert any(text in line for text in ("is a device", "is a FIFO", "bytes long")), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo.png"]


@pytest.mark.parametrize("flags", [["--model", "own.keras", "--test-index", "0", "--out", "own.keras"],
                                   ["--image", "a.png", "--out", "a.png"],
                                   ["--image", "a.png", "--out", "b.png", "--npy", "link.npy"]])
def test_attribution_never_writes_over_its_own_inputs(flags, tmp_path, monkeypatch, capsys, shipped_model_path, mnist):
    import shutil

    from PIL import Image

    monkeypatch.chdir(tmp_path)
    shutil.copy(shipped_model_path, "own.keras")
    Image.fromarray(255 - mnist.x_test[0]).save("a.png")
    Path("link.npy").symlink_to("a.png")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert main(["attribution", *flags]) == 2
    assert "cnnviz never writes over one of its own inputs" in one_error_line(capsys, "attribution")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_export_onto_the_root_is_one_line(capsys):
    assert main(["export", "--test-index", "0", "--out", "/", "--overwrite"]) == 2
    line = one_error_line(capsys, "export")
    assert "/" in line


def test_train_history_onto_a_fifo_is_refused_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    os.mkfifo("h.csv")
    assert main(["train", "--limit", "100", "--epochs", "1", "--out", "m.keras", "--history", "h.csv"]) == 2
    assert "is a FIFO" in one_error_line(capsys, "train")
    assert not Path("m.keras").exists()


def test_compare_out_onto_the_data_file_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("data.csv").write_text("precious")
    assert main(["compare", "--limit", "100", "--epochs", "1", "--data", "data.csv", "--out", "data.csv"]) == 2
    assert "cnnviz never writes over one of its own inputs" in one_error_line(capsys, "compare")
    assert Path("data.csv").read_text() == "precious"


def test_an_input_name_too_long_is_one_line(capsys):
    assert main(["predict", "c" * 300 + ".png"]) in (1, 2)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "too long" in err


@pytest.mark.parametrize("number", ["100000000000000000000", "2147483648"])
def test_a_count_too_large_for_tensorflow_is_one_line(number, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["train", "--steps-per-execution", number, "--out", "m.keras"])
    assert exited.value.code == 2
    assert "must be at most 2,147,483,647" in capsys.readouterr().err


# --- side files and caches ------------------------------------------------------------------------------

@pytest.mark.parametrize("content, fragment", [
    (hostile.nested_json(100_000), "nested 100000 levels deep"),
    (b'{"format": "cnnviz-checkpoints", "version": 1, "checkpoints": [{"position": NaN}]}', "NaN"),
    (b'{"format": "cnnviz-checkpoints", "version": 1, "checkpoints": [{"position": 1e999}]}', "too large"),
    (b'{"format": "cnnviz-checkpoints", "version": 1, "checkpoints": 3}', "no list of checkpoints"),
    (b'{"format": "cnnviz-checkpoints", "version": 1, "checkpoints": [{"file": "../x.keras"}]}', "names no checkpoint"),
])
def test_a_malformed_checkpoints_json_is_one_line(content, fragment, tmp_path, capsys):
    (tmp_path / "checkpoints.json").write_bytes(content)
    assert main(["evaluate", "--checkpoints", str(tmp_path), "--json"]) == 2
    line = one_error_line(capsys, "evaluate")
    assert "checkpoints.json is corrupt" in line and fragment in line, line


def test_a_2_gib_data_file_is_refused_before_it_is_read(tmp_path):
    from cnnviz.core.data import DataError, read_mnist_file

    path = hostile.sparse_file(tmp_path / "huge.pkl.gz", 2 * 2**30)
    with pytest.raises(DataError, match="is 2.0 GB; cnnviz reads at most 512 MB"):
        read_mnist_file(path)


def test_a_poisoned_or_corrupted_cache_entry_is_recomputed(tmp_path, monkeypatch, shipped_model):
    from cnnviz.core.filter_patterns import PatternSettings, filter_patterns, pattern_cache_path
    from cnnviz.core.model_cache import load_arrays

    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path))
    settings = PatternSettings(steps=2)
    path = pattern_cache_path(shipped_model, "conv2d_1", settings)
    fresh = filter_patterns(shipped_model, "conv2d_1", settings)
    assert load_arrays(path) is not None and np.array_equal(filter_patterns(shipped_model, "conv2d_1", settings), fresh)
    poisons = [lambda: hostile.npz_declaring(path, "patterns", (2**20, 2**20)),            # 4 TB declared
               lambda: hostile.npz_of(path, other=np.zeros(3, np.float32)),              # KeyError
               lambda: hostile.npz_of(path, patterns=np.zeros((3, 28), np.float32)),     # AxisError/IndexError
               lambda: hostile.npz_of(path, patterns=np.full(fresh.shape, np.nan, np.float32)),
               lambda: path.write_bytes(b"PK\x03\x04 not a zip")]
    for poison in poisons:
        poison()
        again = filter_patterns(shipped_model, "conv2d_1", settings)
        assert np.allclose(again, fresh, atol=1e-5)
        assert np.array_equal(load_arrays(path)["patterns"], again)   # the bad entry was replaced


def test_top_digits_are_taken_from_a_verified_cache(tmp_path, monkeypatch, shipped_model, mnist):
    from cnnviz.core import top_activations as top_module

    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path))
    images = mnist.x_test[:200]
    first = top_module.top_activations(shipped_model, images, ["conv2d_1"], scale=1 / 255)["conv2d_1"]
    monkeypatch.setattr(top_module, "channel_peaks", lambda *a, **k: pytest.fail("the cache was not used"))
    again = top_module.top_activations(shipped_model, images, ["conv2d_1"], scale=1 / 255)["conv2d_1"]
    assert np.array_equal(first.indices, again.indices)
    entry = next((tmp_path / top_module.CACHE_KIND).iterdir())
    hostile.npz_of(entry, **{"conv2d_1/indices": np.full((32, 9), 10**9),
                             "conv2d_1/values": np.zeros((32, 9), np.float32),
                             "conv2d_1/positions": np.zeros((32, 9, 2), np.int64)})
    with pytest.raises(pytest.fail.Exception, match="the cache was not used"):
        top_module.top_activations(shipped_model, images, ["conv2d_1"], scale=1 / 255)


@pytest.mark.parametrize("fault", ["truncated", "file"])
def test_cnnviz_data_says_why_in_one_line(fault, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    if fault == "truncated":
        cache.mkdir()
        (cache / "mnist.npz").write_bytes(b"PK\x03\x04" + b"\0" * 100)
        monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(cache))
    else:
        cache.write_text("a file where the cache folder should be")
        monkeypatch.delenv("CNNVIZ_CACHE_DIR", raising=False)
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no_keras"))
    assert main(["data"]) == 1
    line = one_error_line(capsys, "data")
    assert ("corrupt" in line) if fault == "truncated" else (f"{cache} is a file, not a folder" in line), line
