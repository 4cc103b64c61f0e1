"""The epoch scrubber: a slider over the checkpoints of the model's training, from the random filters on.

`EpochScrubber` is the widget (Play, the slider, what the chosen stop is, "Current weights");
`CheckpointScrubbing` drives it: it asks the compute process for the model's checkpoints
("checkpoints"), and for every move of the slider sends one quick "scrub" request (newest only,
`LatestRequest`) that puts the checkpoint's weights into the serving copy and returns the outputs of
the user's input. The inspector then shows those outputs and weights; any later stroke is computed
with them too. The model that trains and saves is never changed: the slider's end (or "Current
weights", Alt+End) is the current weights again.

Stops: one per checkpoint, plus "the current weights" at the end when they are not the last
checkpoint's (a run stopped mid-epoch, a model without checkpoints).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QSizePolicy, QSlider, QStyle, QToolButton,
                               QWidget)

from cnnviz.compute.protocol import ComputeError
from cnnviz.core.checkpoints import Checkpoint
from cnnviz.gui.remote.latest_request import LatestRequest

PLAY_INTERVAL_MS = 700   # one checkpoint per step while playing


@dataclass
class Stop:
    """One position of the slider: a checkpoint (its index) or the current weights (None)."""

    checkpoint: int | None
    record: Checkpoint | None
    is_current: bool


def stop_label(stop: Stop, from_scratch: bool = True) -> str:
    """"epoch 0 · random filters", "batch 30 of epoch 1", "epoch 3 · test accuracy 99.1 %", …"""
    record = stop.record
    if record is None:
        return "the current weights"
    if record.batch:
        text = f"batch {record.batch} of epoch {record.epoch + 1}"
    elif record.epoch == 0:
        text = "epoch 0 · random filters" if from_scratch else "start of the run · the weights it went on from"
    else:
        text = f"epoch {record.epoch}"
    if record.test_accuracy is not None:
        text += f" · test accuracy {record.test_accuracy:.1%}".replace("%", " %")
    if stop.is_current:
        text += " · the current weights"
    return text


class EpochScrubber(QWidget):
    """Play | slider | label | Current weights. `stop_chosen(stop index)` as the slider moves."""

    stop_chosen = Signal(int)
    play_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        style = QApplication.style()
        self._play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self.play_button = QToolButton()
        self.play_button.setIcon(self._play_icon)
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the training from epoch 0 to the end (F7)")
        self.play_button.toggled.connect(self._on_play_toggled)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setTickInterval(1)
        self.slider.setPageStep(1)
        self.slider.setMinimumWidth(160)
        self.slider.setToolTip("Go through the checkpoints of the training (Alt+← and Alt+→): the maps, the "
                               "prediction and the confusion matrix follow")
        self.slider.valueChanged.connect(self.stop_chosen)
        self.label = QLabel()
        self.label.setMinimumWidth(300)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.current_button = QToolButton()
        self.current_button.setText("Current weights")
        self.current_button.setToolTip("Back to the model's current weights (Alt+End)")
        self.current_button.clicked.connect(self.go_to_end)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        title = QLabel("<b>Training history</b>")
        layout.addWidget(title)
        layout.addWidget(self.play_button)
        layout.addWidget(self.slider, 3)
        layout.addWidget(self.label, 2)
        layout.addWidget(self.current_button)
        self.set_stops(0, "No checkpoints")

    def set_stops(self, count: int, text: str = "", position: int | None = None) -> None:
        """`count` stops (0: none, the slider disabled), at `position` (default: the last), without
        announcing it."""
        blocked = self.slider.blockSignals(True)
        self.slider.setRange(0, max(count - 1, 0))
        self.slider.setValue(count - 1 if position is None else position)
        self.slider.blockSignals(blocked)
        self.set_usable(count > 1)
        if text:
            self.label.setText(text)

    def set_usable(self, usable: bool, why: str = "") -> None:
        for widget in (self.slider, self.play_button, self.current_button):
            widget.setEnabled(usable)
        if not usable:
            self.set_playing(False)
        if why:
            self.label.setText(why)

    def position(self) -> int:
        return self.slider.value()

    def go_to(self, position: int) -> None:
        """Move the slider to `position` (clipped), announcing it."""
        self.slider.setValue(max(self.slider.minimum(), min(position, self.slider.maximum())))

    def step(self, delta: int) -> None:
        if self.slider.isEnabled():
            self.go_to(self.slider.value() + delta)

    def go_to_end(self) -> None:
        self.go_to(self.slider.maximum())

    def set_playing(self, playing: bool) -> None:
        self.play_button.setChecked(playing)

    def is_playing(self) -> bool:
        return self.play_button.isChecked()

    def _on_play_toggled(self, playing: bool) -> None:
        self.play_button.setIcon(self._pause_icon if playing else self._play_icon)
        self.play_button.setToolTip("Pause (F7)" if playing else "Play the training from epoch 0 to the end (F7)")
        self.play_toggled.emit(playing)


class CheckpointScrubbing(QObject):
    """Keeps the scrubber in step with the compute process's checkpoints; see the module docstring.

    `checkpoint_shown(index or None, label)` after the outputs of a stop are shown (None: the current
    weights); `marker(position in epochs or None)` for the training curves.
    """

    checkpoint_shown = Signal(object, str)
    marker = Signal(object)
    checkpoints_changed = Signal(int)   # how many checkpoints the model has
    status_message = Signal(str)

    def __init__(self, scrubber: EpochScrubber, inspector, client=None, parent: QObject | None = None):
        super().__init__(parent)
        self.scrubber = scrubber
        self.inspector = inspector
        self.client = client
        self.records: list[Checkpoint] = []
        self.stops: list[Stop] = []
        self.from_scratch = True
        self.training = False
        self.scrubbed: int | None = None          # the checkpoint the serving copy has (None: current)
        self._generation: int | None = None
        self._list_request: int | None = None
        self._scrub = LatestRequest("scrub", self._on_scrubbed, self._on_scrub_failed, client, self)
        self._play = QTimer(self)
        self._play.setInterval(PLAY_INTERVAL_MS)
        self._play.timeout.connect(self._on_play_tick)
        scrubber.stop_chosen.connect(self._on_stop_chosen)
        scrubber.play_toggled.connect(self._on_play_toggled)

    def set_client(self, client) -> None:
        self.client = client
        self._scrub.set_client(client)

    # --- the model's checkpoints ---------------------------------------------------------------------
    def load(self, generation: int | None) -> None:
        """A model became current (its weights are served): ask for its checkpoints."""
        self._generation = generation
        self.training = False
        self.scrubbed = None
        self._scrub.clear()
        self.records, self.stops = [], []
        self.scrubber.set_stops(0, "Loading the checkpoints…" if generation is not None else "No model")
        self.marker.emit(None)
        if generation is None or self.client is None:
            return
        if self._list_request is not None:
            self.client.forget(self._list_request)
        self._list_request = self.client.request("checkpoints", on_reply=self._on_list, on_error=self._on_list_failed)

    def _on_list(self, reply: dict) -> None:
        self._list_request = None
        if self.training:
            return
        self.from_scratch = reply["from_scratch"]
        self._set_records(reply["checkpoints"], reply["last_is_current"])
        if reply["source"] == "folder":
            self.client.request("prefetch_checkpoints")   # the files' weights, before the first move
        self.checkpoints_changed.emit(len(self.records))

    def _on_list_failed(self, error: ComputeError) -> None:
        self._list_request = None
        if not error.crashed:
            self.scrubber.set_stops(0, f"No checkpoints: {error.message}")

    def _set_records(self, records: list[Checkpoint], last_is_current: bool, position: int | None = None) -> None:
        self.records = list(records)
        self.stops = [Stop(i, r, last_is_current and i == len(records) - 1) for i, r in enumerate(records)]
        if not last_is_current:
            self.stops.append(Stop(None, None, True))
        if len(self.records) == 0:
            self.scrubber.set_stops(1, "No checkpoints: train this model here to keep them.")
            self.scrubber.label.setToolTip("This model has no checkpoints: train it here to keep them (or open a "
                                           "model with a NAME_checkpoints folder beside it).")
            return
        self.scrubber.label.setToolTip("")
        self.scrubber.set_stops(len(self.stops), position=position)
        self._say(self.scrubber.position())

    def update_record(self, index: int, test_accuracy: float) -> None:
        """A test pass measured checkpoint `index` (its label gains the accuracy)."""
        if 0 <= index < len(self.records) and self.records[index].test_accuracy is None:
            self.records[index].test_accuracy = test_accuracy
            self._say(self.scrubber.position())

    def label(self, position: int) -> str:
        if not 0 <= position < len(self.stops):
            return ""
        return stop_label(self.stops[position], self.from_scratch)

    def _say(self, position: int) -> None:
        self.scrubber.label.setText(self.label(position))

    # --- while training --------------------------------------------------------------------------
    def start_training(self) -> None:
        """A run starts: it replaces the serving weights; its checkpoints arrive as events."""
        self.training = True
        self._scrub.clear()
        self._stop_playing()
        if self.scrubbed is not None:
            self.scrubbed = None
            self.inspector.show_weights(None)
        self.records, self.stops = [], []
        self.scrubber.set_stops(0)
        self.scrubber.set_usable(False, "Training: checkpoints are kept as it runs; explore them when it ends.")
        self.marker.emit(None)

    def add_training_checkpoint(self, payload: dict) -> str:
        """A "checkpoint" event of the run: one more stop (the slider stays off until the run ends);
        returns its label."""
        record: Checkpoint = payload["checkpoint"]
        self.from_scratch = payload.get("from_scratch", True)
        confusion = payload.get("confusion")
        if confusion is not None and record.test_accuracy is None:
            record.test_accuracy = confusion.accuracy
        self.records.append(record)
        self.stops = [Stop(i, r, False) for i, r in enumerate(self.records)]
        label = stop_label(self.stops[-1], self.from_scratch)
        self.scrubber.set_stops(len(self.stops))
        self.scrubber.set_usable(False, f"Training · {len(self.records)} checkpoint"
                                        f"{'s' if len(self.records) > 1 else ''} kept · latest: {label}")
        self.checkpoints_changed.emit(len(self.records))
        return label

    # --- scrubbing --------------------------------------------------------------------------------
    def stop_at(self, position: int) -> Stop | None:
        return self.stops[position] if 0 <= position < len(self.stops) else None

    def _on_stop_chosen(self, position: int) -> None:
        """The slider moved: serve that checkpoint (newest move only) and say where it is."""
        stop = self.stop_at(position)
        if stop is None or self.training or self.client is None:
            return
        self._say(position)
        self._scrub.submit({"index": stop.checkpoint, "image": self.inspector.current_input()},
                           (position, self.inspector.current_input()))

    def _on_scrubbed(self, reply: dict, tag) -> None:
        position, image = tag
        if self.training:
            return
        index = reply["index"]
        self.scrubbed = index
        stop = self.stop_at(position)
        at_current = index is None or (stop is not None and stop.is_current)
        self.inspector.show_weights(None if at_current else reply["weights"], redraw=reply["outputs"] is None)
        if reply["outputs"] is not None:
            self.inspector.show_activations(reply["outputs"], image)
        self.marker.emit(None if index is None else self.records[index].position)
        self.checkpoint_shown.emit(index, self.label(position))

    def _on_scrub_failed(self, error: ComputeError, tag) -> None:
        if not error.crashed:
            self.status_message.emit(f"Could not show that checkpoint: {error.message}")

    def is_busy(self) -> bool:
        return self._scrub.busy()

    # --- playing ----------------------------------------------------------------------------------
    def _on_play_toggled(self, playing: bool) -> None:
        if not playing:
            self._play.stop()
            return
        if self.scrubber.position() >= len(self.stops) - 1:
            self.scrubber.go_to(0)   # from epoch 0
        self._play.start()

    def _on_play_tick(self) -> None:
        """One stop further once the last one is shown; stop at the end."""
        if self._scrub.busy():
            return
        if self.scrubber.position() >= len(self.stops) - 1:
            self._stop_playing()
            return
        self.scrubber.step(1)

    def _stop_playing(self) -> None:
        self._play.stop()
        self.scrubber.set_playing(False)
