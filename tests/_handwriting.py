"""The made-up "bubble" handwriting of the own-digits tests (it lives in `cnnviz.testing.handwriting_style`, where the
Your digits autotest uses it too)."""

from cnnviz.testing.handwriting_style import bubble, write_bubble_folder  # noqa: F401 (re-exported)
