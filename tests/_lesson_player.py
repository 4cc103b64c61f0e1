"""Playing lessons without Qt, for the tests: a stand-in for the app that performs the vocabulary's app
actions in core terms (it records what the GUI would show) and answers learner tasks."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnnviz.core.lessons.engine import AnswerEngine, ModelView, compute_values
from cnnviz.core.lessons.session import LessonSession

_RUNS: dict = {}   # (digits, epochs, seed) -> (model, history): one real training run per setting per session


@dataclass
class HeadlessApp:
    """What the window would show after each action: the selected layer, the enlarged channel, …"""

    model: object
    data: object                      # the MNIST Dataset (test digits, training digits for runs)
    drawn: np.ndarray | None = None   # the learner's digit as drawn or loaded (28, 28) in [0, 1]
    offset: tuple[int, int] = (0, 0)  # shift-digit's move of it
    selected_layer: str | None = None
    enlarged: tuple[str, int] | None = None
    pinned: tuple[str, object] | None = None
    kernels: str | None = None
    variant: str | None = None
    lab_results: bool = False
    scaling: str = "channel"
    run: list | None = None
    performed: list = field(default_factory=list)

    def __post_init__(self):
        self.view = ModelView.from_keras(self.model)

    def engine(self) -> AnswerEngine:
        return AnswerEngine(self.view, self.drawn, run=self.run)

    def perform(self, action) -> None:
        self.performed.append(action)
        params = action.params
        name = action.name
        if name == "select-layer":
            self.selected_layer = params["layer"]
        elif name == "enlarge-channel":
            self.selected_layer, self.enlarged = params["layer"], (params["layer"], params["channel"])
        elif name == "pin-unit":
            unit = params["unit"]
            self.selected_layer, self.enlarged = params["layer"], (params["layer"], unit.channel)
            self.pinned = (params["layer"], unit)
        elif name == "show-kernels":
            self.kernels = params["layer"]
        elif name == "scale-maps":
            self.scaling = params["mode"]
        elif name == "load-test-digit":
            self.drawn, self.offset = self.data.x_test[params["index"]].astype(np.float32) / 255.0, (0, 0)
        elif name == "shift-digit":
            self.offset = (params["dx"], params["dy"])
        elif name == "open-variant":
            self.variant = params["variant"]
        elif name == "show-lab-results":
            self.lab_results = True
        elif name == "train-from-scratch":
            self.model, self.run = train_small(self.data, params["digits"], params["epochs"], params["seed"])
            self.view = ModelView.from_keras(self.model)
        elif name == "open-shipped-model":
            from cnnviz.core.model import load_model
            from cnnviz.core.paths import default_model_path

            self.model = load_model(default_model_path())
            self.view = ModelView.from_keras(self.model)
        else:
            raise AssertionError(f"{name} is not an app action")

    def learner_event(self, task) -> tuple[str, dict]:
        """What the learner does for a learner task: the event the GUI would report."""
        if task.name == "draw-digit":
            return "drew", {}
        if task.name == "move-digit":
            self.offset = (2, 0)
            return "moved-digit", {}
        return task.event, {"layer": task.params["layer"]}


def train_small(data, digits: int, epochs: int, seed: int):
    """train-from-scratch: a fresh seed network on the first `digits` training digits (cached per setting)."""
    key = (digits, epochs, seed)
    if key not in _RUNS:
        import keras

        from cnnviz.core.model import build_seed_model
        from cnnviz.core.training import TrainConfig, Trainer

        keras.utils.set_random_seed(seed)
        model = build_seed_model()
        result = Trainer(model, data, TrainConfig(epochs=epochs, limit=digits, seed=seed, steps_per_execution=8)).run()
        assert result.status == "finished", result.message
        _RUNS[key] = (model, result.history)
    return _RUNS[key]


@dataclass
class Played:
    """One question as it was played: the step, its computed values, the verdict, the app after the reveal."""

    step: object
    ask: str
    values: dict
    verdict: object
    app_after: dict


def play(lesson, app: HeadlessApp, choose) -> tuple[LessonSession, list[Played]]:
    """Play `lesson` from its first step to its last; `choose(question, values, session)` gives each answer."""
    session = LessonSession(lesson, app.view)
    assert session.fits, session.fit_message
    played = []
    while True:
        for action in session.entry_actions():
            app.perform(action)
        task = session.learner_task
        if task is not None:
            event, details = app.learner_event(task)
            assert session.learner_event(event, **details) and session.learner_done
        if session.question is not None:
            values = compute_values(session.needed_values(), app.engine())
            ask = session.ask_text(values)
            verdict = session.commit(choose(session.question, values, session), values)
            for action in verdict.actions:
                app.perform(action)
            if verdict.status == "pending":
                session.set_model(app.view)
                values = compute_values(session.needed_values(), app.engine())
                verdict = session.complete(values)
                for action in verdict.actions:
                    app.perform(action)
            played.append(Played(session.step, ask, values, verdict, snapshot(app)))
        if not session.next():
            break
    return session, played


def snapshot(app: HeadlessApp) -> dict:
    return {"selected_layer": app.selected_layer, "enlarged": app.enlarged, "pinned": app.pinned,
            "variant": app.variant, "lab_results": app.lab_results, "offset": app.offset, "run": app.run}
