"""`cnnviz compare`: train architecture variants on the same digits over one or several seeds (issues 13, 24).

Where the trainings run: one after the other in this process (`--jobs 1`, the default, with a progress
bar), N at once in spawned worker processes (`--jobs N`, `core.run_pool`), or as tasks on a Ray cluster
(`--ray ADDRESS`, `core.ray_runs`). Every finished run is written at once (`--runs`: one row per
(architecture, seed); `--out`: the summary over the seeds), so Ctrl+C keeps the finished runs, and a
`--runs` file already holding a run with the same settings is reused instead of trained again.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from cnnviz.commands.common import (CliError, add_augmentation_args, add_data_arg, check_output_folder, check_writable,
                                    command_inputs, load_data_or_fail, positive_int, seed_number)
from cnnviz.core.architectures import ARCHITECTURES, parse_architecture_names

DEFAULT_SEED = 1


def seed_list(text: str) -> tuple[int, ...]:
    """argparse type: "1,2,3" -> (1, 2, 3), each a valid seed, none twice."""
    seeds = tuple(seed_number(part.strip()) for part in text.split(","))
    repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"seed {repeated[0]} is named twice")
    return seeds


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help="train architecture variants side by side over one or several seeds and tabulate them",
        description="Train each architecture variant on the same digits with each seed and write the summary "
                    "(--out): one row per variant with architecture, params, last_conv_shape, "
                    "last_conv_receptive_field, seconds_per_epoch (median training time of an epoch, test pass "
                    "excluded), train_accuracy (the final model on its training digits), test_accuracy, "
                    "train_test_gap and epochs as means over the seeds, then seeds, test_accuracy_sd, "
                    "train_test_gap_sd, test_accuracy_ci_low/high (95 % interval of the mean) and "
                    "differs_from_seed (yes/no: Welch's t-test of the test accuracies against the seed "
                    "variant's, p < 0.05; empty with one seed). --runs keeps one row per (architecture, seed) "
                    "and reuses the runs it already holds. Both files are rewritten after each run, so Ctrl+C "
                    "keeps the finished runs. Variants: " + ", ".join(ARCHITECTURES) + ".")
    parser.add_argument("--architectures", metavar="A,B,...", default="all",
                        help="comma-separated variant names, or 'all' (the default)")
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes over the training set (default 5)")
    parser.add_argument("--limit", type=positive_int, metavar="N", help="train on the first N digits only")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=seed_list, metavar="S1,S2,...",
                       help=f"train every variant once per seed (default {DEFAULT_SEED})")
    seeds.add_argument("--seed", type=seed_number, metavar="S", help="one seed: the same as --seeds S")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="digits per batch (default 64)")
    parser.add_argument("--steps-per-execution", type=positive_int, default=32, metavar="K",
                        help="batches per compiled call, as for train (default 32)")
    parser.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                        help="train N runs at once in separate processes, each with its share of the cores "
                             "(default 1: one after the other in this process)")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="train every run as a task on the Ray cluster at ADDRESS: auto (the cluster this "
                             "machine belongs to), ray://HOST:PORT or HOST:PORT. Needs the cluster extra: "
                             'pip install "cnnviz[cluster]"')
    parser.add_argument("--out", type=Path, metavar="FILE.csv", required=True,
                        help="where to write the summary, one row per variant")
    parser.add_argument("--runs", type=Path, metavar="RUNS.csv",
                        help="one row per (architecture, seed); the runs it already holds with the same "
                             "--epochs, --batch-size and --limit are kept and not trained again")
    parser.add_argument("--models", type=Path, metavar="DIR",
                        help="also save each variant trained with the first seed as DIR/NAME.keras (without "
                             "optimizer state) with DIR/NAME_history.csv, and every run's history as "
                             "DIR/NAME_seedS_history.csv")
    add_augmentation_args(parser)
    add_data_arg(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.core.seed_runs import RunSettings, RunsFileError, RunTask, plan_runs, read_runs_csv
    from cnnviz.core.training import TrainConfig, TrainingControl, stop_on_signals

    try:
        names = parse_architecture_names(args.architectures)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    seeds = args.seeds or (args.seed if args.seed is not None else DEFAULT_SEED,)
    _check_backend(args)
    if args.runs and args.runs.resolve() == args.out.resolve():
        raise CliError("--runs and --out name the same file; the runs and the summary need one each")
    inputs = command_inputs(args, "data")
    check_writable(args.out, inputs)
    if args.runs:
        check_writable(args.runs, inputs, "--runs")
    if args.models:
        check_output_folder(args.models, inputs)
        check_writable(args.models / "variant.keras", inputs, "--models")
    try:
        existing = read_runs_csv(args.runs) if args.runs else []
    except RunsFileError as exc:
        raise CliError(str(exc)) from exc
    dataset = load_data_or_fail(args.data)
    num_train = len(dataset.limited(args.limit).x_train)
    settings = RunSettings(args.epochs, args.batch_size, num_train, args.augment, args.dropout)
    try:
        reused, todo = plan_runs(names, seeds, settings, existing, args.runs)
    except RunsFileError as exc:
        raise CliError(str(exc)) from exc
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, limit=args.limit, seed=seeds[0],
                         steps_per_execution=args.steps_per_execution, augment=args.augment, dropout=args.dropout)
    tasks = [RunTask(name, dataclasses.replace(config, seed=seed), keep_model=bool(args.models) and seed == seeds[0])
             for name, seed in todo]
    print(f"Comparing {len(names)} variant(s) over {len(seeds)} seed(s) ({', '.join(map(str, seeds))}) on "
          f"{num_train:,} digits from {dataset.source}, testing on {len(dataset.x_test):,}; {config.epochs} "
          f"epoch(s) each, batch {config.batch_size}{_where(args, len(tasks))}.", file=sys.stderr)
    if args.runs and existing:
        print(f"{args.runs} holds {len(reused)} of these {len(names) * len(seeds)} run(s): "
              f"{'nothing to train' if not tasks else f'training the other {len(tasks)}'}.", file=sys.stderr)
    recorder = _Recorder(args, names, seeds, existing, len(tasks))
    control = TrainingControl()
    with stop_on_signals(control, _announce_stop(args)):
        _train(args, tasks, dataset, recorder, control)
    return recorder.finish(interrupted=control.stop_requested)


def _check_backend(args: argparse.Namespace) -> None:
    """--ray's address and Ray itself, before any long work; --jobs and --ray exclude each other."""
    if args.ray is None:
        return
    from cnnviz.core.ray_runs import RayUnavailable, check_address, import_ray

    if args.jobs != 1:
        raise CliError("--jobs is for this machine; with --ray the cluster's free CPUs decide how many run at once")
    try:
        args.ray = check_address(args.ray)
        import_ray()
    except (ValueError, RayUnavailable) as exc:
        raise CliError(str(exc)) from exc


