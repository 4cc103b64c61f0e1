"""The Lab dock on the shared compute process: two variants really trained (tiny data), their curves
overlaid and their rows filled in; their maps side by side with the variants' own shapes and values;
shipped results on first launch; stop; remembered settings; opening a variant in the inspector."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from cnnviz.core.architectures import architecture_specs
from cnnviz.core.comparison import read_comparison_csv
from cnnviz.core.data import Dataset
from cnnviz.gui.lab.data import VARIANT_COLOURS

RUN_TIMEOUT_MS = 240_000
PAIR = ("seed", "no-pooling")


@pytest.fixture(scope="module")
def tiny_mnist(mnist):
    return Dataset(mnist.x_train[:300], mnist.y_train[:300], mnist.x_test[:300], mnist.y_test[:300], "tiny")


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory, tiny_mnist):
    """seed and no-pooling trained for one epoch on tiny data, saved as `cnnviz compare --models` saves
    them (in this process, independently of the compute process)."""
    from cnnviz.core.comparison import save_variant, train_variant
    from cnnviz.core.training import TrainConfig

    folder = tmp_path_factory.mktemp("shipped")
    for name in PAIR:
        save_variant(train_variant(name, tiny_mnist, TrainConfig(epochs=1, limit=200, seed=1)), folder)
    return folder


@pytest.fixture
def make_dock(qtbot, compute_client):
    docks = []

    def make(shipped, lab):
        from cnnviz.gui.lab.dock import LabDock

        dock = LabDock(compute_client, shipped=shipped, lab=lab)
        qtbot.addWidget(dock)
        dock.resize(1200, 740)
        dock.show()
        docks.append(dock)
        return dock

    yield make
    for dock in docks:
        dock.abandon()


def keras_layer_maps(path, image, layer: int) -> np.ndarray:
    """Layer `layer`'s maps of `image` from the saved file by plain Keras, channels first."""
    import keras

    model = keras.models.load_model(path)
    extractor = keras.Model(model.inputs, model.layers[layer].output)
    return np.moveaxis(np.asarray(extractor([image[None, :, :, None]], training=False))[0], -1, 0)


def wait_for_maps(qtbot, dock) -> tuple[np.ndarray, np.ndarray]:
    qtbot.waitUntil(lambda: all(dock.side_by_side.shown_maps(side) is not None for side in (0, 1)),
                    timeout=RUN_TIMEOUT_MS)
    return dock.side_by_side.shown_maps(0), dock.side_by_side.shown_maps(1)


@pytest.mark.slow
def test_two_variants_train_overlaid_tabulated_and_side_by_side(qtbot, make_dock, tmp_path, tiny_mnist,
                                                                  digit_seven, monkeypatch):
    from cnnviz.gui.lab.run import LabRun

    monkeypatch.setattr(LabRun, "steps_per_execution", 1)  # a progress point per batch (the app: per 4)
    lab = tmp_path / "lab"
    dock = make_dock(tmp_path / "no-shipped-results", lab)
    dock.dataset = tiny_mnist
    dock.variants.set_checked(PAIR)
    dock.epochs.setValue(1)
    dock.limit.setValue(200)
    dock.set_input(digit_seven)
    assert dock.table.cell_text("seed", "from") == "not trained yet"
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_TIMEOUT_MS):
        dock.train_action.trigger()
        assert not dock.train_action.isEnabled() and dock.stop_action.isEnabled()
    rows = {row.architecture: row for row in read_comparison_csv(lab / "comparison.csv")}
    assert sorted(rows) == sorted(PAIR)

    # Curves: both variants on the same axes, distinct colours, in the legend; the test point of epoch 1
    # is the tabulated test accuracy, the training curve has a point per batch (200 digits / 64 = 4).
    curves = dock.curves
    assert set(PAIR) <= set(curves.variants()) and set(PAIR) <= set(curves.legend_names())
    assert curves.curve_colour("seed") == VARIANT_COLOURS["seed"] != curves.curve_colour("no-pooling")
    for name in PAIR:
        epochs, accuracy = curves.curve_data(name, "accuracy", "test")
        assert list(epochs) == [1.0] and accuracy[0] == pytest.approx(rows[name].test_accuracy, abs=1e-6)
        steps, _ = curves.curve_data(name, "loss", "training")
        assert len(steps) == 4 and steps[-1] == pytest.approx(1.0)
        # The table: the row of the CSV, marked as the user's.
        table = dock.table
        assert table.cell_text(name, "test acc") == f"{rows[name].test_accuracy:.2%}"
        assert table.cell_text(name, "from") == "yours" and table.cell_text(name, "epochs") == "1"
        assert dock.variants.status(name) == f"yours · {rows[name].test_accuracy:.1%}"
        assert (lab / f"{name}.keras").is_file()
    assert dock.table.cell_text("strided", "from") == "not trained yet"
    assert dock.train_action.isEnabled() and not dock.stop_action.isEnabled()

    # Side by side: the last convolution of each, with its own shape and its own trained weights.
    assert dock.side_by_side.pair() == PAIR and dock.side_by_side.current_position() == "conv2d_3"
    seed_maps, no_pooling_maps = wait_for_maps(qtbot, dock)
    assert seed_maps.shape == (64, 3, 3) and no_pooling_maps.shape == (64, 22, 22)
    for name, maps in zip(PAIR, (seed_maps, no_pooling_maps)):
        layer = [spec.name for spec in architecture_specs(name)].index("conv2d_3")
        np.testing.assert_allclose(maps, keras_layer_maps(lab / f"{name}.keras", digit_seven, layer),
                                   rtol=1e-4, atol=1e-5)
    boxes = [side.field.box() for side in dock.side_by_side.sides]
    assert [(box.height, box.width) for box in boxes] == [(18, 18), (7, 7)]   # a centre unit's field
    dock.side_by_side.set_position("conv2d_1")
    assert [m.shape for m in wait_for_maps(qtbot, dock)] == [(32, 26, 26), (32, 26, 26)]


