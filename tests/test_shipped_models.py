"""The shipped models by short name (`--model augmented`), the robust model's figures, and which model
reads pictures (issue 21)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnviz.core.paths import (AUGMENTED_MODEL_NAME, DEFAULT_MODEL_NAME, default_model_path, model_path_for,
                               picture_model_path, resources_dir, shipped_model_path)


def test_short_names_find_the_shipped_models_unless_a_file_is_called_so(tmp_path, monkeypatch):
    assert model_path_for("augmented") == resources_dir() / AUGMENTED_MODEL_NAME
    assert model_path_for("plain") == resources_dir() / DEFAULT_MODEL_NAME
    assert model_path_for("mine.keras") == Path("mine.keras")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "augmented").write_bytes(b"a file of that name")
    assert model_path_for("augmented") == Path("augmented")


def test_the_augmented_model_ships_without_optimizer_with_its_history_and_meets_its_target(mnist):
    from cnnviz.core.confusion import compute_confusion
    from cnnviz.core.model import load_model
    from cnnviz.core.training import history_path_for, read_history_csv

    path = shipped_model_path("augmented")
    model = load_model(path)
    assert [type(layer).__name__ for layer in model.layers] == [
        type(layer).__name__ for layer in load_model(default_model_path()).layers]
    assert path.stat().st_size < 0.6 * default_model_path().stat().st_size   # no optimizer state
    history = read_history_csv(history_path_for(path))
    accuracy = compute_confusion(model, mnist.x_test, mnist.y_test).accuracy
    assert accuracy >= 0.990
    assert history and history[-1].test_accuracy == pytest.approx(accuracy, abs=5e-4)


def test_model_argument_accepts_a_short_name(capsys):
    from cnnviz.cli import main

    assert main(["summary", "--model", "augmented"]) == 0
    assert "mnist_convnet_augmented" in capsys.readouterr().out
    assert main(["evaluate", "--model", "nothing-of-that-name", "--json"]) == 2
    assert "nothing-of-that-name" in capsys.readouterr().err


def test_pictures_are_read_by_the_augmented_model_only_instead_of_the_notes_model(tmp_path):
    augmented = shipped_model_path("augmented")
    assert picture_model_path("augmented", default_model_path()) == augmented
    assert picture_model_path("augmented", tmp_path / "mine.keras") is None     # the user's own model stays
    assert picture_model_path("augmented", None) is None                        # trained or changed: stays
    assert picture_model_path("current", default_model_path()) is None
    with pytest.raises(ValueError, match="picture model"):
        picture_model_path("best", default_model_path())
