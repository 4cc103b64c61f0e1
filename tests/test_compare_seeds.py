"""`cnnviz compare --seeds/--runs/--jobs/--ray` (issue 24): runs per seed, resuming, processes, a Ray cluster.

Same seeds, same numbers: a run's arithmetic depends on its seed and on how many threads TensorFlow
sums with (a different split of a sum rounds differently, and in the first batches of training such
differences grow until a few test digits change class: measured 0.0001 after 16 batches here, 0.02 after
10 in a case). So the runs compared here use one thread each: the reference `--jobs 1` is pinned to one
core, `--jobs 2` to two (one thread per job), and a Ray task has one CPU. Then the rows agree to the
CSV's 6 significant digits (accuracies are multiples of 1/10,000 and 1/1,000: exact there), with
oneDNN on or off, as long as both sides use the same setting.
"""

import csv
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnviz.cli import main
from cnnviz.core.comparison import COLUMNS, write_comparison_csv
from _lab_rows import SUMMARY_EXTRA, comparison_row as row
from _ray_head import local_ray_head, processes_under

SMALL = ["--architectures", "seed,strided", "--seeds", "1,2", "--epochs", "1", "--limit", "1000"]
RUN_COLUMNS = list(COLUMNS) + ["seed", "batch_size", "train_digits", "augment", "dropout"]
HANG_S = 900  # generous: a loaded 2-core machine


def cli(*args, env=None, cpus=None):
    """Start `cnnviz compare ARGS` (pinned to the first `cpus` cores we may use, when given)."""
    pin = None
    if cpus is not None:
        allowed = sorted(os.sched_getaffinity(0))[:cpus]

        def pin():
            os.sched_setaffinity(0, allowed)
    return subprocess.Popen([sys.executable, "-m", "cnnviz", "compare", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
                            preexec_fn=pin)


def run_cli(*args, env=None, cpus=None):
    process = cli(*args, env=env, cpus=cpus)
    out, err = process.communicate(timeout=HANG_S)
    return process.returncode, out, err


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def assert_same_runs(ours, reference):
    """Same (architecture, seed) rows: settings exactly, accuracies to the CSV's precision (one thread each)."""
    assert [(r["architecture"], r["seed"]) for r in ours] == [(r["architecture"], r["seed"]) for r in reference]
    for mine, theirs in zip(ours, reference):
        for name in ("params", "last_conv_shape", "last_conv_receptive_field", "epochs", "batch_size", "train_digits"):
            assert mine[name] == theirs[name], name
        for name in ("train_accuracy", "test_accuracy", "train_test_gap"):
            assert float(mine[name]) == pytest.approx(float(theirs[name]), abs=1e-6), (mine, theirs)


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory, mnist):
    """2 variants × 2 seeds × 1 epoch × 1,000 digits, one after the other in one process on one core."""
    folder = tmp_path_factory.mktemp("reference")
    code, _, err = run_cli(*SMALL, "--runs", str(folder / "runs.csv"), "--out", str(folder / "summary.csv"), cpus=1)
    assert code == 0, err
    return read_rows(folder / "runs.csv")


# --- resuming ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_more_seeds_train_only_the_missing_runs(tmp_path, mnist):
    runs, summary = tmp_path / "runs.csv", tmp_path / "summary.csv"
    common = ["--architectures", "seed,strided", "--epochs", "1", "--limit", "300", "--runs", str(runs),
              "--out", str(summary)]
    code, _, err = run_cli(*common, "--seed", "1")
    assert code == 0, err
    first = runs.read_text().splitlines()
    assert len(first) == 3 and list(read_rows(summary)[0]) == list(COLUMNS) + SUMMARY_EXTRA

    code, out, err = run_cli(*common, "--seeds", "1,2")
    assert code == 0, err
    assert "holds 2 of these 4 run(s): training the other 2" in err
    assert "[1/2] seed, seed 2" in err and "[2/2] strided, seed 2" in err and "seed 1\n" not in err
    rows = read_rows(runs)
    assert list(rows[0]) == RUN_COLUMNS
    assert [(r["architecture"], r["seed"], r["train_digits"]) for r in rows] == \
           [("seed", "1", "300"), ("seed", "2", "300"), ("strided", "1", "300"), ("strided", "2", "300")]
    lines = runs.read_text().splitlines()
    assert lines[1] == first[1] and lines[3] == first[2]  # seed 1's runs kept as they were, not trained again
    summaries = {r["architecture"]: r for r in read_rows(summary)}
    for name in ("seed", "strided"):
        accuracies = [float(r["test_accuracy"]) for r in rows if r["architecture"] == name]
        assert summaries[name]["seeds"] == "2"
        assert float(summaries[name]["test_accuracy"]) == pytest.approx(statistics.fmean(accuracies), abs=2e-6)
        assert float(summaries[name]["test_accuracy_sd"]) == pytest.approx(statistics.stdev(accuracies), abs=2e-6)
        low, high = float(summaries[name]["test_accuracy_ci_low"]), float(summaries[name]["test_accuracy_ci_high"])
        assert low < float(summaries[name]["test_accuracy"]) < high
    assert summaries["seed"]["differs_from_seed"] == "no" and summaries["strided"]["differs_from_seed"] in ("yes", "no")
    assert "differs" in out and "95 % interval" in out  # the table


