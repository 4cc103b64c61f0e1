"""The lesson panel's answers: a question's values computed on the serving copy (issue 20).

The GUI's `LessonSession` says which values a question needs (`session.needed_values()`: its `let`s
and its answer, as parsed expressions); this computes them on the model being shown, for the
learner's digit (and the lesson's training run, when there was one), and the session judges the
answer with them. Quick: a few forward passes (`stable-shift` makes at most 13).
"""

from __future__ import annotations

import numpy as np

from cnnviz.compute.registry import handler


@handler("lesson_values")
def lesson_values(state, values, image=None, run=None) -> dict:
    """`values`: [(name, expression)] in order; `image`: the learner's digit as drawn (28×28, before any
    shift-digit) or None; `run`: the EpochRecords of the lesson's training run or None →
    {"values": {name: value, or `Unavailable` with its reason}, "generation"}."""
    from cnnviz.core.lessons.engine import AnswerEngine, ModelView, compute_values

    picture = None if image is None else np.asarray(image, dtype=np.float32)
    with state.serving() as serving:
        view = ModelView.from_keras(serving.model, probe=serving.probe)
        computed = compute_values(list(values), AnswerEngine(view, picture, run=run))
    return {"values": computed, "generation": state.generation}
