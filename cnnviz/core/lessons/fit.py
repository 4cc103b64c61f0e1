"""Which models a lesson fits: the conditions of its `fits:` lines, checked on a network's layers.

Each condition is a call in the front matter, e.g. `fits: conv-then-pool(conv2d_1, max_pooling2d_1)`;
a lesson fits a model when all its conditions hold (and every answer it asks for can be computed on
that model: `validate.check_against`). A condition that fails says why in one sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cnnviz.core.lessons.vocabulary import Param
from cnnviz.core.network import resolved_inputs

POOLING_KINDS = ("MaxPooling2D", "AveragePooling2D")


@dataclass(frozen=True)
class Condition:
    name: str
    params: tuple[Param, ...]
    means: str                                     # for the docs and the "does not fit" message
    check: Callable                                # (model view, **arguments) -> None, or why not


CONDITIONS: dict[str, Condition] = {}


def condition(name: str, params: tuple[Param, ...], means: str):
    def register(check: Callable) -> Callable:
        CONDITIONS[name] = Condition(name, params, means, check)
        return check
    return register


def _spec(model, name: str):
    for spec in model.specs:
        if spec.name == name:
            return spec
    return None


def _missing(model, name: str) -> str:
    return f"it needs a layer {name}, and {model.name} has none"


def _window(model, name: str):
    """(the layer's spec, its window and strides as pairs) or the reason it has none."""
    from cnnviz.core.receptive_field import as_pair

    spec = _spec(model, name)
    if spec is None:
        return _missing(model, name)
    window_size = spec.config.get("kernel_size", spec.config.get("pool_size"))
    if window_size is None:
        return f"it needs {name} to be a convolution or a pooling layer, not {spec.kind}"
    return spec, as_pair(window_size), as_pair(spec.config.get("strides") or window_size)


def _kind_matches(kind: str, wanted: str) -> bool:
    return kind in POOLING_KINDS if wanted == "pooling" else kind == wanted


@condition("digit-model", (), "a digit model: a 28×28 grey input and the ten classes 0 to 9, like MNIST's")
def digit_model(model):
    if model.is_digit_model:
        return None
    height, width, channels = model.input_shape
    colour = "grey" if channels == 1 else "RGB"
    return (f"it needs a digit model (28×28 grey input, classes 0–9); {model.name} takes {height}×{width} {colour} "
            f"images into {len(model.class_names)} classes ({', '.join(model.class_names[:3])}, …)")


@condition("layer", (Param("name", "layer-name"), Param("kind", "kind")),
           "a layer called NAME of Keras class KIND (Conv2D, MaxPooling2D, Dense, …; `pooling`: max or average)")
def layer(model, name, kind):
    spec = _spec(model, name)
    if spec is None:
        return _missing(model, name)
    if not _kind_matches(spec.kind, kind):
        return f"it needs {name} to be {'a pooling' if kind == 'pooling' else 'a ' + kind} layer, not {spec.kind}"
    return None


@condition("followed-by", (Param("first", "layer-name"), Param("second", "layer-name")),
           "layer SECOND takes its input straight from layer FIRST")
def followed_by(model, first, second):
    for name in (first, second):
        if _spec(model, name) is None:
            return _missing(model, name)
    names = [spec.name for spec in model.specs]
    if resolved_inputs(model.specs)[names.index(second)] != (first,):
        return f"it needs {second} to come right after {first}"
    return None


@condition("window", (Param("name", "layer-name"), Param("size", "int", low=1, high=64)),
           "layer NAME's window (kernel or pool size) is SIZE×SIZE")
def window(model, name, size):
    found = _window(model, name)
    if isinstance(found, str):
        return found
    if found[1] != (size, size):
        return f"it needs {name}'s window to be {size}×{size}, not {found[1][0]}×{found[1][1]}"
    return None


@condition("strides", (Param("name", "layer-name"), Param("size", "int", low=1, high=64)),
           "layer NAME's window moves SIZE cells at a time (Keras's `strides`)")
def strides(model, name, size):
    found = _window(model, name)
    if isinstance(found, str):
        return found
    if found[2] != (size, size):
        return f"it needs {name} to move {size} at a time, not {found[2][0]}"
    return None


@condition("padding", (Param("name", "layer-name"), Param("padding", "padding")),
           "layer NAME's padding is PADDING (valid or same)")
def padding(model, name, padding):
    spec = _spec(model, name)
    if spec is None:
        return _missing(model, name)
    if str(spec.config.get("padding", "valid")).lower() != padding:
        return f"it needs {name} to use padding='{padding}', not '{spec.config.get('padding', 'valid')}'"
    return None


@condition("conv-then-pool", (Param("conv", "layer-name"), Param("pool", "layer-name")),
           "a Conv2D layer CONV followed by a 2×2 pooling layer POOL (stride 2)")
def conv_then_pool(model, conv, pool):
    return (layer(model, conv, "Conv2D") or layer(model, pool, "pooling") or followed_by(model, conv, pool)
            or window(model, pool, 2) or strides(model, pool, 2))


@condition("architecture", (Param("variant", "variant"),),
           "the network is exactly the lab's VARIANT (seed: the notes' convnet), by its layers' kinds, shapes and "
           "parameter counts")
def architecture(model, variant):
    from cnnviz.core.architectures import architecture_of

    found = architecture_of(model.specs)
    if found != variant:
        return f"it needs the {variant} network, and {model.name} is {found or 'another network'}"
    return None


def unmet_conditions(lesson, model) -> list[tuple[int, str]]:
    """(line, why) for each of the lesson's conditions the model does not meet."""
    from cnnviz.core.lessons.binding import bind

    unmet = []
    for located in lesson.fits:
        call = located.call
        spec = CONDITIONS[call.name]
        arguments = {name: (None if value is None else getattr(value, "value", getattr(value, "text", None)))
                     for name, value in bind(spec.params, call, call.name).items()}
        reason = spec.check(model, **arguments)
        if reason:
            reasons = reason if isinstance(reason, list) else [reason]
            unmet.extend((located.line, text) for text in reasons)
    return unmet