def test_seed_tables_made_into_a_runs_file_give_the_summary_without_training(tmp_path, mnist):
    """The integrator's recipe: `compare --seed S` tables, a seed column and the settings added, then
    `compare --seeds ... --runs` reuses every run (default settings: 5 epochs, batch 64, all 60,000 digits)."""
    from cnnviz.core.comparison import read_rows_csv
    from cnnviz.core.seed_runs import as_run, write_runs_csv

    for seed, accuracy in ((1, 0.9926), (2, 0.9921), (3, 0.9930)):
        write_comparison_csv([row("seed", accuracy), row("no-pooling", accuracy - 0.004)], tmp_path / f"seed{seed}.csv")
    write_runs_csv([as_run(r, seed, 64, 60_000) for seed in (1, 2, 3)
                    for r in read_rows_csv(tmp_path / f"seed{seed}.csv")], tmp_path / "runs.csv")
    before = (tmp_path / "runs.csv").read_text()
    started = time.monotonic()
    code, out, err = run_cli("--architectures", "seed,no-pooling", "--seeds", "1,2,3", "--runs",
                             str(tmp_path / "runs.csv"), "--out", str(tmp_path / "comparison.csv"))
    assert code == 0, err
    assert "holds 6 of these 6 run(s): nothing to train" in err and "Epoch" not in err and "[1/" not in err
    assert (tmp_path / "runs.csv").read_text() == before
    summary = {r["architecture"]: r for r in read_rows(tmp_path / "comparison.csv")}
    assert summary["seed"]["seeds"] == "3"
    assert float(summary["seed"]["test_accuracy"]) == pytest.approx(statistics.fmean([0.9926, 0.9921, 0.9930]))
    assert summary["no-pooling"]["differs_from_seed"] == "yes"  # 0.004 below, with a spread of 0.0005
    assert "no-pooling" in out
    assert time.monotonic() - started < HANG_S


def test_a_runs_file_with_other_settings_is_refused_and_kept(tmp_path, mnist):
    from cnnviz.core.seed_runs import as_run, write_runs_csv

    runs = tmp_path / "runs.csv"
    write_runs_csv([as_run(row(), 1, 64, 60_000)], runs)
    before = runs.read_text()
    code, out, err = run_cli("--architectures", "seed", "--epochs", "1", "--runs", str(runs), "--out",
                             str(tmp_path / "s.csv"))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "5 epoch(s), batch 64, 60,000 training digits, not 1 epoch(s)" in err
    assert runs.read_text() == before and not (tmp_path / "s.csv").exists()


