"""Choosing a layer by name for Grad-CAM, filter patterns, top digits and ablation (plain data, no TF).

These work on `cnnviz.core.network.LayerSpec` lists, so the GUI can check a choice without the model,
and every caller reports a wrong name in the same words.
"""

from __future__ import annotations

from cnnviz.core.network import LayerSpec


class LayerChoiceError(ValueError):
    """A layer name that does not exist, or names a layer that cannot be used here."""


def is_conv(spec: LayerSpec) -> bool:
    """A convolution layer (Conv2D, DepthwiseConv2D, SeparableConv2D...)."""
    return spec.is_spatial and "Conv" in spec.kind


def spatial_names(specs: list[LayerSpec]) -> list[str]:
    """Names of the layers whose output is a stack of maps (H, W, C)."""
    return [spec.name for spec in specs if spec.is_spatial]


def default_conv_layer(specs: list[LayerSpec]) -> str:
    """The last convolution layer (Grad-CAM's usual choice), else the last layer with maps."""
    convs = [spec.name for spec in specs if is_conv(spec)]
    spatial = convs or spatial_names(specs)
    if not spatial:
        raise LayerChoiceError("the model has no layer with maps (H×W×C)")
    return spatial[-1]


def spatial_layer(specs: list[LayerSpec], name: str, purpose: str) -> LayerSpec:
    """The spec of layer `name`, which must output maps; `purpose` completes "X needs ...".

    Raises LayerChoiceError naming the layers that would do.
    """
    choices = ", ".join(spatial_names(specs))
    for spec in specs:
        if spec.name == name:
            if not spec.is_spatial:
                shape = "×".join(str(d) for d in spec.output_shape)
                raise LayerChoiceError(f"{name} is a {spec.kind} layer with output {shape}: {purpose} needs a "
                                       f"convolution or pooling layer ({choices})")
            return spec
    raise LayerChoiceError(f"no layer named {name!r}; choose one of {choices}")
