"""`cnnviz compare` and its core (issue 13): variants trained side by side, one CSV row each."""

import csv
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from cnnviz.cli import main
from cnnviz.core.architectures import ARCHITECTURES
from cnnviz.core.comparison import (COLUMNS, ComparisonRow, accuracy_on, comparison_row, format_comparison_table,
                                    read_comparison_csv, rows_to_csv, train_variant, write_comparison_csv)
from cnnviz.core.training import EpochRecord, TrainConfig, TrainingControl

CONTRACT_COLUMNS = ["architecture", "params", "last_conv_shape", "last_conv_receptive_field", "seconds_per_epoch",
                    "train_accuracy", "test_accuracy", "train_test_gap"]


def start_cli(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.Popen([sys.executable, "-m", "cnnviz", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def run_cli(*args, timeout=600):
    process = start_cli(*args)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# --- the core -------------------------------------------------------------------------------------------

def test_comparison_row_from_a_history():
    from cnnviz.core.architectures import architecture_specs

    history = [EpochRecord(1, 0.5, 0.85, 0.3, 0.90, 12.0, 1000.0),  # 2,000 digits in 2 s of training
               EpochRecord(2, 0.2, 0.95, 0.1, 0.96, 11.0, 500.0),   # 4 s
               EpochRecord(3, 0.1, 0.97, 0.1, 0.97, 14.0, 400.0)]   # 5 s
    row = comparison_row("strided", architecture_specs("strided"), (28, 28, 1), history, 0.99, 2000)
    assert row == ComparisonRow("strided", 121_994, (4, 4, 64), 15, 4.0, 0.99, 0.97, pytest.approx(0.02), 3)


def test_csv_has_the_contract_columns_and_reads_back(tmp_path):
    rows = [ComparisonRow("seed", 93_322, (3, 3, 64), 18, 4.25, 0.99, 0.985, 0.005, 5),
            ComparisonRow("no-pooling", 2_038_922, (22, 22, 64), 7, 30.5, 0.999, 0.98, 0.019, 5)]
    text = rows_to_csv(rows)
    assert text.splitlines()[0].split(",")[:8] == CONTRACT_COLUMNS
    assert text.splitlines()[1] == "seed,93322,3x3x64,18,4.25,0.99,0.985,0.005,5"
    path = tmp_path / "r.csv"
    write_comparison_csv(rows, path)
    assert read_comparison_csv(path) == rows
    assert read_comparison_csv(tmp_path / "missing.csv") == []
    table = format_comparison_table(rows)
    assert "2,038,922" in table and "22×22×64" in table and "7×7" in table and "+0.0190" in table
    assert list(COLUMNS[:8]) == CONTRACT_COLUMNS


def test_accuracy_on_matches_argmax_by_hand(small_mnist):
    from cnnviz.core.architectures import build_architecture

    model = build_architecture("strided")
    images, labels = small_mnist.x_test[:300], small_mnist.y_test[:300]
    probabilities = model.predict(images[..., None].astype(np.float32) / 255.0, verbose=0)
    by_hand = float(np.mean(probabilities.argmax(axis=1) == labels))
    assert accuracy_on(model, images, labels) == pytest.approx(by_hand, abs=1e-6)


def test_train_variant_gives_a_row_and_a_stopped_run_none(small_mnist):
    config = TrainConfig(epochs=1, batch_size=64, seed=2, steps_per_execution=4)
    done = train_variant("average-pooling", small_mnist, config)
    assert done.result.status == "finished" and done.row is not None
    assert done.row.architecture == "average-pooling" and done.row.params == done.model.count_params() == 93_322
    assert done.row.last_conv_shape == (3, 3, 64) and done.row.last_conv_receptive_field == 18
    assert done.row.test_accuracy == done.result.history[-1].test_accuracy
    assert done.row.train_accuracy == pytest.approx(accuracy_on(done.model, small_mnist.x_train,
                                                                small_mnist.y_train), abs=1e-6)
    assert done.row.train_test_gap == pytest.approx(done.row.train_accuracy - done.row.test_accuracy)
    assert done.row.seconds_per_epoch > 0 and done.row.epochs == 1

    again = train_variant("average-pooling", small_mnist, config)  # the same seed: the very same run
    for ours, theirs in zip(done.model.get_weights(), again.model.get_weights()):
        # (without the seed the initial weights alone differ by far more than this)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    assert again.row.test_accuracy == pytest.approx(done.row.test_accuracy, abs=0.002)

    control = TrainingControl()
    control.stop()  # lands after the first batch: no epoch finishes
    stopped = train_variant("seed", small_mnist, config, control=control)
    assert stopped.result.status == "stopped" and stopped.row is None


# --- the command ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_compare_seed_and_no_pooling_writes_two_full_rows(tmp_path, mnist):
    out, models = tmp_path / "r.csv", tmp_path / "models"
    code, stdout, stderr = run_cli("compare", "--architectures", "seed,no-pooling", "--epochs", "1", "--limit",
                                   "2000", "--out", str(out), "--models", str(models))
    assert code == 0, stderr
    rows = read_rows(out)
    assert [row["architecture"] for row in rows] == ["seed", "no-pooling"]
    assert list(rows[0])[:8] == CONTRACT_COLUMNS
    assert all(row[name] != "" for row in rows for name in COLUMNS)
    # one seed: a summary over one run, without the spreads, the interval and the test that need two
    assert [(row["seeds"], row["test_accuracy_sd"], row["test_accuracy_ci_low"], row["differs_from_seed"])
            for row in rows] == [("1", "", "", "no"), ("1", "", "", "")]
    seed, no_pooling = rows
    assert (seed["params"], seed["last_conv_shape"], seed["last_conv_receptive_field"]) == \
           ("93322", "3x3x64", "18")
    assert (no_pooling["params"], no_pooling["last_conv_shape"], no_pooling["last_conv_receptive_field"]) == \
           ("2038922", "22x22x64", "7")
    for row in rows:
        train, test = float(row["train_accuracy"]), float(row["test_accuracy"])
        assert 0.3 < test <= 1 and 0.3 < train <= 1  # chance is 0.1
        assert float(row["train_test_gap"]) == pytest.approx(train - test, abs=1e-5)
        assert float(row["seconds_per_epoch"]) > 0
    assert "receptive field" in stdout and "22×22×64" in stdout  # the table
    assert "[2/2] no-pooling" in stderr and "Epoch 1:" in stderr  # progress
    import keras

    saved = keras.saving.load_model(models / "no-pooling.keras")
    assert saved.count_params() == 2_038_922
    # saved without the optimizer's state, which would be another float32 per weight (8 MB)
    assert (models / "no-pooling.keras").stat().st_size < 1.5 * 4 * 2_038_922
    assert (models / "seed_history.csv").is_file()


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_rows(tmp_path, mnist):
    out = tmp_path / "r.csv"
    process = start_cli("compare", "--architectures", "seed,average-pooling,strided", "--epochs", "2",
                        "--limit", "1500", "--steps-per-execution", "1", "--out", str(out))
    deadline = time.monotonic() + 300
    while not out.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert out.exists(), process.communicate()[1]
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert "Stopping after this batch" in stderr and "Traceback" not in stderr
    assert [row["architecture"] for row in read_rows(out)] == ["seed"]
    assert "[3/3]" not in stderr


def test_unknown_or_repeated_names_are_one_line_and_exit_2(tmp_path):
    code, stdout, stderr = run_cli("compare", "--architectures", "seed,max-everything", "--out",
                                   str(tmp_path / "r.csv"))
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and "max-everything" in stderr
    assert all(name in stderr for name in ARCHITECTURES)
    assert main(["compare", "--architectures", "seed,seed", "--out", str(tmp_path / "r.csv")]) == 2
    assert not (tmp_path / "r.csv").exists()


def test_compare_refuses_an_unwritable_table_before_training(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert main(["compare", "--architectures", "seed", "--out", str(blocker / "r.csv")]) == 2
    assert "cannot create" in capsys.readouterr().err


def test_train_architecture_trains_that_variant(tmp_path, capsys, mnist):
    import keras

    out = tmp_path / "strided.keras"
    assert main(["train", "--architecture", "strided", "--epochs", "1", "--limit", "300", "--seed", "1",
                 "--out", str(out)]) == 0
    model = keras.saving.load_model(out)
    assert model.name == "mnist_convnet_strided" and model.count_params() == 121_994
    assert main(["train", "--architecture", "pooling", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown architecture 'pooling'" in err and "same-padding" in err
