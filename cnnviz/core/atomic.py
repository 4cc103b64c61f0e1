"""Atomic file writes: write to a temporary file beside the target, then rename.

Temporary files and folders are named `.NAME.partial-PID-XXXXXXXX[.SUFFIX]` after the process
writing them, so that a writer killed mid-write (SIGKILL, a power cut) leaves something the next
write to the same folder recognises and removes (`remove_stale_temporaries`). When a save fails
after long work (a full disk, a folder made read-only), `save_or_recover` keeps the work in a
recovery file beside the target or in the cache folder and says where.

Every temporary in use is also tracked in this process (`tracked_temporary`), so the exit paths
that skip Python's clean-up (`os._exit` after Ctrl+C, SIGTERM or the end of a command) remove them
first (`remove_pending_temporaries`). Every target passes `cnnviz.core.safe_paths.write_target`
first: a device, FIFO, socket or folder is never replaced, a symbolic link is written through.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

# Read once at import: os.umask can only be read by setting it, which is not thread-safe later.
_UMASK = os.umask(0o022)
os.umask(_UMASK)

# `.NAME.partial-PID-XXXXXXXX[.SUFFIX]` (this module and export folders) and `.NAME.old-PID-XXXXXXXX`
# (an export folder set aside while its replacement moves in).
_TEMPORARY = re.compile(r"\..+\.(?:partial|old)-(?P<pid>\d{1,10})-[0-9a-z_]{8}(?:\.[A-Za-z0-9]{1,10})?")
LEGACY_AGE_S = 3600  # cnnviz 0.1's temporaries carry no pid: removed once this old
_NAME_BYTES = 100    # of the target's name kept in a temporary's name (a 255-byte target name must still fit)
_PENDING: set[Path] = set()


def temporary_name(name: str, kind: str = "partial", suffix: str = "") -> str:
    """A hidden name beside `name` that says which process writes it: `.NAME.partial-PID-XXXXXXXX`."""
    return f".{_shortened(name)}.{kind}-{os.getpid()}-{secrets.token_hex(4)}{suffix}"


def _shortened(name: str) -> str:
    return os.fsencode(name)[:_NAME_BYTES].decode("utf-8", "ignore") or "_"


@contextlib.contextmanager
def tracked_temporary(path: str | os.PathLike) -> Iterator[Path]:
    """Remember `path` (a temporary file or folder) while inside, for `remove_pending_temporaries`."""
    path = Path(path)
    _PENDING.add(path)
    try:
        yield path
    finally:
        _PENDING.discard(path)


def remove_pending_temporaries() -> None:
    """Remove every temporary file or folder this process is writing (called on the way out by the exit
    paths that skip `finally` blocks: `os._exit` after Ctrl+C, SIGTERM or the end of a command)."""
    for path in list(_PENDING):
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                os.unlink(path)
        except OSError:
            pass
        _PENDING.discard(path)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (this process counts: another thread may be writing)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # another user's process
    except (ProcessLookupError, OverflowError):
        return False
    return True


def remove_stale_temporaries(folder: str | os.PathLike, legacy: tuple[re.Pattern, ...] = ()) -> list[Path]:
    """Remove the temporary files and folders in `folder` whose writing process is gone.

    `legacy`: patterns of pid-less names (cnnviz 0.1's) removed once older than LEGACY_AGE_S.
    Best effort: whatever cannot be removed or read stays. Returns what was removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        try:
            if match:
                stale = not process_alive(int(match["pid"]))
            elif any(pattern.fullmatch(entry.name) for pattern in legacy):
                stale = now - entry.stat(follow_symlinks=False).st_mtime > LEGACY_AGE_S
            else:
                continue
            if not stale:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _legacy_file_pattern(target: Path, suffix: str) -> re.Pattern:
    """cnnviz 0.1's temporary beside `target`: `.STEM-XXXXXXXX.SUFFIX` (tempfile.mkstemp)."""
    return re.compile(re.escape(f".{target.stem}-") + r"[0-9a-z_]{8}" + re.escape(suffix))


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success rename it onto `target`.

    On any exception the temporary file is removed and `target` is left untouched. Stale
    temporaries of killed writers in the same folder are removed first. A `target` that is a
    device, FIFO, socket or folder raises OutputPathError (an OSError) before anything is written;
    a symbolic link is written through (the file it points to is replaced).
    """
    from cnnviz.core.safe_paths import write_target

    target = write_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix if suffix is None else suffix
    if len(os.fsencode(suffix)) > 20:
        suffix = ""
    remove_stale_temporaries(target.parent, (_legacy_file_pattern(target, suffix),))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{_shortened(target.stem)}.partial-{os.getpid()}-", suffix=suffix,
                                    dir=target.parent)
    os.close(fd)
    with tracked_temporary(tmp_name) as tmp:
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
            write_target(target)            # still a file or nothing (not swapped for a FIFO meanwhile)
            os.replace(tmp, target)
        finally:
            if os.path.lexists(tmp):
                tmp.unlink()


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(target: str | os.PathLike, text: str) -> None:
    """Write `text` (UTF-8) to `target` atomically."""
    write_bytes_atomic(target, text.encode("utf-8"))


@dataclass
class SaveOutcome:
    """Where `save_or_recover` put the data: `path` (None if nowhere) and, if not at the target, why."""

    target: Path
    path: Path | None
    error: str | None = None

    @property
    def saved(self) -> bool:
        """Written where asked."""
        return self.error is None

    @property
    def recovered(self) -> bool:
        """Not written where asked, but kept in a recovery file (`path`)."""
        return self.error is not None and self.path is not None


def recovery_paths(target: str | os.PathLike) -> list[Path]:
    """Where a file that could not be written is kept instead: beside it, else in the cache folder."""
    from cnnviz.core.paths import user_cache_dir

    target = Path(target)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{target.stem}.recovered-{stamp}{target.suffix}"
    return [target.with_name(name), user_cache_dir() / "recovered" / name]


def save_or_recover(target: str | os.PathLike, write: Callable[[Path], object]) -> SaveOutcome:
    """`write(target)`; if that fails, `write` a recovery copy (`recovery_paths`) instead.

    For results that took long to make (a trained model): any error of the write (OSError for a
    full disk or a read-only folder, or whatever the library that writes raises) is caught and
    described; KeyboardInterrupt is not.
    """
    target = Path(target)
    try:
        write(target)
        return SaveOutcome(target, target)
    except Exception as exc:  # noqa: BLE001 (the work must not be lost over any kind of write error)
        error = describe_error(exc)
    for candidate in recovery_paths(target):
        try:
            write(candidate)
            return SaveOutcome(target, candidate, error)
        except Exception:  # noqa: BLE001
            continue
    return SaveOutcome(target, None, error)


def describe_error(exc: BaseException) -> str:
    """One line for a failed write: 'No space left on device', 'Permission denied: /x/y'…"""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
