"""How fast cnnviz ends on an interrupt (issue 15.12; target ≤ 2 s each).

- `cnnviz train` sent Ctrl+C (SIGINT) or SIGTERM 1 s into its second epoch: seconds from the signal
  to the "Wrote …" line (the stop, within a batch, and the save of the finished epoch) and to the
  process's exit.
- the app (`cnnviz` under X) sent Ctrl+C while its compute process is still loading the model:
  seconds from the signal to the exit of the whole process group.

Repetitions alternate the three cases (SIGINT, SIGTERM, app) so that load changes hit each alike;
medians and the spread are printed. Run it on a quiet machine:

    .venv/bin/python scripts/bench_interrupts.py --repeat 5
    .venv/bin/python scripts/bench_interrupts.py --repeat 1 --no-app     # a quick check

The app needs $DISPLAY or Xvfb (started here on a free display number when $DISPLAY is unset).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}


def train_interrupted(signum: int, folder: Path) -> tuple[float, float]:
    """(seconds to the 'Wrote' line, seconds to exit) after `signum` 1 s into epoch 2."""
    child = subprocess.Popen([sys.executable, "-m", "cnnviz", "train", "--limit", "1000", "--epochs", "100",
                              "--out", str(folder / "m.keras"), "--history", str(folder / "h.csv")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    for line in child.stderr:
        if line.startswith("Epoch 1:"):
            break
    else:
        child.wait()
        raise SystemExit("cnnviz train ended before its first epoch")
    time.sleep(1.0)
    sent = time.monotonic()
    child.send_signal(signum)
    drain = threading.Thread(target=child.stderr.read, daemon=True)   # a full stderr pipe would block it
    drain.start()
    wrote = None
    for line in child.stdout:
        if line.startswith("Wrote ") and wrote is None:
            wrote = time.monotonic() - sent
    child.wait(300)
    done = time.monotonic() - sent
    if child.returncode != 1 or wrote is None:
        raise SystemExit(f"cnnviz train: exit {child.returncode}, no 'Wrote' line after {signum}")
    return wrote, done


def app_interrupted(display: str, folder: Path) -> float:
    """Seconds from Ctrl+C (to the process group) to the app's exit, sent while its model loads."""
    import psutil

    env = {key: value for key, value in ENV.items() if key != "QT_QPA_PLATFORM"}
    env.update(DISPLAY=display, XDG_CONFIG_HOME=str(folder / "config"))
    app = subprocess.Popen([sys.executable, "-m", "cnnviz"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        gui = psutil.Process(app.pid)
        deadline = time.monotonic() + 120
        while not gui.children() and app.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)   # the compute process is importing TensorFlow: the model is loading
        sent = time.monotonic()
        os.killpg(app.pid, signal.SIGINT)
        app.wait(60)
        return time.monotonic() - sent
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()


@contextlib.contextmanager
def x_server():
    """$DISPLAY, or a fresh Xvfb on a free display number."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("no $DISPLAY and no Xvfb: use --no-app")
    number = next(n for n in range(131, 200) if not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen([xvfb, f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def summary(label: str, values: list[float]) -> str:
    return (f"{label:<44} median {statistics.median(values):5.2f} s   min {min(values):5.2f}   "
            f"max {max(values):5.2f}   (n={len(values)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the cases (default 5)")
    parser.add_argument("--no-app", dest="app", action="store_false", help="leave out the app")
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="cnnviz-bench-interrupts-") as scratch, \
            (x_server() if args.app else contextlib.nullcontext()) as display:
        for round_ in range(args.repeat):
            for signum in (signal.SIGINT, signal.SIGTERM):
                folder = Path(scratch) / f"{round_}-{signum}"
                folder.mkdir()
                wrote, done = train_interrupted(signum, folder)
                name = signal.Signals(signum).name
                results.setdefault(f"train, {name} -> finished epochs saved", []).append(wrote)
                results.setdefault(f"train, {name} -> exit", []).append(done)
            if args.app:
                results.setdefault("app, Ctrl+C while the model loads -> exit", []).append(
                    app_interrupted(display, Path(scratch) / f"app-{round_}"))
            print(f"round {round_ + 1}: " + ", ".join(f"{values[-1]:.2f}" for values in results.values()),
                  file=sys.stderr, flush=True)
    for label, values in results.items():
        print(summary(label, values))
    print("target: at most 2 s from the signal to the exit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
