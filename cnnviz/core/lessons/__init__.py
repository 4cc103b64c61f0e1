"""Lessons: plain-text lesson files, their validator, the answer engine and the lesson session (Qt-free).

- `document`: one lesson file → `Lesson` (steps, actions, questions), with line numbers
- `pack`: a folder of lesson files, read defensively
- `vocabulary`: the actions, highlight targets and question kinds the GUI implements
- `functions` / `engine`: the answer functions and the `AnswerEngine` that computes them on a model
- `fit` / `validate`: which models a lesson fits; every problem of a lesson, by line
- `session`: `LessonSession`, the state machine the lesson panel displays and drives

The file format is documented for teachers in docs/LESSONS.md.
"""
