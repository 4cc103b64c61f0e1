"""The Qt-free core of cnnviz: data, model, training, preprocessing, activations, export.

Nothing in this package imports Qt. Modules that need Keras import it inside their
functions so that importing the package stays cheap (the GUI paints before TensorFlow loads).
"""
