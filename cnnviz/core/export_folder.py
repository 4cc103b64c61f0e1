"""Writing an export folder all at once, and never over what is not a cnnviz export.

`write_folder` puts the files in a hidden folder beside the target and renames it into place (all or
nothing); `check_target` refuses a target that is a file, or a non-empty folder unless `overwrite`, and
then only a folder that is an earlier cnnviz export and nothing else (`replace_refusal`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from pathlib import Path

from cnnviz.core.atomic import remove_stale_temporaries, temporary_name, tracked_temporary
from cnnviz.core.limits import SIDE_FILE_LIMITS, LimitError, read_json_file

MANIFEST_NAME = "manifest.json"


class ExportError(Exception):
    """An export that cannot be done; the message says why, and nothing was written."""


class TargetExistsError(ExportError):
    """The target folder exists and is not empty (pass overwrite=True to replace a cnnviz export)."""


def check_target(out_dir: str | os.PathLike, overwrite: bool = False) -> Path:
    """The absolute target folder, if it may be written; else ExportError.

    A missing or empty folder is fine. A non-empty one raises TargetExistsError unless
    `overwrite`, and even then it is replaced only if it is a cnnviz export and nothing else
    (`replace_refusal`): pointing an export at a web project with its own manifest.json, or at
    one's home folder, must never delete it.
    """
    from cnnviz.core.safe_paths import OutputPathError, check_name_lengths, kind_of, output_folder

    out = Path(out_dir).expanduser().absolute()
    if out == out.parent:
        raise ExportError(f"{out} is the root of the file system; choose a new or empty folder")
    try:
        check_name_lengths(out)
    except OutputPathError as exc:
        raise ExportError(str(exc)) from exc
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is {kind_of(out.stat().st_mode).replace('a regular file', 'a file')}, not a folder")
    existing = next((folder for folder in out.parents if folder.exists()), out.parent)
    if not existing.is_dir():
        raise ExportError(f"cannot write the export to {out}: {existing} is a file, not a folder")
    try:
        output_folder(out)
    except OutputPathError as exc:
        raise ExportError(str(exc)) from exc
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise TargetExistsError(f"{out} already exists and is not empty; choose another folder "
                                    "or overwrite it")
        refusal = replace_refusal(out)
        if refusal:
            raise ExportError(f"{out} is not a cnnviz export{refusal}, so it is not replaced; choose a new "
                              "or empty folder")
    return out


MAX_MANIFEST_BYTES = 16 * 2**20          # a full export's manifest is ~0.3 MB
_MANIFEST_LIMITS = dataclasses.replace(SIDE_FILE_LIMITS, max_bytes=MAX_MANIFEST_BYTES, max_values=2_000_000)
_EXPORT_FORMAT = re.compile(r"cnnviz-export/\d+")
_OS_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})  # file managers' own, fine to remove


def replace_refusal(folder: Path) -> str | None:
    """Why the non-empty `folder` may not be replaced by an export (" (…)" / " alone (…)"), or None."""
    if folder.is_symlink():
        return " (it is a symbolic link)"
    manifest = folder / MANIFEST_NAME
    if manifest.is_symlink() or not manifest.is_file():
        return f" (it has no {MANIFEST_NAME})"
    listed = _listed_files(manifest)
    if listed is None:
        return f" (its {MANIFEST_NAME} is not one cnnviz wrote)"
    extra = _unlisted_entries(folder, listed | {MANIFEST_NAME}, limit=4)
    if extra:
        shown = ", ".join(extra[:3]) + (", …" if len(extra) > 3 else "")
        return f" alone (it also holds {shown})"
    return None


def _listed_files(manifest: Path) -> set[str] | None:
    """The relative paths a cnnviz manifest lists, or None if the file is not a cnnviz manifest."""
    try:
        content = read_json_file(manifest, limits=_MANIFEST_LIMITS)
    except (OSError, LimitError):
        return None
    if not isinstance(content, dict) or not _EXPORT_FORMAT.fullmatch(str(content.get("format"))):
        return None
    files = content.get("files")
    if not isinstance(files, list):
        return None
    listed = set()
    for entry in files:
        path = entry.get("path") if isinstance(entry, dict) else None
        parts = path.split("/") if isinstance(path, str) else []
        if not parts or any(part in ("", ".", "..") or "\\" in part for part in parts):
            return None  # cnnviz writes plain relative paths only
        listed.add(path)
    return listed


def _unlisted_entries(folder: Path, listed: set[str], limit: int) -> list[str]:
    """Up to `limit` files or folders inside `folder` that are not `listed` (nor hold listed files)."""
    parents = {"/".join(path.split("/")[:i]) for path in listed for i in range(1, path.count("/") + 1)}
    extra = []
    for root, dirs, files in os.walk(folder):
        relative_root = Path(root).relative_to(folder).as_posix()
        prefix = "" if relative_root == "." else f"{relative_root}/"
        for name in sorted(dirs):
            path = prefix + name
            if path not in parents:  # a folder the export did not make (or a link to one)
                extra.append(f"{path}/")
        dirs[:] = [name for name in dirs if prefix + name in parents]
        extra.extend(prefix + name for name in sorted(files)
                     if prefix + name not in listed and name not in _OS_LITTER)
        if len(extra) >= limit:
            break
    return extra


def write_folder(out_dir: Path, files: dict[str, bytes], overwrite: bool) -> Path:
    """Write `files` to a hidden folder beside `out_dir`, then rename it into place (all or nothing)."""
    out = check_target(out_dir, overwrite)
    created = _missing_ancestors(out.parent)
    remove_stale_temporaries(out.parent, _legacy_folder_patterns(out.name))
    tmp = out.parent / temporary_name(out.name)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tracked_temporary(tmp):   # removed even by an exit that skips this function's clean-up
            tmp.mkdir()
            for relative, data in files.items():
                path = tmp / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            _move_into_place(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in created:  # deepest first: leave no empty parents behind
            try:
                folder.rmdir()
            except OSError:
                break
        reason = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename and Path(exc.filename) != out else ""
        raise ExportError(f"cannot write the export to {out}: {reason}{where}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _legacy_folder_patterns(name: str) -> tuple[re.Pattern, ...]:
    """cnnviz 0.1's pid-less hidden folders beside an export: `.NAME.partial-XXXXXXXX`, `.NAME.old-XXXXXXXX`."""
    return (re.compile(re.escape(f".{name}.") + r"(?:partial|old)-[0-9a-f]{8}"),)


def _missing_ancestors(folder: Path) -> list[Path]:
    """The folders `mkdir(parents=True)` would create for `folder`, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename `tmp` to `out`; an existing `out` is set aside first and removed only after success."""
    if not out.exists():
        os.rename(tmp, out)
        return
    if not any(out.iterdir()):
        out.rmdir()
        os.rename(tmp, out)
        return
    old = out.parent / temporary_name(out.name, "old")
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
