"""Checkpoints during training: when they are taken, what they hold, the folder and its index."""

import io
import json
import zipfile

import numpy as np
import pytest

from cnnviz.core.checkpoints import (INDEX_FILE, Checkpoint, CheckpointError, FolderSink, MemorySink,
                                     checkpoint_file_name, checkpoint_weights, checkpoints_folder_for,
                                     evaluate_checkpoints, make_checkpoint_callback, prepare_checkpoint_folder,
                                     read_checkpoint_index, read_checkpoints)
from cnnviz.core.training import Trainer, TrainConfig


def train_with_checkpoints(model, data, folder=None, epochs=2, batch_size=16, steps_per_execution=1,
                           inner_batches=(10, 30, 100, 300), control=None):
    """Train `model` on `data` with a memory sink (and a folder sink); returns (result, memory sink)."""
    config = TrainConfig(epochs=epochs, batch_size=batch_size, seed=0, steps_per_execution=steps_per_execution)
    memory = MemorySink()
    sinks = [memory] + ([FolderSink(folder, {"epochs": epochs})] if folder else [])
    callback = make_checkpoint_callback(sinks, batch_size, len(data.x_train), inner_batches)
    result = Trainer(model, data, config, control=control, extra_callbacks=(callback,)).run()
    return result, memory


@pytest.fixture(scope="module")
def trained_run(small_mnist, tmp_path_factory):
    """600 digits, batch 16 (38 batches an epoch), 2 epochs, checkpoints in memory and in a folder."""
    import keras

    from cnnviz.core.model import build_seed_model

    keras.utils.set_random_seed(0)
    model = build_seed_model()
    initial = model.get_weights()
    folder = tmp_path_factory.mktemp("run") / "checkpoints"
    result, memory = train_with_checkpoints(model, small_mnist, folder)
    return model, initial, folder, result, memory


