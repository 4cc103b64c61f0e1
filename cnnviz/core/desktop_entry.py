"""The application-menu entry: `cnnviz --install-desktop` and `--uninstall-desktop` (Qt-free).

Install writes, under the user's XDG data folder (`$XDG_DATA_HOME`, else `~/.local/share`) and
nowhere else:
- `applications/cnnviz.desktop`: the shipped `resources/cnnviz.desktop` with `Exec` set to the
  `cnnviz` that is running (its absolute path, so the menu finds it even when pipx's `~/.local/bin`
  is not on the desktop session's PATH) and `Icon` to the icon below;
- `icons/hicolor/scalable/apps/cnnviz.svg`: the shipped icon;
- `cnnviz/desktop-install.json`: what it wrote (each file's SHA-256) and which folders it made.
Uninstall reads that record and removes exactly those files (a file changed since is left, and
said) and then the folders install made, if they are empty. A `cnnviz.desktop` that install did
not write is never replaced. Every write is atomic.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cnnviz.core.atomic import write_bytes_atomic
from cnnviz.core.paths import resources_dir

DESKTOP_FILE = "cnnviz.desktop"
ICON_FILE = "cnnviz.svg"
RECORD = Path("cnnviz") / "desktop-install.json"


class DesktopEntryError(Exception):
    """Installing or removing the menu entry cannot be done safely (one line for the user)."""


@dataclass
class DesktopChange:
    """What an install or uninstall did."""

    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)      # changed by someone since install: left in place


def data_home() -> Path:
    """`$XDG_DATA_HOME` when it is an absolute path (the spec ignores relative ones), else ~/.local/share."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def entry_paths(base: Path | None = None) -> tuple[Path, Path, Path]:
    """(the .desktop file, the icon, the install record) under `base` (default `data_home()`)."""
    base = base or data_home()
    return (base / "applications" / DESKTOP_FILE, base / "icons" / "hicolor" / "scalable" / "apps" / ICON_FILE,
            base / RECORD)


def launch_command() -> str:
    """The Exec value that starts this cnnviz: its `cnnviz` script beside the interpreter, else
    `python -m cnnviz` (quoted as the desktop entry spec wants)."""
    script = Path(sys.executable).with_name("cnnviz")
    words = [str(script)] if script.is_file() and os.access(script, os.X_OK) else [sys.executable, "-m", "cnnviz"]
    return " ".join(_exec_quote(word) for word in words)


def _exec_quote(word: str) -> str:
    """A word of an Exec line: quoted when it has reserved characters; `%` doubled as the spec says."""
    word = word.replace("%", "%%")
    if not word or any(c in word for c in " \t\n\"'\\><~|&;$*?#()`="):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$") + '"'
    return word


def desktop_text(icon: Path, command: str) -> str:
    """The shipped desktop entry with this installation's Exec, TryExec and Icon."""
    lines = []
    for line in (resources_dir() / DESKTOP_FILE).read_text(encoding="utf-8").splitlines():
        key = line.split("=", 1)[0]
        if key == "Exec":
            line = f"Exec={command}"
        elif key == "Icon":
            line = f"Icon={icon}"
        elif key == "TryExec":
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def install_desktop_entry(base: Path | None = None) -> DesktopChange:
    """Write the menu entry and icon under `base` (default `data_home()`); DesktopEntryError if a
    `cnnviz.desktop` that this did not write is in the way."""
    desktop, icon, record_path = entry_paths(base)
    record = _read_record(record_path)
    for target in (desktop, icon):
        if target.exists() and str(target) not in record.get("files", {}):
            raise DesktopEntryError(f"{target} exists and was not written by cnnviz --install-desktop; "
                                    "move it away first")
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise DesktopEntryError(f"{target} is not a regular file; move it away first")
    made = list(record.get("folders", []))
    for folder in (desktop.parent, icon.parent, record_path.parent):
        made += [str(f) for f in _make_folders(folder)]
    contents = {desktop: desktop_text(icon, launch_command()).encode("utf-8"),
                icon: (resources_dir() / ICON_FILE).read_bytes()}
    change = DesktopChange()
    for target, data in contents.items():
        write_bytes_atomic(target, data)
        change.written.append(target)
    files = {str(target): hashlib.sha256(data).hexdigest() for target, data in contents.items()}
    write_bytes_atomic(record_path, json.dumps({"files": files, "folders": made}, indent=1).encode("utf-8"))
    change.written.append(record_path)
    return change


def uninstall_desktop_entry(base: Path | None = None) -> DesktopChange:
    """Remove what `install_desktop_entry` wrote under `base`, and the folders it made if empty."""
    desktop, icon, record_path = entry_paths(base)
    change = DesktopChange()
    if not record_path.is_file():
        return change
    record = _read_record(record_path)
    for name, digest in record.get("files", {}).items():
        target = Path(name)
        if target not in (desktop, icon) or not target.is_file() or target.is_symlink():
            continue   # the record names only these two; anything else is not ours to touch
        if hashlib.sha256(target.read_bytes()).hexdigest() != digest:
            change.kept.append(target)
            continue
        target.unlink()
        change.removed.append(target)
    record_path.unlink()
    change.removed.append(record_path)
    roots = {(data_home() if base is None else base).resolve(), Path.home().resolve()}
    for name in sorted(record.get("folders", []), key=lambda f: -len(Path(f).parts)):   # deepest first
        folder = Path(name)
        inside = any(root == folder.resolve() or root in folder.resolve().parents for root in roots)
        if inside and folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
            folder.rmdir()
            change.removed.append(folder)
    return change


def _make_folders(folder: Path) -> list[Path]:
    """mkdir -p, returning the folders it created (outermost first)."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    folder.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _read_record(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path.stat().st_size < 2**16 else None
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("files", {}), dict):
        raise DesktopEntryError(f"{path} is not cnnviz's install record; move it away first")
    return record
