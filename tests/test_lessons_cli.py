"""`cnnviz lessons`: the --list --json contract, --check on the shipped pack, and --check refusing a
broken pack with the line of each problem (one test per kind of problem), hostile packs in one line."""

from __future__ import annotations

import json
import os

import pytest

from cnnviz.cli import main

SHIPPED_CONCEPTS = {"feature-maps", "convolution", "padding", "strides", "max-pooling", "translation-invariance",
                    "spatial-hierarchy", "alternation", "small-data"}

# A valid lesson; the numbers on the right are its line numbers, which the cases below rely on.
TINY = """---
id: tiny
title: A tiny lesson
concepts: padding
minutes: 3
fits: digit-model()
---

## The first step

Some text.

```action
select-layer(conv2d_1)
```

```question
kind: number
ask: How wide is conv2d_1?
answer: map-size(conv2d_1)
reveal: select-layer(conv2d_1)
highlight: layer-grid
right: Yes, {answer}.
wrong: It is {answer}.
```

## A choice

```question
kind: choice
ask: More or fewer?
option more: more
option less: fewer
answer: compare(total-params(variant=same-padding), total-params())
right: {answer}
wrong: {answer}
```
"""


def with_line(number: int, text: str, lesson: str = TINY) -> str:
    """TINY with line `number` (1-based) replaced by `text`."""
    lines = lesson.split("\n")
    lines[number - 1] = text
    return "\n".join(lines)


