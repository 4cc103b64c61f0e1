"""Any image classifier in the window, Keras or ONNX (issues 14, 23): the view is the model banner
(`installer.py`, which also installs File → Open the shipped Fashion-MNIST model / the shipped PyTorch model,
and opens model files dropped on the window) and what it says (`model_notice.py`); its compute calls are the
model session's ("load_model").
"""
