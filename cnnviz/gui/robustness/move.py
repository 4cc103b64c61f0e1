"""A move of the input (Qt-free): whole-pixel shift, turn and scale, applied the way the Move it panel shows it.

The digit is scaled and turned about its centre first (`core.robustness.scale_image`, `rotate_image`:
bilinear), then shifted by whole pixels (`shift_image`: no resampling, the background filling in), so a
pure shift is exactly the `robustness` probe's shift and the plot's curve passes through what the
inspector shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnviz.core.robustness import ROTATIONS, SCALES, SHIFTS, rotate_image, scale_image, shift_image

MAX_SHIFT = max(SHIFTS)                              # 6 px either way: the probe's range
MAX_DEGREES = max(ROTATIONS)                         # 30°
MIN_FACTOR, MAX_FACTOR = min(SCALES), max(SCALES)    # 0.6 … 1.4


@dataclass(frozen=True)
class Move:
    """`dx` px right, `dy` px down (whole pixels), turned `degrees` counter-clockwise, scaled by `factor`."""

    dx: int = 0
    dy: int = 0
    degrees: float = 0.0
    factor: float = 1.0

    def is_identity(self) -> bool:
        return self.dx == 0 and self.dy == 0 and self.degrees == 0 and self.factor == 1

    def describe(self) -> str:
        """"moved 3 px right and 2 px up, turned 10° anticlockwise, scaled ×0.8"; "as drawn" for none."""
        moves = []
        if self.dx:
            moves.append(f"{abs(self.dx)} px {'right' if self.dx > 0 else 'left'}")
        if self.dy:
            moves.append(f"{abs(self.dy)} px {'down' if self.dy > 0 else 'up'}")
        parts = [f"moved {' and '.join(moves)}"] if moves else []
        if self.degrees:
            parts.append(f"turned {abs(self.degrees):g}° {'anticlockwise' if self.degrees > 0 else 'clockwise'}")
        if self.factor != 1:
            parts.append(f"scaled ×{self.factor:.2f}")
        return ", ".join(parts) if parts else "as drawn"


def within_range(dx: int, dy: int) -> bool:
    """Whether a shift lies in the range the panel (and the probe) covers."""
    return abs(int(dx)) <= MAX_SHIFT and abs(int(dy)) <= MAX_SHIFT


def apply_move(image: np.ndarray, move: Move) -> np.ndarray:
    """`image` (the model input, (H, W) or (H, W, C), background 0) scaled, turned, then shifted; float32."""
    moved = np.asarray(image, np.float32)
    if move.factor != 1:
        moved = scale_image(moved, move.factor)
    if move.degrees:
        moved = rotate_image(moved, move.degrees)
    if move.dx or move.dy:
        moved = shift_image(moved, move.dx, move.dy)
    return np.ascontiguousarray(moved, dtype=np.float32)
