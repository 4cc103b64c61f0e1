"""A lesson pack: a folder of lesson files (`*.md`, README.md excepted), read in name order.

Read defensively, since packs come from anywhere: only the folder's own files (no subfolders), at
most MAX_LESSONS of them, each a regular file of at most MAX_FILE_BYTES of UTF-8 text with no NUL
byte; a link is followed only to a file inside the folder. A file that breaks a rule is one problem
(`file:line: what`); a folder that is missing, not a folder or without lessons is a `PackError`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cnnviz.core.lessons.document import parse_lesson
from cnnviz.core.lessons.parts import Lesson, Problem

SUFFIX = ".md"
SKIPPED = ("readme.md",)
MAX_FILE_BYTES = 256 * 1024
MAX_LESSONS = 100
MAX_ENTRIES = 10_000     # folder entries looked at before giving up on a folder


class PackError(ValueError):
    """The folder cannot be a lesson pack (one line)."""


@dataclass
class LessonPack:
    folder: Path
    lessons: list[Lesson]
    problems: list[Problem]
    num_files: int = 0


def lesson_files(folder: str | os.PathLike) -> list[Path]:
    """The lesson files of `folder`, sorted by name (PackError for a missing folder or too many files)."""
    folder = Path(folder)
    if not folder.exists():
        raise PackError(f"no folder {folder}")
    if not folder.is_dir():
        raise PackError(f"{folder} is not a folder")
    names = []
    try:
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries):
                if count >= MAX_ENTRIES:
                    raise PackError(f"{folder} holds more than {MAX_ENTRIES:,} entries: not a lesson pack")
                if entry.name.lower().endswith(SUFFIX) and entry.name.lower() not in SKIPPED \
                        and not entry.is_dir(follow_symlinks=False):
                    names.append(entry.name)
    except OSError as exc:
        raise PackError(f"cannot read the folder {folder}: {exc.strerror}") from None
    if len(names) > MAX_LESSONS:
        raise PackError(f"{folder} holds {len(names)} lesson files (at most {MAX_LESSONS})")
    return [folder / name for name in sorted(names)]


def read_lesson_file(path: Path, folder: Path) -> tuple[Lesson | None, list[Problem]]:
    """One lesson file, parsed; or the one problem that keeps it from being read."""
    shown = str(path)
    try:
        text = read_text_safely(path, folder)
    except PackError as exc:
        return None, [Problem(shown, 1, str(exc))]   # the file as a whole: its first line
    return parse_lesson(text, shown)


def read_text_safely(path: Path, folder: Path) -> str:
    """The UTF-8 text of `path`, refused (PackError) when it is a link out of `folder`, not a regular
    file, too large, binary or not UTF-8."""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            target = path.resolve()
            if folder.resolve() not in target.parents:
                raise PackError("a link to a file outside the lesson folder: refused")
            info = os.stat(target)
        if not stat.S_ISREG(info.st_mode):
            raise PackError("not a regular file: refused")
        if info.st_size > MAX_FILE_BYTES:
            raise PackError(f"the file is {info.st_size:,} bytes (at most {MAX_FILE_BYTES:,}): refused")
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise PackError(f"cannot read the file: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise PackError(f"the file is over {MAX_FILE_BYTES:,} bytes: refused")
    if b"\0" in data:
        raise PackError("a binary file (it holds NUL bytes), not a lesson: refused")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PackError(f"not UTF-8 text (byte {exc.start}): refused") from None


def read_pack(folder: str | os.PathLike) -> LessonPack:
    """Every lesson of the folder, with every problem of its files and of the pack (ids used twice).
    PackError when the folder holds no lesson file at all."""
    folder = Path(folder)
    files = lesson_files(folder)
    if not files:
        raise PackError(f"{folder} holds no lessons (lesson files end in {SUFFIX})")
    lessons, problems = [], []
    first_with_id: dict[str, Lesson] = {}
    for path in files:
        lesson, found = read_lesson_file(path, folder)
        problems.extend(found)
        if lesson is None:
            continue
        if lesson.id in first_with_id:
            problems.append(Problem(lesson.path, lesson.lines.get("id", 1),
                                    f"id {lesson.id!r} is also the id of {Path(first_with_id[lesson.id].path).name}"))
            continue
        first_with_id[lesson.id] = lesson
        lessons.append(lesson)
    return LessonPack(folder, lessons, problems, len(files))


def summary(lesson: Lesson) -> dict:
    """The `cnnviz lessons --list --json` object of a lesson."""
    return {"id": lesson.id, "title": lesson.title, "concepts": list(lesson.concepts), "steps": len(lesson.steps),
            "questions": lesson.num_questions}
