"""The inspector: draw a digit and watch every layer respond. `inspector_widget.py` (InspectorWidget) composes
`views.py` (the widgets), `input_sources.py` (canvas tools, image files, test set; with `model_inputs.py`,
`image_adjust.py`, `test_digits.py`), `forward_pass.py` (its compute call: "probe"), `layer_panel.py`,
`hover_readout.py`, `view_actions.py`, `export_menu.py`; `named_parts.py` names its targets and operations.
"""
