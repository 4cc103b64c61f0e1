"""The window's chrome and composition root: `main_window.py` (MainWindow: menus, toolbar, docks, settings,
closing; installs the capabilities listed in `capabilities.py` through a CapabilityContext),
`model_session.py` (the current model in the compute process: load, save, restore after a crash),
`model_file_actions.py` (File → Open/Save model), `status_bar.py`, `compute_banner.py`.
"""
