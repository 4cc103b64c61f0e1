"""`cnnviz evaluate`: test loss and accuracy on the 10,000 test digits."""

from __future__ import annotations

import argparse

from cnnviz.commands.common import add_data_arg, add_model_arg, load_data_or_fail, load_model_or_fail


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="test loss and accuracy on the 10,000 test digits",
                                   description="Evaluate a model on the official 10,000 MNIST test digits.")
    add_model_arg(parser)
    add_data_arg(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from cnnviz.core.training import make_datasets

    model = load_model_or_fail(args.model)
    dataset = load_data_or_fail(args.data)
    _, test = make_datasets(dataset, batch_size=1024)
    loss, accuracy = model.evaluate(test, verbose=0)
    print(f"Test loss {loss:.4f}, test accuracy {accuracy:.4f} on {len(dataset.x_test):,} digits "
          f"({int(np.round(accuracy * len(dataset.x_test))):,} right).")
    return 0
