"""What every command shares: the one-line error type, common arguments, and loading with clear errors."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path


class CliError(Exception):
    """A problem to report in one message, with exit code 2."""


def model_argument(text: str) -> Path:
    """argparse type of --model: a model file, or a shipped model's short name (`core.paths.SHIPPED_MODELS`)."""
    from cnnviz.core.paths import model_path_for

    return model_path_for(text)


MODEL_HELP = ("a .keras or .h5 model file, or a shipped model by name: plain (the notes' model, the default), "
              "augmented (the same network trained with data augmentation: reads photos of real handwriting), "
              "fashion")


def add_model_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH", type=model_argument, help=MODEL_HELP)


def add_data_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="PATH", type=Path,
                        help="a copy of the dataset to use: an .npz in Keras's layout, a folder of the four "
                             "idx files (train-images-idx3-ubyte.gz …), or for MNIST mnist.pkl.gz")


def add_dataset_arg(parser: argparse.ArgumentParser, default: str | None = "mnist") -> None:
    from cnnviz.core.data import DATASET_NAMES

    parser.add_argument("--dataset", choices=DATASET_NAMES, default=default,
                        help=f"which dataset (default {default or 'the one that matches the model'})")


def add_input_args(parser: argparse.ArgumentParser, image_help: str) -> None:
    """`--image PATH | --test-index N` (one of them required), `--data` and `--dataset` for the test image."""
    from cnnviz.core.data import DATASET_NAMES

    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, metavar="PATH", help=image_help)
    source.add_argument("--test-index", type=int, metavar="N",
                        help="test image N (0 to 9999) of the model's dataset (MNIST, Fashion-MNIST)")
    add_data_arg(parser)
    parser.add_argument("--dataset", choices=DATASET_NAMES,
                        help="the dataset of --test-index (default: the one the model's classes match)")