def _where(args: argparse.Namespace, num_tasks: int) -> str:
    if args.ray:
        return f"; on the Ray cluster at {args.ray}"
    if args.jobs > 1:
        from cnnviz.core.run_pool import threads_per_job

        jobs = min(args.jobs, max(num_tasks, 1))
        return f"; {jobs} at once ({threads_per_job(jobs)} TensorFlow thread(s) each)"
    return ""


def _train(args: argparse.Namespace, tasks, dataset, recorder, control) -> None:
    """Train `tasks` where the arguments say; every outcome goes to `recorder` as it comes."""
    if not tasks:
        return
    if args.ray:
        from cnnviz.core.ray_runs import RayUnavailable, run_on_ray

        try:
            run_on_ray(tasks, args.ray, dataset.limited(args.limit), recorder.add, control)
        except RayUnavailable as exc:
            raise CliError(str(exc)) from exc
    elif args.jobs > 1:
        from cnnviz.core.run_pool import run_in_processes

        run_in_processes(tasks, args.jobs, recorder.add, control, data_path=args.data)
    else:
        _train_here(tasks, dataset, recorder, control)


def _train_here(tasks, dataset, recorder, control) -> None:
    """One run after the other in this process, with a progress bar."""
    import logging

    from cnnviz.core.seed_runs import train_run
    from cnnviz.terminal import ProgressBar

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # each new variant traces anew: no retracing warning
    bar = ProgressBar(sys.stderr)
    for number, task in enumerate(tasks, 1):
        print(f"[{number}/{len(tasks)}] {task.label}", file=sys.stderr)
        outcome = train_run(task, dataset, listener=bar, control=control)
        bar.finish()
        recorder.add(outcome, announce=False)
        if control.stop_requested:
            break


