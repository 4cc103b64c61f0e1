"""Training the window's model: the view is `training_panel.py` (settings, progress) and `training_curves.py`,
the installer `installer.py`, the compute call `training_run.py` ("train" and its events), driven by
`training_controller.py` (start, pause, stop, the model it makes); `mnist_fetch.py` fetches a missing MNIST.
"""
