"""Trainings as Ray tasks on a cluster (`cnnviz compare --ray ADDRESS`, issue 24).

Ray (https://docs.ray.io) is an optional extra: `pip install "cnnviz[cluster]"` on every machine of the
cluster. Each RunTask becomes one Ray task that asks for CPUS_PER_RUN CPU and RUN_MEMORY bytes of
memory, so Ray starts as many at once as the cluster has room for; the digits go into Ray's object store
once (the other machines need no MNIST of their own), and each task sends its RunOutcome back (the model,
when asked for, as `.keras` bytes: the machines need not share a folder). Outcomes reach `on_outcome` in
this process as the tasks finish; a stop cancels the tasks still running (Ray ends their processes), and
this process leaves the cluster as it found it.
"""

from __future__ import annotations

import logging
import socket

from cnnviz.core.seed_runs import RunTask, failed_outcome

INSTALL_HINT = 'pip install "cnnviz[cluster]"'
CPUS_PER_RUN = 1                 # one TensorFlow thread per training: many trainings at once beat wide ones
RUN_MEMORY = 2 * 1024**3         # bytes Ray reserves per task: no-pooling, the largest, peaked at 1.1 GB
POLL_S = 0.2                     # how often the wait looks at the stop flag
CONNECT_TIMEOUT_S = 10


class RayUnavailable(RuntimeError):
    """Ray is not installed, or no cluster answers at the address; the message says what to do."""


def check_address(address: str) -> str:
    """`auto`, `ray://HOST:PORT` (Ray Client) or `HOST:PORT` (the head's address, on a cluster machine);
    ValueError otherwise."""
    text = address.strip()
    host_port = text.removeprefix("ray://")
    host, _, port = host_port.rpartition(":")
    if text == "auto" or (host and port.isdigit() and 0 < int(port) < 65536 and "/" not in host_port):
        return text
    raise ValueError(f"--ray takes auto, ray://HOST:PORT or HOST:PORT, not {address!r}")


def import_ray():
    """The `ray` module, or RayUnavailable saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


def run_on_ray(tasks: list[RunTask], address: str, data, on_outcome, control) -> None:
    """Train `tasks` on the Ray cluster at `address` with the digits `data` (see the module docstring)."""
    ray = import_ray()
    try:
        _check_reachable(address)
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR, configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(f"no Ray cluster at {address}: {_gist(exc)}") from None
    try:
        data_ref = ray.put(data)
        remote = ray.remote(_train_on_ray).options(num_cpus=CPUS_PER_RUN, memory=RUN_MEMORY, max_retries=0)
        running = {remote.remote(task, data_ref, CPUS_PER_RUN): task for task in tasks}
        while running and not control.stop_requested:
            ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
            for ref in ready:
                task = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    outcome = failed_outcome(task, _gist(exc))
                on_outcome(outcome)
        for ref in running:
            ray.cancel(ref, force=True)
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """ConnectionError unless the cluster's head answers at `address` within CONNECT_TIMEOUT_S: `ray.init`
    would retry an address where nothing listens for ever, printing a warning every few seconds. (Ray
    Client's `ray://` gives up by itself, in 30 s.)"""
    if address.startswith("ray://"):
        return
    try:  # Ray's own reading of "auto" (RAY_ADDRESS, the last `ray start`, a running head); not public API
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError:
        canonicalize_bootstrap_address = None
    if canonicalize_bootstrap_address is not None:
        address = canonicalize_bootstrap_address(address) or address
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {address} ({exc.strerror or exc})") from None


def _train_on_ray(task: RunTask, data, threads: int):
    """The Ray task: one training in a Ray worker process."""
    from cnnviz.core.run_pool import prepare_worker_process
    from cnnviz.core.seed_runs import train_run

    prepare_worker_process(threads)
    return train_run(task, data)


def _gist(exc: BaseException) -> str:
    """The last non-empty line of an error's text (a Ray task's error ends with its cause)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__
