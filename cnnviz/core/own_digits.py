"""Your own digits: a labelled folder of pictures, `DIR/0/*.png … DIR/9/*.png` (issue 21).

The layout is the one `keras.utils.image_dataset_from_directory` reads (one subfolder per class,
named after it), so a user can also make one by hand. Everything that walks such a folder goes
through `scan_digit_folder`; `read_digit_folder` reads every picture through the same path as
`cnnviz predict` (`core.model_input.prepare_file`: the ink found, scaled into 20×20 and centred by
mass in 28×28, as MNIST was made).

Bad input is refused, not skipped: a folder with a subfolder that is not a digit 0–9, a folder or
other non-picture inside a class folder, a file that is not a readable PNG, JPEG, GIF or BMP or holds
no digit, or no picture at all, is not read (`DigitFolderError` names the first problem and counts
them), so an accuracy is always over every picture the user put there. Hidden entries (a leading
dot, as the writer's temporary files have) and files beside the class folders are ignored.

The writer (`save_digit`, `relabel_digit`, `delete_digit`) is what the app's gallery calls: a
picture lands in `DIR/<label>/` under a new unique name, written atomically (`core.atomic`).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnviz.core.images import IMAGE_SUFFIXES, ImageFileError

CLASS_FOLDERS = tuple(str(digit) for digit in range(10))
MAX_PICTURES = 20_000        # a folder with more is refused before any picture is read
DIGIT_SIDE = 28


class DigitFolderError(ValueError):
    """A digit folder that cannot be used; the message is one line saying why."""


@dataclass(frozen=True)
class DigitEntry:
    """One picture of a digit folder: its file and the digit its class folder names."""

    path: Path
    label: int


@dataclass(frozen=True)
class FolderScan:
    """What a digit folder holds: its pictures and what is wrong in it (one text per problem)."""

    folder: Path
    entries: tuple[DigitEntry, ...]
    problems: tuple[str, ...]

    @property
    def counts(self) -> tuple[int, ...]:
        """Pictures per digit 0…9."""
        found = np.bincount([entry.label for entry in self.entries], minlength=10)
        return tuple(int(n) for n in found[:10])


@dataclass
class OwnDigits:
    """A digit folder read as model inputs: (N, 28, 28, 1) float32, labels (N,), and their files."""

    images: np.ndarray
    labels: np.ndarray
    paths: list[Path]
    folder: Path

    @property
    def count(self) -> int:
        return len(self.labels)

    def as_uint8(self, scale: float = 1.0) -> np.ndarray:
        """(N, 28, 28) uint8 digits, white = 255, as MNIST stores them (`scale`: the value of white)."""
        return np.clip(np.round(self.images[..., 0] / np.float32(scale) * 255.0), 0, 255).astype(np.uint8)


def scan_digit_folder(folder: str | os.PathLike) -> FolderScan:
    """The pictures of a digit folder and its problems, without reading any picture.

    DigitFolderError when `folder` is not a folder or holds more than MAX_PICTURES files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DigitFolderError(f"no folder at {folder}" if not folder.exists() else f"{folder} is not a folder")
    entries, problems = [], []
    for child in sorted(_visible(folder)):
        if not child.is_dir():
            continue   # a README beside the class folders, as image_dataset_from_directory ignores it
        if child.name not in CLASS_FOLDERS:
            problems.append(f"{child} is not a class folder: they are named 0 to 9")
            continue
        for item in sorted(_visible(child)):
            if item.is_dir():
                problems.append(f"{item} is a folder inside the class folder {child.name}")
            elif not item.is_file():
                problems.append(f"{item} is not a regular file")
            elif item.suffix.lower() not in IMAGE_SUFFIXES:
                problems.append(f"{item} is not a picture (PNG, JPEG, GIF or BMP)")
            else:
                entries.append(DigitEntry(item, int(child.name)))
            if len(entries) + len(problems) > MAX_PICTURES:
                raise DigitFolderError(f"{folder} holds more than {MAX_PICTURES:,} files; cnnviz reads at most that")
    return FolderScan(folder, tuple(entries), tuple(problems))


