"""Reusable views and Qt helpers that every part of the GUI draws with: the drawing canvas, layer grid,
channel, vector and model-input views, colour bar, pipeline overview, prediction bars, banners, the
layer-mode bar (`layer_modes.py`: what a capability adds to the grid), `task_progress.py` and
`qt_helpers.py`. They import no capability, no inspector and no compute client: data in, signals out.
"""
