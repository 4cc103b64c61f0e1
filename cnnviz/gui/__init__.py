"""The desktop app's GUI process (Qt, pyqtgraph, NumPy; never TensorFlow): `app.py` starts it. One folder
per capability, installed through the seam (`seam/`), around shared parts; docs/ARCHITECTURE.md maps it.
"""
