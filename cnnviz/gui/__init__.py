"""The Qt desktop app: views over the Qt-free core in cnnviz.core."""
