"""`cnnviz train`: train the seed convnet headless, with a progress bar and Ctrl+C to stop."""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from pathlib import Path

from cnnviz.commands.common import (CliError, add_augmentation_args, add_data_arg, add_dataset_arg, check_output_folder,
                                    check_writable, command_inputs, load_data_or_fail, model_argument, positive_float,
                                    positive_int, seed_number)


def batch_size(text: str) -> int:
    """argparse type: 1 to MAX_BATCH_SIZE digits a batch (more exhausts memory)."""
    from cnnviz.core.training import MAX_BATCH_SIZE

    value = positive_int(text)
    if value > MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_BATCH_SIZE:,}, not {value:,}")
    return value


def add_parser(subparsers) -> None:
    from cnnviz.core.architectures import ARCHITECTURES
    from cnnviz.core.model import OPTIMIZERS
    from cnnviz.core.training import MAX_BATCH_SIZE

    parser = subparsers.add_parser("train", help="train the seed convnet headless",
                                   description="Train the seed convnet on MNIST with a progress bar, test "
                                               "after each epoch, save the model and history.")
    parser.add_argument("--architecture", metavar="NAME", default="seed",
                        help="which variant of the architecture lab to train (default seed): "
                             + ", ".join(ARCHITECTURES))
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes over the training set (default 5)")
    parser.add_argument("--batch-size", type=batch_size, default=64,
                        help=f"digits per batch, 1 to {MAX_BATCH_SIZE:,} and at most the training set (default 64)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="rmsprop", help="default rmsprop")
    parser.add_argument("--learning-rate", type=positive_float, metavar="LR",
                        help="learning rate (default: the optimizer's own, 0.001 for rmsprop)")
    parser.add_argument("--limit", type=positive_int, metavar="N", help="train on the first N digits only")
    parser.add_argument("--out", type=Path, metavar="PATH", default=Path("cnnviz-model.keras"),
                        help="where to write the trained model (default cnnviz-model.keras)")
    parser.add_argument("--history", type=Path, metavar="CSV", help="write the per-epoch history as CSV")
    parser.add_argument("--seed", type=seed_number, metavar="S",
                        help="random seed for repeatable runs, 0 to 2**32 - 1")
    parser.add_argument("--steps-per-execution", type=positive_int, metavar="K",
                        help="batches per compiled call: 32 trains ~10%% faster than Keras's plain fit here, "
                             "with progress every 32 batches (Ctrl+C still stops within a batch) (default 32; "
                             "10 with --checkpoints, so that they land exactly on batches 10, 30, 100 and 300)")
    parser.add_argument("--checkpoints", type=Path, metavar="DIR",
                        help="keep the weights at the start, after batches 10, 30, 100, 300 and after every "
                             "epoch in DIR (epoch_00.keras, epoch_00_batch_00010.keras, ..., checkpoints.json)")
    add_augmentation_args(parser)
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="fine-tune --from MODEL on your own digits: pictures in DIR/0/ … DIR/9/, each read as "
                             "`cnnviz predict` reads it, mixed with MNIST so it does not forget (each epoch: your "
                             "digits repeated to at least 500, and 6 times as many MNIST training digits), at a "
                             "tenth of the usual learning rate unless --learning-rate says otherwise; tested on "
                             "MNIST's test digits after each epoch")
    parser.add_argument("--from", dest="from_model", type=model_argument, metavar="MODEL",
                        help="the model to fine-tune with --data-dir: a .keras file or a shipped model's name "
                             "(plain, augmented)")
    add_dataset_arg(parser)
    add_data_arg(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.core.architectures import build_architecture, recipe_for
    from cnnviz.core.training import Trainer, TrainConfig, TrainingControl, stop_on_signals
    from cnnviz.terminal import ProgressBar

    if args.data_dir is not None or args.from_model is not None:
        return _fine_tune(args)
    try:
        recipe_for(args.architecture)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    _check_targets(args)
    dataset = load_data_or_fail(args.data, dataset=args.dataset)
    num_train = len(dataset.limited(args.limit).x_train)
    if args.batch_size > num_train:
        raise CliError(f"--batch-size {args.batch_size:,} is more than the {num_train:,} training images"
                       f"{' (--limit)' if args.limit and args.limit < len(dataset.x_train) else ''}; "
                       f"use at most {num_train:,}")
    try:
        config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
                             learning_rate=args.learning_rate, limit=args.limit, seed=args.seed,
                             steps_per_execution=args.steps_per_execution or (10 if args.checkpoints else 32),
                             augment=args.augment, dropout=args.dropout)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if args.checkpoints:  # empties an earlier run's checkpoints: only once everything else is known to be fine
        _prepare_checkpoint_folder(args.checkpoints)
    if args.seed is not None:  # before building: the seed must fix the initial weights too
        import keras

        keras.utils.set_random_seed(args.seed)
    model = build_architecture(args.architecture, args.optimizer, args.learning_rate, args.dropout)
    control = TrainingControl()
    bar = ProgressBar(sys.stderr)
    trainer = Trainer(model, dataset, config, listener=bar, control=control, keep="last_epoch",
                      extra_callbacks=_checkpoint_callbacks(args, config, dataset))
    print(f"Training on {len(trainer.data.x_train):,} {dataset.spec.title} images from {dataset.source}, testing on "
          f"{len(dataset.x_test):,}; {config.epochs} epoch(s), batch {config.batch_size}, {config.optimizer}"
          f"{_regularisation_text(config)}.",
          file=sys.stderr)
    started = time.perf_counter()
    # Ctrl+C or SIGTERM: stop within a batch, keep and save the finished epochs (also while saving);
    # before the first epoch has finished there is nothing to keep: end at once.
    with stop_on_signals(control, _announce_stop(trainer), abort_if=lambda: trainer.finished_epochs == 0):
        result = trainer.run()
        bar.finish()
        if result.status == "diverged":
            print(result.message, file=sys.stderr)
        if args.checkpoints:
            print(f"Wrote the checkpoints to {args.checkpoints}.", file=sys.stderr)
        if not result.history:
            print("No epoch finished, so no model was written.", file=sys.stderr)
            return 1
        saved = _save_results(args, model, result, config, dataset, time.perf_counter() - started)
    return 0 if result.status == "finished" and saved else 1


