"""The core stays Qt-free and cheap to import; the GUI paints before TensorFlow loads."""

import pkgutil
import subprocess
import sys

import cnnviz.core


def core_modules():
    return sorted(f"cnnviz.core.{m.name}" for m in pkgutil.iter_modules(cnnviz.core.__path__))


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return {name.split(".")[0] for name in done.stdout.split()}


def test_core_never_imports_qt_nor_tensorflow_at_import_time():
    modules = core_modules()
    assert "cnnviz.core.model" in modules and "cnnviz.core.training" in modules
    loaded = imported_after("; ".join(f"import {m}" for m in modules))
    assert not loaded & {"PySide6", "pyqtgraph", "shiboken6"}
    assert not loaded & {"tensorflow", "keras"}


def test_command_line_parser_is_cheap():
    loaded = imported_after("import cnnviz.cli as c; c.build_parser()")
    assert not loaded & {"tensorflow", "keras", "PySide6"}
