"""The Move it panel's compute calls: "robustness" for the current model (the serving copy, so it follows
training), and for a Lab variant beside it ("lab_load" reads the variant's file into the Lab's store first).

Each asks about the newest digit only (`LatestRequest`); results come back with the digit they are for,
and the panel shows them only if it is still the digit as drawn.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from cnnviz.compute.protocol import ComputeError
from cnnviz.gui.remote.latest_request import LatestRequest


class RobustnessRequests(QObject):
    """Asks for the model's and the variant's probe of one digit."""

    model_result = Signal(object, object)      # RobustnessResult, the digit it is for
    variant_result = Signal(object, object)    # RobustnessResult, the digit it is for
    model_failed = Signal(str)
    variant_failed = Signal(str)               # why the variant has no curve

    def __init__(self, client, parent: QObject | None = None):
        super().__init__(parent)
        self._client = client
        self._model = LatestRequest("robustness", self._on_model_result, self._on_model_error, client, self)
        self._variant = LatestRequest("robustness", self._on_variant_result, self._on_variant_error, client, self)
        self._image: np.ndarray | None = None
        self._variant_name: str | None = None
        self._variant_path: Path | None = None
        self._loaded: tuple[str, str] | None = None   # (name, path) the compute process has in the Lab's store
        self._loading = False
        self._retried: tuple[str, str] | None = None   # reloaded once after a "missing" reply

    def set_image(self, image: np.ndarray | None) -> None:
        """Probe `image` (the digit as drawn) with the model, and with the variant if one is beside it."""
        self._image = None if image is None else np.asarray(image, np.float32)
        self.refresh()

    def set_variant(self, name: str | None, path: Path | None) -> None:
        """Probe the Lab's variant `name` (its trained model at `path`) beside the model; None: no variant."""
        self._variant_name, self._variant_path = name, (None if path is None else Path(path))
        self._variant.clear()
        self.refresh_variant()

    def variant(self) -> str | None:
        return self._variant_name

    def refresh(self) -> None:
        """Ask again for the digit shown (a new model, back after a crash, new weights)."""
        if self._image is None:
            self._model.clear()
            self._variant.clear()
            return
        self._model.submit({"image": self._image}, tag=self._image)
        self.refresh_variant()

    def refresh_variant(self) -> None:
        if self._image is None or self._variant_name is None or self._variant_path is None:
            self._variant.clear()
            return
        wanted = (self._variant_name, str(self._variant_path))
        if self._loaded != wanted:
            self._load(wanted)
            return
        self._variant.submit({"image": self._image, "variant": wanted[0], "variant_path": wanted[1]}, tag=self._image)

    def forget_loaded(self) -> None:
        """The compute process restarted: its Lab store is empty."""
        self._loaded = None

    def _load(self, wanted: tuple[str, str]) -> None:
        if self._loading:
            return
        self._loading = True
        self._client.request("lab_load", {"variants": {wanted[0]: wanted[1]}},
                             on_reply=lambda reply: self._on_loaded(wanted, reply),
                             on_error=lambda error: self._on_load_failed(wanted, error))

    def _on_loaded(self, wanted: tuple[str, str], reply: dict) -> None:
        self._loading = False
        if wanted[0] in reply.get("failed", {}):
            self.variant_failed.emit(f"{wanted[0]} could not be read: {reply['failed'][wanted[0]]}")
            return
        self._loaded = wanted
        self.refresh_variant()

    def _on_load_failed(self, wanted: tuple[str, str], error: ComputeError) -> None:
        self._loading = False
        if not error.crashed:
            self.variant_failed.emit(f"{wanted[0]} could not be read: {error.message}")

    def _on_model_result(self, reply: dict, image) -> None:
        self.model_result.emit(reply["result"], image)

    def _on_model_error(self, error: ComputeError, _image) -> None:
        if not error.crashed:   # the banner says what happened; the panel asks again when the model is back
            self.model_failed.emit(error.message)

    def _on_variant_result(self, reply: dict, image) -> None:
        if reply.get("missing"):   # the file changed since it was loaded (or the store lost it): read it again, once
            if self._retried == self._loaded:
                self.variant_failed.emit(f"{self._variant_name}'s model could not be kept in the compute process")
                return
            self._retried, self._loaded = self._loaded, None
            self.refresh_variant()
            return
        self._retried = None
        if reply.get("variant") == self._variant_name:
            self.variant_result.emit(reply["result"], image)

    def _on_variant_error(self, error: ComputeError, _image) -> None:
        if not error.crashed:
            self.variant_failed.emit(error.message)
