"""Issue 15: no deleted folders, no overwritten models, no lost training runs, bad values refused in one line,
divergence that keeps what the history describes, file names that never break the output.

Each test fails on cnnviz 0.1 (`git show 088a2ce:...`) and passes now. Interrupts are in test_interrupts.py.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnviz.cli import main

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) below `folder`."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def digit_png(path: Path, mnist, index: int = 0) -> Path:
    from PIL import Image

    Image.fromarray(255 - mnist.x_test[index]).save(path)
    return path


def history_rows(path: Path) -> list[dict]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


# --- 15.1 export --overwrite replaces only a cnnviz export and nothing else -----------------------

def test_overwrite_leaves_a_web_project_with_its_own_manifest_untouched(tmp_path, capsys):
    """The issue's reproduction: `index.html` and `src/` must survive."""
    web = tmp_path / "w"
    (web / "src").mkdir(parents=True)
    (web / "manifest.json").write_text('{"name":"app"}\n')
    (web / "index.html").write_text("x\n")
    (web / "src" / "app.js").write_text("mine\n")
    before = tree(web)
    assert main(["export", "--test-index", "0", "--out", str(web), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "is not a cnnviz export (its manifest.json is not one cnnviz wrote)" in err
    assert len(err.strip().splitlines()) == 1
    assert tree(web) == before


@pytest.fixture(scope="module")
def an_export(tmp_path_factory):
    """A real `cnnviz export` folder (one layer, quick)."""
    folder = tmp_path_factory.mktemp("exports") / "e"
    assert main(["export", "--test-index", "0", "--layers", "dense_2", "--out", str(folder)]) == 0
    return folder


def test_overwrite_refuses_an_export_that_holds_anything_else(an_export, tmp_path, capsys):
    target = tmp_path / "e"
    shutil.copytree(an_export, target)
    (target / "my_notes.txt").write_text("precious")
    (target / "drafts").mkdir()
    before = tree(target)
    assert main(["export", "--test-index", "1", "--layers", "dense_2", "--out", str(target), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "is not a cnnviz export alone (it also holds drafts/, my_notes.txt)" in err
    assert tree(target) == before
    # Without them (and with a file manager's .DS_Store, which may go) it is replaced.
    (target / "my_notes.txt").unlink()
    (target / "drafts").rmdir()
    (target / ".DS_Store").write_bytes(b"\0")
    assert main(["export", "--test-index", "1", "--layers", "dense_2", "--out", str(target), "--overwrite"]) == 0
    capsys.readouterr()
    assert json.loads((target / "manifest.json").read_text())["source"].endswith("test digit 1 (label 2)")
    assert not (target / ".DS_Store").exists()


@pytest.mark.parametrize("manifest", [
    {"format": "something-else/1", "files": []},
    {"format": "cnnviz-export/1", "files": [{"path": "../outside.txt"}]},
    {"format": "cnnviz-export/1"},
    "not json at all",
])
def test_overwrite_refuses_a_manifest_cnnviz_did_not_write(manifest, an_export, tmp_path):
    from cnnviz.core.export import ExportError, check_target

    target = tmp_path / "e"
    shutil.copytree(an_export, target)
    (target / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    with pytest.raises(ExportError, match="is not a cnnviz export .its manifest.json is not one cnnviz wrote"):
        check_target(target, overwrite=True)


def test_overwrite_refuses_a_symbolic_link_to_an_export(an_export, tmp_path):
    from cnnviz.core.export import ExportError, check_target

    link = tmp_path / "link"
    link.symlink_to(an_export, target_is_directory=True)
    with pytest.raises(ExportError, match="it is a symbolic link"):
        check_target(link, overwrite=True)
    assert (an_export / "manifest.json").is_file()


def test_the_apps_export_task_uses_the_same_check(tmp_path):
    """The Export dialog sends an "export" request; its handler refuses the web project too."""
    from cnnviz.compute.handlers.export import export
    from cnnviz.core.export import ExportError

    class Task:
        def check_cancelled(self):
            pass

        def emit(self, kind, payload):
            pass

    web = tmp_path / "w"
    web.mkdir()
    (web / "manifest.json").write_text('{"name":"app"}\n')
    (web / "index.html").write_text("x\n")
    outputs = [np.zeros((26, 26, 2), np.float32), np.full(10, 0.1, np.float32)]
    with pytest.raises(ExportError, match="is not a cnnviz export"):
        export(None, Task(), web, np.zeros((28, 28), np.float32), outputs, ["conv2d_1", "dense_2"], overwrite=True)
    assert sorted(os.listdir(web)) == ["index.html", "manifest.json"]


# --- 15.3 and 15.4: every output of `train` is checked before training ---------------------------

@pytest.mark.parametrize("make_args, message", [
    (lambda t: ["--history", t / "same.keras", "--out", t / "same.keras"], "ends in .keras, but the history is a CSV"),
    (lambda t: ["--history", t / "h.keras", "--out", t / "m.keras"], "ends in .keras, but the history is a CSV"),
    (lambda t: ["--checkpoints", t / "ck", "--out", t / "ck" / "m.keras"], "is inside the --checkpoints folder"),
    (lambda t: ["--checkpoints", t / "same", "--history", t / "same"], "--history and --checkpoints name the same"),
    (lambda t: ["--data", t / "data.npz", "--history", t / "data.npz"], "--history and --data name the same path"),
    (lambda t: ["--out", t / "folder.keras"], "--out " + "{t}/folder.keras is a folder"),
    (lambda t: ["--history", t / "history.csv"], "--history {t}/history.csv is a folder"),
])
def test_train_refuses_colliding_or_impossible_outputs_before_training(make_args, message, tmp_path, capsys):
    (tmp_path / "same.keras").write_bytes(b"the user's model")
    (tmp_path / "data.npz").write_bytes(b"the user's data")
    (tmp_path / "folder.keras").mkdir()
    (tmp_path / "history.csv").mkdir()
    before = tree(tmp_path)
    argv = [str(a) for a in make_args(tmp_path)]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "m.keras")]
    assert main(["train", *argv, "--limit", "200", "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert message.format(t=tmp_path) in err, err
    assert "Training on" not in err and len(err.strip().splitlines()) == 1
    assert tree(tmp_path) == before


class FailingSave:
    """save_model that fails with `error` for paths `fails(path)` says, and saves the others."""

    def __init__(self, fails, error=errno.ENOSPC):
        import cnnviz.core.model as model_module

        self.real = model_module.save_model
        self.fails, self.error = fails, error
        self.tried: list[Path] = []

    def __call__(self, model, path):
        self.tried.append(Path(path))
        if self.fails(Path(path)):
            raise OSError(self.error, os.strerror(self.error), str(path))
        return self.real(model, path)


@pytest.mark.slow
def test_a_failed_save_keeps_the_trained_model_beside_the_target(tmp_path, monkeypatch, capsys):
    import keras

    import cnnviz.core.model as model_module

    save = FailingSave(lambda path: path.name == "m.keras")
    monkeypatch.setattr(model_module, "save_model", save)
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["train", "--limit", "640", "--epochs", "1", "--out", str(tmp_path / "m.keras"), "--history",
                 str(tmp_path / "h.csv"), "--seed", "2"])
    err = capsys.readouterr().err
    assert code == 1
    recovered = sorted(tmp_path.glob("m.recovered-*.keras"))
    assert len(recovered) == 1 and not (tmp_path / "m.keras").exists()
    assert f"could not write {tmp_path / 'm.keras'} (No space left on device" in err
    assert f"the trained model is kept in {recovered[0]} instead" in err and "Traceback" not in err
    assert keras.saving.load_model(recovered[0]).count_params() == 93_322
    assert len(history_rows(tmp_path / "h.csv")) == 1


@pytest.mark.slow
def test_when_nothing_beside_the_target_can_be_written_the_model_goes_to_the_cache(tmp_path, monkeypatch, capsys):
    import cnnviz.core.model as model_module

    out = tmp_path / "out"
    monkeypatch.setattr(model_module, "save_model", FailingSave(lambda path: out in path.parents, errno.EIO))
    monkeypatch.setenv("CNNVIZ_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["train", "--limit", "640", "--epochs", "1", "--out", str(out / "m.keras")]) == 1
    err = capsys.readouterr().err
    recovered = sorted((tmp_path / "cache" / "recovered").glob("m.recovered-*.keras"))
    assert len(recovered) == 1 and recovered[0].stat().st_size > 100_000
    assert "Input/output error" in err and str(recovered[0]) in err


def _drop_root_privileges() -> list[str]:
    """As root, a read-only folder is still writable: run the child without CAP_DAC_OVERRIDE."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be made read-only for the child")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}", "--"]


@pytest.mark.slow
def test_a_folder_made_read_only_during_training_loses_nothing(tmp_path, mnist):
    folder = tmp_path / "ro"
    folder.mkdir()
    cache = tmp_path / "cache"
    shutil.copytree(Path.home() / ".cache" / "cnnviz", cache, ignore=lambda d, names: [n for n in names
                                                                                        if n != "mnist.npz"])
    command = [*_drop_root_privileges(), sys.executable, "-m", "cnnviz", "train", "--limit", "1000", "--epochs", "2",
               "--out", str(folder / "m.keras"), "--history", str(folder / "h.csv")]
    child = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={**ENV, "CNNVIZ_CACHE_DIR": str(cache)})
    try:
        first = child.stderr.readline()
        assert first.startswith("Training on"), first
        folder.chmod(0o555)
        out, rest = child.communicate(timeout=600)
    finally:
        folder.chmod(0o755)
        if child.poll() is None:
            child.kill()
    err = first + rest
    assert child.returncode == 1, err
    assert "Traceback" not in err
    model = sorted((cache / "recovered").glob("m.recovered-*.keras"))
    history = sorted((cache / "recovered").glob("h.recovered-*.csv"))
    assert len(model) == 1 and len(history) == 1, err
    assert f"could not write {folder / 'm.keras'} (Permission denied" in err
    assert f"the trained model is kept in {model[0]} instead" in err
    assert len(history_rows(history[0])) == 2 and not any(folder.iterdir())


# --- 15.7 the batch size has an upper bound ---------------------------------------------------------

def test_batch_size_is_capped_at_4096_and_at_the_training_set(tmp_path, capsys):
    from cnnviz.core.training import TrainConfig

    out = str(tmp_path / "m.keras")
    with pytest.raises(SystemExit) as exited:
        main(["train", "--batch-size", "60000", "--limit", "100", "--epochs", "1", "--out", out])
    assert exited.value.code == 2
    assert "argument --batch-size: must be at most 4,096, not 60,000" in capsys.readouterr().err
    assert main(["train", "--batch-size", "200", "--limit", "100", "--epochs", "1", "--out", out]) == 2
    assert ("--batch-size 200 is more than the 100 training images (--limit); use at most 100"
            in capsys.readouterr().err)
    with pytest.raises(ValueError, match="at most 4,096"):
        TrainConfig(batch_size=4097)
    assert not os.path.exists(out)


# --- 15.10 divergence keeps the last finished epoch's weights, which the history describes ----------

class EpochWeights:
    """A listener that keeps a copy of the weights after every finished epoch."""

    def __init__(self, model):
        self.model = model
        self.after_epoch: list[list[np.ndarray]] = []

    def on_progress(self, progress):
        pass

    def on_epoch(self, record):
        self.after_epoch.append([w.copy() for w in self.model.get_weights()])


def _poison_after(model, batches: int):
    """between_batches: put a NaN into the first kernel once `batches` batches are done."""
    count = []

    def poison():
        count.append(1)
        if len(count) == batches:
            weights = model.get_weights()
            weights[0][0, 0, 0, 0] = np.nan
            model.set_weights(weights)

    return poison


def test_divergence_in_epoch_two_keeps_epoch_one_exactly(fresh_model, small_mnist):
    from cnnviz.core.training import TrainConfig, Trainer

    listener = EpochWeights(fresh_model)
    # 600 digits in batches of 64: 10 batches an epoch; the NaN lands in the middle of epoch 2.
    result = Trainer(fresh_model, small_mnist, TrainConfig(epochs=3), listener,
                     between_batches=_poison_after(fresh_model, 14)).run()
    assert result.status == "diverged" and len(result.history) == 1
    assert "the weights after epoch 1 were kept" in result.message
    for now, then in zip(fresh_model.get_weights(), listener.after_epoch[0]):
        np.testing.assert_array_equal(now, then)


def test_nan_weights_with_a_finite_loss_are_not_kept_as_a_finished_epoch(fresh_model, small_mnist):
    from cnnviz.core.training import TrainConfig, Trainer

    initial = [w.copy() for w in fresh_model.get_weights()]
    # The NaN arrives after the last batch of epoch 1: its loss was finite, its weights are not.
    result = Trainer(fresh_model, small_mnist, TrainConfig(epochs=2), EpochWeights(fresh_model),
                     between_batches=_poison_after(fresh_model, 10)).run()
    assert result.status == "diverged" and result.history == []
    assert "no epoch finished, so the weights from before training were kept" in result.message
    for now, then in zip(fresh_model.get_weights(), initial):
        np.testing.assert_array_equal(now, then)


# --- 15.11 plain bad values: one line, no traceback ------------------------------------------------

@pytest.mark.parametrize("flags, message", [
    (["--learning-rate", "inf"], "argument --learning-rate: must be a positive number, not inf"),
    (["--learning-rate", "nan"], "argument --learning-rate: must be a positive number, not nan"),
    (["--seed", "-1"], "argument --seed: must be from 0 to 4294967295 (2**32 - 1), not -1"),
    (["--seed", str(2**32)], f"argument --seed: must be from 0 to 4294967295 (2**32 - 1), not {2**32}"),
])
def test_bad_numbers_for_train_are_one_line(flags, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", *flags, "--limit", "100", "--epochs", "1", "--out", str(tmp_path / "m.keras")])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"cnnviz train: error: {message}"


def test_tabs_and_newlines_in_file_names_stay_inside_their_record(tmp_path, mnist, capsys):
    names = ["tab\there.png", "new\nline.png", "plain.png"]
    paths = [digit_png(tmp_path / name, mnist, i) for i, name in enumerate(names)]
    assert main(["predict", *map(str, paths)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert [line.split("\t")[0] for line in lines] == [f"{tmp_path}/tab\\there.png", f"{tmp_path}/new\\nline.png",
                                                       f"{tmp_path}/plain.png"]
    assert all(len(line.split("\t")) == 4 for line in lines)
    assert [line.split("\t")[1] for line in lines] == ["7", "2", "1"]   # MNIST test digits 0, 1, 2


def test_a_non_utf8_file_name_with_strict_stdout_does_not_stop_the_later_files(tmp_path, mnist):
    bad = Path(os.fsdecode(str(tmp_path).encode() + b"/bad\xff.png"))
    digit_png(bad, mnist, 0)
    good = digit_png(tmp_path / "good.png", mnist, 1)
    done = subprocess.run([sys.executable, "-m", "cnnviz", "predict", bad, good], capture_output=True,
                          env={**ENV, "PYTHONIOENCODING": "utf-8:strict"}, timeout=300)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, err
    assert "Traceback" not in err
    assert [line.split("\t")[:2] for line in out.splitlines()] == [[f"{tmp_path}/bad\\xff.png", "7"],
                                                                   [f"{tmp_path}/good.png", "2"]]


def test_a_folder_is_reported_as_a_folder(tmp_path, capsys):
    (tmp_path / "pictures.png").mkdir()
    assert main(["predict", str(tmp_path / "pictures.png")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"cnnviz predict: {tmp_path / 'pictures.png'} is a folder, not an image file."


def test_a_closed_pipe_ends_predict_quietly(tmp_path, mnist):
    paths = [str(digit_png(tmp_path / f"d{i}.png", mnist, i)) for i in range(3)] * 20
    child = subprocess.Popen([sys.executable, "-m", "cnnviz", "predict", *paths], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=ENV)
    first = child.stdout.readline()
    child.stdout.close()   # like `| head -1`
    err = child.stderr.read().decode()
    child.wait(300)
    assert first.split(b"\t")[1] == b"7"
    assert child.returncode == 141 and "Traceback" not in err and "BrokenPipe" not in err, err
