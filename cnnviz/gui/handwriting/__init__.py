"""Your own digits (issue 21): collect a labelled folder, see what the model reads, teach it your handwriting.
The view is `handwriting_panel.py` (HandwritingPanel: `digit_gallery.py`, `teach_results.py`), the installer
`installer.py`, the compute calls `collection.py` ("own_digits_evaluate") and `teach_run.py` ("teach_handwriting").
"""
