"""ONNX files that cnnviz refuses, each with one line and exit 2 from the command line: an operator it does
not convert (named, with its node), truncated or foreign files, external data that leads out of the
model's folder (never opened), tensors that declare more than the file holds or than memory allows
(refused before numpy allocates them), absurd input shapes."""

from __future__ import annotations

import builtins
import os
import tracemalloc

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from _onnx_graphs import graph_model, node, weights
from cnnviz.cli import main
from cnnviz.core.model_files import ModelFileError, open_model


def small_classifier(input_shape=(1, 1, 16, 16), extra_nodes=(), extra_constants=None, last="f"):
    """Conv → Relu → (extra nodes) → Flatten → Gemm: a valid model to break in one place."""
    channels = input_shape[1]
    nodes = [node("Conv", ["image", "w1"], "c1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]), node("Relu", ["c1"], "r1"),
             *extra_nodes, node("Flatten", [last if extra_nodes else "r1"], "f2"),
             node("Gemm", ["f2", "w2"], "logits", transB=1)]
    side = input_shape[2] * input_shape[3]
    constants = {"w1": weights((2, channels, 3, 3), 1), "w2": weights((3, 2 * side), 2), **(extra_constants or {})}
    return graph_model(nodes, input_shape, "logits", constants)


def refused_by_cli(path, capsys) -> str:
    """`cnnviz summary --model path` exits 2 with one line on stderr; returns it."""
    assert main(["summary", "--model", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_an_unsupported_operator_is_named_with_its_node(tmp_path, capsys):
    model = small_classifier(extra_nodes=[node("LRN", ["r1"], "n1", name="/features/norm1/LRN", size=3)], last="n1")
    path = tmp_path / "lrn.onnx"
    onnx.save(model, path)
    err = refused_by_cli(path, capsys)
    assert "node /features/norm1/LRN uses the ONNX operator LRN, which cnnviz cannot convert" in err
    assert main(["predict", str(tmp_path / "none.png"), "--model", str(path)]) == 2   # every command's --model
    assert "LRN" in capsys.readouterr().err


def test_operators_of_other_domains_are_refused(tmp_path, capsys):
    custom = helper.make_node("Swish", ["r1"], ["s1"], name="swish", domain="com.example")
    model = small_classifier(extra_nodes=[custom], last="s1")
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    path = tmp_path / "custom.onnx"
    onnx.save(model, path)
    assert "node swish uses the ONNX operator com.example.Swish" in refused_by_cli(path, capsys)


@pytest.mark.parametrize("cut", [0.5, 0.97])
def test_truncated_files_are_refused(tmp_path, capsys, cut):
    data = small_classifier().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: int(len(data) * cut)])
    err = refused_by_cli(path, capsys)
    assert "cut.onnx" in err and ("corrupt or truncated" in err or "holds" in err or "no graph" in err), err


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n" + bytes(200), b"not an onnx file at all\n" * 10])
def test_foreign_files_are_refused(tmp_path, capsys, content):
    path = tmp_path / "foreign.onnx"
    path.write_bytes(content)
    assert "foreign.onnx" in refused_by_cli(path, capsys)


def external_model(folder, location: str):
    """A valid classifier whose first weight lives in external data at `location` (as written)."""
    model = small_classifier()
    weight = next(t for t in model.graph.initializer if t.name == "w1")
    data = numpy_helper.to_array(weight).tobytes()
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(len(data)))):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    path = folder / "net.onnx"
    onnx.save(model, path)
    return path, data


@pytest.mark.parametrize("where", ["parent", "absolute", "symlink"])
def test_external_data_outside_the_folder_is_never_opened(tmp_path, monkeypatch, where):
    folder = tmp_path / "model"
    folder.mkdir()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(bytes(range(256)) * 4)
    location = {"parent": "../secret.bin", "absolute": str(secret), "symlink": "link.bin"}[where]
    if where == "symlink":
        (folder / "link.bin").symlink_to(secret)
    path, _ = external_model(folder, location)
    opened = []
    real_open, real_os_open = builtins.open, os.open
    monkeypatch.setattr(builtins, "open", lambda file, *a, **k: (opened.append(os.fspath(file)),
                                                                 real_open(file, *a, **k))[1])
    monkeypatch.setattr(os, "open", lambda file, *a, **k: (opened.append(os.fspath(file)),
                                                           real_os_open(file, *a, **k))[1])
    with pytest.raises(ModelFileError, match="outside the model's folder|beside the model"):
        open_model(path)
    assert not [name for name in opened if os.path.realpath(name) == str(secret.resolve())], opened


def test_external_data_shorter_than_declared_is_refused(tmp_path):
    path, data = external_model(tmp_path, "net.data")
    (tmp_path / "net.data").write_bytes(data[:-8])
    with pytest.raises(ModelFileError, match="shorter than"):
        open_model(path)
    (tmp_path / "net.data").write_bytes(data)
    model, info = open_model(path)   # the same file with its data whole opens
    assert info.input_shape == (16, 16, 1)
    np.testing.assert_array_equal(model.get_layer("c1").get_weights()[0],
                                  np.frombuffer(data, np.float32).reshape(2, 1, 3, 3).transpose(2, 3, 1, 0))


