"""Exporting feature maps (File → Export…, the inspector's Export menu): the view is `export_dialog.py` (the
options dialog, progress and Cancel), the installer `installer.py`; the compute call is the dialog's "export"
task.
"""
