"""Issue 25.6: no temporary file or folder is left by any exit path, and names from files are printed escaped.

The independent sweep found `__autograph_generated_file*.py` and `__pycache__/` in $TMPDIR after
nearly every command (the CLI ends with `os._exit`, which skips TensorFlow's clean-up), `matplotlib-*`
folders when HOME is unset, `.NAME.partial-*` folders beside an interrupted export, and raw
terminal escape sequences from layer and class names on the terminal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cnnviz.cli import main
from cnnviz.printable import escape_controls

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.mark.slow
def test_a_command_leaves_nothing_in_tmpdir_even_without_home(tmp_path):
    """Grad-CAM traces a tf.function (AutoGraph writes its source to $TMPDIR) and the export of its
    picture imports matplotlib, which with no HOME makes a `matplotlib-*` folder in $TMPDIR."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {key: value for key, value in ENV.items() if key not in ("HOME", "MPLCONFIGDIR")}
    env.update(TMPDIR=str(scratch), XDG_CACHE_HOME=str(tmp_path / "cache"),
               CNNVIZ_CACHE_DIR=os.environ.get("CNNVIZ_CACHE_DIR") or str(Path.home() / ".cache" / "cnnviz"))
    done = subprocess.run([sys.executable, "-m", "cnnviz", "attribution", "--test-index", "0", "--out",
                           str(tmp_path / "a.png"), "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "a.png").is_file()
    assert sorted(p.name for p in scratch.rglob("*")) == []


@pytest.mark.parametrize("argv", [["train", "--epochs", "0"], ["--help"], ["summary", "--model", "missing.keras"]])
def test_argparse_errors_help_and_refusals_leave_nothing_in_tmpdir(argv, tmp_path):
    """argparse ends the process by SystemExit, past the command's return (the sweep found the
    private temporary folder left behind by 27 such cases)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run([sys.executable, "-m", "cnnviz", *argv], env={**ENV, "TMPDIR": str(scratch)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 2) and "Traceback" not in done.stderr
    assert list(scratch.iterdir()) == []


SCRIPT = textwrap.dedent("""
    import os, signal, sys, tempfile, time
    from pathlib import Path
    from cnnviz import cli
    from cnnviz.core.atomic import atomic_path

    out = Path(sys.argv[1])
    sys.argv = ["cnnviz", "export", "--out", "x"]   # a headless command: SIGTERM ends it cleanly (not the app)
    cli._clean_exits_for_this_process()
    cli._exit_on_interrupt(["export"])
    Path(tempfile.gettempdir(), "__autograph_generated_file_x.py").write_text("# left by a library")
    with atomic_path(out / "out.bin") as tmp:
        tmp.write_bytes(b"half written")
        print("writing", flush=True)
        time.sleep(60)
""")


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_remove_the_temporaries_of_a_write_in_progress(signum, code, tmp_path):
    scratch, out = tmp_path / "tmp", tmp_path / "out"
    scratch.mkdir()
    out.mkdir()
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(out)], env={**ENV, "TMPDIR": str(scratch)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    assert [p.name for p in out.iterdir()][0].startswith(".out.partial-")
    process.send_signal(signum)
    assert process.wait(timeout=60) == code
    assert list(out.iterdir()) == [] and list(scratch.iterdir()) == []
    assert "Traceback" not in process.stderr.read()


def test_a_private_tempdir_of_a_killed_process_is_removed_by_the_next(tmp_path):
    from cnnviz.core import process_tempdir

    dead = tmp_path / "cnnviz-999999999-abcdefgh"
    (dead / "__pycache__").mkdir(parents=True)
    alive = tmp_path / f"cnnviz-{os.getpid()}-abcdefgh"
    alive.mkdir()
    assert process_tempdir.remove_stale(tmp_path) == [dead]
    assert not dead.exists() and alive.exists()


def test_control_characters_are_escaped_and_layout_characters_kept():
    assert escape_controls("a\x1b]0;owned\x07b\x9b2J\x7f\tc\nd\re") == "a\\x1b]0;owned\\x07b\\x9b2J\\x7f\tc\nd\re"


def test_class_and_layer_names_with_escape_sequences_are_printed_escaped(tmp_path, capsys, shipped_model_path, mnist):
    from PIL import Image

    shutil.copy(shipped_model_path, tmp_path / "m.keras")
    names = [f"\x1b[31mred{d}\x1b]0;title\x07" for d in range(10)]
    (tmp_path / "m.classes.json").write_text(__import__("json").dumps(names))
    Image.fromarray(255 - mnist.x_test[0]).save(tmp_path / "seven.png")
    assert main(["predict", str(tmp_path / "seven.png"), "--model", str(tmp_path / "m.keras")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[31mred7\\x1b]0;title\\x07" in out
    assert main(["evaluate", "--confusion", "--model", str(tmp_path / "m.keras"), "--dataset", "mnist"]) == 0
    assert "\x1b" not in capsys.readouterr().out
