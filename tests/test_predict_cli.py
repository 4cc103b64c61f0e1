"""`cnnviz predict`: the same preprocessing as the app, on image files, one line per image."""

from __future__ import annotations

import json

import numpy as np
from _png import write_png

from cnnviz.cli import main


def write_test_digits(mnist, folder, indices, dark_on_light=()):
    """PNGs of MNIST test digits enlarged ×4 (some as dark ink on white paper); returns (path, label)."""
    written = []
    for index in indices:
        pixels = np.kron(mnist.x_test[index], np.ones((4, 4), np.uint8))
        if index in dark_on_light:
            pixels = 255 - pixels
        written.append((write_png(folder / f"digit_{index}.png", pixels), int(mnist.y_test[index])))
    return written


def test_predicts_known_digits(mnist, tmp_path, capsys):
    digits = write_test_digits(mnist, tmp_path, range(6), dark_on_light=(1, 4))
    assert main(["predict", *(str(path) for path, _ in digits)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(digits)
    for line, (path, label) in zip(lines, digits):
        fields = line.split("\t")
        assert fields[0] == str(path)
        assert int(fields[1]) == label
        probabilities = [float(p) for p in fields[3].split()]
        assert len(probabilities) == 10 and abs(sum(probabilities) - 1) < 1e-3


def test_json_lines(mnist, tmp_path, capsys):
    digits = write_test_digits(mnist, tmp_path, [0, 1])
    blank = write_png(tmp_path / "blank.png", np.zeros((40, 40), np.uint8))
    assert main(["predict", "--json", str(digits[0][0]), str(blank), str(digits[1][0])]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in records] == [str(digits[0][0]), str(blank), str(digits[1][0])]
    assert records[0]["digit"] == digits[0][1] and records[2]["digit"] == digits[1][1]
    assert len(records[0]["probabilities"]) == 10
    assert records[0]["digit"] == int(np.argmax(records[0]["probabilities"]))
    assert {key: records[1][key] for key in ("path", "digit", "probabilities")} == {
        "path": str(blank), "digit": None, "probabilities": None}


def test_blank_image_says_no_digit(tmp_path, capsys):
    blank = write_png(tmp_path / "blank.png", np.full((30, 30), 255, np.uint8))
    assert main(["predict", str(blank)]) == 0
    assert capsys.readouterr().out.strip() == f"{blank}\tno digit (the image is blank)"


def test_unreadable_path_is_reported_and_the_rest_still_run(mnist, tmp_path, capsys):
    (good, label), = write_test_digits(mnist, tmp_path, [2])
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    missing = tmp_path / "missing.png"
    code = main(["predict", str(broken), str(good), str(missing)])
    captured = capsys.readouterr()
    assert code != 0
    assert captured.out.splitlines()[0].split("\t")[:2] == [str(good), str(label)]
    assert len(captured.out.splitlines()) == 1
    assert "broken.png is not a readable image" in captured.err
    assert f"No file at {missing}" in captured.err


def test_bad_model_path_is_a_one_line_error(tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path / "none.keras"), "x.png"]) == 2
    assert "No model file" in capsys.readouterr().err
