"""Where cnnviz may write: one check for every output path, in every command and the app (Qt-free).

An output goes only to a regular file or to a new path, never to a device, FIFO or socket (as root,
renaming a file onto `/dev/null` replaces the device), never onto one of the command's own inputs
(`attribution --model m.keras --out m.keras` would turn the model into a PNG), and never through a
name the file system cannot hold (a name over 255 bytes). A symbolic link is followed: the file it
points to is replaced, the link stays; a link to nothing is refused.

- `output_file(path, inputs)`: the real path to write a file to, or OutputPathError;
- `output_folder(path, inputs)`: the same for a folder an output fills or replaces (an input inside it
  is refused too);
- `write_target(path)`: the last check, made by `cnnviz.core.atomic.atomic_path` just before every
  atomic write (so a writer that forgot the first check still cannot replace a device);
- `same_path(a, b)`: whether two paths name one file (hard links and symbolic links included);
- `describe_os_error(exc)`: any OSError from a path as one line ('Permission denied: /x/y').

`OutputPathError` is an OSError, so code that already reports a failed write ("cannot write X: …")
reports these refusals the same way.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Iterable, Mapping

NAME_MAX = 255      # bytes in one file name (ext4, XFS, Btrfs, APFS, NTFS in UTF-16 units)
PATH_MAX = 4096


class OutputPathError(OSError):
    """An output path cnnviz refuses to write to (the message says why)."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        super().__init__(errno.EINVAL, message)
        self.message = message
        self.path = None if path is None else Path(path)

    def __str__(self) -> str:
        return self.message


def kind_of(mode: int) -> str:
    """'a folder', 'a FIFO (named pipe)', 'a device', 'a socket', 'a regular file'… for an st_mode."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a regular file"


def check_name_lengths(path: str | os.PathLike) -> None:
    """OutputPathError when a part of `path` is longer than the file system allows (NAME_MAX bytes)."""
    raw = os.fsencode(path)
    if len(raw) > PATH_MAX:
        raise OutputPathError(f"the path {_short(path)} is {len(raw)} bytes long; the limit is {PATH_MAX}", path)
    for part in raw.split(b"/"):
        if len(part) > NAME_MAX:
            raise OutputPathError(f"the file name {_short(os.fsdecode(part))} is {len(part)} bytes long; file names "
                                  f"can be at most {NAME_MAX} bytes", path)


def write_target(path: str | os.PathLike) -> Path:
    """The path an atomic write should replace: `path`, or the file a symbolic link at `path` points to.

    OutputPathError for a device, FIFO, socket or folder (at the path or behind a link), a link to
    nothing, or a name that is too long. A missing path is fine (a new file).
    """
    path = Path(path)
    check_name_lengths(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    except NotADirectoryError:
        raise OutputPathError(f"cannot create the folder {path.parent}: {_file_among_parents(path)} is a file, not a "
                              "folder", path) from None
    if stat.S_ISLNK(info.st_mode):
        real = Path(os.path.realpath(path))
        try:
            info = os.stat(path)
        except OSError:
            raise OutputPathError(f"{path} is a symbolic link to nothing writable ({real}); name a file instead",
                                  path) from None
        path = real
    if stat.S_ISDIR(info.st_mode):
        raise OutputPathError(f"{path} is a folder; name the file to write", path)
    if not stat.S_ISREG(info.st_mode):
        raise OutputPathError(f"{path} is {kind_of(info.st_mode)}, not a file; cnnviz writes only regular files", path)
    return path


def output_file(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] | Mapping = (),
                label: str = "the output") -> Path:
    """Check an output file before any work; returns the path to write (through a link). OutputPathError when
    it is a device/FIFO/socket/folder, a link to nothing, too long, below a file, or one of `inputs`
    (a mapping label → path names the input in the message)."""
    target = write_target(path)
    _file_below_file(target)
    for input_label, input_path in _labelled(inputs):
        if same_path(target, input_path):
            raise OutputPathError(f"{label} {path} is {input_label} {input_path}: cnnviz never writes over one of "
                                  "its own inputs; name a new file", path)
    return target


def output_folder(path: str | os.PathLike, inputs: Iterable[str | os.PathLike] | Mapping = (),
                  label: str = "the output folder") -> Path:
    """Check a folder an output fills or replaces: not a file/device, not too long, not below a file, and
    holding none of `inputs` (nor being one). Returns it as an absolute path (links not resolved)."""
    folder = Path(os.path.abspath(path))
    check_name_lengths(folder)
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        raise OutputPathError(f"cannot create the folder {path}: {_file_among_parents(folder)} is a file, not a "
                              "folder", path) from None
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise OutputPathError(f"{path} is {kind_of(info.st_mode)}, not a folder", path)
    _file_below_file(folder)
    real = Path(os.path.realpath(folder))
    for input_label, input_path in _labelled(inputs):
        real_input = Path(os.path.realpath(input_path))
        if real_input == real or real in real_input.parents:
            raise OutputPathError(f"{label} {path} holds {input_label} {input_path}: cnnviz never writes over one "
                                  "of its own inputs; choose another folder", path)
    return folder


def same_path(first: str | os.PathLike, second: str | os.PathLike) -> bool:
    """Whether two paths name the same file: the same inode when both exist (hard and symbolic links),
    else the same absolute path once links are resolved."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return os.path.realpath(first) == os.path.realpath(second)


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError: 'Permission denied: /x/y', 'File name too long: /x/…', or its message."""
    if isinstance(exc, OutputPathError):
        return exc.message
    text = str(exc).strip()
    reason = exc.strerror or (text.splitlines()[0] if text else type(exc).__name__)
    if exc.filename is not None:
        return f"{reason}: {_short(os.fsdecode(exc.filename))}"
    return reason


def _labelled(inputs) -> list[tuple[str, str | os.PathLike]]:
    if isinstance(inputs, Mapping):
        return [(label, path) for label, path in inputs.items() if path is not None]
    return [("the input", path) for path in inputs if path is not None]


def _file_below_file(path: Path) -> None:
    """OutputPathError when a parent folder of `path` exists as something else than a folder."""
    for parent in path.parents:
        try:
            info = os.stat(parent)
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            continue   # a higher parent is the file: the loop reaches it
        if not stat.S_ISDIR(info.st_mode):
            raise OutputPathError(f"cannot create the folder {path.parent}: {parent} is {kind_of(info.st_mode)}, not "
                                  "a folder", path)
        return


def _file_among_parents(path: Path) -> Path:
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return path.parent


def _short(text, limit: int = 80) -> str:
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit // 2]}…{text[-limit // 4:]}"
