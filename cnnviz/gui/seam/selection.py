"""What the inspector has selected or under the cursor, as plain values that capabilities share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    """One unit: layer index (model order), channel (or the unit of a flat layer), position (None: flat)."""

    layer: int
    channel: int
    y: int | None = None
    x: int | None = None