def run(capsys, *args):
    code = main(["lessons", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def check(capsys, folder, files: dict):
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return run(capsys, "--check", folder)


def test_list_json_contract(capsys):
    code, out, err = run(capsys, "--list", "--json")
    assert code == 0 and len(out) == 1
    lessons = json.loads(out[0])
    assert isinstance(lessons, list) and len(lessons) >= 9
    for lesson in lessons:
        assert set(lesson) == {"id", "title", "concepts", "steps", "questions"}
        assert isinstance(lesson["id"], str) and isinstance(lesson["title"], str) and lesson["title"]
        assert isinstance(lesson["concepts"], list) and all(isinstance(c, str) for c in lesson["concepts"])
        assert type(lesson["steps"]) is int and type(lesson["questions"]) is int
        assert lesson["steps"] >= lesson["questions"] >= 1
    assert SHIPPED_CONCEPTS <= {concept for lesson in lessons for concept in lesson["concepts"]}
    assert [lesson["id"] for lesson in lessons][:9] == [
        "feature-maps", "convolution-window", "padding", "strides", "pooling", "translation-invariance",
        "spatial-hierarchy", "alternation", "small-data"]      # the notes' order


def test_list_json_of_another_pack(capsys, tmp_path):
    (tmp_path / "b.md").write_text(TINY.replace("id: tiny", "id: second"), encoding="utf-8")
    (tmp_path / "a.md").write_text(TINY, encoding="utf-8")
    (tmp_path / "README.md").write_text("# not a lesson\n", encoding="utf-8")
    code, out, _ = run(capsys, "--list", "--lessons", tmp_path, "--json")
    assert code == 0
    assert json.loads(out[0]) == [
        {"id": "tiny", "title": "A tiny lesson", "concepts": ["padding"], "steps": 2, "questions": 2},
        {"id": "second", "title": "A tiny lesson", "concepts": ["padding"], "steps": 2, "questions": 2}]


def test_check_the_shipped_pack(capsys):
    from cnnviz.core.lessons.validate import shipped_lessons_dir

    code, out, err = run(capsys, "--check", shipped_lessons_dir())
    assert code == 0 and not err
    assert len(out) == 9 and all(": ok: " in line for line in out)


def test_check_a_valid_pack(capsys, tmp_path):
    code, out, err = check(capsys, tmp_path / "pack", {"tiny.md": TINY})
    assert code == 0 and out == [f"{tmp_path / 'pack' / 'tiny.md'}: ok: tiny, 2 steps, 2 questions"]


# (line to replace, its new text, the line reported, words of the message)
BROKEN = {
    "front matter missing": (1, "id: tiny", 1, "front matter"),
    "unknown front-matter key": (5, "length: 3", 5, "unknown front-matter key 'length'"),
    "minutes not a number": (5, "minutes: three", 5, "minutes must be a whole number"),
    "unknown question key": (22, "highlite: layer-grid", 22, "unknown question key 'highlite'"),
    "a required key missing": (20, "", 17, "the question needs 'answer'"),
    "unknown question kind": (18, "kind: numeric", 18, "unknown question kind 'numeric'"),
    "unknown action": (14, "select-layr(conv2d_1)", 14, "unknown action select-layr()"),
    "unknown function": (20, "answer: map-width(conv2d_1)", 20, "unknown function map-width()"),
    "malformed expression": (20, "answer: map-size(conv2d_1", 20, "expected ')'"),
    "wrong number of arguments": (14, "select-layer(conv2d_1, conv2d_2)", 14, "select-layer() takes 1 argument"),
    "a layer the model lacks": (20, "answer: map-size(conv2d_9)", 20, "no layer 'conv2d_9'"),
    "a layer the variant lacks": (20, "answer: map-size(max_pooling2d_1, variant=strided)", 20,
                                  "the strided variant has no layer 'max_pooling2d_1'"),
    "an action on a layer the model lacks": (21, "reveal: select-layer(dense_9)", 21, "no layer 'dense_9'"),
    "unknown variant": (34, "answer: compare(total-params(variant=same-pading), total-params())", 34,
                        "unknown variant 'same-pading'"),
    "test digit out of range": (14, "load-test-digit(10000)", 14, "index must be from 0 to 9999"),
    "channel out of range": (14, "enlarge-channel(conv2d_1, 32)", 14, "conv2d_1 has channels 0 to 31, not 32"),
    "unknown highlight target": (22, "highlight: grid", 22, "unknown highlight target 'grid'"),
    "unknown placeholder": (23, "right: Yes, {answr}.", 23, "unknown placeholder {answr}"),
    "undefined reference": (21, "reveal: enlarge-channel(conv2d_1, $channel)", 21, "$channel is not defined"),
    "unclosed fence": (37, "", 29, "never closed"),
    "choice answer not an option": (32, "option most: more", 34, "the answer can be more, which is not among"),
    "number question with a name for an answer": (
        20, "answer: highest(test_accuracy)", 20,
        "a number question needs a number for its answer, and this one gives a variant name"),
    "unknown table column": (34, "answer: highest(test_acc)", 34, "no column 'test_acc'"),
    "fits condition fails on the shipped model": (6, "fits: layer(conv2d_1, Dense)", 6,
                                                  "does not fit mnist_convnet: it needs conv2d_1 to be a Dense layer"),
    "unknown fits condition": (6, "fits: digits-model()", 6, "unknown fits condition digits-model()"),
    "nested too deep": (20, "answer: " + "percent(" * 7 + "1" + ")" * 7, 20, "nested more than 6 deep"),
    "placeholder in step text": (11, "Some {text}.", 9, "placeholders work only in a question"),
    "two learner actions": (14, "draw-digit()\nhover-unit(conv2d_1)", 15, "one learner action"),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_check_refuses_a_broken_pack_with_the_line(capsys, tmp_path, kind):
    line, text, reported, message = BROKEN[kind]
    folder = tmp_path / "pack"
    code, out, err = check(capsys, folder, {"good.md": TINY.replace("id: tiny", "id: good"),
                                            "broken.md": with_line(line, text)})
    assert code == 2, err
    broken = [entry for entry in err if entry.startswith(f"{folder / 'broken.md'}:")]
    assert broken, err
    at_line = f"{folder / 'broken.md'}:{reported}: "
    assert any(entry.startswith(at_line) and message in entry for entry in broken), broken
    assert broken == err and out == []       # one line per problem, only the broken file's, on stderr


def test_the_same_id_twice(capsys, tmp_path):
    code, out, err = check(capsys, tmp_path / "pack", {"a.md": TINY, "b.md": TINY})
    assert code == 2 and out == []
    assert err == [f"{tmp_path / 'pack' / 'b.md'}:2: id 'tiny' is also the id of a.md"]


def test_every_problem_of_a_file_is_reported(capsys, tmp_path):
    text = with_line(22, "highlight: grid", with_line(14, "select-layr(conv2d_1)"))
    code, _, err = check(capsys, tmp_path / "pack", {"two.md": text})
    assert code == 2 and [entry.split(": ")[0].rsplit(":", 1)[1] for entry in err] == ["14", "22"]


@pytest.mark.parametrize("contents", ["empty", "readme only", "other files only"])
def test_a_folder_without_lessons(capsys, tmp_path, contents):
    folder = tmp_path / "pack"
    folder.mkdir()
    if contents == "readme only":
        (folder / "README.md").write_text(TINY, encoding="utf-8")
    elif contents == "other files only":
        (folder / "notes.txt").write_text(TINY, encoding="utf-8")
        (folder / "sub").mkdir()
        (folder / "sub" / "lesson.md").write_text(TINY, encoding="utf-8")
    for args in (["--check", folder], ["--list", "--lessons", folder, "--json"]):
        code, out, err = run(capsys, *args)
        assert (code, out) == (2, []) and len(err) == 1 and "holds no lessons" in err[0]


@pytest.mark.parametrize("args", [["--check", "missing"], ["--list", "--lessons", "missing"]])
def test_a_missing_folder(capsys, tmp_path, args):
    code, out, err = run(capsys, *[str(tmp_path / a) if a == "missing" else a for a in args])
    assert (code, out) == (2, []) and len(err) == 1 and "no folder" in err[0]


def hostile(folder, kind):
    folder.mkdir()
    path = folder / "hostile.md"
    if kind == "huge":
        path.write_text(TINY + "x" * (300 * 1024), encoding="utf-8")
    elif kind == "binary":
        path.write_bytes(b"---\nid: x\n\x00\x01\x02" * 10)
    elif kind == "not utf-8":
        path.write_bytes(TINY.encode("utf-8") + b"\xff\xfe caf\xe9")
    elif kind == "link out":
        outside = folder.parent / "secret.md"
        outside.write_text(TINY, encoding="utf-8")
        path.symlink_to(outside)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "long line":
        path.write_text(with_line(11, "x" * 5000), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind,message", [("huge", "at most 262,144"), ("binary", "binary"),
                                          ("not utf-8", "not UTF-8"), ("link out", "outside the lesson folder"),
                                          ("fifo", "not a regular file"), ("long line", "characters long")])
def test_hostile_files_are_refused_in_one_line(capsys, tmp_path, kind, message):
    folder = tmp_path / "pack"
    path = hostile(folder, kind)
    for args in (["--check", folder], ["--list", "--lessons", folder]):
        code, out, err = run(capsys, *args)
        assert code == 2 and out == [] and len(err) == 1, (out, err)
        line = 11 if kind == "long line" else 1      # the long line itself; else the whole file
        assert err[0].startswith(f"{path}:{line}: ") and message in err[0]


def test_too_many_lesson_files(capsys, tmp_path):
    folder = tmp_path / "pack"
    folder.mkdir()
    for i in range(101):
        (folder / f"{i:03}.md").write_text("", encoding="utf-8")
    code, out, err = run(capsys, "--list", "--lessons", folder)
    assert (code, out) == (2, []) and "at most 100" in err[0]


def test_a_link_inside_the_folder_is_read(capsys, tmp_path):
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "real.txt").write_text(TINY, encoding="utf-8")
    (folder / "linked.md").symlink_to(folder / "real.txt")
    code, out, _ = run(capsys, "--list", "--lessons", folder, "--json")
    assert code == 0 and json.loads(out[0])[0]["id"] == "tiny"


def test_check_takes_no_list_options(capsys, tmp_path):
    code, out, err = run(capsys, "--check", tmp_path, "--json")
    assert code == 2 and "takes no --lessons or --json" in err[0]


def test_app_command_takes_a_pack(capsys, tmp_path, monkeypatch):
    """`cnnviz --lessons DIR` checks the pack and passes it on to the app; a bad pack is one line, exit 2."""
    import cnnviz.gui.app

    opened = {}

    def fake_run(model_path=None, screenshot=None, lessons_dir=None):
        opened.update(model=model_path, lessons=lessons_dir)
        return 0

    monkeypatch.setattr(cnnviz.gui.app, "run", fake_run)
    folder = tmp_path / "pack"
    folder.mkdir()
    (folder / "tiny.md").write_text(TINY, encoding="utf-8")
    assert main(["--lessons", str(folder)]) == 0 and opened["lessons"] == folder
    assert main(["gui", "--lessons", str(folder)]) == 0 and opened["lessons"] == folder
    capsys.readouterr()
    assert main(["--lessons", str(tmp_path / "missing")]) == 2
    assert "no folder" in capsys.readouterr().err