def _announce_stop(args: argparse.Namespace):
    """on_signal for stop_on_signals: say once what a stop keeps (the watcher thread calls it)."""
    said = []

    def announce(signum: int) -> None:
        if said:
            return
        said.append(signum)
        if args.ray or args.jobs > 1:
            what = "Stopping: the runs in progress are dropped, the finished ones are kept"
        else:
            what = "Stopping after this batch; finished runs are kept"
        print(f"\n{what} (Ctrl+C again to abort)...", file=sys.stderr, flush=True)

    return announce


class _Recorder:
    """Takes the runs' outcomes as they finish: writes --runs, --out and --models after each (`core.seed_record`),
    prints a line."""

    def __init__(self, args: argparse.Namespace, names, seeds, existing, num_tasks: int):
        from cnnviz.core.seed_record import RunRecord

        self.args, self.names, self.seeds = args, names, seeds
        self.wanted = [(name, seed) for seed in seeds for name in names]
        # every run of the runs file, the ones not asked for too
        self.record = RunRecord(args.runs, args.out, args.models, existing, names, self.wanted)
        self.rows = self.record.rows
        self.num_tasks, self.num_done, self.num_lost = num_tasks, 0, 0
        if any(key in self.rows for key in self.wanted):
            self.record.write_summary()  # the reused runs' summary stands even if nothing more finishes

    def add(self, outcome, announce: bool = True) -> None:
        self.num_done += 1
        task = outcome.task
        prefix = f"[{self.num_done}/{self.num_tasks}] {task.label}: " if announce else ""
        row = self.record.add(outcome)
        if row is None:
            self.num_lost += 1
            if announce or outcome.message:
                print(f"{prefix}{outcome.status}{': ' + outcome.message if outcome.message else ''}", file=sys.stderr)
            return
        if announce:
            print(f"{prefix}test accuracy {row.test_accuracy:.4f}, train accuracy {row.train_accuracy:.4f}, "
                  f"{row.seconds_per_epoch:.1f} s/epoch", file=sys.stderr, flush=True)

    def summary_runs(self) -> list:
        return self.record.summary_runs()

    def finish(self, interrupted: bool) -> int:
        """Print the summary table and what was written; the exit status (0: every run asked for has a row)."""
        from cnnviz.core.seed_statistics import format_summary_table, summarize, welch_against_seed

        runs = self.summary_runs()
        if not runs:
            print("No run finished, so nothing was written.", file=sys.stderr)
            return 1
        print(format_summary_table(summarize(runs, self.names), welch_against_seed(runs)))
        written = f"Wrote {self.args.out} ({len({run.architecture for run in runs})} variant(s), {len(runs)} of " \
                  f"{len(self.wanted)} run(s))"
        if self.args.runs:
            written += f" and {self.args.runs} ({len(self.rows)} run(s))"
        print(written + ".", file=sys.stderr)
        self._note_missing_models()
        return 0 if len(runs) == len(self.wanted) and not interrupted else 1

    def _note_missing_models(self) -> None:
        """--models saves the first seed's models only when they are trained here, not when reused."""
        if not self.args.models:
            return
        missing = [name for name in self.names if not (self.args.models / f"{name}.keras").exists()]
        if missing:
            print(f"No model saved for {', '.join(missing)} (seed {self.seeds[0]}'s run came from {self.args.runs} "
                  "or did not finish).", file=sys.stderr)
