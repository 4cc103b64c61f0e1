"""Issue 25.1: `cnnviz.core.quiet` keeps TensorFlow's start-up lines off stderr and nothing else.

A stand-in `tensorflow` package (on PYTHONPATH, ahead of the real one) writes, from the import as the
real library does, absl's start-up lines straight to file descriptor 2 mixed with lines nobody may
hide; the real library is checked in test_quiet_output.py (oneDNN forced on and off).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

NOTE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
ONEDNN = ("I0000 00:00:1796664080.634462   10087 port.cc:153] oneDNN custom operations are on. You may see "
          "slightly different numerical results due to floating-point round-off errors.")
GUARD = "I0000 00:00:1796664115.464349   11605 cpu_feature_guard.cc:227] This TensorFlow binary is optimized."
GUARD_MORE = "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow."
WARNING = "W0000 00:00:1796664115.464349   11605 some_op.cc:12] a warning"
ERROR = "E0000 00:00:1796664115.464349   11605 cuda_dnn.cc:8] an error the user must see"
HANG_S = 60


def _fake_tensorflow(folder, body: str) -> dict:
    """An environment whose `import tensorflow` runs `body` (with `noise(line)` writing to descriptor 2)."""
    package = folder / "tensorflow"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent("""
        import os, sys, time
        def noise(line):
            os.write(2, (line + "\\n").encode())
    """) + textwrap.dedent(body))
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")])}


def _script(quiet: bool) -> str:
    return textwrap.dedent(f"""
        import sys
        from cnnviz.core.quiet import quiet_process
        if {quiet}:
            quiet_process()
        print("before", file=sys.stderr, flush=True)
        import tensorflow
        print("after", file=sys.stderr, flush=True)
        print("stdout", tensorflow.__name__, tensorflow.__spec__.loader.__class__.__name__)
    """)


IMPORT_BODY = f"""
    noise({NOTE!r}); noise({ONEDNN!r})
    print("a Python warning from the import", file=sys.stderr, flush=True)
    noise({GUARD!r}); noise({GUARD_MORE!r}); noise({WARNING!r}); noise({ERROR!r})
    os.write(2, b"an unknown line"); os.write(2, b" in two writes\\n")
    noise({NOTE!r}); noise({ONEDNN!r})
"""


@pytest.mark.parametrize("level, hidden", [
    ("2", [NOTE, ONEDNN, GUARD, GUARD_MORE, WARNING]),
    ("1", [NOTE, ONEDNN, GUARD, GUARD_MORE]),
    ("3", [NOTE, ONEDNN, GUARD, GUARD_MORE, WARNING, ERROR]),
    ("0", []),
])
def test_only_absl_lines_below_the_log_level_are_held_back_in_order(tmp_path, level, hidden):
    env = {**_fake_tensorflow(tmp_path, IMPORT_BODY), "TF_CPP_MIN_LOG_LEVEL": level}
    done = subprocess.run([sys.executable, "-c", _script(True)], env=env, capture_output=True, text=True,
                          timeout=HANG_S)
    assert done.returncode == 0, done.stderr
    everything = ["before", NOTE, ONEDNN, "a Python warning from the import", GUARD, GUARD_MORE, WARNING, ERROR,
                  "an unknown line in two writes", NOTE, ONEDNN, "after"]
    assert done.stderr.splitlines() == [line for line in everything if line not in hidden]
    # The module is the real loader's (importlib.resources and others read it), not the filter's.
    assert done.stdout == "stdout tensorflow SourceFileLoader\n"


def test_without_quiet_process_every_line_shows(tmp_path):
    """The check above can fail: the same import, not quietened, shows the start-up lines."""
    env = {**_fake_tensorflow(tmp_path, IMPORT_BODY), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", _script(False)], env=env, capture_output=True, text=True,
                          timeout=HANG_S)
    assert done.returncode == 0 and NOTE in done.stderr.splitlines() and ONEDNN in done.stderr.splitlines()


def test_a_process_that_dies_inside_the_import_still_shows_what_it_said(tmp_path):
    """A library that aborts while it loads (an unsupported CPU) says why first: the user sees that line."""
    env = {**_fake_tensorflow(tmp_path, f"""
        noise({NOTE!r}); noise({ONEDNN!r})
        noise("F0000 00:00:1.5  1 cpu_check.cc:1] The TensorFlow library was compiled to use AVX instructions")
        os.abort()
    """), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", _script(True)], env=env, capture_output=True, text=True,
                          timeout=HANG_S)
    assert done.returncode == -signal.SIGABRT
    assert done.stderr.splitlines() == ["before", "F0000 00:00:1.5  1 cpu_check.cc:1] The TensorFlow library "
                                                  "was compiled to use AVX instructions"]


def test_stderr_is_the_users_again_after_the_import(tmp_path):
    """Descriptor 2 is redirected only while TensorFlow imports: afterwards it is the same file as before."""
    env = _fake_tensorflow(tmp_path, f"noise({ONEDNN!r})")
    script = textwrap.dedent("""
        import os
        from cnnviz.core.quiet import quiet_process
        quiet_process()
        before = os.fstat(2)
        import tensorflow
        after = os.fstat(2)
        print((before.st_dev, before.st_ino) == (after.st_dev, after.st_ino))
    """)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=HANG_S)
    assert done.stdout == "True\n" and done.stderr == ""


def test_ctrl_c_inside_the_import_is_one_line_after_what_was_said(tmp_path):
    """`cnnviz summary` interrupted while TensorFlow imports: the unknown line, then cnnviz's one line."""
    env = {**_fake_tensorflow(tmp_path, f"""
        noise({NOTE!r}); noise({ONEDNN!r}); noise("an unknown line")
        print("importing", flush=True)
        time.sleep({HANG_S})
    """), "TF_CPP_MIN_LOG_LEVEL": "2"}
    child = subprocess.Popen([sys.executable, "-m", "cnnviz", "summary"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "importing\n"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=HANG_S)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130
    assert err == "an unknown line\n\ncnnviz summary: interrupted\n"


def test_quiet_process_sets_only_a_default_log_level(monkeypatch):
    from cnnviz.core import quiet

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    quiet.quiet_process()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    quiet.quiet_process()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
