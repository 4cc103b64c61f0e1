"""One private temporary folder per cnnviz process, removed on every way out (Qt-free, TF-free).

A cnnviz command ends with `os._exit` (winding TensorFlow down takes seconds), and so do Ctrl+C and
SIGTERM; that skips the clean-up that libraries register with `atexit`: TensorFlow's AutoGraph
leaves `__autograph_generated_file*.py` and a `__pycache__/` in $TMPDIR, matplotlib a
`matplotlib-*` folder when HOME is unset or read-only. So the command line points every library's
temporary files into a folder of its own (`$TMPDIR/cnnviz-PID-XXXXXXXX`, also handed down to child
processes through TMPDIR) and removes that folder, whole, before it exits (`remove`). A folder left
by a process that was killed outright (SIGKILL) is removed by the next cnnviz that starts.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from cnnviz.core.atomic import process_alive

_PREFIX = "cnnviz-"
_OURS = re.compile(r"cnnviz-(?P<pid>\d{1,10})-[0-9a-z_]{8}")
_state: dict = {}


def use_private_tempdir() -> Path | None:
    """Make a private temporary folder the process's (`tempfile` and TMPDIR); None if none can be made."""
    if _state.get("folder") is not None:
        return _state["folder"]
    parent = Path(tempfile.gettempdir())
    remove_stale(parent)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=parent))
    except OSError:
        return None
    _state.update(folder=folder, tempdir=tempfile.tempdir, environ=os.environ.get("TMPDIR"))
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = str(folder)
    _quiet_matplotlib_config(folder)
    return folder


def _quiet_matplotlib_config(folder: Path) -> None:
    """When matplotlib's config folder cannot be written (HOME unset or read-only), point it into `folder`
    before matplotlib says so on stderr ("Matplotlib created a temporary cache directory…")."""
    if os.environ.get("MPLCONFIGDIR"):
        return
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    existing = next((p for p in (Path(base) / "matplotlib", *(Path(base) / "matplotlib").parents) if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK | os.X_OK):
        os.environ["MPLCONFIGDIR"] = str(folder / "matplotlib")


def remove() -> None:
    """Remove the private temporary folder (whatever is in it) and point `tempfile` back where it was."""
    folder = _state.pop("folder", None)
    if folder is None:
        return
    shutil.rmtree(folder, ignore_errors=True)
    tempfile.tempdir = _state.pop("tempdir", None)
    if os.environ.get("MPLCONFIGDIR", "").startswith(str(folder)):
        os.environ.pop("MPLCONFIGDIR", None)
    previous = _state.pop("environ", None)
    if previous is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = previous


def remove_stale(parent: str | os.PathLike) -> list[Path]:
    """Remove the private folders in `parent` of cnnviz processes that are gone (killed outright)."""
    removed = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        match = _OURS.fullmatch(entry.name)
        if not match or process_alive(int(match["pid"])):
            continue
        try:
            if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_uid == os.getuid():
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed
