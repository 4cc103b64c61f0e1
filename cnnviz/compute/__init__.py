"""The compute process: every TensorFlow computation of the desktop app runs here, never in the GUI.

The GUI process (Qt, pyqtgraph, NumPy) starts `server.main` with multiprocessing's "spawn" method
and talks to it over one `multiprocessing.Connection` with the small typed messages of `protocol`.
The compute process owns the Keras models (`state.ComputeState`) and answers requests with plain
data: numpy arrays, `LayerSpec` lists, `ModelInfo`, the core's dataclasses.

Adding a computation: write a plain core function, then a handler module in `handlers/` with
`@handler("name")` functions and add its name to `handlers.HANDLER_MODULES` (see docs/ARCHITECTURE.md).
Nothing in this package imports Qt; TensorFlow is imported only inside handler functions.
"""
