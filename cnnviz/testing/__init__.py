"""Test support, apart from the product: the autotest modes that drive the real app (screenshots for the
tests and the README). The app loads `autotest.py` by name, and only when $CNNVIZ_AUTOTEST (or the
hidden `cnnviz gui --screenshot`) asks for it; nothing in `cnnviz.gui` imports this package.
`user_input.py` and `screenshots.py` are the helpers every mode uses; each `*_mode(s).py` drives one part.
"""
