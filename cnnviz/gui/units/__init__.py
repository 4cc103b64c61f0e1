"""Explaining one unit (issue 10): the view is `unit_panel.py` (how the value under the cursor is made) with
`unit_focus.py` (the focused unit and its receptive-field outlines) and `kernels_mode.py` (the Kernels view);
the installer `installer.py`; the compute call `live_weights.py` ("serving_weights", while training).
"""
