"""scripts/setup.sh repairs what a stock Debian machine gets wrong, by itself.

The script's functions are sourced into bash in a temporary folder; apt-get, apt-cache, sudo and
`id` are stand-ins on PATH that record their calls, and a stand-in python3 behaves like Debian's
without python3-venv (no ensurepip; `-m venv` leaves a .venv without pip) until "apt-get install"
has run. Virtual environments are real (made by this interpreter's base Python).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[1] / "scripts" / "setup.sh"
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)
MINOR = sys.version_info[1]


def _stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """A fake Debian without python3-venv, a non-root user with sudo; returns (folder, env, calls file)."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    calls = tmp_path / "calls.log"
    marker = tmp_path / "python3-venv-installed"
    _stub(stubs, "apt-get", f'echo "apt-get $*" >> {calls}\n'
                            f'if [[ "$*" == *install* ]]; then touch {marker}; fi\n')
    _stub(stubs, "apt-cache", f'[[ "$*" == "show python3.{MINOR}-venv" ]]\n')
    _stub(stubs, "sudo", f'echo "sudo $1" >> {calls}\nexec "$@"\n')
    _stub(stubs, "id", 'if [[ "$1" == -u ]]; then echo 1000; else exec /usr/bin/id "$@"; fi\n')
    _stub(stubs, "python3", f"""real={BASE_PYTHON}
if [[ ! -f {marker} ]]; then
    if [[ "$*" == *"import ensurepip"* ]]; then exit 1; fi
    if [[ "$1 $2" == "-m venv" ]]; then
        "$real" -m venv --without-pip "$3"
        echo "The virtual environment was not created successfully because ensurepip is not available." >&2
        exit 1
    fi
fi
exec "$real" "$@"
""")
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", "HOME": str(tmp_path)}
    env.pop("PYTHON", None)
    return work, env, calls


