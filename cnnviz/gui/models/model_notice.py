"""What the window says about the model shown (issue 14): its weights hold NaN or infinite values (a
warning: its outputs mean nothing), or, for a model that is not a digit model, what it takes (its input
size and colour, that pictures are resized as they are, what drawing gives it) and whether its output
is logits shown as softmax; for a model opened from ONNX (issue 23), that it was converted into Keras
layers and is saved as `.keras`. Also where the shipped Fashion-MNIST and PyTorch models are, and which
files open as a model."""

from __future__ import annotations

from pathlib import Path

from cnnviz.compute.protocol import ModelInfo
from cnnviz.core.model_files import MODEL_SUFFIXES
from cnnviz.core.paths import resources_dir
from cnnviz.gui.widgets.model_words import input_note, is_digit_model

FASHION_MODEL_NAME = "fashion_mnist_convnet.keras"
PYTORCH_MODEL_NAME = "pytorch_lenet.onnx"   # scripts/make_pytorch_lenet.py: a LeNet trained in PyTorch, exported
ONNX_SUFFIX = ".onnx"


def fashion_model_path() -> Path:
    """The shipped seed convnet trained on Fashion-MNIST."""
    return resources_dir() / FASHION_MODEL_NAME


def pytorch_model_path() -> Path:
    """The shipped LeNet-style MNIST network defined and trained in PyTorch, exported to ONNX."""
    return resources_dir() / PYTORCH_MODEL_NAME


def is_model_file(path: str | Path) -> bool:
    """True for a file name cnnviz opens as a model (.keras, .h5, .hdf5, .onnx), whatever its case."""
    return Path(path).suffix.lower() in MODEL_SUFFIXES


def model_notice(model: ModelInfo) -> tuple[str, str] | None:
    """(text, kind) of what to say about `model` when it is shown, or None for a plain digit model."""
    name = model.path.name if model.path else model.name
    if model.non_finite_layers:
        layers = ", ".join(model.non_finite_layers[:4]) + (" …" if len(model.non_finite_layers) > 4 else "")
        return (f"{name}: the weights of {len(model.non_finite_layers)} layer(s) hold NaN or infinite values "
                f"({layers}), so its maps and predictions mean nothing. Train it again from a fresh model, or open "
                "another one.", "warning")
    parts = [f"{name}:"]
    if model.path is not None and Path(model.path).suffix.lower() == ONNX_SUFFIX:
        parts.append(f"an ONNX model, converted node by node into {len(model.layers)} Keras layers named after its "
                     f"nodes. Save model writes it as {Path(model.path).with_suffix('.keras').name}.")
    if not is_digit_model(model):
        parts.append(f"{model.description().describe()}. {input_note(model)}")
        if model.outputs_logits:
            parts.append("Its output is raw scores (logits): the bars show softmax of them.")
    return None if len(parts) == 1 else (" ".join(parts), "info")