def same_weights(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_start_inner_batches_and_every_epoch_are_kept(trained_run):
    model, initial, folder, result, memory = trained_run
    assert result.status == "finished"
    assert [(c.epoch, c.batch) for c in memory.checkpoints] == [(0, 0), (0, 10), (0, 30), (1, 0), (2, 0)]
    assert [c.digits_seen for c in memory.checkpoints] == [0, 160, 480, 600, 1200]
    assert [c.position for c in memory.checkpoints] == pytest.approx([0, 10 / 38, 30 / 38, 1, 2])
    assert same_weights(memory.checkpoints[0].weights, initial)  # epoch 0: the random filters
    assert same_weights(memory.checkpoints[-1].weights, model.get_weights())
    for earlier, later in zip(memory.checkpoints, memory.checkpoints[1:]):
        assert not same_weights(earlier.weights, later.weights)
    assert memory.status == "finished"


def test_figures_come_from_training_and_the_test_pass(trained_run):
    _, _, _, result, memory = trained_run
    start, inner, _, epoch_1, epoch_2 = memory.checkpoints
    assert start.train_loss is None and start.test_accuracy is None
    assert inner.train_loss > 0 and 0 <= inner.train_accuracy <= 1 and inner.test_accuracy is None
    for checkpoint, record in zip((epoch_1, epoch_2), result.history):
        assert checkpoint.train_loss == pytest.approx(record.loss)
        assert checkpoint.test_accuracy == pytest.approx(record.test_accuracy)
        assert checkpoint.test_loss == pytest.approx(record.test_loss)


def test_the_folder_holds_one_file_per_checkpoint_in_training_order(trained_run):
    _, _, folder, _, memory = trained_run
    files = sorted(p.name for p in folder.iterdir() if p.suffix == ".keras")
    assert files == ["epoch_00.keras", "epoch_00_batch_00010.keras", "epoch_00_batch_00030.keras",
                     "epoch_01.keras", "epoch_02.keras"]
    index = json.loads((folder / INDEX_FILE).read_text())
    assert index["status"] == "finished" and index["training"] == {"epochs": 2}
    assert [entry["file"] for entry in index["checkpoints"]] == files
    assert index["checkpoints"][0]["test_accuracy"] is None  # null, not NaN
    read = read_checkpoints(folder)
    assert [(c.epoch, c.batch, c.digits_seen) for c in read] == [(c.epoch, c.batch, c.digits_seen)
                                                                 for c in memory.checkpoints]
    for on_disk, in_memory in zip(read, memory.checkpoints):
        assert same_weights(checkpoint_weights(on_disk), in_memory.weights)


def test_files_are_small_and_hold_no_optimizer_state(trained_run):
    _, _, folder, _, _ = trained_run
    import h5py

    with zipfile.ZipFile(folder / "epoch_02.keras") as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as weights:
            assert "optimizer" not in weights and "layers" in weights
    assert (folder / "epoch_02.keras").stat().st_size < 93_322 * 4 * 1.2  # weights + little else


def test_a_checkpoint_model_keeps_the_layer_names(trained_run):
    from cnnviz.core.checkpoints import load_checkpoint_model

    model, *_ = trained_run
    loaded = load_checkpoint_model(read_checkpoints(trained_run[2])[1])
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_evaluating_checkpoints_matches_each_model_on_its_own(trained_run, small_mnist):
    from cnnviz.core.confusion import compute_confusion
    from cnnviz.core.model import load_model

    _, _, folder, _, memory = trained_run
    checkpoints = read_checkpoints(folder)
    results = evaluate_checkpoints(checkpoints[::2], small_mnist.x_test, small_mnist.y_test)
    for checkpoint, result in zip(checkpoints[::2], results):
        alone = compute_confusion(load_model(checkpoint.path), small_mnist.x_test, small_mnist.y_test)
        assert np.array_equal(result.matrix, alone.matrix)
    in_memory = evaluate_checkpoints(memory.checkpoints[::2], small_mnist.x_test, small_mnist.y_test,
                                     model=trained_run[0])
    assert [r.matrix.tolist() for r in in_memory] == [r.matrix.tolist() for r in results]
    assert in_memory[0].accuracy < 0.3 < in_memory[-1].accuracy  # random filters, then learning


def test_with_several_steps_per_execution_the_real_batch_is_recorded(fresh_model, small_mnist):
    _, memory = train_with_checkpoints(fresh_model, small_mnist, epochs=1, steps_per_execution=4)
    assert [(c.epoch, c.batch) for c in memory.checkpoints] == [(0, 0), (0, 12), (0, 32), (1, 0)]


def test_a_stopped_epoch_leaves_no_epoch_checkpoint(fresh_model, small_mnist, tmp_path):
    from cnnviz.core.training import TrainingControl

    control = TrainingControl()
    memory = MemorySink(on_added=lambda checkpoint: checkpoint.batch == 10 and control.stop())
    folder = tmp_path / "ck"
    callback = make_checkpoint_callback([memory, FolderSink(folder)], 16, 600)
    config = TrainConfig(epochs=3, batch_size=16, seed=0)
    result = Trainer(fresh_model, small_mnist, config, control=control, extra_callbacks=(callback,)).run()
    assert result.status == "stopped"
    assert [(c.epoch, c.batch) for c in memory.checkpoints] == [(0, 0), (0, 10)]
    index = read_checkpoint_index(folder)
    assert index.status == "stopped" and len(index.checkpoints) == 2


def test_file_names_sort_in_training_order():
    names = [checkpoint_file_name(0), checkpoint_file_name(0, 10), checkpoint_file_name(0, 300),
             checkpoint_file_name(1), checkpoint_file_name(2), checkpoint_file_name(10)]
    assert names == sorted(names)
    assert names[:2] == ["epoch_00.keras", "epoch_00_batch_00010.keras"]
    assert checkpoints_folder_for(__import__("pathlib").Path("/m/net.keras")).name == "net_checkpoints"
    assert Checkpoint(0, 0, 0, 0.0).label == "epoch 0 (random weights)"
    assert Checkpoint(0, 30, 1920, 0.03).label == "epoch 0 + 30 batches"
    assert Checkpoint(3, 0, 180_000, 3.0).label == "epoch 3"


def _copy_run(trained_run, tmp_path):
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(trained_run[2], target)
    return target


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / INDEX_FILE).unlink(), "no checkpoints.json"),
    (lambda f: (f / INDEX_FILE).write_text("{not json"), "corrupt"),
    (lambda f: (f / INDEX_FILE).write_text("[]"), "not a cnnviz checkpoint index"),
    (lambda f: (f / "epoch_01.keras").unlink(), "epoch_01.keras is missing"),
    (lambda f: _edit_index(f, lambda i: i["checkpoints"][1].update(file="../../etc/passwd")), "names no checkpoint"),
    (lambda f: _edit_index(f, lambda i: i["checkpoints"][2].update(epoch="one")), "whole number 'epoch'"),
    (lambda f: _edit_index(f, lambda i: i["checkpoints"][2].update(test_accuracy="high")), "not a number"),
    (lambda f: _edit_index(f, lambda i: i.update(version=99)), "version 99"),
])
def test_a_damaged_folder_is_a_clear_error(trained_run, tmp_path, damage, message):
    folder = _copy_run(trained_run, tmp_path)
    damage(folder)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoints(folder)


def _edit_index(folder, change):
    index = json.loads((folder / INDEX_FILE).read_text())
    change(index)
    (folder / INDEX_FILE).write_text(json.dumps(index))


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="No checkpoint folder"):
        read_checkpoints(tmp_path / "nowhere")


def test_preparing_a_folder_empties_an_earlier_run_but_never_other_files(trained_run, tmp_path):
    folder = _copy_run(trained_run, tmp_path)
    prepare_checkpoint_folder(folder)
    assert list(folder.iterdir()) == []
    (folder / "notes.txt").write_text("mine")
    (folder / "epoch_00.keras").write_bytes(b"old")
    with pytest.raises(CheckpointError, match="notes.txt"):
        prepare_checkpoint_folder(folder)
    assert (folder / "notes.txt").exists() and (folder / "epoch_00.keras").exists()
    prepare_checkpoint_folder(tmp_path / "new" / "folder")
    assert (tmp_path / "new" / "folder").is_dir()


def test_the_shipped_model_ships_its_checkpoints(shipped_model, shipped_model_path):
    folder = checkpoints_folder_for(shipped_model_path)
    index = read_checkpoint_index(folder)
    assert index.status == "finished" and index.training["seed"] == 1
    assert [c.epoch for c in index.checkpoints if c.batch == 0] == [0, 1, 2, 3, 4, 5]
    assert [c.batch for c in index.checkpoints if c.batch] == [16, 32, 104, 304]  # steps_per_execution 8
    assert index.checkpoints[-1].test_accuracy >= 0.99
    assert same_weights(checkpoint_weights(index.checkpoints[-1]), shipped_model.get_weights())
    assert sum(p.stat().st_size for p in folder.iterdir()) < 5_000_000