def _bash(snippet: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", f"set -euo pipefail; source {SETUP}; {snippet}"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _pip_works(venv: Path) -> bool:
    return subprocess.run([venv / "bin" / "python", "-m", "pip", "--version"], capture_output=True).returncode == 0


def test_sourcing_runs_nothing(tmp_path):
    done = _bash("type ensure_venv >/dev/null && echo sourced", tmp_path, dict(os.environ))
    assert done.returncode == 0 and done.stdout == "sourced\n" and not list(tmp_path.iterdir())


@pytest.mark.slow
def test_without_python3_venv_a_broken_venv_is_repaired(machine):
    """The issue's trap: `python3 -m venv` failed earlier and left a .venv without pip."""
    work, env, calls = machine
    first = subprocess.run(["python3", "-m", "venv", ".venv"], cwd=work, env=env, capture_output=True, text=True)
    assert first.returncode != 0 and (work / ".venv" / "pyvenv.cfg").is_file()
    assert not _pip_works(work / ".venv")                               # the broken state users were stuck in

    done = _bash("ensure_venv python3", work, env)
    assert done.returncode == 0, done.stderr
    assert "is broken" in done.stdout and "python3-venv is missing" in done.stdout
    assert f"apt-get install python3.{MINOR}-venv" in done.stdout
    assert _pip_works(work / ".venv")
    recorded = calls.read_text().splitlines()
    assert "sudo apt-get" in recorded                                   # not root: through sudo
    assert f"apt-get install -y -qq python3.{MINOR}-venv" in recorded

    again = _bash("ensure_venv python3", work, env)                     # healthy now: nothing to do
    assert again.returncode == 0 and again.stdout == ""
    assert calls.read_text().splitlines() == recorded


@pytest.mark.slow
def test_a_venv_whose_python_is_gone_is_made_again(machine):
    work, env, calls = machine
    subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", ".venv"], cwd=work, check=True)
    (work / ".venv" / "bin" / "python").unlink()
    (work / ".venv" / "bin" / "python").symlink_to("/nonexistent/python3")  # the interpreter was removed
    (work.parent / "python3-venv-installed").touch()                        # venv support is there
    done = _bash("ensure_venv python3", work, env)
    assert done.returncode == 0, done.stderr
    assert _pip_works(work / ".venv") and not calls.exists()


def test_a_folder_that_is_not_a_venv_is_never_deleted(machine):
    work, env, _ = machine
    (work / ".venv").mkdir()
    (work / ".venv" / "notes.txt").write_text("mine")
    done = _bash("ensure_venv python3", work, env)
    assert done.returncode == 1 and "is not a virtual environment" in done.stderr
    assert (work / ".venv" / "notes.txt").read_text() == "mine"


def test_old_python_is_refused(machine):
    work, env, _ = machine
    _stub(work, "python3.8", 'if [[ "$1" == --version ]]; then echo "Python 3.8.10"; exit 0; fi\nexit 1\n')
    done = _bash(f"ensure_venv {work}/python3.8", work, env)
    assert done.returncode == 1 and "needs Python 3.10 or newer" in done.stderr and "3.8.10" in done.stderr
    assert not (work / ".venv").exists()


def _fake_distribution(site: Path, name: str, version: str, package: str | None) -> None:
    """Register distribution `name` in `site` as pip would (dist-info with a RECORD of its files)."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    records = [f"{info.name}/METADATA,,", f"{info.name}/INSTALLER,,", f"{info.name}/RECORD,,"]
    if package:
        (site / package).mkdir(exist_ok=True)
        (site / package / f"{name}.py").write_text("")
        records.append(f"{package}/{name}.py,,")
    (info / "RECORD").write_text("\n".join(records) + "\n")


@pytest.fixture(scope="module")
def healthy_venv(tmp_path_factory):
    """A real virtual environment with pip (made once for the module)."""
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([BASE_PYTHON, "-m", "venv", str(folder / ".venv")], check=True, timeout=300)
    return folder / ".venv"


def _site(venv: Path) -> Path:
    return next((venv / "lib").glob("python3.*/site-packages"))


@pytest.mark.slow
@pytest.mark.skipif(not (sys.platform == "linux" and os.uname().machine == "x86_64"),
                    reason="tensorflow-cpu is what cnnviz installs on Linux x86_64 only")
def test_full_tensorflow_is_switched_to_the_cpu_build(healthy_venv, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(healthy_venv)
    site = _site(healthy_venv)
    _fake_distribution(site, "tensorflow", "2.21.0", "tensorflow")
    _fake_distribution(site, "nvidia-cublas-cu12", "12.9.3.13", "nvidia")
    _fake_distribution(site, "absl-py", "2.5.1", None)                 # an unrelated package stays
    (healthy_venv / ".cnnviz-installed[test]-cpu").touch()
    env = dict(os.environ)

    assert _bash("installed_version tensorflow", work, env).stdout == "2.21.0\n"
    done = _bash("migrate_tensorflow cpu", work, env)
    assert done.returncode == 0, done.stderr
    assert "switching .venv from tensorflow to the CPU-only tensorflow-cpu" in done.stdout
    assert _bash("installed_version tensorflow", work, env).stdout == ""
    assert _bash("installed_version nvidia-cublas-cu12", work, env).stdout == ""
    assert _bash("installed_version absl-py", work, env).stdout == "2.5.1\n"
    assert not (site / "tensorflow").exists()
    assert not list(healthy_venv.glob(".cnnviz-installed*"))            # so the install runs again
    assert "Successfully uninstalled tensorflow-2.21.0" in (healthy_venv / "pip-install.log").read_text()

    # tensorflow-cpu alone is what is wanted: left as it is.
    _fake_distribution(site, "tensorflow-cpu", "2.21.0", "tensorflow")
    (healthy_venv / ".cnnviz-installed-cpu").touch()
    done = _bash("migrate_tensorflow cpu", work, env)
    assert done.returncode == 0 and done.stdout == ""
    assert _bash("installed_version tensorflow-cpu", work, env).stdout == "2.21.0\n"
    assert (healthy_venv / ".cnnviz-installed-cpu").exists()


def test_pip_progress_is_a_line_per_step_and_the_log_keeps_everything(tmp_path):
    """pip_install shows downloads and the install step, keeps pip's whole output, passes its failure on."""
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    _stub(venv, "python", """cat <<'OUT'
Collecting tensorflow-cpu<2.22,>=2.21 (from cnnviz==0.1.0)
  Downloading tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl.metadata (4.4 kB)
  Downloading tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl (274.1 MB)
Collecting keras<3.16,>=3.15 (from cnnviz==0.1.0)
  Using cached keras-3.15.1-py3-none-any.whl (1.4 MB)
Installing collected packages: keras, tensorflow-cpu, cnnviz
Successfully installed cnnviz-0.1.0 keras-3.15.1 tensorflow-cpu-2.21.0
OUT
[[ -z "$FAIL" ]]
""")
    ok = _bash("pip_install -e .", tmp_path, dict(os.environ))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [
        "      downloading tensorflow-cpu<2.22,>=2.21 (4.4 kB)",
        "      downloading tensorflow-cpu<2.22,>=2.21 (274.1 MB)",
        "      installing 3 packages...",
        "      installed",
    ]
    log = (tmp_path / ".venv" / "pip-install.log").read_text()
    assert "Using cached keras-3.15.1" in log and "=== exit status 0" in log
    failed = _bash("pip_install -e .", tmp_path, {**os.environ, "FAIL": "1"})
    assert failed.returncode != 0
    assert (tmp_path / ".venv" / "pip-install.log").read_text().rstrip().endswith("=== exit status 1")
