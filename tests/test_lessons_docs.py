"""docs/LESSONS.md is complete and true: it names every action, function, condition, target and question
kind, and its example lessons pass `cnnviz lessons --check`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnnviz.cli import main
from cnnviz.core.lessons.fit import CONDITIONS
from cnnviz.core.lessons.functions import FUNCTIONS
from cnnviz.core.lessons.validate import signature_of
from cnnviz.core.lessons.vocabulary import ACTIONS, HIGHLIGHT_TARGETS, QUESTION_KINDS

DOCS = Path(__file__).parent.parent / "docs" / "LESSONS.md"


def docs() -> str:
    return DOCS.read_text(encoding="utf-8")


def example_lessons() -> list[str]:
    """The lessons written out in the docs: every ````markdown block that starts with front matter."""
    return [block for block in re.findall(r"````markdown\n(.*?)\n````", docs(), re.S) if block.startswith("---\n")]


def test_every_name_is_documented_with_its_parameters():
    text = docs()
    for registry in (ACTIONS, FUNCTIONS):
        for name, spec in registry.items():
            written = re.findall(rf"\| (?:`[^`]*`, )*`({re.escape(name)}\([^`]*\))`", text)   # table rows
            documented = [[part.split("=")[0].strip(" .") for part in call[len(name) + 1:-1].split(",") if part.strip()]
                          for call in written]
            assert [p.name for p in spec.params] in documented, (name, written, signature_of(name))
    for name, condition in CONDITIONS.items():
        params = ", ".join(p.name for p in condition.params)
        assert f"`{name}({params})`" in text, name
    for name in (*HIGHLIGHT_TARGETS, *QUESTION_KINDS):
        assert f"| `{name}` |" in text, name


def test_documented_defaults_match_the_code():
    text = docs()
    assert "`shift-digit(dx, dy=0)`" in text and ACTIONS["shift-digit"].params[1].default == 0
    assert "`train-from-scratch(digits, epochs, seed=1)`" in text
    assert ACTIONS["train-from-scratch"].params[2].default == 1
    assert "`prediction(dx=0, dy=0)`" in text and "`stable-shift(axis=x)`" in text


@pytest.mark.slow
def test_the_example_lessons_pass_the_check(tmp_path, capsys):
    examples = example_lessons()
    assert len(examples) == 2
    for number, lesson in enumerate(examples):
        folder = tmp_path / f"pack{number}"
        folder.mkdir()
        (folder / "01-example.md").write_text(lesson + "\n", encoding="utf-8")
        assert main(["lessons", "--check", str(folder)]) == 0, capsys.readouterr().out
        assert ": ok: " in capsys.readouterr().out


def test_the_complete_example_uses_every_kind():
    complete = example_lessons()[-1]
    for kind in QUESTION_KINDS:
        assert f"kind: {kind}" in complete
    for feature in ("let ", "wrong 3:", "reveal: ", "$answer", "run(", "draw-digit", "options: ", "conceal: "):
        assert feature in complete
