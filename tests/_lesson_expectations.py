"""What each shipped lesson's questions must answer, computed without the lesson engine (Keras sub-models,
Keras-built variants, the lab's CSV read with the csv module): shared by the headless play
(`test_lessons_play.py`) and the play in the app (`test_lessons_app.py`)."""

from __future__ import annotations

import csv

import numpy as np

from cnnviz.core.lessons.functions import format_number

LESSON_IDS = ["feature-maps", "convolution-window", "padding", "strides", "pooling", "translation-invariance",
              "spatial-hierarchy", "alternation", "small-data"]


class Independent:
    """The answers computed without the lesson engine: Keras sub-models, Keras-built variants, the CSV."""

    def __init__(self, model, image, data):
        import keras

        self.model, self.image, self.data = model, image, data
        names = [layer.name for layer in model.layers]
        extractor = keras.Model(model.inputs[0], [model.get_layer(name).output for name in names])
        self.maps = dict(zip(names, (np.asarray(out)[0] for out in extractor(image[None, :, :, None]))))
        self._variants = {}

    def shape(self, layer, variant=None):
        return tuple(int(d) for d in self.variant(variant).get_layer(layer).output.shape[1:])

    def variant(self, name):
        if name is None:
            return self.model
        if name not in self._variants:
            from cnnviz.core.architectures import build_architecture

            self._variants[name] = build_architecture(name)
        return self._variants[name]

    def params(self, variant=None, layer=None):
        model = self.variant(variant)
        return model.get_layer(layer).count_params() if layer else model.count_params()

    def strongest_channel(self, layer):
        return int(np.argmax(self.maps[layer].max(axis=(0, 1))))

    def strongest_unit(self, layer, channel=None):
        maps = self.maps[layer]
        if channel is None:
            return tuple(int(i) for i in np.unravel_index(np.argmax(maps), maps.shape))   # y, x, c
        y, x = np.unravel_index(np.argmax(maps[:, :, channel]), maps.shape[:2])
        return int(y), int(x), channel

    def predict(self, dx=0, dy=0):
        moved = np.zeros_like(self.image)
        moved[max(dy, 0):28 + min(dy, 0), max(dx, 0):28 + min(dx, 0)] = \
            self.image[max(-dy, 0):28 + min(-dy, 0), max(-dx, 0):28 + min(-dx, 0)]
        return int(np.argmax(self.model.predict(moved[None, :, :, None], verbose=0)[0]))

    def stable_shift(self):
        before = self.predict()
        for distance in range(1, 7):
            if self.predict(distance) != before or self.predict(-distance) != before:
                return distance - 1
        return 6

    @staticmethod
    def table(variant, column):
        from cnnviz.core.paths import resources_dir

        with open(resources_dir() / "architectures" / "comparison.csv", newline="") as handle:
            rows = {row["architecture"]: row for row in csv.DictReader(handle)}
        return float(rows[variant][column])

    def pool_window(self):
        """max_pooling2d_1's strongest unit, its 2×2 window in conv2d_1 (read off conv2d_1's maps)."""
        y, x, c = self.strongest_unit("max_pooling2d_1")
        return self.maps["conv2d_1"][2 * y:2 * y + 2, 2 * x:2 * x + 2, c]


