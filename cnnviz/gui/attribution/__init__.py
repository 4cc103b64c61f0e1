"""Where the network looks and what each filter wants (issue 11). Views and their compute calls:
`gradcam_overlay.py` ("gradcam"), `where_it_looks.py` (the panel; "occlusion"), `patterns_mode.py`
("filter_patterns"), `top_digits.py` / `top_digits_view.py` ("top_digits"), `ablation.py` / `ablation_panel.py`
("set_ablation"); the installer `installer.py` with `explain_menu.py` and `attribution_settings.py`.
"""
