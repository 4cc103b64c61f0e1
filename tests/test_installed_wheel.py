"""cnnviz installed from its wheel, as a user installs it (issue 23): `pip wheel` builds
`cnnviz-VERSION-py3-none-any.whl` from the clone's files; it goes into a fresh virtual environment
outside the repository (not editable), and the installed `cnnviz` runs from another working directory
with an empty HOME: `--version`, `summary --json` (the shipped Keras and ONNX models), `predict` on the
shipped picture, `lessons`, `--install-desktop`, and the app under Xvfb until the shipped PyTorch model's
first maps are shown. The wheel holds every package folder under cnnviz/ (setup.py finds them) and every
file under resources/.

Nothing may come from the clone: every process of the installed cnnviz (the app's compute process
included) runs with an audit hook, installed in the test venv by a `.pth` file, that records any
file or folder under the repository it opens or lists; the test asserts there is none. The same hook
records what is read from the installed package's resources, so the tests also see the lessons, the Lab's
files and the shipped models being read from there (through `importlib.resources`).

The pip install uses pip's cache (the real HOME's), so TensorFlow is a local copy after the first run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from typing import NamedTuple

from cnnviz import __version__
from cnnviz.core.lessons.pack import read_pack
from cnnviz.gui import app as app_module
from test_app_xvfb import x_display  # noqa: F401 (the Xvfb fixture)

pytestmark = [pytest.mark.slow, pytest.mark.xvfb]
REPO = Path(__file__).resolve().parent.parent
INSTALL_TIMEOUT_S = 900
COMMAND_TIMEOUT_S = 300

# How the test drives the installed app until its first maps are shown: the autotest, test support in
# `cnnviz.testing` (not the product's packages, but in the wheel: setup.py ships every package under cnnviz/),
# which the app (cnnviz/gui/app.py) imports by name only when the environment variable asks for a mode. The
# mode opens the shipped PyTorch model from the File menu, draws a 7 and shows its maps; the lines it prints.
AUTOTEST_ENV = "CNNVIZ_AUTOTEST"
AUTOTEST_MODULE = "cnnviz.testing.autotest"
AUTOTEST_MODE = "pytorch-model-and-screenshot"
MODEL_READY_LINE = "cnnviz autotest: model ready"
MAPS_SHOWN_LINE = "cnnviz autotest: predicted 7"

GUARD_MODULE = textwrap.dedent('''
    """Test guard: record every file or folder under $CNNVIZ_CLONE_GUARD_ROOT this process opens or lists
    (in $CNNVIZ_CLONE_GUARD_LOG), and under $CNNVIZ_RESOURCES_ROOT (in $CNNVIZ_RESOURCES_LOG)."""
    import os
    import sys

    _WATCHED = [(root, log) for root, log in ((os.environ.get("CNNVIZ_CLONE_GUARD_ROOT"),
                                               os.environ.get("CNNVIZ_CLONE_GUARD_LOG")),
                                              (os.environ.get("CNNVIZ_RESOURCES_ROOT"),
                                               os.environ.get("CNNVIZ_RESOURCES_LOG"))) if root and log]
    _busy = []

    def _hook(event, args):
        if _busy or event not in ("open", "os.listdir", "os.scandir", "os.chdir") or not args:
            return
        path = args[0]
        if not isinstance(path, (str, bytes, os.PathLike)):
            return
        try:
            path = os.path.abspath(os.fsdecode(path))
        except (TypeError, ValueError):
            return
        for root, log_path in _WATCHED:
            if path == root or path.startswith(root + os.sep):
                _busy.append(1)
                try:
                    with open(log_path, "a") as log:
                        log.write(f"{os.getpid()} {event} {path}\\n")
                finally:
                    _busy.pop()

    if _WATCHED:
        sys.addaudithook(_hook)
''')


def clone_files(destination: Path) -> list[str]:
    """Copy the files git knows of (tracked, and new ones not ignored) to `destination`: the wheel is
    built from what a clone holds, not from build leftovers or a developer's .venv. Their names."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    copied = []
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
            copied.append(name)
    return copied


def run(command, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=kwargs.pop("timeout", COMMAND_TIMEOUT_S),
                          **kwargs)
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


