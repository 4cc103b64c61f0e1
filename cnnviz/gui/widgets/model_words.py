"""How the GUI speaks of a model (any `ModelInfo`, or None before one has loaded): whether it is a digit
model, its input shape, one sentence on what it is fed, and what the empty canvas says (issue 14)."""

from __future__ import annotations


def is_digit_model(model) -> bool:
    """True for the seed's kind of model (and before any model is known)."""
    return model is None or model.is_digit_model


def input_shape(model) -> tuple[int, int, int]:
    return (28, 28, 1) if model is None else tuple(int(d) for d in model.input_shape)


def input_note(model) -> str:
    """One sentence on what the model is fed, for people."""
    if is_digit_model(model):
        return "Draw a digit, open a picture of one, or pick a test digit: it is prepared as MNIST's digits were."
    height, width, channels = input_shape(model)
    colour = "RGB" if channels == 3 else "grey"
    drawn = ("drawing on the canvas gives it grey strokes (the same in red, green and blue)" if channels == 3
             else "drawing on the canvas works too (the whole canvas, resized)")
    dataset = model.dataset
    test = f" or pick a {_title(dataset)} test image (Input menu)" if dataset else ""
    return (f"This model takes {height}×{width} {colour} images: open a picture (Ctrl+I){test}; a picture is "
            f"resized to {height}×{width} as it is (not cropped), and {drawn}.")


def placeholder(model) -> str:
    """What the empty canvas says."""
    if is_digit_model(model):
        return "Draw a digit here\nwith the mouse or a pen"
    return "Open a picture (Ctrl+I)\nor draw here"


def _title(dataset: str) -> str:
    from cnnviz.core.data import dataset_spec

    return dataset_spec(dataset).title
