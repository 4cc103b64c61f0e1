"""The Experiments (issue 22): change the network and watch what changes. The panel `experiments_panel.py`
has three tabs: Kernel surgery (`kernel_surgery.py` keeps the edits in step with the compute process:
"edit_kernel", "undo_kernel_edit", "reset_kernel_filter", "reset_kernel_edits", "kernel_edits"; its view
`kernel_surgery_view.py` with `weight_painter.py` and `filter_choice.py`; `edit_checks.py` and
`firing_view.py`: "edited_accuracy", "firing_digits", "save_edited_copy"), Attack (`attack.py`: "attack",
"attack_sweep"; `attack_view.py`, `attack_plots.py`; `model_comparison.py`: "lab_load", "attack_models")
and Sanity check (`sanity_view.py`: "sanity_check"). `task_request.py` runs one background task with
progress and Cancel; `image_tile.py` draws small pictures. The installer is `installer.py`, its named
operations `operations.py`.
"""
