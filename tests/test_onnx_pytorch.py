"""The shipped PyTorch model (`resources/pytorch_lenet.onnx`, made by `scripts/make_pytorch_lenet.py` with
`torch.onnx.export`): converted layer by layer as onnxruntime computes it, described by `cnnviz summary
--json` with the keys of a Keras model and its receptive fields, and usable by every command."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from _onnx_graphs import every_node_output
from cnnviz.cli import main
from cnnviz.core.paths import resources_dir

LENET = resources_dir() / "pytorch_lenet.onnx"
PICTURE = resources_dir() / "example_seven.png"


@pytest.fixture(scope="module")
def lenet():
    from cnnviz.core.onnx_import import convert_onnx_file

    return convert_onnx_file(LENET)


def test_every_layer_equals_onnxruntime_on_digits_and_noise(lenet, mnist):
    import keras

    from cnnviz.core.onnx_import import as_keras_layout

    digits = mnist.x_test[:6].astype(np.float32)[:, None, None] / 255
    noise = np.random.default_rng(2).random((2, 1, 1, 28, 28), dtype=np.float32)
    model = lenet.model
    proto = onnx.load(LENET)
    for batch in [*noise, *digits]:   # one at a time: torch.onnx.export fixed the batch at 1 (Reshape to [1, 400])
        reference = every_node_output(proto, batch)
        for layer in model.layers[1:]:
            origin = lenet.origins[layer.name]
            got = np.asarray(keras.Model(model.inputs[0], layer.output)(batch.transpose(0, 2, 3, 1)))
            want = as_keras_layout(reference[origin.output], origin)
            assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max(), layer.name


def test_the_layers_are_the_exported_nodes(lenet):
    proto = onnx.load(LENET)
    assert [layer.name for layer in lenet.model.layers[1:]] == [n.name for n in proto.graph.node]
    kinds = [type(layer).__name__ for layer in lenet.model.layers[1:]]
    assert kinds == ["Conv2D", "ReLU", "MaxPooling2D", "Conv2D", "ReLU", "MaxPooling2D", "Flatten", "Dense", "ReLU",
                     "Dense", "ReLU", "Dense"]


def test_summary_json_has_the_keys_of_a_keras_model_and_the_receptive_fields(capsys):
    assert main(["summary", "--json"]) == 0
    keras_rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["summary", "--json", "--model", str(LENET)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(set(row) == set(keras_rows[0]) for row in rows)
    proto = onnx.load(LENET)
    assert [row["name"] for row in rows] == [n.name for n in proto.graph.node]
    # conv 5×5 "same" → 5; pool 2 → 6, jump 2; conv 5×5 → 6 + 4·2 = 14; pool 2 → 16, jump 4; then all
    assert [row["receptive_field"] for row in rows] == [5, 5, 6, 14, 14, 16] + [None] * 6
    assert [row["jump"] for row in rows[:6]] == [1, 1, 2, 2, 2, 4]
    assert rows[0]["offset"] == [-2, -2] and rows[0]["output_shape"] == [28, 28, 6] and rows[0]["params"] == 156
    assert rows[6]["type"] == "Flatten" and rows[6]["output_shape"] == [400]
    assert sum(row["params"] for row in rows) == 61_706   # PyTorch's count: 156 + 2416 + 48120 + 10164 + 850


def test_predict_and_evaluate_agree_with_onnxruntime(mnist, capsys):
    import onnxruntime

    assert main(["predict", "--json", str(PICTURE), "--model", str(LENET)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["digit"] == 7 and record["probabilities"][7] > 0.9

    assert main(["evaluate", "--model", str(LENET)]) == 0
    out = capsys.readouterr().out
    right = int(out.split("(")[1].split(" right")[0].replace(",", ""))
    session = onnxruntime.InferenceSession(str(LENET), providers=["CPUExecutionProvider"])
    images = mnist.x_test.astype(np.float32)[:, None, None] / 255
    predicted = np.array([session.run(None, {"image": image})[0].argmax() for image in images])
    by_onnxruntime = int((predicted == mnist.y_test).sum())
    assert abs(right - by_onnxruntime) <= 2, (right, by_onnxruntime)
    assert right >= 9_800


def test_explanations_work_on_it(tmp_path, capsys):
    assert main(["unit", "--image", str(PICTURE), "--model", str(LENET), "--layer", "node_conv2d_1", "--channel",
                 "3", "--y", "4", "--x", "4", "--json"]) == 0
    unit = json.loads(capsys.readouterr().out)
    assert unit["layer"] == "node_conv2d_1"
    assert main(["attribution", "--image", str(PICTURE), "--model", str(LENET), "--out", str(tmp_path / "cam.png"),
                 "--npy", str(tmp_path / "cam.npy")]) == 0
    capsys.readouterr()
    assert np.load(tmp_path / "cam.npy").shape == (10, 10)   # the last convolution's maps: node_conv2d_1