class Installed(NamedTuple):
    bin: Path              # the venv's bin folder (its python and cnnviz)
    env: dict              # the environment the installed cnnviz runs with (empty HOME, the guard's settings)
    work: Path             # the working directory it runs in (not the clone)
    clone_log: Path        # what any process read from the clone (must not exist)
    resources: Path        # the installed package's resources folder
    resources_log: Path    # what was read from it
    wheel: Path
    clone_files: list      # the files the wheel was built from (paths relative to the clone)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """cnnviz installed from its wheel in a fresh venv, and how to run it."""
    root = tmp_path_factory.mktemp("installed")
    source, dist, venv = root / "source", root / "dist", root / "venv"
    copied = clone_files(source)
    pip_env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(source)], env=pip_env,
        timeout=INSTALL_TIMEOUT_S)
    wheels = list(dist.iterdir())
    assert [w.name for w in wheels] == [f"cnnviz-{__version__}-py3-none-any.whl"]
    run([sys.executable, "-m", "venv", str(venv)], env=pip_env)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar",
         "off", str(wheels[0])], env=pip_env, timeout=INSTALL_TIMEOUT_S, cwd=root)
    site = Path(run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                    env=pip_env).stdout.strip())
    (site / "_cnnviz_clone_guard.py").write_text(GUARD_MODULE)
    (site / "_cnnviz_clone_guard.pth").write_text("import _cnnviz_clone_guard\n")
    home, work = root / "home", root / "work"
    home.mkdir()
    work.mkdir()
    resources = site / "cnnviz" / "resources"
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "XDG_", "CNNVIZ_", "KERAS_", "VIRTUAL_ENV", "QT_QPA"))}
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               CNNVIZ_CLONE_GUARD_ROOT=str(REPO), CNNVIZ_CLONE_GUARD_LOG=str(root / "clone_reads.log"),
               CNNVIZ_RESOURCES_ROOT=str(resources), CNNVIZ_RESOURCES_LOG=str(root / "resource_reads.log"),
               TF_CPP_MIN_LOG_LEVEL="2")
    return Installed(venv / "bin", env, work, root / "clone_reads.log", resources, root / "resource_reads.log",
                     wheels[0], copied)


def cnnviz(installed: Installed, *args) -> subprocess.CompletedProcess:
    return run([str(installed.bin / "cnnviz"), *args], env=installed.env, cwd=installed.work)


def installed_python(installed: Installed, code: str) -> str:
    """What `code` prints, run by the venv's python from the working directory."""
    return run([str(installed.bin / "python"), "-c", code], env=installed.env, cwd=installed.work).stdout


def assert_nothing_read_from_the_clone(installed: Installed) -> None:
    log = installed.clone_log
    assert not log.exists(), "the installed cnnviz read from the clone:\n" + log.read_text()[:3000]


def resources_read(installed: Installed) -> set[str]:
    """The files under the installed resources opened since the last call (paths relative to the folder)."""
    log = installed.resources_log
    if not log.exists():
        return set()
    lines = log.read_text().splitlines()
    log.unlink()
    return {str(Path(path).relative_to(installed.resources))
            for _, event, path in (line.split(" ", 2) for line in lines) if event == "open"}


def test_the_wheel_holds_every_package_and_resource_of_the_clone(installed):
    """Every file under cnnviz/ and resources/ that git knows of is in the wheel (resources/ as
    cnnviz/resources/): a new sub-package or resource kind ships without editing a list."""
    import zipfile

    with zipfile.ZipFile(installed.wheel) as wheel:
        shipped = set(wheel.namelist())
    wanted = {name for name in installed.clone_files if name.startswith("cnnviz/")}
    wanted |= {"cnnviz/" + name for name in installed.clone_files if name.startswith("resources/")}
    assert wanted - shipped == set()
    for name in ("cnnviz/testing/autotest.py", "cnnviz/gui/models/installer.py", "cnnviz/core/lessons/pack.py",
                 "cnnviz/resources/lessons/01-feature-maps.md", "cnnviz/resources/pytorch_lenet.onnx",
                 "cnnviz/resources/example_seven.png", "cnnviz/resources/architectures/comparison.csv",
                 "cnnviz/resources/lab_help.md"):
        assert name in shipped, name   # the kinds of files the later phases added


def test_the_package_and_its_resources_come_from_the_venv(installed):
    where = installed_python(installed, "import cnnviz, cnnviz.core.paths as p, importlib.util as u; "
                             f"print(cnnviz.__file__); print(p.resources_dir()); "
                             f"print(u.find_spec({AUTOTEST_MODULE!r}).origin)").split()
    venv = installed.bin.parent
    assert all(Path(path).is_relative_to(venv) for path in where), where
    assert Path(where[1]) == installed.resources
    assert (installed.resources / "mnist_convnet.keras").is_file()
    assert (installed.resources / "pytorch_lenet.onnx").is_file()
    assert cnnviz(installed, "--version").stdout.strip() == f"cnnviz {__version__}"
    assert_nothing_read_from_the_clone(installed)