def expected_answers(lesson_id, ind: Independent, history=None):
    """(answer, highlight, what the app shows after the reveal) for each question, in order; `history`: the
    EpochRecords of small-data's run (default: run it here)."""
    if lesson_id == "feature-maps":
        return [(ind.shape("conv2d_1")[-1], "layer-grid", {"selected_layer": "conv2d_1"}),
                (ind.strongest_channel("conv2d_1"), "channel",
                 {"enlarged": ("conv2d_1", ind.strongest_channel("conv2d_1"))}),
                (int((ind.maps["conv2d_3"].max(axis=(0, 1)) <= 0).sum()), "layer-grid", {"selected_layer": "conv2d_3"}),
                (int(np.prod(ind.shape("flatten_1"))), "pipeline", {"selected_layer": "flatten_1"})]
    if lesson_id == "convolution-window":
        kernel, bias = ind.model.get_layer("conv2d_1").get_weights()
        y, x, c = ind.strongest_unit("conv2d_1")
        y2, x2, c2 = ind.strongest_unit("conv2d_2")
        channel = ind.strongest_channel("conv2d_1")
        py, px, _ = ind.strongest_unit("conv2d_1", channel)
        return [(int(np.prod(kernel.shape[:3])), "unit-panel", {"pinned": ("conv2d_1", (c, y, x))}),
                (int(np.prod(ind.model.get_layer("conv2d_2").get_weights()[0].shape[:3])), "unit-panel",
                 {"pinned": ("conv2d_2", (c2, y2, x2))}),
                (ind.params(layer="conv2d_2"), "pipeline", {"selected_layer": "conv2d_2"}),
                (round(float(ind.maps["conv2d_1"][0, 0, 0]), 2), "unit-panel", {"pinned": ("conv2d_1", (0, 0, 0))}),
                ((channel, py, px), "receptive-field", {"pinned": ("conv2d_1", (channel, py, px)),
                                                        "enlarged": ("conv2d_1", channel)})]
    if lesson_id == "padding":
        return [(ind.shape("conv2d_1")[0], "pipeline", {"selected_layer": "conv2d_1"}),
                (ind.shape("conv2d_2")[0], "pipeline", {"selected_layer": "conv2d_2"}),
                (ind.shape("conv2d_1", "same-padding")[0], "lab-side-by-side", {"variant": "same-padding"}),
                (ind.shape("conv2d_3", "same-padding")[0], "lab-side-by-side", {"variant": "same-padding"}),
                ("more" if ind.params("same-padding") > ind.params() else "less", "lab-results", {"lab_results": True}),
                (round(ind.table("same-padding", "test_accuracy") * 100, 2), "lab-results", {"lab_results": True})]
    if lesson_id == "strides":
        seed, strided = ind.table("seed", "test_accuracy"), ind.table("strided", "test_accuracy")
        return [(int(np.prod(ind.shape("conv2d_1")[:2])), "layer-grid", {"selected_layer": "conv2d_1"}),
                (ind.shape("conv2d_1", "strided")[0], "lab-side-by-side", {"variant": "strided"}),
                (4, "lab-side-by-side", {"variant": "strided"}),     # 2 × 2: two strides of 2
                ("seed" if seed > strided else "strided", "lab-results", {"lab_results": True})]
    if lesson_id == "pooling":
        window = ind.pool_window()
        y, x, c = ind.strongest_unit("max_pooling2d_1")
        seed, average = ind.table("seed", "test_accuracy"), ind.table("average-pooling", "test_accuracy")
        return [(ind.shape("max_pooling2d_1")[0], "pipeline", {"selected_layer": "max_pooling2d_1"}),
                (ind.params(layer="max_pooling2d_1"), "pipeline", {"selected_layer": "max_pooling2d_1"}),
                (round(float(window.max()), 2), "unit-panel", {"pinned": ("max_pooling2d_1", (c, y, x))}),
                (round(float(window.mean()), 2), "unit-panel", {"pinned": ("max_pooling2d_1", (c, y, x))}),
                ("seed" if seed > average else "average-pooling", "lab-results", {"lab_results": True})]
    if lesson_id == "translation-invariance":
        return [(str(ind.predict(3)), "prediction", {"offset": (3, 0)}),
                (3, "layer-grid", {"selected_layer": "conv2d_1"}),          # 3 px at 1 px per unit
                (4, "layer-grid", {"selected_layer": "max_pooling2d_2"}),   # 1 → 2 → 4
                (ind.stable_shift(), "move-it", {"offset": (0, 0)})]
    if lesson_id == "spatial-hierarchy":
        units = {name: ind.strongest_unit(name) for name in ("conv2d_1", "max_pooling2d_1", "conv2d_2", "conv2d_3")}
        pinned = {name: (name, (c, y, x)) for name, (y, x, c) in units.items()}
        # the notes' receptive fields 3 → 4 → 8 → (10 →) 18, and 3 + 2 + 2 = 7 without pooling
        return [(3, "receptive-field", {"pinned": pinned["conv2d_1"]}),
                (4, "receptive-field", {"pinned": pinned["max_pooling2d_1"]}),
                (8, "receptive-field", {"pinned": pinned["conv2d_2"]}),
                (18, "receptive-field", {"pinned": pinned["conv2d_3"]}),
                (7, "lab-side-by-side", {"variant": "no-pooling"})]
    if lesson_id == "alternation":
        gaps = {name: ind.table(name, "train_test_gap") for name in
                ("seed", "conv-conv-pool-pool", "no-pooling", "average-pooling", "strided", "same-padding")}
        seed, ccpp = ind.table("seed", "test_accuracy"), ind.table("conv-conv-pool-pool", "test_accuracy")
        return [(max(gaps, key=gaps.get), "lab-results", {"lab_results": True}),
                (ind.shape("conv2d_2", "conv-conv-pool-pool")[0], "lab-side-by-side",
                 {"variant": "conv-conv-pool-pool"}),
                ("more" if ind.params("conv-conv-pool-pool") > ind.params() else "less", "lab-results",
                 {"lab_results": True}),
                ("seed" if seed > ccpp else "conv-conv-pool-pool", "lab-results", {"lab_results": True})]
    assert lesson_id == "small-data"
    if history is None:   # the lesson's run, 1,000 digits for 10 epochs (the headless play's own)
        from _lesson_player import train_small

        _, history = train_small(ind.data, 1000, 10, 1)
    gap = (history[-1].accuracy - history[-1].test_accuracy) * 100
    return [(ind.params(), "pipeline", {}), (round(gap, 2), "training-curves", {"run": history})]


def as_given(question, expected, right: bool, played_values):
    """The learner's answer: the expected one (right), or one that is wrong and not a 'wrong VALUE' case."""
    special = {value for value, _, _ in question.wrong_for}
    if question.kind == "number":
        if right:
            return expected
        step = question.tolerance * abs(expected) / 100 if question.tolerance_relative else question.tolerance
        wrong = expected + step + 7
        while format_number(wrong) in special or str(wrong) in special:
            wrong += 1
        return wrong
    if question.kind == "choice":
        options = [option.value for option in question.options]
        return expected if right else next(value for value in options if value != expected)
    if question.kind == "pick-channel":
        if right:
            return expected
        ranking = played_values["answer"]
        return ranking.order[-1]
    channel, y, x = expected
    if right:
        return y + 1, x + 1                              # the middle of the unit's 3×3 window
    return (27 if y < 13 else 0), (27 if x < 13 else 0)  # a corner far from it


def checked_answer(computed, answer, where: str) -> str:
    """Check the answer the lesson computed against the independent `answer`; the words the learner reads."""
    import pytest

    if isinstance(answer, tuple):
        assert (computed.channel, computed.y, computed.x) == answer, where
        return f"channel {answer[0]} at y {answer[1]}, x {answer[2]}"
    if isinstance(answer, str):
        assert str(computed) == answer, where
        return answer
    number = getattr(computed, "best", computed)
    assert round(float(number), 2) == pytest.approx(answer, abs=0.011), where
    return format_number(round(float(number), 2) if isinstance(answer, float) else int(answer))
