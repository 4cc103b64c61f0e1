"""What every command shares: the one-line error type, common arguments, and loading with clear errors."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


class CliError(Exception):
    """A problem to report in one message, with exit code 2."""


def add_model_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", type=Path,
                        help="a .keras model file (default: the shipped, pre-trained model)")


def add_data_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="PATH", type=Path,
                        help="an MNIST file to use (mnist.npz in Keras's layout, or mnist.pkl.gz)")


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def load_model_or_fail(path: Path | None):
    """The model at `path` (default: the shipped one), or CliError with the loader's message."""
    from cnnviz.core.model import ModelFileError, load_model
    from cnnviz.core.paths import default_model_path

    try:
        return load_model(path or default_model_path())
    except ModelFileError as exc:
        raise CliError(str(exc)) from exc


def load_data_or_fail(path: Path | None, allow_download: bool = True):
    """MNIST (from `path` or the usual sources), or CliError listing what was tried."""
    from cnnviz.core.data import DataError, load_mnist

    try:
        return load_mnist(path, allow_download=allow_download)
    except DataError as exc:
        raise CliError(str(exc)) from exc


def check_writable(path: Path) -> None:
    """Fail before long work, not after, when an output folder cannot be written."""
    folder = path.resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the folder {folder}: {exc.strerror}") from exc
    if not os.access(folder, os.W_OK):
        raise CliError(f"cannot write to {folder}")
