"""The compute process opens `.onnx` models (issue 23), so the app will once its File → Open allows them:
`load_model` converts the shipped PyTorch LeNet, probes, Grad-CAM and the unit panel's weights work on
it, `save_model` writes a `.keras` copy, and an unsupported ONNX file is refused with its one line."""

from __future__ import annotations

import numpy as np
import onnx

from _onnx_graphs import graph_model, node, weights
from cnnviz.core.paths import resources_dir
from test_compute import peer  # noqa: F401 (a threaded compute server, the shipped model loaded first)

LENET = resources_dir() / "pytorch_lenet.onnx"


def test_load_probe_gradcam_and_save_an_onnx_model(peer,  # noqa: F811
                                                    digit_seven, tmp_path):
    info = peer.call("load_model", {"path": LENET})
    assert [layer.name for layer in info.layers] == [n.name for n in onnx.load(LENET).graph.node]
    assert info.input_shape == (28, 28, 1) and str(info.path) == str(LENET)
    outputs = peer.call("probe", {"image": digit_seven})["outputs"]
    assert len(outputs) == len(info.layers) and outputs[0].shape == (28, 28, 6)
    scores = outputs[-1].astype(np.float64)
    assert int(scores.argmax()) == 7
    cam = peer.call("gradcam", {"image": digit_seven})["result"]
    assert cam.layer == "node_conv2d_1" and cam.heatmap.shape == (10, 10)
    weights_now = peer.call("serving_weights", {})["weights"]
    assert weights_now[0][0].shape == (5, 5, 1, 6)   # Conv2D's kernel, from PyTorch's (6, 1, 5, 5)
    saved = peer.call("save_model", {"path": tmp_path / "lenet.onnx"})["path"]
    assert str(saved).endswith("lenet.keras")
    again = peer.call("load_model", {"path": saved})
    assert [layer.name for layer in again.layers] == [layer.name for layer in info.layers]
    np.testing.assert_allclose(peer.call("probe", {"image": digit_seven})["outputs"][-1], outputs[-1], atol=1e-5)


def test_an_unsupported_onnx_model_is_refused_in_one_line(peer,  # noqa: F811
                                                           tmp_path):
    nodes = [node("Conv", ["image", "w"], "c", kernel_shape=[3, 3]), node("Erf", ["c"], "e", name="gelu/erf"),
             node("Flatten", ["e"], "f"), node("Gemm", ["f", "w2"], "logits", transB=1)]
    model = graph_model(nodes, [1, 1, 12, 12], "logits", {"w": weights((2, 1, 3, 3), 1),
                                                            "w2": weights((3, 200), 2)})
    onnx.save(model, tmp_path / "gelu.onnx")
    reply = peer.wait(peer.send("load_model", {"path": tmp_path / "gelu.onnx"}))
    assert not reply.ok and reply.error_type == "ModelFileError"
    assert "node gelu/erf uses the ONNX operator Erf" in reply.error and "\n" not in reply.error
