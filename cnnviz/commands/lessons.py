"""`cnnviz lessons`: list a lesson pack, or check it against the format and the shipped model."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

from cnnviz.commands.common import CliError, one_line


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "lessons", help="list or check lesson packs",
        description="List the lessons of a pack (the shipped ones by default), or check a pack: every lesson "
                    "against the format (docs/LESSONS.md) and against the shipped model. --check prints one "
                    "line per lesson when all are valid (exit 0), else one line per problem, file:line: what "
                    "is wrong (exit 2).")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true", help="list the lessons: id, title, concepts, steps, questions")
    action.add_argument("--check", metavar="DIR", type=Path, help="check every lesson in DIR")
    parser.add_argument("--lessons", metavar="DIR", type=Path,
                        help="the pack to list (default: the shipped lessons)")
    parser.add_argument("--json", action="store_true", help="with --list: a JSON list, one object per lesson")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.check is not None:
        if args.lessons is not None or args.json:
            raise CliError("--check DIR takes no --lessons or --json")
        return check(args.check)
    return list_lessons(args.lessons, args.json)


def read_pack_or_fail(folder: Path):
    from cnnviz.core.lessons.pack import PackError, read_pack

    try:
        return read_pack(folder)
    except PackError as exc:
        raise CliError(str(exc)) from None


def list_lessons(folder: Path | None, as_json: bool) -> int:
    from cnnviz.core.lessons.pack import summary
    from cnnviz.core.lessons.validate import shipped_lessons_dir

    pack = read_pack_or_fail(folder if folder is not None else shipped_lessons_dir())
    if pack.problems:
        return report_problems(pack.problems, pack.num_files)
    rows = [summary(lesson) for lesson in pack.lessons]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    for row in rows:
        print(one_line(f"{row['id']}: {row['title']} ({row['steps']} steps, {row['questions']} questions; "
                       f"{', '.join(row['concepts'])})"))
    return 0


def check(folder: Path) -> int:
    """Every lesson of the pack against the format and the shipped model (and a drawn 7 for answers
    about the learner's drawing)."""
    pack = read_pack_or_fail(folder)
    problems = list(pack.problems)
    checked = []
    if pack.lessons:
        from cnnviz.core.lessons.engine import AnswerEngine
        from cnnviz.core.lessons.validate import check_against, sample_drawing

        engine = AnswerEngine(shipped_model_view())
        sample = sample_drawing()
        for lesson in pack.lessons:
            found = check_against(lesson, engine, sample)
            problems.extend(found)
            if not found:
                checked.append(lesson)
    if problems:
        return report_problems(problems, pack.num_files)
    for lesson in checked:
        print(one_line(f"{lesson.path}: ok: {lesson.id}, {len(lesson.steps)} steps, {lesson.num_questions} "
                       f"questions"))
    return 0


def report_problems(problems, num_files: int) -> int:
    """One line per problem on stderr, `file:line: what is wrong`, and nothing else (exit 2)."""
    for problem in sorted(problems, key=lambda p: (p.path, p.line)):
        print(one_line(str(problem)), file=sys.stderr)
    return 2


@functools.lru_cache(maxsize=1)
def shipped_model_view():
    """The shipped model as the answer engine reads it (loaded once per process)."""
    from cnnviz.commands.common import open_model_or_fail
    from cnnviz.core.lessons.engine import ModelView

    model, info = open_model_or_fail(None)
    return ModelView.from_keras(model, info=info)
