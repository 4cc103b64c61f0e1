"""cnnviz: make a convolutional neural network visible."""

import os

# TensorFlow prints pages of start-up chatter to stderr; keep warnings and errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.3.0"