@pytest.mark.slow
def test_shipped_results_show_on_first_launch(qtbot, make_dock, tmp_path, trained_folder, digit_seven):
    shipped = tmp_path / "shipped"
    shutil.copytree(trained_folder, shipped)  # files the compute process has never seen: it loads them
    dock = make_dock(shipped, tmp_path / "lab")
    rows = {row.architecture: row for row in read_comparison_csv(shipped / "comparison.csv")}
    for name in PAIR:
        assert dock.table.cell_text(name, "from") == "shipped"
        assert dock.table.cell_text(name, "test acc") == f"{rows[name].test_accuracy:.2%}"
        assert dock.curves.curve_data(name, "accuracy", "test")[1] == pytest.approx([rows[name].test_accuracy])
        assert dock.variants.status(name).startswith("shipped")
    assert "not trained yet" in dock.table.row_texts("same-padding")
    # The default pair is the two shipped variants: both have models, so both ask for a digit.
    assert dock.side_by_side.pair() == PAIR
    assert [side.message.text()[:12] for side in dock.side_by_side.sides] == ["Draw a digit"] * 2
    dock.set_input(digit_seven)
    _, no_pooling_maps = wait_for_maps(qtbot, dock)
    np.testing.assert_allclose(no_pooling_maps, keras_layer_maps(shipped / "no-pooling.keras", digit_seven, 2),
                               rtol=1e-4, atol=1e-5)
    # A variant without a model says so instead of showing maps.
    dock.side_by_side.set_pair("seed", "strided")
    assert dock.side_by_side.shown_maps(1) is None
    assert "strided has no trained model yet" in dock.side_by_side.sides[1].message.text()
    assert not dock.side_by_side.sides[1].open_button.isEnabled()
    # The help is filled from the shipped CSV.
    assert f"| seed | 93,322 | 3×3×64 | 18×18 | {rows['seed'].seconds_per_epoch:.1f} s |" in dock.help.markdown()


def test_pause_resume_and_stop_keep_nothing(qtbot, make_dock, tmp_path, tiny_mnist):
    lab = tmp_path / "lab"
    dock = make_dock(tmp_path / "no_shipped_run", lab)   # only this test's runs, not resources/architectures
    dock.dataset = tiny_mnist
    dock.variants.set_checked(["strided", "same-padding"])
    dock.epochs.setValue(100)
    dock.limit.setValue(300)
    dock.train_action.trigger()
    qtbot.waitUntil(lambda: len(dock.curves.curve_data("strided", "loss", "training")[0]) > 0
                    if "strided" in dock.curves.variants() else False, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: dock.variants.status("strided").startswith("epoch"), timeout=RUN_TIMEOUT_MS)
    assert dock.variants.status("same-padding") == "queued"
    dock.pause_action.trigger()
    assert dock.pause_action.text() == "&Resume" and "(paused)" in dock.progress_bar.format()
    dock.pause_action.trigger()
    assert dock.pause_action.text() == "&Pause"
    with qtbot.waitSignal(dock.run_finished, timeout=RUN_TIMEOUT_MS):
        dock.stop_action.trigger()
    assert dock.variants.status("strided") == "stopped, not kept"
    assert dock.variants.status("same-padding") == ""            # dropped from the queue, never trained
    assert not lab.exists() or not any(lab.iterdir())
    assert dock.progress_bar.format() == "Stopped" and dock.train_action.isEnabled()


