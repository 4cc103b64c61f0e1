"""Tiny ONNX graphs built with `onnx.helper`, and onnxruntime's output of every node (for the ONNX tests)."""

from __future__ import annotations

import numpy as np

OPSET = 17


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def weights(shape, seed: int, scale: float = 0.5) -> np.ndarray:
    return (rng(seed).standard_normal(shape) * scale).astype(np.float32)


def graph_model(nodes, input_shape, output_name: str, constants: dict, opset: int = OPSET, input_name: str = "image",
                output_shape=None):
    """A ModelProto: one float input (any batch size), one float output, `constants` as initializers."""
    from onnx import TensorProto, helper, numpy_helper

    initializers = [numpy_helper.from_array(np.asarray(array), name) for name, array in constants.items()]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", *input_shape[1:]])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, output_shape or ["batch", "classes"])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def node(op: str, inputs, output: str, name: str | None = None, **attributes):
    from onnx import helper

    return helper.make_node(op, list(inputs), [output], name=name or output, **attributes)


def every_node_output(model, image: np.ndarray) -> dict[str, np.ndarray]:
    """onnxruntime's value of every node output of `model` for the batch `image` (the reference)."""
    import onnx
    import onnxruntime
    from onnx import helper

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {output.name for output in probe.graph.output}
    for graph_node in probe.graph.node:
        for name in graph_node.output:
            if name and name not in known:
                probe.graph.output.append(helper.ValueInfoProto(name=name))
                known.add(name)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, {session.get_inputs()[0].name: image})))
