"""The runs of a seeded comparison (issue 24): the runs file, resuming, workers' settings, models without
optimizer state."""

import types

import numpy as np
import pytest

from cnnviz.core.comparison import COLUMNS, ComparisonRow, read_rows_csv, write_comparison_csv
from cnnviz.core.ray_runs import check_address
from cnnviz.core.run_pool import threads_per_job
from cnnviz.core.seed_runs import (RunRow, RunSettings, RunsFileError, as_run, plan_runs, read_runs_csv,
                                   read_seed_histories, seed_history_path, write_runs_csv)
from cnnviz.core.training import EpochRecord, write_history_csv

from _lab_rows import comparison_row as row

SETTINGS = RunSettings(epochs=5, batch_size=64, train_digits=60_000)


def test_runs_file_has_the_comparison_columns_then_seed_and_settings(tmp_path):
    runs = [as_run(row("strided", 0.9892), 2, 64, 60_000), as_run(row("seed"), 2, 64, 60_000),
            as_run(row("seed"), 1, 64, 60_000)]
    path = tmp_path / "runs.csv"
    write_runs_csv(runs, path)
    lines = path.read_text().splitlines()
    assert lines[0].split(",") == list(COLUMNS) + ["seed", "batch_size", "train_digits", "augment", "dropout"]
    assert lines[1] == "seed,93322,3x3x64,18,20,0.9961,0.9926,0.0035,5,1,64,60000,False,0"
    assert [(r.architecture, r.seed) for r in read_runs_csv(path)] == [("seed", 1), ("seed", 2), ("strided", 2)]
    assert read_runs_csv(tmp_path / "none.csv") == []


def test_a_file_that_is_not_a_runs_file_is_refused(tmp_path):
    today = tmp_path / "seed1.csv"  # a table of `compare --seed 1`: no seed column
    write_comparison_csv([row()], today)
    with pytest.raises(RunsFileError, match="no column 'seed'"):
        read_runs_csv(today)
    twice = tmp_path / "twice.csv"
    write_runs_csv([as_run(row(), 1, 64, 600), as_run(row(), 1, 64, 600)], twice)
    with pytest.raises(RunsFileError, match="seed with seed 1 twice"):
        read_runs_csv(twice)
    broken = tmp_path / "broken.csv"
    broken.write_text(",".join(COLUMNS + ("seed", "batch_size", "train_digits")) + "\nseed,many\n")
    with pytest.raises(RunsFileError, match="line 2"):
        read_runs_csv(broken)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RunsFileError):
        read_runs_csv(binary)


def test_plan_reuses_the_runs_it_has_and_trains_the_rest_seed_by_seed():
    existing = [as_run(row("seed"), 1, 64, 60_000), as_run(row("strided"), 1, 64, 60_000),
                as_run(row("seed"), 7, 64, 60_000)]  # a seed not asked for: kept in the file, not reused
    reused, todo = plan_runs(("seed", "strided", "no-pooling"), (1, 2), SETTINGS, existing)
    assert [(r.architecture, r.seed) for r in reused] == [("seed", 1), ("strided", 1)]
    assert todo == [("no-pooling", 1), ("seed", 2), ("strided", 2), ("no-pooling", 2)]
    for other in (RunSettings(1, 64, 60_000), RunSettings(5, 128, 60_000), RunSettings(5, 64, 1_000),
                  RunSettings(5, 64, 60_000, augment=True), RunSettings(5, 64, 60_000, dropout=0.5)):
        with pytest.raises(RunsFileError, match="other --runs file"):
            plan_runs(("seed",), (1,), other, existing, "runs.csv")


def test_runs_with_augmentation_or_dropout_keep_those_settings_and_old_files_read_as_plain(tmp_path):
    path = tmp_path / "runs.csv"
    write_runs_csv([as_run(row("seed"), 1, 64, 60_000, augment=True, dropout=0.5)], path)
    (back,) = read_runs_csv(path)
    assert (back.augment, back.dropout) == (True, 0.5)
    assert back.settings == RunSettings(5, 64, 60_000, augment=True, dropout=0.5) != SETTINGS
    assert "augmented, dropout 0.5" in back.settings.describe()
    old = tmp_path / "old.csv"   # a runs file from before augment/dropout existed
    old.write_text(",".join(COLUMNS + ("seed", "batch_size", "train_digits")) + "\n"
                   "seed,93322,3x3x64,18,20,0.9961,0.9926,0.0035,5,1,64,60000\n")
    (plain,) = read_runs_csv(old)
    assert (plain.augment, plain.dropout) == (False, 0.0) and plain.settings == SETTINGS
    bad = tmp_path / "bad.csv"
    bad.write_text(path.read_text().replace(",True,", ",maybe,"))
    with pytest.raises(RunsFileError, match="line 2"):
        read_runs_csv(bad)


