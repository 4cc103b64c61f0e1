"""Issue 15: what the bad-input sweep (scripts/bad_input_sweep.py) found after the first fixes.

`attribution/filters --scale 100000` ended in a NumPy `_ArrayMemoryError` traceback (a 2,800,000-pixel
square), `attribution --npy P --out P` wrote the map over the picture and exited 0; any MemoryError
that no check foresaw was a traceback.
"""

from __future__ import annotations

import pytest

from cnnviz.cli import main


@pytest.mark.parametrize("command", [
    ["attribution", "--test-index", "0", "--out", "a.png"],
    ["filters", "--layer", "conv2d_1", "--out", "f"],
])
@pytest.mark.parametrize("scale", ["65", "100000"])
def test_a_scale_that_asks_for_gigapixels_is_one_line(command, scale, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main([*command, "--scale", scale])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"cnnviz {command[0]}: error: argument --scale: must be at most 64, not {scale}"
    assert list(tmp_path.iterdir()) == []   # nothing written, no folder made


def test_the_largest_scale_is_still_accepted():
    from cnnviz.commands.common import scale_factor
    from cnnviz.core.export import MAX_SCALE

    assert scale_factor(str(MAX_SCALE)) == MAX_SCALE == 64 and scale_factor("1") == 1


@pytest.mark.parametrize("same", ["same.png", "./same.png"])
def test_attribution_refuses_one_file_for_the_map_and_the_picture(same, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "same.png").write_bytes(b"precious")
    assert main(["attribution", "--test-index", "0", "--out", "same.png", "--npy", same]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cnnviz attribution: --npy and --out name the same file")
    assert (tmp_path / "same.png").read_bytes() == b"precious"


def test_an_unforeseen_memory_error_is_one_line_not_a_traceback(monkeypatch, capsys):
    import numpy as np

    from cnnviz.commands import summary

    def too_big(args):
        return np.empty((2**21, 2**21), np.float32)   # NumPy's _ArrayMemoryError, as --scale 100000 raised

    monkeypatch.setattr(summary, "run", too_big)
    assert main(["summary"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cnnviz summary: out of memory: Unable to allocate")


@pytest.mark.parametrize("command", [
    ["attribution", "--test-index", "0", "--out", "{folder}"],
    ["attribution", "--test-index", "0", "--out", "a.png", "--npy", "{folder}"],
    ["compare", "--limit", "100", "--epochs", "1", "--out", "{folder}"],
])
def test_an_output_file_naming_a_folder_is_refused_before_any_work(command, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "mine.txt").write_text("precious")
    monkeypatch.chdir(tmp_path)
    assert main([word.format(folder=folder) for word in command]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"cnnviz {command[0]}: {folder} is a folder; name the file to write"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["mine.txt", "pictures"]


def test_a_one_row_bmp_is_read_in_linear_work(tmp_path, monkeypatch):
    """A 1×20,000,000 BMP (60 MB) took 74 s: Pillow joined 64 KB blocks until its decoder had the whole
    row, copying the row's bytes ~900 times. Measured without a clock: the bytes handed to the decoder."""
    import struct

    from PIL import Image

    from cnnviz.core.images import MAX_SIDE, read_pixels

    width = 2_000_000
    row = (width * 3 + 3) & ~3
    path = tmp_path / "one_row.bmp"
    path.write_bytes(struct.pack("<2sIHHI", b"BM", 54 + row, 0, 0, 54)
                     + struct.pack("<IiiHHIIiiII", 40, width, 1, 1, 24, 0, row, 2835, 2835, 0, 0) + b"\xff" * row)
    handed = []
    make_decoder = Image._getdecoder

    class Counting:
        def __init__(self, decoder):
            self._decoder = decoder

        def decode(self, data):
            handed.append(len(data))
            return self._decoder.decode(data)

        def __getattr__(self, name):
            return getattr(self._decoder, name)

    monkeypatch.setattr(Image, "_getdecoder", lambda *args: Counting(make_decoder(*args)))
    assert read_pixels(path).shape == (1, MAX_SIDE, 3)
    assert handed and sum(handed) <= 2 * row   # was ~92 blocks joined over and over: ~45 × the row


# --- what G's sweep noticed and the lead fixed (closing note of issue 15) ---------------------------
@pytest.mark.parametrize("argv, option, text", [
    (["train", "--batch-size", "abc"], "--batch-size", "must be a whole number, not 'abc'"),
    (["train", "--seed", "1.5"], "--seed", "must be a whole number, not '1.5'"),
    (["train", "--learning-rate", "fast"], "--learning-rate", "must be a number, not 'fast'"),
    (["filters", "--layer", "conv2d_1", "--out", "x", "--scale", "big"], "--scale",
     "must be a whole number, not 'big'"),
])
def test_a_word_for_a_number_is_named_in_words_not_by_a_python_function(argv, option, text, tmp_path, monkeypatch,
                                                                          capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == f"cnnviz {argv[0]}: error: argument {option}: {text}", last
    assert "_" not in last.split(": error: ")[1].replace("--batch-size", "")   # no batch_size, seed_number…


def test_a_device_or_a_dangling_link_is_not_reported_as_missing(tmp_path):
    from cnnviz.core.images import ImageFileError, read_grey

    with pytest.raises(ImageFileError, match=r"^/dev/null is not a regular file\.$"):
        read_grey("/dev/null")
    dangling = tmp_path / "gone.png"
    dangling.symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(ImageFileError, match="symbolic link to nothing readable"):
        read_grey(dangling)
    with pytest.raises(ImageFileError, match="^No file at"):
        read_grey(tmp_path / "missing.png")


def test_filters_refused_for_its_layer_leaves_no_empty_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["filters", "--layer", "dense_1", "--out", "patterns"]) == 2
    assert "dense_1 is a Dense layer" in capsys.readouterr().err
    assert not (tmp_path / "patterns").exists()
