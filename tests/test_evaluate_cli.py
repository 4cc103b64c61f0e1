"""`cnnviz evaluate --confusion / --checkpoints` and `cnnviz train --checkpoints`, as a user runs them."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cnnviz.cli import main


def run_cli(*args, timeout=600):
    """Run `python -m cnnviz ARGS` in a fresh process."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, "-m", "cnnviz", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def run_in_process(capsys, *args):
    """Run the command in this process (TensorFlow is already loaded): (exit code, stdout, stderr)."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def trained_folder(tmp_path_factory):
    """The issue's run: `cnnviz train --epochs 2 --limit 2000 --checkpoints DIR`."""
    folder = tmp_path_factory.mktemp("train")
    done = run_cli("train", "--epochs", "2", "--limit", "2000", "--seed", "1", "--checkpoints",
                   str(folder / "checkpoints"), "--out", str(folder / "model.keras"))
    assert done.returncode == 0, done.stderr
    return folder


def test_confusion_json_equals_plain_keras_and_its_trace_is_the_accuracy(shipped_model, mnist):
    done = run_cli("evaluate", "--confusion", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    probabilities = shipped_model.predict(mnist.x_test[..., None].astype("float32") / 255, verbose=0)
    expected = np.zeros((10, 10), dtype=int)
    np.add.at(expected, (mnist.y_test, probabilities.argmax(axis=1)), 1)
    assert report["confusion"] == expected.tolist()
    assert np.trace(report["confusion"]) / 10_000 == report["accuracy"]
    assert report["per_class_accuracy"] == pytest.approx(list(np.diag(expected) / expected.sum(axis=1)))
    assert report["accuracy"] >= 0.99


def test_confusion_table_shows_the_matrix_and_accuracies(capsys, mnist):
    code, out, _ = run_in_process(capsys, "evaluate", "--confusion")
    assert code == 0
    lines = out.splitlines()
    assert "accuracy" in lines[0] and len([line for line in lines if line[:1].isdigit()]) == 10
    assert "of 10,000 right" in lines[-1]


@pytest.mark.slow
def test_train_writes_epochs_0_1_2_and_the_inner_ones_the_last_equal_to_the_model(trained_folder):
    from cnnviz.core.model import load_model

    folder = trained_folder / "checkpoints"
    files = sorted(p.name for p in folder.glob("*.keras"))
    # 2000 digits in batches of 64: 32 batches an epoch, so batches 10 and 30 fall inside the first.
    assert files == ["epoch_00.keras", "epoch_00_batch_00010.keras", "epoch_00_batch_00030.keras",
                     "epoch_01.keras", "epoch_02.keras"]
    index = json.loads((folder / "checkpoints.json").read_text())
    assert index["status"] == "finished"
    assert [e["file"] for e in index["checkpoints"]] == files
    assert [e["digits_seen"] for e in index["checkpoints"]] == [0, 640, 1920, 2000, 4000]
    assert [e["test_accuracy"] is None for e in index["checkpoints"]] == [True, True, True, False, False]
    models = [load_model(folder / name) for name in files]
    final = load_model(trained_folder / "model.keras")
    assert all(np.array_equal(a, b) for a, b in zip(models[-1].get_weights(), final.get_weights()))
    assert not np.array_equal(models[0].get_weights()[0], models[1].get_weights()[0])


@pytest.mark.slow
def test_the_seed_fixes_the_initial_weights(trained_folder):
    import keras

    from cnnviz.core.model import build_seed_model, load_model

    keras.utils.set_random_seed(1)
    expected = build_seed_model().get_weights()
    start = load_model(trained_folder / "checkpoints" / "epoch_00.keras").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(start, expected))


@pytest.mark.slow
def test_evaluate_checkpoints_gives_every_test_accuracy(trained_folder, capsys):
    folder = trained_folder / "checkpoints"
    code, out, _ = run_in_process(capsys, "evaluate", "--checkpoints", str(folder), "--json")
    assert code == 0
    rows = json.loads(out)["checkpoints"]
    assert [(r["epoch"], r["batch"]) for r in rows] == [(0, 0), (0, 10), (0, 30), (1, 0), (2, 0)]
    index = json.loads((folder / "checkpoints.json").read_text())["checkpoints"]
    for row, entry in zip(rows[3:], index[3:]):  # the training run measured these itself
        assert row["test_accuracy"] == pytest.approx(entry["test_accuracy"], abs=1e-6)
    assert rows[0]["test_accuracy"] < 0.3 < rows[-1]["test_accuracy"]


@pytest.mark.slow
def test_evaluate_checkpoints_prints_a_table(trained_folder, tmp_path, capsys):
    import shutil

    folder = shutil.copytree(trained_folder / "checkpoints", tmp_path / "two")
    index = json.loads((folder / "checkpoints.json").read_text())
    index["checkpoints"] = index["checkpoints"][2:4]  # fewer checkpoints: a quicker test
    (folder / "checkpoints.json").write_text(json.dumps(index))
    code, out, _ = run_in_process(capsys, "evaluate", "--checkpoints", str(folder))
    assert code == 0
    table = out.splitlines()
    assert table[0].split() == ["file", "epoch", "batch", "digits", "seen", "train", "acc.", "test", "loss",
                                "test", "acc."]
    assert len(table) == 2 + 2
    assert table[2].split()[:4] == ["epoch_00_batch_00030.keras", "0", "30", "1,920"]
    assert table[3].split()[:3] == ["epoch_01.keras", "1", "2,000"]
    assert float(table[3].split()[-1]) == pytest.approx(index["checkpoints"][1]["test_accuracy"], abs=1e-4)


def test_evaluate_checkpoints_errors_are_one_line(tmp_path, capsys):
    code, _, err = run_in_process(capsys, "evaluate", "--checkpoints", str(tmp_path / "nowhere"))
    assert code == 2 and "No checkpoint folder" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_in_process(capsys, "evaluate", "--checkpoints", str(tmp_path))
    assert code == 2 and "not a cnnviz checkpoint folder" in err
    code, _, err = run_in_process(capsys, "evaluate", "--checkpoints", str(tmp_path), "--model", "x.keras")
    assert code == 2 and "leave out --model" in err


def test_train_refuses_a_checkpoint_folder_with_other_files_before_training(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"x")
    done = run_cli("train", "--limit", "100", "--checkpoints", str(folder), "--out", str(tmp_path / "m.keras"))
    assert done.returncode == 2 and "holds other files (holiday.jpg)" in done.stderr
    assert "Traceback" not in done.stderr and "Epoch" not in done.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["holiday.jpg"]
