"""The command line: summary, train, evaluate, data, help."""

import csv
import os
import subprocess
import sys

import pytest

from cnnviz.cli import build_parser, main


def run_cli(*args, env=None, timeout=300):
    """Run `python -m cnnviz ARGS` in a fresh process, as a user would."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "cnnviz", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def test_every_command_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"gui", "summary", "train", "evaluate", "data"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exited:
            main([name, "--help"])
        assert exited.value.code == 0
        assert "usage: cnnviz " + name in capsys.readouterr().out


def test_summary_prints_the_table_with_93322_parameters():
    done = run_cli("summary")
    assert done.returncode == 0, done.stderr
    assert "Total params: 93,322" in done.stdout
    assert "max_pooling2d_2" in done.stdout and "5 × 5 × 64" in done.stdout


def test_train_writes_a_loadable_model_and_history(tmp_path, mnist):
    out, history = tmp_path / "m.keras", tmp_path / "h.csv"
    done = run_cli("train", "--epochs", "1", "--limit", "2000", "--out", str(out), "--history", str(history),
                   "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "Epoch 1:" in done.stderr
    import keras

    model = keras.saving.load_model(out)
    assert model.count_params() == 93_322
    rows = list(csv.DictReader(history.open()))
    assert len(rows) == 1 and float(rows[0]["test_accuracy"]) > 0.3  # chance is 0.1


def test_train_refuses_an_unwritable_output_before_training(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    done = run_cli("train", "--limit", "100", "--out", str(blocker / "m.keras"))
    assert done.returncode == 2
    assert "cannot create" in done.stderr
    assert "Epoch" not in done.stderr


def test_train_rejects_bad_arguments():
    done = run_cli("train", "--epochs", "0")
    assert done.returncode == 2 and "must be at least 1" in done.stderr


def test_evaluate_reports_accuracy_of_the_shipped_model(mnist):
    done = run_cli("evaluate")
    assert done.returncode == 0, done.stderr
    accuracy = float(done.stdout.split("test accuracy ")[1].split()[0])
    assert accuracy >= 0.990


def test_evaluate_a_corrupt_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"nope")
    done = run_cli("evaluate", "--model", str(bad))
    assert done.returncode == 2
    assert "corrupt or truncated" in done.stderr and "Traceback" not in done.stderr


def test_data_reports_the_ready_source(mnist):
    done = run_cli("data")
    assert done.returncode == 0
    assert "MNIST is ready" in done.stdout


def test_data_without_any_source_explains_the_fix(tmp_path):
    env = {"KERAS_HOME": str(tmp_path / "k"), "CNNVIZ_CACHE_DIR": str(tmp_path / "c")}
    done = run_cli("data", env=env)
    assert done.returncode == 1
    assert "cnnviz data --fetch" in done.stdout
