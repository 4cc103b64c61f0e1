"""The architecture lab (issue 13): why alternate convolution and pooling? The view is `dock.py` (LabDock:
`variants.py`, `curves.py`, `table.py`, `help.py`, `side_by_side.py` — "lab_probe", "lab_load"), the
installer `installer.py`, the compute call `run.py` ("lab_train"); `data.py` reads the results' folders.
"""