def read_digit_folder(folder: str | os.PathLike, info, progress=None) -> OwnDigits:
    """Every picture of a digit folder as the model input of `info` (a digit model), read as `cnnviz
    predict` reads it; DigitFolderError (one line) for a folder with any problem (module docstring).

    `progress(done, total)` after each picture (raise in it to stop).
    """
    from cnnviz.core.model_input import prepare_file

    if not info.is_digit_model:
        raise DigitFolderError("a digit folder is read for digit models (28×28 grey input, classes 0 to 9); "
                               f"this model takes {'×'.join(map(str, info.input_shape))}")
    scan = scan_digit_folder(folder)
    problems = list(scan.problems)
    images, labels, paths = [], [], []
    for number, entry in enumerate(scan.entries, 1):
        try:
            prepared = prepare_file(entry.path, info, "digit")
        except ImageFileError as exc:
            problems.append(f"{entry.path}: {exc}")
        else:
            if prepared.array is None:
                problems.append(f"{entry.path} holds no digit ({prepared.note or 'blank'})")
            else:
                images.append(prepared.array)
                labels.append(entry.label)
                paths.append(entry.path)
        if progress is not None:
            progress(number, len(scan.entries))
    if problems:
        more = f" ({len(problems) - 1} more problem(s) besides)" if len(problems) > 1 else ""
        raise DigitFolderError(f"{_first_line(problems[0])}{more}; a digit folder is read whole or not at all: "
                               "fix or remove what is wrong")
    if not images:
        raise DigitFolderError(f"{scan.folder} holds no pictures: put them in subfolders 0 to 9 "
                               f"({scan.folder / '3' / 'my_three.png'})")
    return OwnDigits(np.stack(images).astype(np.float32), np.asarray(labels, np.uint8), paths, scan.folder)


def _visible(folder: Path):
    """The entries of `folder` whose names do not start with a dot."""
    return (folder / name for name in os.listdir(folder) if not name.startswith("."))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


# --- the writer the gallery calls -----------------------------------------------------------------
def save_digit(folder: str | os.PathLike, label: int, picture) -> Path:
    """Keep a picture of digit `label` in `folder/<label>/` under a new unique name; returns its path.

    `picture`: an (H, W) or (H, W, C) array (floats in [0, 1], or uint8), e.g. the 28×28 model input
    (white on black) or the picture as the user opened it; saved as PNG. Or the path of an image file,
    copied as it is (once it is known to be a readable picture). Written atomically.
    """
    from cnnviz.core.atomic import atomic_path, write_bytes_atomic
    from cnnviz.core.images import read_pixels

    target_folder = _class_folder(folder, label)
    if isinstance(picture, (str, os.PathLike)):
        source = Path(picture)
        read_pixels(source)   # ImageFileError unless it is a picture cnnviz reads
        suffix = source.suffix.lower() if source.suffix.lower() in IMAGE_SUFFIXES else ".png"
        target = _unique_path(target_folder, suffix)
        write_bytes_atomic(target, source.read_bytes())
        return target
    pixels = _pillow_image(picture)
    target = _unique_path(target_folder, ".png")
    with atomic_path(target, suffix=".png") as tmp:
        pixels.save(tmp, "PNG")
    return target


def relabel_digit(path: str | os.PathLike, label: int) -> Path:
    """Move a picture of a digit folder into the class folder of `label` (a new name if its own is taken)."""
    path = Path(path)
    folder = _digit_folder_of(path)
    target_folder = _class_folder(folder, label)
    if target_folder == path.parent:
        return path
    target = target_folder / path.name
    if target.exists():
        target = _unique_path(target_folder, path.suffix.lower())
    os.rename(path, target)   # same file system: atomic
    return target


def delete_digit(path: str | os.PathLike) -> None:
    """Remove a picture from its digit folder."""
    path = Path(path)
    _digit_folder_of(path)
    path.unlink()


def _class_folder(folder: str | os.PathLike, label: int) -> Path:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= int(label) <= 9:
        raise DigitFolderError(f"a digit's label is 0 to 9, not {label!r}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DigitFolderError(f"{folder} is not a folder")
    target = folder / str(int(label))
    target.mkdir(parents=True, exist_ok=True)
    return target


def _digit_folder_of(path: Path) -> Path:
    """The digit folder holding the picture `path` (in one of its class folders); DigitFolderError otherwise."""
    if not path.is_file():
        raise DigitFolderError(f"no picture at {path}")
    if path.parent.name not in CLASS_FOLDERS or path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DigitFolderError(f"{path} is not a picture in a class folder 0 to 9 of a digit folder")
    return path.parent.parent


def _unique_path(folder: Path, suffix: str) -> Path:
    """A name no file in `folder` has: digit-YYYYMMDD-HHMMSS-XXXXXX.suffix."""
    while True:
        candidate = folder / f"digit-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}{suffix}"
        if not candidate.exists():
            return candidate


def _pillow_image(picture):
    """A Pillow image ("L" grey or "RGB"/"RGBA") of an array picture."""
    from PIL import Image

    array = np.asarray(picture)
    if array.ndim not in (2, 3) or min(array.shape[:2]) < 1 or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise DigitFolderError(f"a picture is (H, W) or (H, W, 1/3/4), not {array.shape}")
    if array.dtype != np.uint8:
        values = array.astype(np.float32)
        if not np.isfinite(values).all():
            raise DigitFolderError("the picture holds values that are not numbers")
        array = np.clip(np.round(values * 255.0), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    return Image.fromarray(array)