def test_the_integrators_recipe_turns_seed_tables_into_a_runs_file(tmp_path):
    """Tables of `compare --seed S` (today's columns) plus the seed and the settings they were made with."""
    for seed, accuracy in ((1, 0.9926), (2, 0.9919)):
        write_comparison_csv([row("seed", accuracy), row("strided", accuracy - 0.003)], tmp_path / f"seed{seed}.csv")
    runs = [as_run(r, seed, 64, 60_000) for seed in (1, 2) for r in read_rows_csv(tmp_path / f"seed{seed}.csv")]
    write_runs_csv(runs, tmp_path / "runs.csv")
    back = read_runs_csv(tmp_path / "runs.csv")
    assert [(r.architecture, r.seed, r.test_accuracy) for r in back] == \
           [("seed", 1, 0.9926), ("seed", 2, 0.9919), ("strided", 1, 0.9896), ("strided", 2, 0.9889)]
    reused, todo = plan_runs(("seed", "strided"), (1, 2), SETTINGS, back)
    assert len(reused) == 4 and todo == []


def test_seed_histories_are_found_by_seed(tmp_path):
    history = [EpochRecord(1, 0.3, 0.9, 0.1, 0.97, 20.0, 3000.0)]
    for seed in (2, 10):
        write_history_csv(history, seed_history_path(tmp_path, "seed", seed))
    write_history_csv(history, seed_history_path(tmp_path, "strided", 3))
    write_history_csv(history, tmp_path / "seed_history.csv")   # the kept model's: not a seed's
    (tmp_path / "seed_seedx_history.csv").write_text("junk")
    (tmp_path / "seed_seed4_history.csv").write_text("not,a,history\n1,2\n")
    assert seed_history_path(tmp_path, "no-pooling", 3).name == "no-pooling_seed3_history.csv"
    assert read_seed_histories(tmp_path, "seed") == {2: history, 10: history}
    assert read_seed_histories(tmp_path / "missing", "seed") == {}


def test_threads_per_job_share_the_cores():
    assert [threads_per_job(jobs, cores=2) for jobs in (1, 2, 3)] == [2, 1, 1]
    assert threads_per_job(2, cores=8) == 4 and threads_per_job(3, cores=8) == 2


def test_ray_addresses():
    for good in ("auto", "ray://head.example:10001", "10.0.0.5:6379", "[::1]:6379"):
        assert check_address(good) == good
    for bad in ("", "ray://", "head", "head:0", "head:70000", "http://head:80", "ray://head"):
        with pytest.raises(ValueError, match="auto, ray://HOST:PORT or HOST:PORT"):
            check_address(bad)


def test_a_variant_saved_without_optimizer_state_is_smaller_and_loads_in_the_lab(tmp_path, small_mnist):
    from cnnviz.compute.handlers.lab import lab_load, store_of
    from cnnviz.core.comparison import train_variant
    from cnnviz.core.model import load_model, save_model
    from cnnviz.core.training import TrainConfig

    trained = train_variant("strided", small_mnist, TrainConfig(epochs=1, seed=1, steps_per_execution=8))
    full = save_model(trained.model, tmp_path / "full.keras")
    light = save_model(trained.model, tmp_path / "strided.keras", include_optimizer=False)
    # RMSprop keeps one float32 per weight: that is what leaves
    assert full.stat().st_size - light.stat().st_size > 0.9 * 4 * trained.model.count_params()
    loaded = load_model(light)
    assert loaded.name == trained.model.name
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in trained.model.layers]
    for ours, theirs in zip(loaded.get_weights(), trained.model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    images = small_mnist.x_test[:50, ..., None].astype(np.float32) / 255
    np.testing.assert_allclose(loaded.predict(images, verbose=0), trained.model.predict(images, verbose=0),
                               atol=1e-6)
    # the Lab's compute handler loads it into its store, from which it probes digits
    state, task = types.SimpleNamespace(features={}), types.SimpleNamespace(check_cancelled=lambda: None)
    assert lab_load(state, task, {"strided": str(light)}) == {"loaded": ["strided"], "failed": {}}
    assert store_of(state).get("strided", str(light)) is not None


def test_run_rows_are_comparison_rows():
    run = as_run(row(), 3, 64, 1_000)
    assert isinstance(run, ComparisonRow) and run.key == ("seed", 3)
    assert run.settings == RunSettings(5, 64, 1_000) and isinstance(run, RunRow)