def test_bad_seeds_runs_and_backends_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    out = str(tmp_path / "s.csv")
    not_runs = tmp_path / "seed1.csv"
    write_comparison_csv([row()], not_runs)
    cases = [(["--seeds", "1,1"], "seed 1 is named twice"),
             (["--seeds", "1,x"], "must be a whole number"),
             (["--seed", "1", "--seeds", "1,2"], "not allowed with argument"),
             (["--runs", str(not_runs)], "no column 'seed'"),
             (["--jobs", "2", "--ray", "auto"], "--jobs is for this machine"),
             (["--ray", "head"], "auto, ray://HOST:PORT or HOST:PORT"),
             (["--runs", out], "name the same file")]
    for args, message in cases:
        assert exit_code(["compare", "--architectures", "seed", *args, "--out", out]) == 2, args
        assert message in capsys.readouterr().err, args
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    assert exit_code(["compare", "--architectures", "seed", "--ray", "auto", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "cnnviz[cluster]"' in err
    assert not Path(out).exists()


def exit_code(argv) -> int:
    """main's exit status, argparse's rejections (SystemExit) included."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


# --- processes -----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_two_jobs_give_the_same_runs_as_one(tmp_path, reference_runs):
    runs, models = tmp_path / "runs.csv", tmp_path / "models"
    code, out, err = run_cli(*SMALL, "--jobs", "2", "--runs", str(runs), "--out", str(tmp_path / "s.csv"),
                             "--models", str(models), cpus=2)
    assert code == 0, err
    assert "2 at once (1 TensorFlow thread(s) each)" in err
    assert sum(line.startswith(("[1/4] ", "[2/4] ", "[3/4] ", "[4/4] ")) for line in err.splitlines()) == 4
    assert "Traceback" not in err
    assert "absl" not in err and "oneDNN" not in err, err   # the workers are quiet too (quiet_process)
    assert_same_runs(read_rows(runs), reference_runs)
    # the first seed's models come back from the workers; every run's history is kept
    import keras

    assert keras.saving.load_model(models / "strided.keras", compile=False).count_params() == 121_994
    assert sorted(p.name for p in models.iterdir()) == [
        "seed.keras", "seed_history.csv", "seed_seed1_history.csv", "seed_seed2_history.csv",
        "strided.keras", "strided_history.csv", "strided_seed1_history.csv", "strided_seed2_history.csv"]


@pytest.mark.slow
def test_ctrl_c_ends_every_job_and_keeps_the_finished_runs(tmp_path, mnist):
    import psutil

    runs = tmp_path / "runs.csv"
    process = cli("--architectures", "seed,strided,average-pooling", "--seeds", "1,2", "--epochs", "1", "--limit",
                  "2000", "--jobs", "2", "--runs", str(runs), "--out", str(tmp_path / "s.csv"))
    deadline = time.monotonic() + HANG_S
    while not runs.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runs.exists(), process.communicate()[1]
    workers = psutil.Process(process.pid).children(recursive=True)
    assert len(workers) >= 2
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=HANG_S)
    assert process.returncode == 1, err
    assert "the runs in progress are dropped" in err and "Traceback" not in err
    rows = read_rows(runs)
    assert 1 <= len(rows) < 6 and all(value != "" for r in rows for value in r.values())
    assert len(read_rows(tmp_path / "s.csv")) >= 1
    assert _gone(workers)


def _gone(processes, wait_s: float = 30) -> bool:
    import psutil

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.2)
    return False


# --- Ray -----------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_local_ray_cluster_gives_the_same_runs_as_one_job(tmp_path, reference_runs):
    ray_dir_before = os.path.exists("/tmp/ray")
    runs = tmp_path / "runs.csv"
    with local_ray_head(num_cpus=2) as head:
        code, out, err = run_cli(*SMALL, "--ray", "auto", "--runs", str(runs), "--out", str(tmp_path / "s.csv"),
                                 env=head.env)
    assert code == 0, err
    assert_same_runs(read_rows(runs), reference_runs)
    # quiet: our own lines only, one per finished run (the workers' output stays in Ray's logs)
    lines = err.splitlines()
    assert lines[0].startswith("Comparing 2 variant(s) over 2 seed(s)") and "on the Ray cluster at auto" in lines[0]
    progress = [line.split(": ")[0] for line in lines[1:5]]  # "[k/4] NAME, seed S" as the runs finish
    assert [line.split("]")[0] for line in progress] == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert sorted(line.split("] ")[1] for line in progress) == ["seed, seed 1", "seed, seed 2", "strided, seed 1",
                                                               "strided, seed 2"]
    assert lines[5].startswith("Wrote ") and len(lines) == 6, err
    assert "seed" in out and "strided" in out
    # the head is gone with every process it started, and its files
    assert _no_process_under(head.temp_dir) and not os.path.exists(head.temp_dir)
    assert os.path.exists("/tmp/ray") == ray_dir_before


def _no_process_under(folder: str, wait_s: float = 30) -> bool:
    deadline = time.monotonic() + wait_s
    while processes_under(folder):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
