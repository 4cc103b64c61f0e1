"""Any Keras image classifier in the window (issue 14): the view is the model banner (`installer.py`, which
also installs File → Open the shipped Fashion-MNIST model) and what it says (`model_notice.py`); its compute
calls are the model session's ("load_model").
"""
