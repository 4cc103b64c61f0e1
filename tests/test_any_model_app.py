"""Issue 14 in the app: any Keras image classifier (RGB, other sizes, logits, .h5, graphs with branches),
its class names, pictures resized as they are, layers with hundreds of channels paged, refusals in a
dialog, Fashion-MNIST for training and the test-set views; and the real app under Xvfb with an RGB model."""

from __future__ import annotations

import re

import numpy as np
import pytest
from _compute import call
from test_any_model import (lambda_model, layer_outputs_one_by_one, logits_model, residual_rgb_model,
                            sequential_grey_model, two_output_model)
from test_app_xvfb import run_app, x_display  # noqa: F401 (the real-app runner and its X display)

CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
MODEL_TIMEOUT_MS = 120_000


def wide_rgb_model():
    """Functional 32×32×3 with BatchNorm, a residual Add around a 128-channel expansion, a 256-channel
    convolution and global pooling: the kind of layer that must page."""
    import keras
    from keras import layers

    image = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(16, 3, padding="same", name="stem")(image)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    y = layers.Conv2D(128, 3, padding="same", activation="relu", name="expand")(x)
    y = layers.Conv2D(16, 1, name="project")(y)
    x = layers.Add(name="residual")([x, y])
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Conv2D(256, 3, activation="relu", name="wide")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(image, layers.Dense(10, activation="softmax", name="classes")(x), name="wide_rgb")