def test_settings_are_remembered(qtbot, make_dock, tmp_path):
    dock = make_dock(tmp_path / "no_shipped_run", tmp_path)
    dock.epochs.setValue(3)
    dock.limit.setValue(5000)
    dock.seed.setValue(7)
    dock.variants.set_checked(["strided"])
    dock.side_by_side.set_pair("strided", "same-padding", "conv2d_2")
    dock.tabs.setCurrentIndex(1)
    again = make_dock(tmp_path / "no_shipped_run", tmp_path)
    assert (again.epochs.value(), again.limit.value(), again.seed.value()) == (3, 5000, 7)
    assert again.variants.checked() == ["strided"] and again.tabs.currentIndex() == 1
    assert again.side_by_side.pair() == ("strided", "same-padding")
    assert again.side_by_side.current_position() == "conv2d_2"
    assert again.config().limit == 5000 and again.config().seed == 7 and again.config().epochs == 3


def test_the_lab_in_the_window_opens_a_variant_in_the_inspector(qtbot, compute_client, tmp_path, trained_folder,
                                                                 tiny_mnist, monkeypatch):
    from _compute import call

    from cnnviz.gui.shell import capabilities, main_window
    from cnnviz.gui.lab.installer import FIRST_SIZE

    monkeypatch.setenv("CNNVIZ_ARCHITECTURES_DIR", str(trained_folder))
    monkeypatch.setenv("CNNVIZ_LAB_DIR", str(tmp_path / "lab"))
    monkeypatch.setattr(capabilities, "CAPABILITIES", ("lab",))
    window = main_window.MainWindow(client=compute_client)
    qtbot.addWidget(window)
    window.show()
    [feature] = window.capabilities.values()
    assert not feature.dock.isVisible()
    assert feature.show_action in window.menu("Train").actions() and feature.show_action.shortcut().toString() == \
        "Ctrl+L"
    feature.show_action.trigger()
    assert feature.dock.isVisible() and feature.dock.isFloating()
    assert feature.dock.width() >= min(FIRST_SIZE.width(), window.screen().availableSize().width())
    feature.help_action.trigger()
    assert feature.lab.tabs.currentWidget() is feature.lab.help
    assert window.inspector.show_test_digit(0)
    qtbot.waitUntil(lambda: feature.lab.side_by_side.input() is not None)   # the user's digit reached the Lab
    np.testing.assert_array_equal(feature.lab.side_by_side.input(), window.inspector.current_input())
    with qtbot.waitSignal(window.model_ready, timeout=RUN_TIMEOUT_MS):
        feature.lab.table.variant_activated.emit("no-pooling")   # as a double click on its row does
    assert window.current.path == trained_folder / "no-pooling.keras"
    assert [layer.name for layer in window.current.layers] == [spec.name for spec in architecture_specs("no-pooling")]
    assert [layer.output_shape for layer in window.current.layers] == \
        [spec.output_shape for spec in architecture_specs("no-pooling")]
    feature.lab.open_variant("strided")                          # not trained: a message, nothing loads
    assert "strided has no trained model" in feature.lab.message() and not window.is_loading()
    # Closing the window stops a Lab run: the compute process's task thread is free at once.
    feature.lab.dataset = tiny_mnist
    feature.lab.variants.set_checked(["strided"])
    feature.lab.epochs.setValue(1000)
    feature.lab.train_action.trigger()
    qtbot.waitUntil(lambda: feature.lab.variants.status("strided").startswith("epoch"), timeout=RUN_TIMEOUT_MS)
    window.close()
    qtbot.waitUntil(lambda: not feature.lab.is_running())
    assert call(qtbot, compute_client, "lab_load", {"variants": {}}, timeout=60_000) == {"loaded": [], "failed": {}}


class FakeClient:
    """Records requests; the test answers them by hand."""

    def __init__(self):
        self.requests = []

    def request(self, method, args=None, *, key=None, on_reply=None, on_error=None, on_event=None):
        self.requests.append((method, args, on_reply, on_error))
        return len(self.requests)

    def cancel(self, request_id):
        pass

    def forget(self, request_id):
        pass


def test_the_queue_goes_on_after_a_failed_variant_but_not_without_mnist(qtbot):
    from cnnviz.compute.protocol import ComputeError
    from cnnviz.core.training import TrainConfig
    from cnnviz.gui.lab.run import LabRun

    client = FakeClient()
    run = LabRun(client, ["seed", "strided", "no-pooling"], TrainConfig(epochs=1))
    failed = []
    run.variant_failed.connect(lambda name, message: failed.append((name, message)))
    run.start()
    assert [args["name"] for _, args, _, _ in client.requests] == ["seed"]
    client.requests[-1][3](ComputeError("out of memory", "ResourceExhaustedError", "lab_train"))
    assert [args["name"] for _, args, _, _ in client.requests] == ["seed", "strided"]   # the next one goes
    with qtbot.waitSignal(run.finished):
        client.requests[-1][3](ComputeError("MNIST is not on this machine", "DataError", "lab_train"))
    assert [name for name, _ in failed] == ["seed", "strided"] and len(client.requests) == 2
    assert not run.is_running() and run.current is None
