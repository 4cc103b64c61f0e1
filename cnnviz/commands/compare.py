"""`cnnviz compare`: train architecture variants one after the other on the same data and seed (issue 13)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from cnnviz.commands.common import (CliError, add_augmentation_args, add_data_arg, check_writable, load_data_or_fail,
                                    positive_int)
from cnnviz.core.architectures import ARCHITECTURES, parse_architecture_names

DEFAULT_SEED = 1


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help="train architecture variants side by side and tabulate the results",
        description="Train each architecture variant on the same digits with the same seed, one after the "
                    "other, and write one CSV row per variant: architecture, params, last_conv_shape, "
                    "last_conv_receptive_field, seconds_per_epoch (median training time of an epoch, test "
                    "pass excluded), train_accuracy (the final model on its training digits), test_accuracy, "
                    "train_test_gap, epochs. The CSV is rewritten after each variant, so Ctrl+C keeps the "
                    "finished rows. Variants: " + ", ".join(ARCHITECTURES) + ".")
    parser.add_argument("--architectures", metavar="A,B,...", default="all",
                        help="comma-separated variant names, or 'all' (the default)")
    parser.add_argument("--epochs", type=positive_int, default=5, help="passes over the training set (default 5)")
    parser.add_argument("--limit", type=positive_int, metavar="N", help="train on the first N digits only")
    parser.add_argument("--seed", type=int, metavar="S", default=DEFAULT_SEED,
                        help=f"random seed shared by every variant (default {DEFAULT_SEED})")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="digits per batch (default 64)")
    parser.add_argument("--steps-per-execution", type=positive_int, default=32, metavar="K",
                        help="batches per compiled call, as for train (default 32)")
    parser.add_argument("--out", type=Path, metavar="FILE.csv", required=True, help="where to write the table")
    parser.add_argument("--models", type=Path, metavar="DIR",
                        help="also save each trained variant as DIR/NAME.keras with DIR/NAME_history.csv")
    add_augmentation_args(parser)
    add_data_arg(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        names = parse_architecture_names(args.architectures)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    check_writable(args.out)
    if args.models:
        check_writable(args.models / "variant.keras")
    dataset = load_data_or_fail(args.data)

    import logging

    from cnnviz.core.comparison import format_comparison_table, train_variant, write_comparison_csv
    from cnnviz.core.model import save_model
    from cnnviz.core.training import TrainConfig, TrainingControl, history_path_for, write_history_csv
    from cnnviz.terminal import ProgressBar

    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, limit=args.limit, seed=args.seed,
                         steps_per_execution=args.steps_per_execution, augment=args.augment, dropout=args.dropout)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # each new variant traces anew: no retracing warning
    control = TrainingControl()
    bar = ProgressBar(sys.stderr)
    num_train = len(dataset.limited(args.limit).x_train)
    print(f"Comparing {len(names)} variant(s) on {num_train:,} digits from {dataset.source}, testing on "
          f"{len(dataset.x_test):,}; {config.epochs} epoch(s) each, batch {config.batch_size}, "
          f"seed {config.seed}.",
          file=sys.stderr)

    def on_interrupt(signum, frame):
        control.stop()
        print("\nStopping after this batch; finished variants are kept (Ctrl+C again to abort)...",
              file=sys.stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    rows, complete = [], True
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        for number, name in enumerate(names, 1):
            print(f"[{number}/{len(names)}] {name}", file=sys.stderr)
            run_ = train_variant(name, dataset, config, listener=bar, control=control)
            bar.finish()
            if run_.result.status != "finished":
                print(run_.result.message, file=sys.stderr)
                complete = False
            if run_.row is not None:
                rows.append(run_.row)
                write_comparison_csv(rows, args.out)
                if args.models:
                    model_path = save_model(run_.model, args.models / f"{name}.keras")
                    write_history_csv(run_.result.history, history_path_for(model_path))
            if control.stop_requested:
                break
    finally:
        signal.signal(signal.SIGINT, previous)
    if rows:
        print(format_comparison_table(rows))
        print(f"Wrote {args.out} ({len(rows)} of {len(names)} variant(s)).", file=sys.stderr)
    else:
        print("No variant finished, so nothing was written.", file=sys.stderr)
    return 0 if complete and len(rows) == len(names) else 1
