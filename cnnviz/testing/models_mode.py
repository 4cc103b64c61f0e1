"""The autotest mode of the models capability (see `autotest.py`): `pytorch-model-and-screenshot` opens the
shipped PyTorch model as a user would (File → Open the shipped PyTorch model), then draws a 7, enlarges a map
of the model's first convolution and hovers it (as `maps-and-screenshot` does on the shipped Keras model)."""

from __future__ import annotations

from cnnviz.gui.models.model_notice import pytorch_model_path
from cnnviz.testing.inspector_modes import start_maps
from cnnviz.testing.user_input import trigger


def start_pytorch(autotest) -> None:
    """Open the shipped PyTorch model from the File menu; once it is shown, draw and hover as `start_maps`."""
    window = autotest.window
    path = pytorch_model_path()
    trigger(window.menu("File").actions(), "pytorch")

    def opened() -> bool:
        return window.current is not None and window.current.path == path and not window.is_loading()

    def draw() -> None:
        model = window.current
        print(f"cnnviz autotest: opened {path.name}: {len(model.layers)} layers "
              f"({', '.join(model.layer_names[:3])}, …), input {'x'.join(map(str, model.input_shape))}", flush=True)
        start_maps(autotest)
        inspector = window.inspector

        def predicted() -> None:
            label = inspector.prediction_bars.top_label()
            shown = f"{label[0]} ({label[1]:.1%})" if label else "nothing"
            print(f"cnnviz autotest: predicted {shown}", flush=True)

        autotest.when(lambda: inspector.current_outputs() is not None, predicted)

    autotest.when(opened, draw)
