"""`cnnviz evaluate`: test loss and accuracy, the confusion matrix, or every checkpoint's accuracy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnviz.commands.common import (CliError, add_data_arg, add_dataset_arg, add_model_arg, load_data_or_fail,
                                    open_model_or_fail, read_digit_folder_or_fail)
from cnnviz.core.limits import dumps_strict


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="test accuracy, confusion matrix, checkpoints",
                                   description="Evaluate a model on the official 10,000 test digits: loss and "
                                               "accuracy, the confusion matrix, or the accuracy of every "
                                               "checkpoint of a training run.")
    add_model_arg(parser)
    parser.add_argument("--confusion", action="store_true",
                        help="print the confusion matrix (rows: true digit, columns: prediction) and the "
                             "accuracy of each digit")
    parser.add_argument("--checkpoints", type=Path, metavar="DIR",
                        help="the test accuracy of every checkpoint in DIR (written by cnnviz train --checkpoints)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="your own digits instead of MNIST's: pictures in DIR/0/ … DIR/9/ (the folder names are "
                             "the labels), each read as `cnnviz predict` reads it; any unreadable picture, "
                             "non-picture or other folder refuses the whole folder. With --json: "
                             '{"accuracy", "confusion" (rows: the label), "count"}')
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_dataset_arg(parser, default=None)
    add_data_arg(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.data_dir and (args.checkpoints or args.data or args.dataset):
        raise CliError("--data-dir evaluates on your own digits: leave out --checkpoints, --data and --dataset")
    if args.data_dir:
        model, info = open_model_or_fail(args.model)
        return _evaluate_own_digits(model, info, args.data_dir, args.json)
    if args.checkpoints and (args.model or args.confusion):
        raise CliError("--checkpoints evaluates the checkpoints' own models: leave out --model and --confusion")
    if args.checkpoints:
        dataset = load_data_or_fail(args.data, dataset=args.dataset or "mnist")
        return _evaluate_checkpoints(args.checkpoints, dataset, args.json)
    model, info = open_model_or_fail(args.model)
    dataset = load_data_or_fail(args.data, dataset=_dataset_for(info, args.dataset))
    if args.confusion:
        return _print_confusion(model, dataset, args.json)
    return _print_loss_and_accuracy(model, dataset, args.json)


def _dataset_for(info, requested: str | None) -> str:
    """The dataset to test on: --dataset if the model fits it, else the one the model's classes match."""
    from cnnviz.core.model_files import ModelFileError, dataset_for_model

    try:
        return dataset_for_model(info, requested)
    except ModelFileError as exc:
        raise CliError(str(exc)) from exc


def _print_loss_and_accuracy(model, dataset, as_json: bool) -> int:
    import numpy as np

    from cnnviz.core.training import make_datasets

    _, test = make_datasets(dataset, batch_size=1024)
    loss, accuracy = model.evaluate(test, verbose=0)
    if as_json:
        print(dumps_strict({"loss": float(loss), "accuracy": float(accuracy), "num_images": len(dataset.x_test)}))
    else:
        print(f"Test loss {loss:.4f}, test accuracy {accuracy:.4f} on {len(dataset.x_test):,} "
              f"{dataset.spec.title} {dataset.spec.item}s "
              f"({int(np.round(accuracy * len(dataset.x_test))):,} right).")
    return 0


def _print_confusion(model, dataset, as_json: bool) -> int:
    from cnnviz.core.confusion import compute_confusion, format_confusion_table

    result = compute_confusion(model, dataset.x_test, dataset.y_test)
    class_names = list(getattr(dataset, "class_names", None) or range(result.num_classes))
    if as_json:
        print(dumps_strict({**result.to_json(), "class_names": [str(n) for n in class_names]}))
    else:
        print(format_confusion_table(result, [str(n) for n in class_names]))
    return 0


def _evaluate_own_digits(model, info, folder: Path, as_json: bool) -> int:
    from cnnviz.core.confusion import compute_confusion, format_confusion_table

    own = read_digit_folder_or_fail(folder, info)
    result = compute_confusion(model, own.images, own.labels, outputs_logits=info.outputs_logits)
    if as_json:
        print(dumps_strict({"accuracy": result.accuracy, "confusion": result.matrix.tolist(),
                            "count": result.num_images}))
    else:
        print(f"Your digits in {folder}:")
        print(format_confusion_table(result, list(info.class_names)))
    return 0


def _evaluate_checkpoints(folder: Path, dataset, as_json: bool) -> int:
    from cnnviz.core.checkpoints import CheckpointError, evaluate_checkpoints, read_checkpoints

    try:
        checkpoints = read_checkpoints(folder)
        if not checkpoints:
            raise CheckpointError(f"{folder / 'checkpoints.json'} lists no checkpoints.")

        def progress(done, total):
            if not as_json and sys.stderr.isatty():
                print(f"\rEvaluating checkpoint {done}/{total}...", end="", file=sys.stderr, flush=True)

        results = evaluate_checkpoints(checkpoints, dataset.x_test, dataset.y_test, progress=progress)
    except CheckpointError as exc:
        raise CliError(str(exc)) from exc
    if not as_json and sys.stderr.isatty():
        print("\r" + " " * 40 + "\r", end="", file=sys.stderr)
    rows = [{"file": c.file, "epoch": c.epoch, "batch": c.batch, "digits_seen": c.digits_seen,
             "position": c.position, "train_accuracy": c.train_accuracy,
             "test_loss": r.log_loss, "test_accuracy": r.accuracy} for c, r in zip(checkpoints, results)]
    if as_json:
        print(dumps_strict({"folder": str(folder), "num_images": len(dataset.x_test), "checkpoints": rows}))
        return 0
    print(_checkpoint_table(rows))
    return 0


def _checkpoint_table(rows: list[dict]) -> str:
    """One line per checkpoint: file, epoch, batch, digits seen, train and test accuracy."""
    header = ("file", "epoch", "batch", "digits seen", "train acc.", "test loss", "test acc.")
    cells = [(r["file"], str(r["epoch"]), str(r["batch"]) if r["batch"] else "", f"{r['digits_seen']:,}",
              "" if r["train_accuracy"] is None else f"{r['train_accuracy']:.4f}",
              f"{r['test_loss']:.4f}", f"{r['test_accuracy']:.4f}") for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]

    def line(values):
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, cells)])