def _fine_tune(args: argparse.Namespace) -> int:
    """--data-dir DIR --from MODEL: fine-tune the model on your digits mixed with MNIST (`core.fine_tune`)."""
    from cnnviz.commands.common import open_model_or_fail, read_digit_folder_or_fail
    from cnnviz.core.fine_tune import check_fine_tunable, describe_mix, fine_tune
    from cnnviz.core.training import TrainConfig, TrainingControl, stop_on_signals
    from cnnviz.terminal import ProgressBar

    if args.data_dir is None or args.from_model is None:
        raise CliError("fine-tuning needs both --data-dir DIR (your digits) and --from MODEL (the model to start from)")
    given = [flag for flag, used in (("--architecture", args.architecture != "seed"), ("--dropout", args.dropout),
                                     ("--limit", args.limit), ("--checkpoints", args.checkpoints),
                                     ("--dataset", args.dataset != "mnist")) if used]
    if given:
        raise CliError(f"{given[0]} does not go with --from: fine-tuning keeps the model's layers and trains on "
                       "your digits mixed with MNIST")
    _check_targets(args)
    model, info = open_model_or_fail(args.from_model)
    try:
        check_fine_tunable(info)
        config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
                             learning_rate=args.learning_rate, seed=args.seed, augment=args.augment,
                             steps_per_execution=args.steps_per_execution or 32)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    own = read_digit_folder_or_fail(args.data_dir, info)
    mnist = load_data_or_fail(args.data, dataset="mnist")
    print(f"Fine-tuning {args.from_model} on your {own.count:,} digits from {args.data_dir} mixed with MNIST "
          f"({describe_mix(own.count, len(mnist.x_train))}); {config.epochs} epoch(s){_regularisation_text(config)}.",
          file=sys.stderr)
    control = TrainingControl()
    bar = ProgressBar(sys.stderr)
    started = time.perf_counter()
    with stop_on_signals(control):
        result = fine_tune(model, own, mnist, config, listener=bar, control=control)
        bar.finish()
        if not result.training.history:
            print("No epoch finished, so no model was written.", file=sys.stderr)
            return 1
        before, after = result.before, result.after
        print(f"Your digits: {before.own_accuracy:.4f} before, {after.own_accuracy:.4f} after; MNIST test: "
              f"{before.mnist_accuracy:.4f} before, {after.mnist_accuracy:.4f} after; "
              f"{len(result.changed)} of your digits changed their prediction.")
        saved = _save_results(args, model, result.training, config, mnist, time.perf_counter() - started)
    return 0 if result.training.status == "finished" and saved else 1


def _regularisation_text(config) -> str:
    """", augmented, dropout 0.5" for the start line (nothing for a plain run)."""
    return ("" if not config.augment else ", augmented") + (f", dropout {config.dropout:g}" if config.dropout else "")


def _announce_stop(trainer):
    """on_signal for stop_on_signals: say once what happens (the watcher thread calls it); before
    the first finished epoch the run simply ends ("interrupted")."""
    said = []

    def announce(signum: int) -> None:
        if not said and trainer.finished_epochs:
            said.append(signum)
            cause = "Ctrl+C" if signum == signal.SIGINT else f"{signal.Signals(signum).name} received"
            print(f"\n{cause}: stopping after this batch; finished epochs are kept and saved "
                  "(Ctrl+C again to abort)...", file=sys.stderr, flush=True)

    return announce


