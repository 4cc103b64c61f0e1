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


MODEL_HELP = ("a .keras, .h5 or .onnx model file, or a shipped model by name: plain (the notes' model, the default), "
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
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, metavar="PATH", help=image_help)
    _add_test_image_args(parser, source)


def add_image_or_test_index(parser: argparse.ArgumentParser, image_help: str) -> None:
    """`IMAGE` (positional) or `--test-index N`, `--data` and `--dataset` for the test image; one of the
    two is required (`image_or_test_input_or_fail` says so in one line)."""
    parser.add_argument("image", nargs="?", type=Path, metavar="IMAGE", help=image_help)
    _add_test_image_args(parser, parser)


def _add_test_image_args(parser: argparse.ArgumentParser, source) -> None:
    from cnnviz.core.data import DATASET_NAMES

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


MAX_COUNT = 2**31 - 1   # any count an option takes: larger ones overflow TensorFlow's int32 counters


def positive_int(text: str) -> int:
    """argparse type: a whole number from 1 to MAX_COUNT (`--steps-per-execution 1e20` is one line, not an
    OverflowError from TensorFlow)."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_COUNT:,}, not {text}")
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


def load_model_or_fail(path: Path | None, allow_non_finite: bool = False):
    """The model at `path` (default: the shipped one), or CliError with the loader's message."""
    return open_model_or_fail(path, allow_non_finite)[0]


def open_model_or_fail(path: Path | None, allow_non_finite: bool = False):
    """(compiled model, ModelInfo) for the file at `path` (default: the shipped model), or CliError.

    Weights that hold NaN or ±Inf are found from the weights themselves (`ModelInfo.non_finite_layers`),
    never from whether an output happens to come out NaN: whether a NaN weight reaches the output
    depends on the kernel library (oneDNN's conv+ReLU can turn it into 0). Such a model is refused
    (nothing is computed from it) unless the command only describes it or says per input that there
    is no answer (`allow_non_finite`: `summary`, `predict`), which then get a warning on stderr.
    """
    import sys

    from cnnviz.core.model import ModelFileError, compile_model, open_model
    from cnnviz.core.paths import default_model_path

    try:
        model, info = open_model(path or default_model_path())
    except ModelFileError as exc:
        raise CliError(str(exc)) from exc
    if info.non_finite_layers:
        where = f"{display_path(Path(info.path).name)} has NaN or infinite weights in {non_finite_names(info)}"
        if not allow_non_finite:
            raise CliError(f"{where}: its outputs are not finite numbers, so nothing was computed from it "
                           "(train it again, or use another model)")
        print(f"cnnviz: warning: {where}; its outputs are not numbers.", file=sys.stderr)
    compile_model(model, from_logits=info.outputs_logits)
    return model, info


def non_finite_names(info) -> str:
    """The layers whose weights hold NaN or ±Inf, as one printable list."""
    return one_line(", ".join(info.non_finite_layers))


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


def command_inputs(args: argparse.Namespace, *names: str) -> dict[str, Path]:
    """The files a command reads, by option ({"--model": path, …}), for `check_writable`'s `inputs`.

    `names` are argument names among "model" (the shipped model when none is given, and its class
    names file), "image", "images", "data", "checkpoints", "from_model" (`--from`); without `--data`, the
    dataset copies cnnviz would read are inputs too.
    """
    from cnnviz.core.model_files import class_names_path
    from cnnviz.core.paths import default_model_path

    found: dict[str, Path] = {}
    for name in names:
        value = getattr(args, name, None)
        if name == "model":
            model = Path(value or default_model_path())
            found["--model" if value else "the shipped model"] = model
            found["the model's class names file"] = class_names_path(model)
        elif name == "images":
            found.update({f"the image {path}": Path(path) for path in value or ()})
        elif name == "data" and value is None:
            found.update(dataset_copies())
        elif value is not None:
            found["--" + {"from_model": "from"}.get(name, name).replace("_", "-")] = Path(value)
    return found


def dataset_copies() -> dict[str, Path]:
    """The dataset files on this machine cnnviz reads when no --data is given (its caches, Keras's)."""
    from cnnviz.core.data import DATASETS, local_sources

    return {f"the {source} of {spec.title}": location for spec in DATASETS.values()
            for source, location in local_sources(spec)}


def check_output_folder(path: Path, inputs: dict[str, Path] | None = None) -> None:
    """Refuse, before any work, an output folder that is a file or device, too long a name, below a file,
    or that holds one of the command's `inputs` (`cnnviz.core.safe_paths.output_folder`)."""
    from cnnviz.core.safe_paths import OutputPathError, output_folder

    try:
        output_folder(path, inputs or {})
    except OutputPathError as exc:
        raise CliError(str(exc)) from exc


def check_writable(path: Path, inputs: dict[str, Path] | None = None, label: str = "--out") -> None:
    """Fail before long work, not after, when an output file cannot be written: a folder, a device, FIFO
    or socket, a link to nothing, a name too long, below a file, one of the command's `inputs`
    (`command_inputs`), or a folder that cannot be created or written."""
    from cnnviz.core.safe_paths import OutputPathError, output_file

    try:
        path = output_file(path, inputs or {}, label)
    except OutputPathError as exc:
        raise CliError(str(exc)) from exc
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


def image_or_test_input_or_fail(args: argparse.Namespace, info, purpose: str = "read"):
    """The model input for `IMAGE` or `--test-index` (exactly one of them, else CliError)."""
    require_one_input(args)
    return model_input_or_fail(args, info, purpose)


def require_one_input(args: argparse.Namespace) -> None:
    """CliError unless exactly one of `IMAGE` and `--test-index` was given."""
    if (args.image is None) == (args.test_index is None):
        raise CliError("give an IMAGE file or --test-index N (one of them)")


def model_input_or_fail(args: argparse.Namespace, info, purpose: str = "read"):
    """The model input (H, W, C) float32 for `--image` (as `predict` reads it) or `--test-index`."""
    if args.image is not None:
        preparation = getattr(args, "preprocess", "auto")
        return image_input_or_fail(args.image, info, preparation, purpose)[1].array
    return test_input_or_fail(args, info)[0]


def write_files(files: dict) -> None:
    """Write every output atomically: {path: bytes, or a Keras model saved as .keras}; CliError naming
    the file that could not be written. The one place `predict --save-copy`, `attack --out` and
    `sanity --out` write."""
    from cnnviz.core.atomic import write_bytes_atomic
    from cnnviz.core.model import save_model

    for path, content in files.items():
        try:
            if isinstance(content, bytes):
                write_bytes_atomic(path, content)
            else:
                save_model(content, path)
        except OSError as exc:
            raise CliError(f"cannot write {path}: {exc.strerror or exc}") from exc
