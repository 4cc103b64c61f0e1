"""Issue 15.12: interrupts. Ctrl+C and SIGTERM stop `cnnviz train` within a batch and keep the finished
epochs; a stop cuts a long compiled call and skips the cut epoch's test; Ctrl+C at start-up is one line;
what a SIGKILL leaves behind is removed by the next write; the app closes on Ctrl+C while its model loads.

Timing targets live in the figures these tests print (`-s`); the asserted bounds are generous.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from test_app_xvfb import x_display  # noqa: F401 (its Xvfb fixture, reused)

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
HANG_S = 60.0              # bounds that only catch a hang; the times themselves: scripts/bench_interrupts.py
PREFETCHED_AT_MOST = 64    # batches past the gate before a stop closes it (tf.data prefetch; 2-7 seen)


# --- the core: a stop lands within a batch ---------------------------------------------------------

def test_a_stop_ends_a_long_compiled_call_within_a_batch(mnist):
    """One compiled call covers the whole 938-batch epoch; a stop from another thread, sent once three batches
    are done, ends it after the few batches already past the gate (prefetched), not at the epoch's end."""
    import threading

    import keras

    from cnnviz.core.model import build_seed_model
    from cnnviz.core.training import TrainConfig, Trainer, TrainingControl

    keras.utils.set_random_seed(0)
    model = build_seed_model()
    control = TrainingControl()
    stopped_at = []

    def stop_after_three_batches():
        """Another thread: waits (a hang bound only) for three optimizer steps, then stops."""
        deadline = time.monotonic() + HANG_S
        while int(model.optimizer.iterations.numpy()) < 3 and time.monotonic() < deadline:
            time.sleep(0.002)
        stopped_at.append(int(model.optimizer.iterations.numpy()))
        control.stop()

    class StopOnceTheCallStarts(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                threading.Thread(target=stop_after_three_batches, daemon=True).start()

    trainer = Trainer(model, mnist, TrainConfig(epochs=2, steps_per_execution=10_000), control=control,
                      extra_callbacks=(StopOnceTheCallStarts(),))
    result = trainer.run()
    batches = int(model.optimizer.iterations.numpy())
    print(f"\nbatches trained: {stopped_at[0]} when the stop was sent, {batches} when it took effect, "
          f"of {trainer.num_batches}")
    assert result.status == "stopped" and result.history == []
    assert stopped_at[0] >= 3 and stopped_at[0] <= batches <= stopped_at[0] + PREFETCHED_AT_MOST
    assert batches < trainer.num_batches


def test_a_stop_skips_the_test_pass_and_keeps_the_trained_epoch(mnist):
    """The stop comes as the epoch's test begins: no test batch runs, the epoch counts, its test is unknown."""
    import keras

    from cnnviz.core.data import Dataset
    from cnnviz.core.model import build_seed_model
    from cnnviz.core.training import TrainConfig, Trainer, TrainingControl

    keras.utils.set_random_seed(0)
    model = build_seed_model()
    control = TrainingControl()
    test_batches = []

    class StopAtTheTest(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):
            control.stop()

        def on_test_batch_end(self, batch, logs=None):
            test_batches.append(batch)

    data = Dataset(mnist.x_train[:640], mnist.y_train[:640], mnist.x_test[:5000], mnist.y_test[:5000], "small")
    result = Trainer(model, data, TrainConfig(epochs=3), control=control, keep="last_epoch",
                     extra_callbacks=(StopAtTheTest(),)).run()
    assert test_batches == []  # cnnviz 0.1 ran all five batches of 1,024 test digits
    assert result.status == "stopped" and len(result.history) == 1
    assert np.isnan(result.history[0].test_accuracy) and result.history[0].loss > 0


# --- cnnviz train: Ctrl+C and SIGTERM --------------------------------------------------------------

def _train_until_an_epoch_finished(tmp_path: Path):
    """A `cnnviz train` subprocess that has just printed its first finished epoch; (process, stderr so far)."""
    child = subprocess.Popen([sys.executable, "-m", "cnnviz", "train", "--limit", "1000", "--epochs", "100",
                              "--out", str(tmp_path / "m.keras"), "--history", str(tmp_path / "h.csv")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    seen = []
    for line in child.stderr:
        seen.append(line)
        if line.startswith("Epoch 1:"):
            return child, seen
    child.wait()
    pytest.fail("".join(seen))


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_train_stops_within_a_batch_and_saves_the_finished_epochs(signum, tmp_path):
    import keras

    child, seen = _train_until_an_epoch_finished(tmp_path)
    time.sleep(1.0)   # well inside epoch 2 or its test
    sent = time.monotonic()
    child.send_signal(signum)
    out, rest = child.communicate(timeout=300)
    seconds = time.monotonic() - sent
    err = "".join(seen) + rest
    print(f"\n{signal.Signals(signum).name} -> exit: {seconds:.2f} s")
    assert child.returncode == 1, err
    assert "Traceback" not in err
    saved = re.search(r"Wrote (\S+) \(the weights after epoch (\d+) of 100, stopped, \d+ s, ", out)
    assert saved and saved.group(1) == str(tmp_path / "m.keras"), out
    with open(tmp_path / "h.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == int(saved.group(2)) >= 1   # the history describes exactly the weights saved
    assert keras.saving.load_model(tmp_path / "m.keras").count_params() == 93_322
    assert seconds < HANG_S


def _wait_for(child: subprocess.Popen, moment: str | float) -> str:
    """Wait until `child` reaches `moment`; what it wrote on stderr meanwhile. A number: that many seconds;
    "header": `train` printed its first line (TensorFlow imported, the model and data ready, the training not
    yet traced); any other name: that shared library is mapped into the child (`_pywrap_tf_optimizer` comes
    late in TensorFlow's import: at 1.5 s of a 2.5 s `cnnviz summary` here). Fixed delays broke as the
    start-up got faster."""
    if moment == "header":
        line = child.stderr.readline()
        assert line.startswith("Training on"), line
        return line
    if isinstance(moment, str):
        deadline = time.monotonic() + HANG_S
        while moment not in Path(f"/proc/{child.pid}/maps").read_text():
            assert child.poll() is None and time.monotonic() < deadline, f"{moment} was never loaded"
            time.sleep(0.003)
        return ""
    time.sleep(moment)
    return ""


@pytest.mark.parametrize("command, moment", [("summary", 0.5), ("summary", "_pywrap_tf_optimizer"),
                                             ("train", "header")])
def test_ctrl_c_during_start_up_is_one_line(command, moment, tmp_path):
    """TensorFlow takes seconds to import, `train` then builds and traces: the interrupt lands in there."""
    argv = ["train", "--limit", "1000", "--out", str(tmp_path / "m.keras")] if command == "train" else [command]
    # oneDNN forced on: TensorFlow's import prints its absl lines on any CPU, and they must not show (issue 25)
    child = subprocess.Popen([sys.executable, "-m", "cnnviz", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env={**ENV, "TF_ENABLE_ONEDNN_OPTS": "1"})
    started = time.monotonic()
    before = _wait_for(child, moment)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, rest = child.communicate(timeout=120)
    err = before + rest
    print(f"\n{command}: Ctrl+C {sent - started:.2f} s after start ({moment}) -> exit: {time.monotonic() - sent:.2f} s")
    assert child.returncode == 130, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert lines[-1] == f"cnnviz {command}: interrupted"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert lines[:-1] == ([before.strip()] if before else []), err   # nothing but what it had printed before
    assert not (tmp_path / "m.keras").exists()


# --- what a SIGKILL leaves behind is removed by the next write beside it ---------------------------

def _killed_writer(script: str) -> None:
    """Run `script` (which prints "ready" once its temporary exists, then sleeps) and SIGKILL it."""
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True,
                             env=ENV)
    assert child.stdout.readline().strip() == "ready"
    child.kill()
    child.wait()


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_save_killed_midway_leaves_a_temporary_the_next_save_removes(tmp_path):
    from cnnviz.core.atomic import atomic_path, write_text_atomic

    _killed_writer(f"""
        import time
        from cnnviz.core.atomic import atomic_path
        with atomic_path({str(tmp_path / 'net.keras')!r}) as tmp:
            tmp.write_bytes(b"half a model")
            print("ready", flush=True)
            time.sleep(60)
    """)
    left = _hidden(tmp_path)
    assert len(left) == 1 and left[0].startswith(".net.") and not (tmp_path / "net.keras").exists()
    with atomic_path(tmp_path / "other.csv") as live:   # a writer still at work keeps its temporary
        write_text_atomic(tmp_path / "net_history.csv", "epoch\n")
        assert _hidden(tmp_path) == [live.name]
    assert _hidden(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["net_history.csv", "other.csv"]


def test_an_export_killed_midway_leaves_a_folder_the_next_export_removes(tmp_path):
    from cnnviz.core.export import export_activations

    _killed_writer(f"""
        import time
        from pathlib import Path
        import cnnviz.core.export_folder as export_folder

        def hang(tmp, out):
            print("ready", flush=True)
            time.sleep(60)

        export_folder._move_into_place = hang
        export_folder.write_folder(Path({str(tmp_path / 'maps')!r}), {{"manifest.json": b"{{}}", "a.npy": b"x"}}, False)
    """)
    left = _hidden(tmp_path)
    assert len(left) == 1 and left[0].startswith(".maps.partial-") and (tmp_path / left[0] / "a.npy").is_file()
    outputs = [np.zeros((26, 26, 2), np.float32), np.full(10, 0.1, np.float32)]
    export_activations(tmp_path / "maps", np.zeros((28, 28), np.float32), outputs, ["conv2d_1", "dense_2"])
    assert _hidden(tmp_path) == [] and (tmp_path / "maps" / "manifest.json").is_file()


def test_cnnviz_0_1_temporaries_go_once_they_are_an_hour_old(tmp_path):
    from cnnviz.core.atomic import LEGACY_AGE_S, write_bytes_atomic

    old, new = tmp_path / ".net-ab3de_7h.keras", tmp_path / ".net-zz9yy8xx.keras"   # tempfile.mkstemp's names
    folder = tmp_path / ".maps.partial-0123abcd"
    folder.mkdir()
    for path in (old, new):
        path.write_bytes(b"")
    hour_ago = time.time() - LEGACY_AGE_S - 60
    for path in (old, folder):
        os.utime(path, (hour_ago, hour_ago))
    write_bytes_atomic(tmp_path / "net.keras", b"model")
    assert _hidden(tmp_path) == [".maps.partial-0123abcd", new.name]   # an export's are removed by exports


# --- the app: Ctrl+C in its terminal closes it, even while the model loads ---------------------------

@pytest.mark.slow
@pytest.mark.xvfb
def test_the_app_closes_on_ctrl_c_while_its_model_loads(x_display, tmp_path):
    import psutil   # the test extra has it
    env = {key: value for key, value in ENV.items() if key != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=x_display, XDG_CONFIG_HOME=str(tmp_path / "config"))
    # Its own session, as a terminal's foreground job: Ctrl+C goes to the whole process group.
    app = subprocess.Popen([sys.executable, "-m", "cnnviz"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        gui = psutil.Process(app.pid)
        deadline = time.monotonic() + 120
        while not gui.children() and app.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        children = gui.children(recursive=True)
        assert children, "the compute process never started"
        time.sleep(0.5)   # TensorFlow is still importing over there: the model is loading
        sent = time.monotonic()
        os.killpg(app.pid, signal.SIGINT)
        out, err = app.communicate(timeout=60)
        seconds = time.monotonic() - sent
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()
    print(f"\napp: Ctrl+C while the model loads -> exit: {seconds:.2f} s")
    assert app.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert seconds < HANG_S
    gone, alive = psutil.wait_procs(children, timeout=HANG_S)
    assert not alive, alive
