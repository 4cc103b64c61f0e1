"""The package list, found rather than listed (pyproject.toml cannot add `resources/` to what it finds):
every package under cnnviz/, so a new sub-folder ships in the wheel without editing a list, and
`resources/`, installed as cnnviz.resources (`package-dir` in pyproject.toml)."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["cnnviz", "cnnviz.*"]), "cnnviz.resources"])
