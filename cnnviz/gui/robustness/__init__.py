"""Move it (issue 21): move the digit, watch what stays. The view is `move_panel.py` (MovePanel: `move_controls.py`
with `drag_view.py`, `robustness_plot.py`, `follow_bars.py`; `move.py` moves the digit), the installer
`installer.py`, the compute calls `robustness_requests.py` ("robustness", "lab_load")."""
