"""What the window says about the model shown (issue 14): its weights hold NaN or infinite values (a
warning: its outputs mean nothing), or, for a model that is not a digit model, what it takes (its input
size and colour, that pictures are resized as they are, what drawing gives it) and whether its output
is logits shown as softmax. Also where the shipped Fashion-MNIST model is."""

from __future__ import annotations

from pathlib import Path

from cnnviz.compute.protocol import ModelInfo
from cnnviz.core.paths import resources_dir
from cnnviz.gui.widgets.model_words import input_note, is_digit_model

FASHION_MODEL_NAME = "fashion_mnist_convnet.keras"


def fashion_model_path() -> Path:
    """The shipped seed convnet trained on Fashion-MNIST."""
    return resources_dir() / FASHION_MODEL_NAME


def model_notice(model: ModelInfo) -> tuple[str, str] | None:
    """(text, kind) of what to say about `model` when it is shown, or None for a plain digit model."""
    name = model.path.name if model.path else model.name
    if model.non_finite_layers:
        layers = ", ".join(model.non_finite_layers[:4]) + (" …" if len(model.non_finite_layers) > 4 else "")
        return (f"{name}: the weights of {len(model.non_finite_layers)} layer(s) hold NaN or infinite values "
                f"({layers}), so its maps and predictions mean nothing. Train it again from a fresh model, or open "
                "another one.", "warning")
    if is_digit_model(model):
        return None
    text = f"{name}: {model.description().describe()}. {input_note(model)}"
    if model.outputs_logits:
        text += " Its output is raw scores (logits): the bars show softmax of them."
    return text, "info"
