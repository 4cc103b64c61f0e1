"""`cnnviz summary`: receptive field and jump columns, and one JSON object per layer with --json."""

from __future__ import annotations

import json

from cnnviz.cli import main


def summary_json(capsys, *args):
    assert main(["summary", "--json", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_shipped_model_json(capsys):
    rows = summary_json(capsys)
    assert [row["name"] for row in rows] == ["conv2d_1", "max_pooling2d_1", "conv2d_2", "max_pooling2d_2",
                                             "conv2d_3", "flatten_1", "dense_1", "dense_2"]
    assert [row["receptive_field"] for row in rows] == [3, 4, 8, 10, 18, None, None, None]
    assert [row["jump"] for row in rows] == [1, 2, 2, 4, 4, None, None, None]
    assert rows[2]["type"] == "Conv2D" and rows[2]["output_shape"] == [11, 11, 64] and rows[2]["params"] == 18_496
    assert sum(row["params"] for row in rows) == 93_322


def test_text_table_has_the_two_columns(capsys):
    assert main(["summary"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("Layer"))
    assert "Receptive field" in header and header.rstrip().endswith("Jump")
    conv2d_3 = next(line for line in lines if line.startswith("conv2d_3")).split()
    assert conv2d_3[-2:] == ["18×18", "4"]
    dense = next(line for line in lines if line.startswith("dense_1")).split()
    assert dense[-2:] == ["all", "—"]
    assert lines[-1] == "Total params: 93,322"


def test_strided_and_same_padded_variants(capsys):
    # strided: 3 → 3 + 2·2 = 7 → 7 + 2·4 = 15, jumps 2, 4, 4
    strided = summary_json(capsys, "--architecture", "strided")
    assert [(r["receptive_field"], r["jump"]) for r in strided[:3]] == [(3, 2), (7, 4), (15, 4)]
    # "same" padding keeps sizes and jumps; only the offsets move (half a kernel before the map)
    same = summary_json(capsys, "--architecture", "same-padding")
    assert [r["receptive_field"] for r in same[:5]] == [3, 4, 8, 10, 18]
    assert same[0]["offset"] == [-1, -1] and same[4]["offset"] == [-7, -7]
