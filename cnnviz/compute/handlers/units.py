"""Weights for the unit panel and the Kernels view while the model trains.

The GUI explains a unit and draws kernels in numpy from `ModelInfo.weights`; while a run trains,
those are the weights the run started from. `serving_weights` sends the serving copy's weights
(at most ~0.15 s behind the model in training), and with `image` the layer outputs those very
weights give, so a unit's arithmetic adds up to the value it explains. 93k parameters: ~0.4 MB.
"""

from __future__ import annotations

import numpy as np

from cnnviz.compute.registry import handler
from cnnviz.compute.state import layer_weights


@handler("serving_weights")
def serving_weights(state, image=None) -> dict:
    """{"weights": one list of arrays per LayerSpec, "outputs": every layer's output for `image`
    made with exactly those weights (None without an image), "generation", "weights_age_s"}."""
    with state.serving() as serving:
        weights = layer_weights(serving.model)
        outputs = None if image is None else serving.probe(np.asarray(image, dtype=np.float32))
    return {"weights": weights, "outputs": outputs, "generation": state.generation,
            "weights_age_s": state.serving_weights_age()}