def _save_results(args: argparse.Namespace, model, result, config, dataset, seconds: float) -> bool:
    """Write the model, its class names and the history; a write that fails keeps a recovery copy.

    Says exactly what was saved: the weights after the last finished epoch, which the history's
    last row describes. True if everything went where it was asked to.
    """
    from cnnviz.core.atomic import save_or_recover
    from cnnviz.core.model import save_model
    from cnnviz.core.model_files import write_class_names
    from cnnviz.core.training import write_history_csv

    last = result.history[-1]
    saved = _report(save_or_recover(args.out, lambda path: save_model(model, path)), "the trained model")
    if saved.path is not None:
        if result.status == "finished":
            what = f"{len(result.history)} epoch(s)"
        else:
            what = f"the weights after epoch {last.epoch} of {config.epochs}, {result.status}"
        accuracy = (f"test accuracy {last.test_accuracy:.4f}" if math.isfinite(last.test_accuracy)
                    else "not tested: stopped during its test")
        print(f"Wrote {saved.path} ({what}, {seconds:.0f} s, {accuracy}).")
        try:
            classes_file = write_class_names(saved.path, dataset.class_names)
        except OSError as exc:
            print(f"cnnviz train: could not write the class names beside {saved.path}: {exc.strerror or exc}",
                  file=sys.stderr)
        else:
            if classes_file:
                print(f"Wrote {classes_file} (the class names).")
    ok = saved.saved
    if args.history:
        history = _report(save_or_recover(args.history, lambda path: write_history_csv(result.history, path)),
                          "the history")
        if history.path is not None:
            print(f"Wrote {history.path}.")
        ok = ok and history.saved
    return ok


def _report(outcome, what: str):
    """Say on stderr when `outcome` (a SaveOutcome) did not go where asked; return it."""
    if not outcome.saved:
        kept = (f"{what} is kept in {outcome.path} instead" if outcome.recovered
                else f"no recovery copy could be written either, so {what} is lost")
        print(f"cnnviz train: could not write {outcome.target} ({outcome.error}); {kept}.", file=sys.stderr)
    return outcome


def _check_targets(args: argparse.Namespace) -> None:
    """Every file the run will write, checked before training: a folder where a file goes, a history
    that would overwrite the model, outputs that name the same file or sit in the checkpoint folder,
    an output that is the --data file, a folder that cannot be written."""
    from cnnviz.core.model_files import class_names_path

    if args.out.suffix != ".keras":
        raise CliError(f"--out must end in .keras, not {args.out.name}")
    if args.history is not None and args.history.suffix == ".keras":
        raise CliError(f"--history {args.history} ends in .keras, but the history is a CSV file, not a model "
                       f"(e.g. --history {args.out.stem}_history.csv)")
    if args.checkpoints is not None and args.checkpoints.exists() and not args.checkpoints.is_dir():
        raise CliError(f"--checkpoints {args.checkpoints} is a file, not a folder")
    files = {"--out": args.out, "the class names file": class_names_path(args.out)}
    if args.history is not None:
        files["--history"] = args.history
    for label, path in files.items():
        if path.is_dir():
            raise CliError(f"{label} {path} is a folder; name the file to write in it")
    others = {**files, **({"--checkpoints": args.checkpoints} if args.checkpoints else {}),
              **({"--data": args.data} if args.data else {})}
    resolved = {label: path.expanduser().resolve() for label, path in others.items()}
    labels = list(resolved)
    for i, first in enumerate(labels):
        for second in labels[i + 1:]:
            if resolved[first] == resolved[second]:
                raise CliError(f"{first} and {second} name the same path ({others[first]}); give each its own")
    if args.checkpoints:
        for label, path in files.items():
            if resolved["--checkpoints"] in resolved[label].parents:
                raise CliError(f"{label} {path} is inside the --checkpoints folder {args.checkpoints}; "
                               "the checkpoints need a folder of their own")
    inputs = command_inputs(args, "data", "from_model")   # --from: fine-tuning never writes over its model
    if args.checkpoints:
        check_output_folder(args.checkpoints, inputs)
    for label, path in files.items():  # last: it creates missing folders
        check_writable(path, inputs, label)


def _prepare_checkpoint_folder(folder: Path) -> None:
    """Before training: DIR can be written, and holds nothing but an earlier run's checkpoints (removed)."""
    from cnnviz.core.checkpoints import CheckpointError, prepare_checkpoint_folder

    check_writable(folder / "checkpoints.json")
    try:
        prepare_checkpoint_folder(folder)
    except (CheckpointError, OSError) as exc:
        raise CliError(str(exc)) from exc


def _checkpoint_callbacks(args: argparse.Namespace, config, dataset) -> tuple:
    """With --checkpoints DIR: a callback that writes the checkpoints into DIR."""
    from dataclasses import asdict

    from cnnviz.core.checkpoints import FolderSink, make_checkpoint_callback

    if not args.checkpoints:
        return ()
    num_train = len(dataset.limited(config.limit).x_train)
    training = {**asdict(config), "num_train_digits": num_train, "dataset": getattr(dataset, "name", "mnist"),
                "architecture": getattr(args, "architecture", "seed"), "model_file": args.out.name}
    sink = FolderSink(args.checkpoints, training)
    return (make_checkpoint_callback([sink], config.batch_size, num_train),)