def save_colour_picture(path):
    """A 160×120 RGB picture: a yellow disc and a blue bar on a red-green gradient."""
    from PIL import Image

    rows, columns = np.mgrid[0:120, 0:160]
    pixels = np.stack([columns * 255 // 160, rows * 255 // 120, np.full_like(rows, 110)], axis=-1).astype(np.uint8)
    pixels[(columns - 60) ** 2 + (rows - 60) ** 2 < 900] = (250, 215, 30)
    pixels[30:90, 100:140] = (30, 60, 220)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def app_models(tmp_path_factory):
    """{name: path} of the models the app opens here (built and saved once), and a colour picture."""
    import keras

    from cnnviz.core.model_files import write_class_names

    folder = tmp_path_factory.mktemp("app_models")
    paths = {}
    for name, build, suffix in (("residual", residual_rgb_model, ".keras"), ("grey64", sequential_grey_model, ".h5"),
                                ("logits", logits_model, ".keras"), ("wide", wide_rgb_model, ".keras"),
                                ("lambda", lambda_model, ".keras"), ("two_outputs", two_output_model, ".h5")):
        keras.utils.set_random_seed(2)
        model = build()
        if name == "residual":   # BatchNorm statistics that are not the identity
            bn = model.get_layer("stem_bn")
            bn.moving_mean.assign(np.linspace(-0.2, 0.3, 8).astype("float32"))
            bn.moving_variance.assign(np.linspace(0.5, 2.0, 8).astype("float32"))
        paths[name] = folder / f"{name}{suffix}"
        model.save(paths[name])
    write_class_names(paths["wide"], CIFAR_NAMES)
    broken = keras.saving.load_model(paths["logits"], compile=False)
    kernel = broken.get_layer("conv").kernel.numpy()
    kernel[0, 0, 0, 0] = np.nan
    broken.get_layer("conv").kernel.assign(kernel)
    paths["nan"] = folder / "nan.keras"
    broken.save(paths["nan"])
    paths["picture"] = save_colour_picture(folder / "picture.png")
    return paths


def resized_picture(path, height, width, grey=False):
    """The picture as a 'resize' model takes it, computed with Pillow on 8-bit pixels (not cnnviz's code)."""
    from PIL import Image

    image = Image.open(path).convert("L" if grey else "RGB").resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, np.float32) / 255.0


@pytest.fixture
def inspector(qtbot, compute_client):
    from cnnviz.gui.inspector.inspector_widget import InspectorWidget

    widget = InspectorWidget(client=compute_client)
    widget.resize(1100, 700)
    qtbot.addWidget(widget)
    widget.show()
    return widget


def show(qtbot, inspector, client, path):
    """Load `path` in the compute process and show it in `inspector`; its ModelInfo."""
    info = call(qtbot, client, "load_model", {"path": path})
    inspector.set_model(info)
    return info


def wait_outputs(qtbot, inspector):
    qtbot.waitUntil(lambda: inspector.current_outputs() is not None, timeout=MODEL_TIMEOUT_MS)
    return inspector.current_outputs()


def test_rgb_residual_model_shows_colour_input_every_layer_and_its_graph(qtbot, inspector, compute_client,
                                                                          app_models):
    import keras

    from cnnviz.core.preprocess import placement
    from cnnviz.gui.inspector.model_inputs import PICTURE_MARGIN

    info = show(qtbot, inspector, compute_client, app_models["residual"])
    assert info.input_shape == (32, 32, 3) and info.class_names == ["0", "1", "2", "3", "4"]
    assert not info.outputs_logits and info.non_finite_layers == () and info.dataset is None
    assert inspector.open_image(app_models["picture"])
    outputs = wait_outputs(qtbot, inspector)

    # The model sees the picture resized as it is, in colour, and the input view shows it in colour.
    image = inspector.current_input()
    assert image.shape == (32, 32, 3)
    np.testing.assert_allclose(image, resized_picture(app_models["picture"], 32, 32), atol=2 / 255)
    view = inspector.model_input_view
    assert view.image() is image or np.array_equal(view.image(), image)
    shown = view.grab().toImage()
    centre = shown.pixelColor(view.width() // 2 - 14, view.height() // 2)   # inside the yellow disc
    assert centre.red() > 200 and centre.green() > 150 and centre.blue() < 80, centre.name()

    # Every layer's output equals plain Keras, layer by layer (BatchNorm, the residual Add, pooling…).
    model = keras.saving.load_model(app_models["residual"], compile=False)
    expected = layer_outputs_one_by_one(model, image)
    assert inspector.layer_names() == list(expected)
    for name, output in zip(inspector.layer_names(), outputs):
        np.testing.assert_allclose(output, expected[name], rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(inspector.prediction_bars.probabilities(), expected["classes"], atol=1e-6)

    # Every layer with maps is browsable: its grid holds all its channels.
    for index, kind in enumerate(inspector.layer_kinds()):
        inspector.select_layer(index)
        if outputs[index].ndim == 3:
            np.testing.assert_array_equal(inspector.layer_grid.maps(), np.moveaxis(outputs[index], -1, 0))

    # The overview is the main path with the shortcut drawn as an arc from the ReLU to the Add.
    pipeline = inspector.pipeline
    names = [block.name for block in pipeline.blocks()]
    assert names == ["input", "stem", "stem_bn", "stem_relu", "sep", "depthwise", "residual", "pool", "gap",
                     "dropout", "classes"]
    (arc,) = pipeline.arcs()
    assert (names[arc.start], names[arc.end], arc.label) == ("stem_relu", "residual", "shortcut")
    assert pipeline.blocks()[0].summary == "your image, 32×32 RGB colour pixels"

    # The picture's model pixels land where the picture is drawn on the canvas.
    place = placement((120, 160), inspector.canvas.canvas_size, PICTURE_MARGIN)
    top, left, bottom, right = inspector.current_input_mapping().box_to_source(0, 0, 32, 32)
    assert (top, left) == place.offset and (bottom - top, right - left) == place.size
    assert inspector.canvas.overlay().picture.ndim == 3   # shown in colour


def test_branch_layers_are_reachable_from_the_overview(qtbot):
    """A branch with its own layers (conv_c beside conv_a → conv_b): an arc from the input named after
    it, into the Add; clicking the arc shows conv_c."""
    from _tiny_models import branched_model
    from PySide6.QtCore import Qt

    from cnnviz.core.inspection import describe_network
    from cnnviz.core.network import layer_specs
    from cnnviz.gui.widgets.pipeline_overview import PipelineOverview

    specs = layer_specs(branched_model())
    pipeline = PipelineOverview()
    pipeline.resize(900, 150)
    qtbot.addWidget(pipeline)
    pipeline.show()
    pipeline.set_layers(describe_network(specs), specs)
    assert [block.name for block in pipeline.blocks()] == ["input", "conv_a", "conv_b", "add", "pool", "flat",
                                                          "scores"]
    (arc,) = pipeline.arcs()
    assert arc.label == "conv_c" and arc.start == 0 and pipeline.blocks()[arc.end].name == "add"
    conv_c = [spec.name for spec in specs].index("conv_c")
    clicked = []
    pipeline.layer_clicked.connect(clicked.append)
    qtbot.mouseClick(pipeline, Qt.MouseButton.LeftButton, pos=pipeline.block_rect(conv_c).center().toPoint())
    assert clicked == [conv_c]
    qtbot.mouseClick(pipeline, Qt.MouseButton.LeftButton, pos=pipeline.block_rect(3).center().toPoint())
    assert clicked == [conv_c, 3]   # the Add block itself


def test_a_long_network_scrolls_sideways_in_the_overview(qtbot):
    from cnnviz.core.inspection import describe_network
    from cnnviz.core.network import LayerSpec
    from cnnviz.gui.widgets.pipeline_overview import MIN_SLOT_WIDTH, PipelineOverview

    specs = [LayerSpec(f"conv_{i}", "Conv2D", (28, 28, 8), 80, {"kernel_size": (3, 3), "padding": "same"})
             for i in range(40)]
    pipeline = PipelineOverview()
    area = pipeline.in_scroll_area()
    area.resize(800, 170)
    qtbot.addWidget(area)
    area.show()
    pipeline.set_layers(describe_network(specs), specs)
    qtbot.waitUntil(lambda: area.horizontalScrollBar().maximum() > 0)
    assert pipeline.width() >= 41 * MIN_SLOT_WIDTH
    pipeline.set_selected(39)
    bar = area.horizontalScrollBar()
    assert bar.value() > 0 and area.height() > pipeline.height()   # the last layer scrolled into view


def test_grey_64_model_from_h5_takes_the_drawing_resized_at_its_own_scale(qtbot, inspector, compute_client,
                                                                          app_models):
    info = show(qtbot, inspector, compute_client, app_models["grey64"])
    assert info.input_shape == (64, 64, 1) and info.input_scale == 255.0
    canvas = inspector.canvas
    drawing = np.zeros((canvas.canvas_size, canvas.canvas_size), np.float32)
    drawing[40:240, 120:160] = 1.0   # a bar, drawn as the canvas holds strokes
    canvas.set_image(drawing)
    wait_outputs(qtbot, inspector)
    image = inspector.current_input()
    assert image.shape == (64, 64)
    from PIL import Image

    expected = np.asarray(Image.fromarray(drawing).resize((64, 64), Image.Resampling.BILINEAR), np.float32)
    np.testing.assert_allclose(image / 255.0, np.clip(expected, 0, 1), atol=1e-5)   # white is 255 for this model
    assert image.max() > 200
    # The input view divides by the model's scale: the bar is white, the rest black.
    pixels = inspector.model_input_view._qimage
    assert pixels.pixelColor(32, 32).value() == 255 and pixels.pixelColor(5, 5).value() == 0
    assert "64×64 grey" in inspector.model_input_view.toolTip()


def test_logits_model_shows_softmax_probabilities_and_says_so(qtbot, inspector, compute_client, app_models):
    import keras

    info = show(qtbot, inspector, compute_client, app_models["logits"])
    assert info.outputs_logits
    assert inspector.open_image(app_models["picture"])
    outputs = wait_outputs(qtbot, inspector)
    model = keras.saving.load_model(app_models["logits"], compile=False)
    logits = keras.ops.convert_to_numpy(model(inspector.current_input()[None, :, :, None]))[0].astype(np.float64)
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(outputs[-1], logits, rtol=1e-4, atol=1e-5)   # the layer shows the raw scores
    np.testing.assert_allclose(inspector.prediction_bars.probabilities(), expected, atol=1e-6)
    assert "softmax of the model's logits" in inspector.prediction_bars.toolTip()
    assert inspector.top_guess.label() == str(int(np.argmax(logits)))


def test_a_256_channel_layer_pages_64_at_a_time(qtbot):
    from PySide6.QtCore import Qt

    from cnnviz.core.colormaps import DEFAULT_COLORMAP, lookup_table
    from cnnviz.gui.widgets.layer_grid import PAGE_SIZE, LayerGrid

    grid = LayerGrid()
    grid.resize(600, 500)
    qtbot.addWidget(grid)
    grid.show()
    maps = np.random.default_rng(0).random((256, 14, 14), dtype=np.float32)
    levels = np.stack([maps.min(axis=(1, 2)), maps.max(axis=(1, 2))], axis=1)
    grid.set_maps(maps, levels)
    assert PAGE_SIZE == 64 and grid.is_paged() and grid.num_pages() == 4 and grid.page_range() == range(0, 64)
    assert grid._page_bar.label.text() == "Channels 1–64 of 256" and grid._page_bar.isVisible()
    table = lookup_table(DEFAULT_COLORMAP)

    def coloured(channel):   # the colormap applied by hand
        low, high = levels[channel]
        return table[np.round(np.clip((maps[channel] - low) / (high - low), 0, 1) * 255).astype(np.uint8)]

    np.testing.assert_array_equal(grid.cell_pixels(5), coloured(5))
    qtbot.mouseClick(grid._page_bar.next, Qt.MouseButton.LeftButton)   # "More ▸"
    assert grid.page() == 1 and grid._page_bar.label.text() == "Channels 65–128 of 256"
    np.testing.assert_array_equal(grid.cell_pixels(100), coloured(100))
    clicked = []
    grid.channel_clicked.connect(clicked.append)
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=grid.cell_centre(70))
    assert clicked == [70]
    grid.set_selected(3)   # selected on another page: no outline here, and the page stays
    assert grid.page() == 1 and not grid._selection.isVisible()
    grid.set_maps(maps * 2, levels * 2)   # new values for the same layer keep the page
    assert grid.page() == 1
    grid.set_page(3)
    assert grid.page_range() == range(192, 256) and not grid._page_bar.next.isEnabled()
    grid.set_maps(maps[:32], levels[:32])   # a layer that fits: no pages, no bar
    assert not grid.is_paged() and grid.page() == 0 and not grid._page_bar.isVisible()


def test_wide_model_layer_pages_in_the_inspector_with_class_names(qtbot, inspector, compute_client, app_models):
    info = show(qtbot, inspector, compute_client, app_models["wide"])
    assert info.class_names == CIFAR_NAMES
    inspector.open_image(app_models["picture"])
    outputs = wait_outputs(qtbot, inspector)
    wide = inspector.layer_names().index("wide")
    inspector.select_layer(wide)
    grid = inspector.layer_grid
    assert grid.num_maps() == 256 and grid.is_paged() and grid.maps().shape == (256, 14, 14)
    grid.next_page()
    inspector.select_channel(130)
    assert grid.page() == 1 and "channel <b>130</b> of 256" in inspector.channel_view.title()
    assert inspector.prediction_bars.class_names() == tuple(CIFAR_NAMES)
    assert inspector.top_guess.label() == CIFAR_NAMES[int(np.argmax(outputs[-1]))]
    assert inspector.prediction_bars.uses_rows()


def test_more_than_ten_classes_list_the_top_ten(qtbot):
    from cnnviz.gui.widgets.prediction_bars import PredictionBars, shown_classes

    bars = PredictionBars()
    qtbot.addWidget(bars)
    names = [f"class {i}" for i in range(100)]
    bars.set_class_names(names)
    probabilities = np.random.default_rng(1).dirichlet(np.ones(100)).astype(np.float32)
    bars.set_probabilities(probabilities)
    top = list(np.argsort(-probabilities)[:10])
    assert shown_classes(probabilities, 100) == top
    assert bars.toolTip().splitlines()[0] == f"class {top[0]}: {probabilities[top[0]]:.2%}"
    assert bars.sizeHint().height() >= 11 * 15


def window_with(qtbot, client):
    from cnnviz.gui.shell.main_window import MainWindow

    window = MainWindow(client=client)
    qtbot.addWidget(window)
    window.show()
    return window


def load_in(qtbot, window, path):
    with qtbot.waitSignal(window.model_ready, timeout=MODEL_TIMEOUT_MS):
        window.load_model_file(path)


REFUSALS = {"lambda": "uses a Lambda layer (double): cnnviz never runs Python code from a model file",
            "two_outputs": "has 1 input(s) and 2 output(s)"}


def test_refused_models_get_a_dialog_and_the_current_model_stays(qtbot, compute_client, app_models,
                                                                  shipped_model_path):
    window = window_with(qtbot, compute_client)
    load_in(qtbot, window, shipped_model_path)
    for name, message in REFUSALS.items():
        with qtbot.waitSignal(window.model_failed, timeout=MODEL_TIMEOUT_MS) as failed:
            window.load_model_file(app_models[name])
        assert message in failed.args[0] and "\n" not in failed.args[0]
        box = window.last_message_box
        assert box.windowTitle() == "Could not open model" and message in box.text()
        assert "keeps showing mnist_convnet.keras" in box.informativeText()
        box.close()
        assert window.current.path == shipped_model_path and window.inspector.model() is window.current


def test_non_finite_weights_open_with_a_warning_banner(qtbot, compute_client, app_models):
    window = window_with(qtbot, compute_client)
    load_in(qtbot, window, app_models["nan"])
    assert window.current.non_finite_layers == ("conv",)
    banner = window.capabilities["models"].banner
    assert banner.isVisible() and banner.kind == "warning"
    assert "NaN or infinite values (conv)" in banner.text()


@pytest.mark.slow
def test_shipped_fashion_model_from_the_menu_names_its_classes_and_uses_its_test_set(qtbot, compute_client):
    from cnnviz.core.data import FASHION_MNIST, load_dataset

    fashion = load_dataset("fashion-mnist", allow_download=False)
    window = window_with(qtbot, compute_client)
    action = next(a for a in window.menu("File").actions() if "Fashion-MNIST model" in a.text())
    with qtbot.waitSignal(window.model_ready, timeout=MODEL_TIMEOUT_MS):
        action.trigger()
    inspector = window.inspector
    assert window.current.class_names == list(FASHION_MNIST.class_names) and window.current.dataset == "fashion-mnist"
    assert window.capabilities["training"].panel.dataset_choice() == "fashion-mnist"   # training goes on with it
    assert inspector.input_sources.test_set_button.text() == "Fashion-MNIST ▾"
    assert [a.text() for a in inspector.input_actions()[3:]] == ["Test image by index…", "Random test image",
                                                                 "Misclassified test image"]
    said = []
    inspector.status_message.connect(said.append)
    assert inspector.show_test_digit(0)
    outputs = wait_outputs(qtbot, inspector)
    np.testing.assert_array_equal(inspector.current_input(), fashion.x_test[0] / np.float32(255))
    assert said[-1] == "Fashion-MNIST test image #0, labelled Ankle boot."
    bars = inspector.prediction_bars
    assert bars.class_names() == FASHION_MNIST.class_names and bars.uses_rows()
    assert bars.top_label()[0] == FASHION_MNIST.class_names[int(np.argmax(outputs[-1]))] == inspector.top_guess.label()
    assert bars.toolTip().splitlines()[9].startswith("Ankle boot: ")

    # A test image the model gets wrong: found in Fashion-MNIST's test set by the compute process.
    inspector.input_sources.misclassified_action.trigger()
    qtbot.waitUntil(lambda: any("the model says" in text for text in said), timeout=MODEL_TIMEOUT_MS)
    found = re.search(r"Fashion-MNIST test image #(\d+): labelled (.+), the model says (.+) \(", said[-1])
    assert found, said[-1]
    index = int(found.group(1))
    assert FASHION_MNIST.class_names[fashion.y_test[index]] == found.group(2) != found.group(3)


@pytest.mark.slow
def test_training_panel_trains_on_fashion_mnist(qtbot, compute_client, shipped_model_path):
    """The dataset choice reaches the compute process: a fresh model trained on a few Fashion-MNIST
    images names Fashion-MNIST's classes; the choice is remembered."""
    from cnnviz.core.data import FASHION_MNIST
    from cnnviz.gui.widgets.qt_helpers import app_settings

    window = window_with(qtbot, compute_client)
    load_in(qtbot, window, shipped_model_path)
    panel = window.capabilities["training"].panel
    panel.set_dataset("fashion-mnist")
    assert "Fashion-MNIST" in panel.start_action.toolTip()
    panel.epochs.setValue(1)
    panel.limit.setValue(500)
    panel.batch_size.setValue(100)
    with qtbot.waitSignal(window.training_finished, timeout=MODEL_TIMEOUT_MS) as finished:
        panel.start_action.trigger()
    assert finished.args[0].status == "finished"
    assert window.current.class_names == list(FASHION_MNIST.class_names)
    assert window.inspector.prediction_bars.class_names() == FASHION_MNIST.class_names
    panel.save_settings(app_settings())
    from cnnviz.gui.training.training_panel import TrainingPanel

    again = TrainingPanel()
    qtbot.addWidget(again)
    again.restore_settings(app_settings())
    assert again.dataset_choice() == "fashion-mnist"


@pytest.mark.slow
@pytest.mark.xvfb
def test_real_app_with_an_rgb_model_screenshot(x_display, tmp_path):
    """The real app under Xvfb: File → Open an RGB model, open a colour picture, page a 256-channel layer."""
    import keras

    from cnnviz.core.model_files import write_class_names

    keras.utils.set_random_seed(3)
    model_path = tmp_path / "rgb-model-and-screenshot_model.keras"
    wide_rgb_model().save(model_path)
    write_class_names(model_path, CIFAR_NAMES)
    save_colour_picture(tmp_path / "rgb-model-and-screenshot_picture.png")
    done, pixels = run_app("rgb-model-and-screenshot", x_display, tmp_path)
    line = re.search(r"rgb model (.*); input 32x32x3; layer wide 256 channels, page 2 of 4; predicted (\w+)",
                     done.stdout)
    assert line, done.stdout
    assert line.group(1) == "32×32 RGB input → 10 classes (softmax)" and line.group(2) in CIFAR_NAMES
    colourful = np.abs(pixels[..., 0].astype(int) - pixels[..., 2]) > 100
    assert colourful.sum() > 2000, "no colour picture in the screenshot"
