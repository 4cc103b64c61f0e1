"""A real, private Ray head on this machine for the tests of `compare --ray` (issue 24).

`ray start --head --block` runs in its own session with every Ray file under a fresh temporary folder
(TMPDIR: Ray keeps its sessions and the `ray_current_cluster` file under $TMPDIR/ray, so `--ray auto`
finds this head and nothing lands in /tmp/ray), on the loopback address
(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 makes Ray use 127.0.0.1 as the node address), and on free ports
(no clash with another Ray on the machine). Leaving: SIGTERM to `ray start --block`, which stops every
process it started; if it does not go within STOP_WAIT_S, SIGKILL to its process group (this head's
alone: it was started in a new session); then the folder goes. The test checks no process is left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

START_WAIT_S = 180   # a loaded machine starts Ray's half-dozen processes slowly
STOP_WAIT_S = 60


def ray_env(temp_dir: str) -> dict:
    """The environment of the head and of the commands that talk to it."""
    return dict(os.environ, TMPDIR=temp_dir, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
                RAY_USAGE_STATS_ENABLED="0", TF_CPP_MIN_LOG_LEVEL="2")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes_under(folder: str) -> list[int]:
    """Pids of the processes whose command line names `folder` (Ray's own processes all do)."""
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error, TypeError):
            if any(folder in part for part in process.info["cmdline"] or ()):
                found.append(process.pid)
    return found


@dataclass(frozen=True)
class RayHead:
    env: dict          # for commands that use this head: `--ray auto` finds it
    address: str       # its GCS address, HOST:PORT
    temp_dir: str      # every file of it is under here (gone once it has stopped)


@contextlib.contextmanager
def local_ray_head(num_cpus: int = 2):
    """Start a private Ray head; yields a RayHead; stops it and removes its files."""
    # A short path: Ray's Unix sockets live under it and their names must fit in 107 bytes.
    temp_dir = tempfile.mkdtemp(prefix="cnnviz-ray-", dir="/tmp" if os.path.isdir("/tmp") else None)
    env = ray_env(temp_dir)
    ray = str(Path(sys.executable).with_name("ray"))
    log = open(os.path.join(temp_dir, "head.log"), "wb")
    head = subprocess.Popen(
        [ray, "start", "--head", "--block", f"--num-cpus={num_cpus}", f"--port={free_port()}",
         f"--ray-client-server-port={free_port()}", f"--dashboard-port={free_port()}",
         f"--dashboard-agent-listen-port={free_port()}", "--include-dashboard=false", "--disable-usage-stats",
         "--object-store-memory=200000000"],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    address_file = Path(temp_dir, "ray", "ray_current_cluster")
    try:
        deadline = time.monotonic() + START_WAIT_S
        while not (address_file.is_file() and address_file.read_text().strip()):
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Ray head did not start:\n{Path(temp_dir, 'head.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield RayHead(env, address_file.read_text().strip(), temp_dir)
    finally:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(head.pid, signal.SIGKILL)
            head.wait(STOP_WAIT_S)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