def raw_tensor(name: str, dims, data: bytes):
    """A float tensor declaring `dims` and holding `data`, whatever their sizes (as a hostile file can)."""
    tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, raw_data=data)
    tensor.dims.extend(dims)
    return tensor


def test_a_tensor_declaring_gigabytes_is_refused_before_allocation(tmp_path, capsys):
    model = small_classifier()
    model.graph.initializer.remove(next(t for t in model.graph.initializer if t.name == "w2"))
    model.graph.initializer.append(raw_tensor("w2", [300_000, 300_000], b"\0" * 64))
    path = tmp_path / "huge.onnx"
    onnx.save(model, path)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"declares 300000×300000 values \(343,323 MB\)"):
            open_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20, peak
    assert "huge.onnx: tensor w2 declares" in refused_by_cli(path, capsys)


def test_a_tensor_holding_fewer_values_than_declared_is_refused(tmp_path):
    model = small_classifier()
    model.graph.initializer.remove(next(t for t in model.graph.initializer if t.name == "w1"))
    model.graph.initializer.append(raw_tensor("w1", [2, 1, 3, 3], np.ones(10, np.float32).tobytes()))
    path = tmp_path / "short.onnx"
    onnx.save(model, path)
    with pytest.raises(ModelFileError, match="declares 2×1×3×3 = 18 values but holds 10"):
        open_model(path)


def test_a_file_above_the_size_bound_is_refused_unread(tmp_path, monkeypatch):
    from cnnviz.core.onnx_file import MAX_ONNX_BYTES

    path = tmp_path / "big.onnx"
    with open(path, "wb") as stream:   # sparse: no disk used
        stream.truncate(MAX_ONNX_BYTES + 1)
    read = []
    monkeypatch.setattr(type(path), "read_bytes", lambda self: read.append(self) or b"")
    with pytest.raises(ModelFileError, match="cnnviz opens ONNX models of at most 256 MB"):
        open_model(path)
    assert read == []


@pytest.mark.parametrize("shape, message", [
    ((1, 1, 100_000, 100_000), "8 to 512 pixels a side"),
    ((1, 1, "H", "W"), "takes images of any size"),
    ((1, 5, 16, 16), "1 (grey) or 3 (RGB) channels"),
])
def test_absurd_input_shapes_are_refused(tmp_path, capsys, shape, message):
    model = small_classifier()
    model.graph.input[0].CopyFrom(helper.make_tensor_value_info("image", TensorProto.FLOAT, list(shape)))
    path = tmp_path / "shape.onnx"
    onnx.save(model, path)
    assert message in refused_by_cli(path, capsys)


@pytest.mark.parametrize("extra, constants, message", [
    ([node("Clip", ["r1", "low", "high"], "clipped")], {"low": np.float32(-1), "high": np.float32(1)},
     "clips below at -1.0"),
    ([node("MaxPool", ["r1"], "pooled", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], {},
     "a max pool cannot be padded with zeros"),
    ([node("Transpose", ["r1"], "swapped", perm=[0, 1, 3, 2])], {}, "NHWC ↔ NCHW only"),
    ([node("MaxPool", ["r1"], "pooled", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)], {},
     "rounds its output size up (ceil_mode)"),
    ([node("Flatten", ["r1"], "flat"), node("Gemm", ["flat", "w2"], "g", transA=1)], {}, "transposes its input"),
    ([node("Flatten", ["r1"], "flat"), node("MatMul", ["flat", "flat"], "mm")], {},
     "computes its second factor (weights) from the image"),
])
def test_cases_keras_has_no_layer_for_are_refused_with_the_reason(tmp_path, capsys, extra, constants, message):
    model = small_classifier(extra_nodes=extra, extra_constants=constants, last=extra[-1].output[0])
    onnx.save(model, tmp_path / "case.onnx")
    assert message in refused_by_cli(tmp_path / "case.onnx", capsys)


def test_a_graph_with_two_image_inputs_is_refused(tmp_path, capsys):
    model = small_classifier()
    model.graph.input.append(helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 16, 16]))
    onnx.save(model, tmp_path / "two.onnx")
    assert "has 2 inputs" in refused_by_cli(tmp_path / "two.onnx", capsys)


def test_a_malformed_graph_is_one_line_not_a_traceback(tmp_path, capsys):
    broken = small_classifier(extra_nodes=[node("Conv", ["r1", "w0"], "c0", kernel_shape=[3, 3], strides=[0, 0])],
                              extra_constants={"w0": weights((2, 2, 3, 3), 5)},
                              last="c0")   # a stride of 0: Keras itself refuses it (ValueError)
    onnx.save(broken, tmp_path / "stride0.onnx")
    assert "stride0.onnx cannot be converted: " in refused_by_cli(tmp_path / "stride0.onnx", capsys)
    clash = small_classifier(extra_nodes=[node("Identity", ["r1"], "same", name="image")], last="same")
    onnx.save(clash, tmp_path / "clash.onnx")   # a node named like the input: renamed, not refused
    _, info = open_model(tmp_path / "clash.onnx")
    assert info.input_shape == (16, 16, 1)