def whole_number(text: str) -> int:
    """`text` as an int; argparse's own message would name the Python function ("invalid
    positive_int value: 'abc'")."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def scale_factor(text: str) -> int:
    """argparse type: K for pictures where each pixel becomes K×K, 1 to export's MAX_SCALE (a larger K
    asks for pictures of gigapixels and exhausted memory: issue 15's sweep, `--scale 100000`)."""
    from cnnviz.core.export import MAX_SCALE

    value = positive_int(text)
    if value > MAX_SCALE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_SCALE}, not {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def dropout_rate(text: str) -> float:
    """argparse type: a dropout rate, a number from 0 to below 1 (the share of units dropped)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be from 0 to below 1 (the share of units dropped), not {text}")
    return value


def add_augmentation_args(parser: argparse.ArgumentParser) -> None:
    """`--augment` and `--dropout RATE` (issue 21), for every command that trains a model."""
    parser.add_argument("--augment", action="store_true",
                        help="data augmentation: move, turn and zoom each training batch at random (up to "
                             "2.8 px, 10 degrees, 10%%), on the fly; testing sees the digits as they are")
    parser.add_argument("--dropout", type=dropout_rate, metavar="RATE", default=0.0,
                        help="put a Dropout layer of this rate (e.g. 0.5) before the dense layers (default: none)")


def seed_number(text: str) -> int:
    """argparse type: a random seed, a whole number from 0 to 2**32 - 1 (NumPy's and TensorFlow's range)."""
    value = whole_number(text)
    if not 0 <= value <= 2**32 - 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 4294967295 (2**32 - 1), not {value}")
    return value


def load_model_or_fail(path: Path | None):
    """The model at `path` (default: the shipped one), or CliError with the loader's message."""
    return open_model_or_fail(path)[0]


def open_model_or_fail(path: Path | None):
    """(compiled model, ModelInfo) for the file at `path` (default: the shipped model), or CliError.

    Warns on stderr when the weights hold NaN or ±Inf (the outputs are then not numbers).
    """
    import sys

    from cnnviz.core.model import ModelFileError, compile_model, open_model
    from cnnviz.core.paths import default_model_path

    try:
        model, info = open_model(path or default_model_path())
    except ModelFileError as exc:
        raise CliError(str(exc)) from exc
    compile_model(model, from_logits=info.outputs_logits)
    if info.non_finite_layers:
        print(f"cnnviz: warning: {Path(info.path).name} has NaN or infinite weights in "
              f"{', '.join(info.non_finite_layers)}; its outputs are not numbers.", file=sys.stderr)
    return model, info


def load_data_or_fail(path: Path | None, allow_download: bool = True, dataset: str = "mnist"):
    """A dataset (from `path` or the usual sources), or CliError listing what was tried.

    When a source failed before another worked, says on stderr which failed and which was used.
    """
    import sys

    from cnnviz.core.data import DataError, SourceLog, load_dataset

    log = SourceLog()
    try:
        data = load_dataset(dataset, path, allow_download=allow_download, log=log)
    except DataError as exc:
        raise CliError(str(exc)) from exc
    note = log.fallback_note()
    if note:
        print(f"{data.spec.title}: {note}", file=sys.stderr)
    return data


def read_digit_folder_or_fail(folder: Path, info):
    """Your own digits (`core.own_digits.read_digit_folder`: DIR/0/*.png … DIR/9/*.png) as `info`'s inputs,
    or CliError naming the first problem (the folder is refused whole)."""
    from cnnviz.core.own_digits import DigitFolderError, read_digit_folder

    try:
        return read_digit_folder(folder, info)
    except DigitFolderError as exc:
        raise CliError(one_line(str(exc))) from exc


def one_line(text: str) -> str:
    """`text` with line breaks and other control characters escaped (\\t, \\n), for one-line output."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def display_path(path: str | os.PathLike) -> str:
    """A file name as one printable field: undecodable bytes as \\xNN and control characters
    escaped (`one_line`), so a name never splits a line of output nor fails to print."""
    return one_line(os.fsencode(path).decode("utf-8", "backslashreplace"))


def check_writable(path: Path) -> None:
    """Fail before long work, not after, when an output file cannot be written (`path` a folder too)."""
    if path.is_dir():
        raise CliError(f"{path} is a folder; name the file to write")
    folder = path.resolve().parent
    blocker = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise CliError(f"cannot create the folder {folder}: {blocker} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create the folder {folder}: {exc.strerror}") from exc
    if not os.access(folder, os.W_OK):
        raise CliError(f"cannot write to {folder}")


def test_set_or_fail(args: argparse.Namespace, info, purpose: str = "--test-index"):
    """The dataset whose classes the model predicts (or `--dataset`), or CliError."""
    from cnnviz.core.model_files import ModelFileError, dataset_for_model

    try:
        name = dataset_for_model(info, getattr(args, "dataset", None))
    except ModelFileError as exc:
        raise CliError(f"{purpose}: {exc}") from exc
    return load_data_or_fail(getattr(args, "data", None), dataset=name)


def test_input_or_fail(args: argparse.Namespace, info):
    """(model input (H, W, C) float32, a description) for `--test-index`, or CliError."""
    import numpy as np

    dataset = test_set_or_fail(args, info)
    count = len(dataset.x_test)
    if not 0 <= args.test_index < count:
        raise CliError(f"--test-index must be from 0 to {count - 1}, not {args.test_index}")
    image = dataset.x_test[args.test_index].astype(np.float32)[..., None] * np.float32(info.input_scale / 255.0)
    label = dataset.class_names[int(dataset.y_test[args.test_index])]
    return image, f"{dataset.spec.title} test {dataset.spec.item} {args.test_index} (label {label})"


def image_input_or_fail(path: Path, info, preparation: str = "auto", purpose: str = "read"):
    """(the picture in grey, PreparedInput, a description) for an image file, or CliError.

    A picture with no digit in it is an error that says why; a picture with several marks is read
    (the largest) with a note on stderr.
    """
    import sys

    from cnnviz.core.images import ImageFileError, read_pixels, to_greyscale
    from cnnviz.core.model_input import prepare_pixels

    try:
        pixels = read_pixels(path)
        prepared = prepare_pixels(pixels, info, preparation)
    except ImageFileError as exc:
        raise CliError(str(exc)) from exc
    except ValueError as exc:
        raise CliError(f"--preprocess {preparation}: {exc}") from exc
    if prepared.array is None:
        why = (prepared.note or "no ink stands out from the paper").rstrip(".")
        raise CliError(f"{path.name} has nothing to {purpose}: {why[:1].lower()}{why[1:]}")
    if prepared.note:
        print(f"cnnviz: {path.name}: {prepared.note}", file=sys.stderr)
    return to_greyscale(pixels), prepared, f"image {path} ({prepared.preparation})"


def model_input_or_fail(args: argparse.Namespace, info, purpose: str = "read"):
    """The model input (H, W, C) float32 for `--image` (as `predict` reads it) or `--test-index`."""
    if args.image is not None:
        preparation = getattr(args, "preprocess", "auto")
        return image_input_or_fail(args.image, info, preparation, purpose)[1].array
    return test_input_or_fail(args, info)[0]
