"""The seam every capability is installed through: `context.py` (CapabilityContext: what `install(context)`
gets instead of the window), `operations.py` (named operations one capability offers another),
`targets.py` (named parts of the window, and the outline that highlights them), `training_status.py`
(whether the model trains) and `selection.py` (the `Unit` the inspector hovers). No capability imports.
"""