def test_summary_and_predict_on_shipped_files(installed):
    rows = [json.loads(line) for line in cnnviz(installed, "summary", "--json").stdout.splitlines()]
    assert [row["name"] for row in rows][:2] == ["conv2d_1", "max_pooling2d_1"] and rows[0]["receptive_field"] == 3
    resources = installed.resources
    onnx_summary = cnnviz(installed, "summary", "--json", "--model", str(resources / "pytorch_lenet.onnx"))
    onnx_rows = [json.loads(line) for line in onnx_summary.stdout.splitlines()]
    assert onnx_rows[0]["name"] == "node_conv2d" and onnx_rows[0]["receptive_field"] == 5
    for model in ("mnist_convnet.keras", "pytorch_lenet.onnx"):
        record = json.loads(cnnviz(installed, "predict", "--json", str(resources / "example_seven.png"), "--model",
                                   str(resources / model)).stdout)
        assert record["digit"] == 7, (model, record)
    assert {"mnist_convnet.keras", "pytorch_lenet.onnx", "example_seven.png"} <= resources_read(installed)
    assert_nothing_read_from_the_clone(installed)


def test_the_shipped_lessons_are_read_from_the_installed_package(installed):
    """`cnnviz lessons --list` finds the nine lessons through importlib.resources (the same as the clone's
    resources/lessons/), and `--check` passes them against the installed model and the Lab's results."""
    resources_read(installed)
    listed = json.loads(cnnviz(installed, "lessons", "--list", "--json").stdout)
    clone_pack = read_pack(REPO / "resources" / "lessons")
    assert [lesson["id"] for lesson in listed] == [lesson.id for lesson in clone_pack.lessons]
    assert len(listed) == len(list((REPO / "resources" / "lessons").glob("*.md"))) == 9
    read = resources_read(installed)
    assert {f"lessons/{path.name}" for path in (REPO / "resources" / "lessons").glob("*.md")} <= read, read
    checked = cnnviz(installed, "lessons", "--check", str(installed.resources / "lessons")).stdout.splitlines()
    assert len(checked) == 9 and all(": ok: " in line for line in checked), checked
    assert "architectures/comparison.csv" in resources_read(installed)
    assert_nothing_read_from_the_clone(installed)


def test_desktop_entry_points_at_the_installed_cnnviz(installed):
    cnnviz(installed, "--install-desktop")
    desktop = Path(installed.env["HOME"]) / ".local/share/applications/cnnviz.desktop"
    assert f"Exec={installed.bin / 'cnnviz'}" in desktop.read_text().splitlines()
    cnnviz(installed, "--uninstall-desktop")
    assert not (Path(installed.env["HOME"]) / ".local").exists()


def run_installed_app(installed: Installed, display: str, screenshot: Path) -> str:
    """Start the installed app in `display` with the autotest mode that opens the shipped PyTorch model, draws
    a 7 and waits for its maps; return what it printed once it has quit."""
    app_env = dict(installed.env, DISPLAY=display, **{AUTOTEST_ENV: f"{AUTOTEST_MODE}:{screenshot}"})
    return run([str(installed.bin / "cnnviz")], env=app_env, cwd=installed.work).stdout


def test_the_installed_app_shows_its_first_maps(installed, x_display, tmp_path):  # noqa: F811 (the fixture)
    # The names this test relies on are the app's (a renamed hook would otherwise fail only in here).
    assert (app_module.AUTOTEST_ENV, app_module.AUTOTEST_MODULE) == (AUTOTEST_ENV, AUTOTEST_MODULE)
    resources_read(installed)
    shot = tmp_path / "installed_app.png"
    out = run_installed_app(installed, x_display, shot)
    assert MODEL_READY_LINE in out and "opened pytorch_lenet.onnx: 12 layers" in out and MAPS_SHOWN_LINE in out, out
    assert shot.is_file() and shot.stat().st_size > 10_000
    read = resources_read(installed)
    # The shipped models (the default one first), the Lab's shipped results and its help, the colour maps.
    assert {"mnist_convnet.keras", "pytorch_lenet.onnx", "architectures/comparison.csv", "lab_help.md",
            "colormaps.npz"} <= read, read
    assert_nothing_read_from_the_clone(installed)
