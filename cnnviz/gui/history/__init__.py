"""The model's test set and training history (issue 12): views `test_set_panel.py` (with `confusion_view.py`,
`digit_gallery.py`; compute calls "confusion", "checkpoint_confusion", "test_images") and `epoch_scrubber.py`
(checkpoints: "checkpoints", "scrub", "prefetch_checkpoints"); the installer `installer.py`.
"""
