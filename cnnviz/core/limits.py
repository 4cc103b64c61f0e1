"""Size and structure limits for everything cnnviz reads, checked before anything is allocated (Qt-free, TF-free).

Every reader of a file that a user or another program can hand cnnviz goes through these guards:

- `check_file_size(path, limit, label)`: a file's declared size (stat) against a bound, before reading;
- `read_bytes_limited(path, limit, label)`: read at most `limit` bytes (a FIFO or a lying size cannot
  make it read more);
- `load_json(data, label, limits)`: strict JSON (no NaN, no Infinity, no number that overflows to
  infinity) whose nesting depth and number of values are checked *before* Python's parser sees the
  text, so deeply nested JSON cannot end in a RecursionError and a huge one cannot exhaust memory;
- `read_json_file(path, label, limits)`: the two above together, for every JSON side file
  (`*.classes.json`, `checkpoints.json`, an export's `manifest.json`);
- `walk_json(value, visit, limits)`: visit every dict and list of parsed JSON iteratively, with a
  depth limit, a count limit and a time budget (model configurations);
- `dumps_strict(value)`: JSON text that any strict parser reads back (non-finite floats become null);
- `check_declared_bytes(shape, itemsize, limit, label)`: the bytes an array header declares, against
  a bound, before the array is read (HDF5 datasets, `.npy` members, cache entries).

All of them raise `LimitError` (a ValueError) with a one-line message; callers wrap it in their own
error type (ModelFileError, DataError, CheckpointError…).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

MB = 2**20


class LimitError(ValueError):
    """An input is larger, deeper or slower to read than cnnviz allows (the message says which bound)."""


@dataclass(frozen=True)
class JsonLimits:
    """Bounds for one kind of JSON document."""

    max_bytes: int = 4 * MB
    max_depth: int = 64        # nested arrays/objects
    max_values: int = 200_000  # arrays, objects and scalars, counted from the text
    seconds: float = 10.0      # for `walk_json`


SIDE_FILE_LIMITS = JsonLimits()                                                  # classes, checkpoints, manifests
CONFIG_LIMITS = JsonLimits(max_bytes=32 * MB, max_depth=128, max_values=2_000_000)  # a model's stored configuration


def check_file_size(path: str | os.PathLike, limit: int, label: str | None = None) -> int:
    """The size of the regular file at `path`; LimitError when it is over `limit` bytes (nothing is read)."""
    size = os.stat(path).st_size
    if size > limit:
        raise LimitError(f"{label or Path(path).name} is {size_text(size)}; cnnviz reads at most {size_text(limit)} "
                         "of it")
    return size


def read_bytes_limited(path: str | os.PathLike, limit: int, label: str | None = None) -> bytes:
    """The bytes of `path`, refused (LimitError) when there are more than `limit` of them."""
    check_file_size(path, limit, label)
    with open(path, "rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise LimitError(f"{label or Path(path).name} is more than {size_text(limit)}; cnnviz reads at most "
                         f"{size_text(limit)} of it")
    return data


def size_text(size: float) -> str:
    """'3.2 GB', '512 MB', '12 KB', '40 bytes'."""
    for unit, factor in (("GB", 2**30), ("MB", MB), ("KB", 2**10)):
        if size >= factor:
            value = size / factor
            return f"{value:.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{int(size)} bytes"


def check_declared_bytes(shape, itemsize: int, limit: int, label: str) -> int:
    """The bytes an array of `shape` × `itemsize` declares; LimitError when over `limit` (nothing allocated)."""
    count = 1
    for side in shape:
        side = int(side)
        if side < 0:
            raise LimitError(f"{label} declares a negative size ({tuple(int(s) for s in shape)})")
        count *= side
    size = count * int(itemsize)
    if size > limit:
        raise LimitError(f"{label} declares {size_text(size)} ({'×'.join(str(int(s)) for s in shape) or 'scalar'}); "
                         f"cnnviz allows at most {size_text(limit)}")
    return size


# --- JSON ------------------------------------------------------------------------------------------

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN, _CLOSE, _COMMA = ord("["), ord("]"), ord(",")


def json_shape(data: bytes) -> tuple[int, int]:
    """(maximum nesting depth, number of values) of JSON text, from its brackets and commas outside
    strings: linear time, no recursion, no parsing."""
    skeleton = _STRING.sub(b'""', data).translate(None, b" \t\r\n\"")
    codes = np.frombuffer(skeleton.replace(b"{", b"[").replace(b"}", b"]"), np.uint8)
    steps = (codes == _OPEN).astype(np.int64) - (codes == _CLOSE)
    depth = int(np.cumsum(steps).max(initial=0))
    values = int(np.count_nonzero(codes == _OPEN)) + int(np.count_nonzero(codes == _COMMA)) + 1
    return depth, values


def _refuse_constant(name: str):
    raise LimitError(f"it holds {name}, which is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise LimitError(f"it holds the number {text[:40]}, too large for a float")
    return value


def load_json(data: bytes | str, label: str, limits: JsonLimits = SIDE_FILE_LIMITS):
    """Parse strict JSON within `limits`; LimitError (one line, naming `label`) for anything else:
    too large, too deep, too many values, NaN/Infinity, not UTF-8, not JSON."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > limits.max_bytes:
        raise LimitError(f"{label} is {size_text(len(data))}; cnnviz reads at most {size_text(limits.max_bytes)}")
    depth, values = json_shape(data)
    if depth > limits.max_depth:
        raise LimitError(f"{label} is nested {depth} levels deep; cnnviz reads at most {limits.max_depth}")
    if values > limits.max_values:
        raise LimitError(f"{label} holds about {values:,} values; cnnviz reads at most {limits.max_values:,}")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float)
    except LimitError as exc:
        raise LimitError(f"{label}: {exc}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise LimitError(f"{label} is not readable JSON: {_first_line(exc)}") from None


def read_json_file(path: str | os.PathLike, label: str | None = None, limits: JsonLimits = SIDE_FILE_LIMITS):
    """A JSON side file, size-checked before it is read and parsed with `load_json`. OSError passes through."""
    label = label or Path(path).name
    return load_json(read_bytes_limited(path, limits.max_bytes, label), label, limits)


def dumps_strict(value, **options) -> str:
    """`json.dumps` that always writes strict JSON: NaN and ±Inf become null (never the bare NaN that
    strict parsers refuse), numpy scalars become numbers."""
    return json.dumps(_finite_only(value), allow_nan=False, **options)


def _finite_only(value):
    if isinstance(value, dict):
        return {key: _finite_only(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_only(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def walk_json(value, visit: Callable[[dict, int], None], limits: JsonLimits = CONFIG_LIMITS,
              label: str = "the configuration") -> int:
    """Call `visit(node, depth)` for every dict inside parsed JSON `value` (itself included), iteratively.

    LimitError when the nesting is deeper than `limits.max_depth`, there are more than
    `limits.max_values` dicts and lists, or the walk takes longer than `limits.seconds`.
    Returns the number of dicts and lists walked.
    """
    deadline = time.monotonic() + limits.seconds
    stack = [(value, 0)]
    walked = 0
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        walked += 1
        if depth > limits.max_depth:
            raise LimitError(f"{label} is nested more than {limits.max_depth} levels deep")
        if walked > limits.max_values:
            raise LimitError(f"{label} holds more than {limits.max_values:,} objects and lists")
        if walked % 4096 == 0 and time.monotonic() > deadline:
            raise LimitError(f"{label} took more than {limits.seconds:.0f} s to check")
        if isinstance(node, dict):
            visit(node, depth)
            stack.extend((item, depth + 1) for item in node.values())
        else:
            stack.extend((item, depth + 1) for item in node)
    return walked


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
