"""Reading an `.onnx` file as untrusted input: bounded in size, never outside its folder (Qt-free).

An ONNX file is a protobuf message: the graph, and its weights either inside it or in "external data"
files named by relative paths. `read_onnx` refuses, with one line (ModelFileError), before the
allocation or the read that would hurt:
- a file (plus its external data) above MAX_ONNX_BYTES, checked from `stat` before anything is read;
- a truncated or foreign file (protobuf cannot parse it, or it holds no graph);
- a graph with more than MAX_NODES nodes or initializers;
- a tensor whose declared shape is negative, or whose declared size is not what the file stores, or
  whose declared sizes add up to more than MAX_ONNX_BYTES (checked from the dims, before numpy
  builds anything);
- an external data path that is absolute, climbs out (`..`), or resolves (symlinks included) outside
  the model's folder, or a range beyond the end of its file;
- tensors of types other than floats and integers.
External data inside the folder is read with bounded reads (offset, length) into the tensor, so
the returned model holds all its weights. The official `onnx` package is imported inside functions.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from cnnviz.core.model_file_errors import ModelFileError, first_line

MAX_ONNX_BYTES = 256 * 2**20       # the file and its external data; parsing costs about as much again
MAX_NODES = 20_000
# Tensor types cnnviz reads (weights are floats; shapes and axes are integers), with their sizes.
_ITEM_BYTES = {1: 4, 10: 2, 11: 8, 6: 4, 7: 8}   # FLOAT, FLOAT16, DOUBLE, INT32, INT64
_TYPE_NAMES = {1: "float32", 10: "float16", 11: "float64", 6: "int32", 7: "int64"}


def read_onnx(path: Path):
    """The ONNX ModelProto at `path`, with every tensor's data checked and in memory; ModelFileError if not."""
    import onnx
    from google.protobuf.message import DecodeError

    size = path.stat().st_size
    if size > MAX_ONNX_BYTES:
        raise ModelFileError(f"{path.name} is {size / 2**20:.0f} MB; cnnviz opens ONNX models of at most "
                             f"{MAX_ONNX_BYTES // 2**20} MB.")
    if size == 0:
        raise ModelFileError(f"{path.name} is empty.")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(path.read_bytes())
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path.name} is corrupt or truncated: it is not an ONNX model "
                             f"({first_line(exc)}).") from exc
    graph = model.graph
    if not graph.node or not graph.output:
        raise ModelFileError(f"{path.name} is not an ONNX model (it holds no graph).")
    if len(graph.node) > MAX_NODES or len(graph.initializer) > MAX_NODES:
        raise ModelFileError(f"{path.name} has {len(graph.node):,} nodes and {len(graph.initializer):,} weight "
                             f"tensors; cnnviz opens ONNX graphs of at most {MAX_NODES:,}.")
    if any(node.op_type in ("If", "Loop", "Scan") for node in graph.node):
        node = next(node for node in graph.node if node.op_type in ("If", "Loop", "Scan"))
        raise ModelFileError(f"{path.name}: node {node.name or '(unnamed)'} is a {node.op_type}; cnnviz converts "
                             "plain feed-forward image classifiers (no subgraphs).")
    budget = [MAX_ONNX_BYTES - size]
    for tensor in graph_tensors(graph):
        _check_tensor(tensor, path, budget)
    return model


def graph_tensors(graph):
    """Every tensor stored in the graph: initializers and the values of Constant nodes."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors


def _check_tensor(tensor, path: Path, budget: list[int]) -> None:
    """Check one tensor's declared shape and stored size (and fetch its external data); `budget` is
    the bytes still allowed, shared by all tensors."""
    label = f"{path.name}: tensor {tensor.name or '(unnamed)'}"
    if tensor.data_type not in _ITEM_BYTES:
        raise ModelFileError(f"{label} has an unsupported data type ({tensor.data_type}); cnnviz reads "
                             f"{', '.join(_TYPE_NAMES.values())} tensors.")
    if any(dim < 0 for dim in tensor.dims):
        raise ModelFileError(f"{label} declares a negative size {list(tensor.dims)}.")
    count = math.prod(tensor.dims)
    declared = count * _ITEM_BYTES[tensor.data_type]
    if declared > budget[0]:
        raise ModelFileError(f"{label} declares {_shape(tensor.dims)} values ({declared / 2**20:,.0f} MB): more "
                             f"than an ONNX model of at most {MAX_ONNX_BYTES // 2**20} MB can hold.")
    budget[0] -= declared
    if tensor.data_location == 1:   # TensorProto.EXTERNAL
        tensor.raw_data = _external_bytes(tensor, path, declared, label)
        del tensor.external_data[:]
        tensor.data_location = 0
    stored = _stored_count(tensor)
    if stored != count:
        raise ModelFileError(f"{label} declares {_shape(tensor.dims)} = {count:,} values but holds {stored:,}: the "
                             "file is corrupt or truncated.")


def _stored_count(tensor) -> int:
    """How many values the tensor actually carries in the file."""
    if tensor.raw_data:
        return len(tensor.raw_data) // _ITEM_BYTES[tensor.data_type] \
            if len(tensor.raw_data) % _ITEM_BYTES[tensor.data_type] == 0 else -1
    fields = {1: tensor.float_data, 11: tensor.double_data, 7: tensor.int64_data, 6: tensor.int32_data,
              10: tensor.int32_data}
    return len(fields[tensor.data_type])


def _external_bytes(tensor, path: Path, declared: int, label: str) -> bytes:
    """The bytes of a tensor stored in an external file inside the model's folder (bounded read)."""
    entries = {entry.key: entry.value for entry in tensor.external_data}
    location = entries.get("location", "")
    folder = path.resolve().parent
    relative = Path(location)
    if not location or relative.is_absolute() or ".." in relative.parts or "\0" in location:
        raise ModelFileError(f"{label} names its data file {location!r}: cnnviz reads external data only from "
                             "files beside the model, named without folders that leave it.")
    target = (folder / relative).resolve()
    if folder not in target.parents:
        raise ModelFileError(f"{label} names its data file {location!r}, which leads outside the model's folder "
                             "(a link?); cnnviz reads nothing outside it.")
    try:
        offset = int(entries.get("offset", 0))
        length = int(entries.get("length", declared))
    except ValueError as exc:
        raise ModelFileError(f"{label} has an unreadable external data offset or length.") from exc
    if offset < 0 or length != declared:
        raise ModelFileError(f"{label} stores {length:,} bytes at offset {offset:,} in {location}, but its shape "
                             f"{_shape(tensor.dims)} needs {declared:,}.")
    if not target.is_file():   # not a FIFO or a device: opening one could block or never end
        raise ModelFileError(f"{label}: its data file {location!r} is missing or not a regular file.")
    try:
        with open(target, "rb") as stream:
            if os.fstat(stream.fileno()).st_size < offset + length:
                raise ModelFileError(f"{label}: {location} is shorter than the {offset + length:,} bytes the "
                                     "model says it holds (truncated?).")
            stream.seek(offset)
            return stream.read(length)
    except OSError as exc:
        raise ModelFileError(f"{label}: cannot read its data file {location} ({exc.strerror}).") from exc


def _shape(dims) -> str:
    return "×".join(str(d) for d in dims) or "a scalar"


def tensor_array(tensor):
    """A checked tensor as a numpy array (floats as float32, integers as int64)."""
    import numpy as np
    from onnx import numpy_helper

    array = numpy_helper.to_array(tensor)
    return array.astype(np.float32 if array.dtype.kind == "f" else np.int64, copy=False)
