"""Your own digits (issue 21): the folder writer, the reader's refusals, `evaluate`/`train --data-dir` from a
folder the writer made, and fine-tuning that learns a made-up handwriting without forgetting MNIST."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from _handwriting import bubble, write_bubble_folder
from _png import write_png

from cnnviz.cli import main
from cnnviz.core.own_digits import (DigitFolderError, delete_digit, read_digit_folder, relabel_digit, save_digit,
                                    scan_digit_folder)


@pytest.fixture(scope="module")
def digit_info(shipped_model_path):
    from cnnviz.core.model_files import open_model

    return open_model(shipped_model_path)[1]


# --- the writer the gallery calls -----------------------------------------------------------------
def test_saved_digits_land_in_their_class_folder_under_new_names(tmp_path, digit_seven, mnist):
    first = save_digit(tmp_path, 7, digit_seven)
    second = save_digit(tmp_path, 7, digit_seven)
    picture = save_digit(tmp_path, 3, bubble(mnist.x_test[18]))
    assert first.parent == tmp_path / "7" and picture.parent == tmp_path / "3" and first != second
    from PIL import Image

    with Image.open(first) as opened:
        assert opened.format == "PNG" and opened.size == (28, 28)
        np.testing.assert_allclose(np.asarray(opened, np.float32) / 255, digit_seven, atol=0.5 / 255 + 1e-6)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.name.startswith(".")) == []   # no temporaries left


def test_a_picture_file_is_copied_and_refused_when_it_is_not_one(tmp_path):
    source = write_png(tmp_path / "mine.png", np.full((40, 30), 200, np.uint8))
    kept = save_digit(tmp_path / "set", 4, source)
    assert kept.parent == tmp_path / "set" / "4" and kept.read_bytes() == source.read_bytes()
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    from cnnviz.core.images import ImageFileError

    with pytest.raises(ImageFileError):
        save_digit(tmp_path / "set", 4, text)
    assert list((tmp_path / "set" / "4").iterdir()) == [kept]


def test_relabel_and_delete(tmp_path, digit_seven):
    path = save_digit(tmp_path, 1, digit_seven)
    moved = relabel_digit(path, 7)
    assert moved == tmp_path / "7" / path.name and moved.is_file() and not path.exists()
    assert relabel_digit(moved, 7) == moved
    clash = save_digit(tmp_path, 1, digit_seven)
    os.rename(clash, tmp_path / "1" / moved.name)            # the same name in the class it moves to
    again = relabel_digit(tmp_path / "1" / moved.name, 7)
    assert again.parent == tmp_path / "7" and again != moved and moved.is_file()
    delete_digit(again)
    assert not again.exists()
    with pytest.raises(DigitFolderError):
        save_digit(tmp_path, 10, digit_seven)
    with pytest.raises(DigitFolderError):
        delete_digit(tmp_path / "elsewhere.png")


# --- reading: one path, refusals ------------------------------------------------------------------
def test_reading_is_predicts_path_and_ignores_hidden_and_loose_files(tmp_path, mnist, digit_info):
    from cnnviz.core.model_input import prepare_file

    paths = write_bubble_folder(tmp_path, mnist.x_test[:12], mnist.y_test[:12])
    (tmp_path / "README.txt").write_text("my digits")
    (tmp_path / "5" / ".half-written.png.partial").parent.mkdir(exist_ok=True)
    (tmp_path / "5" / ".half-written.png.partial").write_bytes(b"\x89PNG")
    own = read_digit_folder(tmp_path, digit_info)
    assert own.count == 12 and sorted(own.paths) == sorted(paths)
    assert scan_digit_folder(tmp_path).counts == tuple(np.bincount(mnist.y_test[:12], minlength=10))
    for image, label, path in zip(own.images, own.labels, own.paths):
        assert label == int(path.parent.name)
        np.testing.assert_array_equal(image, prepare_file(path, digit_info).array)


@pytest.mark.parametrize("spoil, message", [
    (lambda root: None, "holds no pictures"),
    (lambda root: (root / "x").mkdir(), "is not a class folder"),
    (lambda root: (root / "3" / "notes.txt").write_text("hi"), "is not a picture"),
    (lambda root: (root / "3" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken"), "not a readable image"),
    (lambda root: write_png(root / "3" / "blank.png", np.full((30, 30), 255, np.uint8)), "holds no digit"),
    (lambda root: (root / "3" / "more").mkdir(), "is a folder inside"),
])
def test_a_bad_folder_is_refused_in_one_line_naming_the_problem(spoil, message, tmp_path, digit_info, capsys):
    root = tmp_path / "digits"
    (root / "3").mkdir(parents=True)
    if message != "holds no pictures":
        save_digit(root, 3, bubble(np.kron(np.eye(7, dtype=np.uint8) * 255, np.ones((4, 4), np.uint8))))
    spoil(root)
    with pytest.raises(DigitFolderError, match=message):
        read_digit_folder(root, digit_info)
    assert main(["evaluate", "--data-dir", str(root), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1 and message in captured.err


# --- the round trip: the writer's folder through the command line ----------------------------------
def test_round_trip_writer_evaluate_train(tmp_path, mnist, capsys):
    indices = np.concatenate([np.flatnonzero(mnist.y_test == d)[:4] for d in range(10)])
    paths = write_bubble_folder(tmp_path / "mine", mnist.x_test[indices], mnist.y_test[indices])
    assert main(["evaluate", "--data-dir", str(tmp_path / "mine"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert main(["predict", "--json", *map(str, paths)]) == 0
    predicted = {json.loads(line)["path"]: json.loads(line)["digit"] for line in capsys.readouterr().out.splitlines()}
    labels = [int(p.parent.name) for p in paths]
    digits = [predicted[str(p)] for p in paths]
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels, digits), 1)
    assert report["count"] == 40
    assert report["confusion"] == confusion.tolist()
    assert report["accuracy"] == pytest.approx(np.mean(np.asarray(labels) == np.asarray(digits)))

    out = tmp_path / "taught.keras"
    assert main(["train", "--data-dir", str(tmp_path / "mine"), "--from", "plain", "--epochs", "1", "--seed", "1",
                 "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "mixed with MNIST" in captured.err and "your 40 digit(s) ×13" in captured.err
    assert "Your digits:" in captured.out and out.is_file()
    assert main(["evaluate", "--data-dir", str(tmp_path / "mine"), "--model", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 40


@pytest.mark.parametrize("words, message", [
    (["--data-dir", "{dir}"], "needs both"),
    (["--from", "plain"], "needs both"),
    (["--data-dir", "{dir}", "--from", "plain", "--dropout", "0.5"], "--dropout does not go with --from"),
    (["--data-dir", "{dir}", "--from", "fashion"], "fine-tuning works on digit models"),
    (["--data-dir", "{dir}/9", "--from", "plain"], "not a class folder"),
])
def test_train_data_dir_bad_input(words, message, tmp_path, digit_seven, capsys):
    save_digit(tmp_path / "mine", 7, digit_seven)
    (tmp_path / "mine" / "9").mkdir()
    (tmp_path / "mine" / "9" / "sub").mkdir()
    words = [w.replace("{dir}", str(tmp_path / "mine")) for w in words]
    assert main(["train", *words, "--out", str(tmp_path / "o.keras")]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert not (tmp_path / "o.keras").exists()


# --- fine-tuning learns a made-up handwriting and keeps MNIST ---------------------------------------
def test_fine_tuning_learns_bubble_digits_without_losing_mnist(tmp_path, mnist, shipped_model, digit_info):
    from cnnviz.core.fine_tune import fine_tune, scores, trainable_copy
    from cnnviz.core.training import TrainConfig

    rng = np.random.default_rng(0)
    taught = rng.choice(len(mnist.x_train), 200, replace=False)
    held_out = rng.choice(len(mnist.x_test), 300, replace=False)
    write_bubble_folder(tmp_path / "mine", mnist.x_train[taught], mnist.y_train[taught])
    write_bubble_folder(tmp_path / "unseen", mnist.x_test[held_out], mnist.y_test[held_out])
    own = read_digit_folder(tmp_path / "mine", digit_info)
    unseen = read_digit_folder(tmp_path / "unseen", digit_info)
    model = trainable_copy(shipped_model)
    before_unseen = scores(model, unseen, mnist)[0].own_accuracy
    result = fine_tune(model, own, mnist, TrainConfig(epochs=5, seed=1, steps_per_execution=8))
    after_unseen = scores(model, unseen, mnist)[0].own_accuracy
    assert result.training.status == "finished" and len(result.training.history) == 5
    assert before_unseen < 0.8                                   # the style is new to the model…
    assert after_unseen > before_unseen + 0.10                   # …and learnt, on bubble digits it never saw
    assert result.after.own_accuracy > result.before.own_accuracy + 0.10
    assert result.after.mnist_accuracy >= result.before.mnist_accuracy - 0.005   # MNIST kept within 0.5 points
    changed = np.flatnonzero(result.own_predictions_before != result.own_predictions_after)
    assert [c.path for c in result.changed] == [str(own.paths[i]) for i in changed]
    # the original is untouched: the copy was taught
    untouched = np.asarray(shipped_model(own.images[:5])).argmax(1)
    np.testing.assert_array_equal(untouched, result.own_predictions_before[:5])
