"""Running one bad-input sweep case and judging it (used by scripts/bad_input_sweep.py).

`run_case` runs one `Case` in its own process: its own marker for code execution and its own TMPDIR,
optionally as the user that is not root or under a file size limit (a full disk); it fingerprints
every guarded path before and after (`guarded_paths`: named paths, the files their parents are, the
targets of their links, the case's guards and the sweep-wide guards: shipped models, data caches),
polls the peak memory, and keeps stdout to check escapes and the case's own `check`. `report`
prints the totals; its exit status is 0 only when no case failed (`Outcome.failed`).
"""

from __future__ import annotations

import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hostile_files as hostile
from bad_input_case import MEMORY_TARGET_MB, TRACEBACK, Case, Outcome  # noqa: F401 (re-exported)

POLL_S = 0.02
RAW_ESCAPES = re.compile("[\x1b\x9b\x07]")
TEMPORARY = re.compile(r"\..+\.(partial|old)-\d+-\w{8}(\.\w+)?|tmp[a-z0-9_]{8}|__autograph_generated_file.*|"
                       r"matplotlib-.*|cnnviz-\d+-\w{8}")


def fingerprint(path: Path):
    """What a path holds now: type, size and content hash of every file below it (links not followed)."""
    path = Path(path)
    if not os.path.lexists(path):
        return None
    if path.is_symlink():
        return ("link", os.readlink(path))
    if path.is_dir():
        return ("dir", tuple((entry.name, fingerprint(Path(entry.path))) for entry in sorted(os.scandir(path),
                                                                                           key=lambda e: e.name)))
    if not path.is_file():
        return ("special", os.lstat(path).st_mode, os.lstat(path).st_rdev)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except PermissionError:
        return ("unreadable file", path.stat().st_size, path.stat().st_mtime_ns)
    return ("file", path.stat().st_size, digest.hexdigest())


def guarded_paths(case: Case, workspace: Path, always: list[Path]) -> list[Path]:
    """The paths that must be the same after the case: existing paths the case names (in the workspace or
    devices), the first existing parent of each when it is not a folder, every link's target, the case's
    own guards and `always` (the shipped models, the data caches)."""
    paths = [Path(p) for p in case.guards] + list(always)
    for word in case.argv:
        path = Path(word)
        if not path.is_absolute():
            continue
        if str(path).startswith("/dev/"):
            paths.append(path)
            continue
        if workspace not in path.parents:
            continue
        try:
            if os.path.lexists(path) and not path.is_fifo():
                paths.append(path)
            parent = next((p for p in path.parents if os.path.lexists(p)), None)
            if parent is not None and not parent.is_dir():
                paths.append(parent)
            if path.is_symlink():
                paths.append(Path(os.path.realpath(path)))
        except OSError:   # a name too long to look at: nothing there to guard
            continue
    return [p for p in dict.fromkeys(paths) if not str(p).startswith("/dev/") or os.path.lexists(p)]


def peak_memory_mb(pid: int) -> float | None:
    """VmHWM (the peak resident memory so far) of a live process, in MB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def sweep_user() -> tuple[int, int] | None:
    """(uid, gid) of the user that is not root, made with useradd when the sweep runs as root; None if none."""
    import pwd

    from bad_input_case import SWEEP_USER

    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SWEEP_USER)
    except KeyError:
        done = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SWEEP_USER],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return None
        entry = pwd.getpwnam(SWEEP_USER)
    return entry.pw_uid, entry.pw_gid


def command_line(case: Case, nice: int, user: tuple[int, int] | None) -> list[str]:
    from bad_input_case import USER_BOOT

    prefix = ["nice", "-n", str(nice)] if nice else []
    if case.user:
        if user is None:
            raise RuntimeError("a case that runs as a user who is not root needs the sweep to run as root")
        site_packages = next(p for p in sys.path if p.endswith("site-packages") and sys.prefix in p)
        return [*prefix, "setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups", "/usr/bin/python3",
                "-S", "-c", USER_BOOT, site_packages, *case.argv]
    return [*prefix, sys.executable, "-m", "cnnviz", *case.argv]


def run_case(case: Case, number: int, workspace: Path, env: dict, timeout: float, nice: int,
             always: list[Path], user: tuple[int, int] | None) -> Outcome:
    guards = guarded_paths(case, workspace, always)
    before = {path: fingerprint(path) for path in guards}
    marker = workspace / "markers" / f"case-{number:03d}"
    scratch = workspace / "tmp" / f"case-{number:03d}"
    scratch.mkdir(parents=True, exist_ok=True)
    if case.user:
        os.chmod(scratch, 0o777)
    for path in [marker, *case.forbidden]:
        if os.path.lexists(path):
            os.unlink(path)
    case_env = {**env, hostile.MARKER_VARIABLE: str(marker), "TMPDIR": str(scratch)}
    if case.user:
        case_env["HOME"] = str(workspace / "env" / "user_home")
    for key, value in case.env.items():
        if value is None:
            case_env.pop(key, None)
        else:
            case_env[key] = value
    limits = case.limits

    def apply_limits():
        if "fsize" in limits:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits["fsize"], limits["fsize"]))

    started = time.monotonic()
    peak = 0.0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command_line(case, nice, user), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   cwd=workspace, env=case_env, preexec_fn=apply_limits if limits else None)
        exit_code = None
        while True:
            peak = max(peak, peak_memory_mb(process.pid) or 0.0)
            try:
                exit_code = process.wait(POLL_S)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() - started > timeout:
                    process.kill()
                    process.wait()
                    break
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "backslashreplace")
        stderr = err.read().decode("utf-8", "backslashreplace")
    lines = [line for line in stderr.splitlines() if line.strip()]
    changed = [str(path) for path in guards if fingerprint(path) != before[path]]
    appeared = [str(path) for path in [marker, *case.forbidden] if os.path.lexists(path)]
    left = [str(p) for p in scratch.rglob("*")]
    shutil.rmtree(scratch, ignore_errors=True)
    correct = None
    if exit_code == 0 and case.check is not None:
        try:
            correct = bool(case.check(stdout))
        except Exception:  # noqa: BLE001 (a check that cannot even read the output: wrong)
            correct = False
    return Outcome(case, exit_code, lines[-1] if lines else "", peak, seconds, changed, appeared, TRACEBACK in stderr,
                   left, bool(RAW_ESCAPES.search(stdout + stderr)), correct)


def leftover_temporaries(workspace: Path, skip: tuple[str, ...] = ("tmp", "markers")) -> list[str]:
    """Temporary files or folders commands left anywhere in the workspace (hidden partial files, Keras
    extraction folders, AutoGraph sources, matplotlib folders, private temporary folders)."""
    found = []
    for root, dirs, files in os.walk(workspace):
        if Path(root) == workspace:
            dirs[:] = [d for d in dirs if d not in skip]
        found += [str(Path(root) / name) for name in dirs + files if TEMPORARY.fullmatch(name)]
    return found


def report(outcomes: list[Outcome], baseline: Outcome, leftovers: list[str]) -> int:
    """The closing totals; 0 only if no case failed and nothing was left behind."""
    for outcome in outcomes:
        outcome.above_baseline = outcome.peak_mb - baseline.peak_mb
    clear = [o for o in outcomes if o.verdict == "clear"]
    correct = [o for o in outcomes if o.verdict == "ok"]
    checked = [o for o in correct if o.correct]
    tracebacks = [o for o in outcomes if o.traceback or (o.exit_code is not None and o.exit_code < 0)]
    timeouts = [o for o in outcomes if o.exit_code is None]
    lost = [o for o in outcomes if o.changed]
    ran = [o for o in outcomes if o.appeared]
    left = [o for o in outcomes if o.left]
    unescaped = [o for o in outcomes if o.unescaped]
    unexpected = [o for o in outcomes if o.verdict in ("ACCEPTED", "REFUSED", "WRONG")]
    worst = max(outcomes, key=lambda o: o.peak_mb, default=None)
    above = worst.above_baseline if worst else 0.0
    print(f"\n{len(outcomes)} cases: {len(clear)} clear errors, {len(correct)} accepted and correct ({len(checked)} "
          f"of them with their output checked), {len(tracebacks)} tracebacks or crashes, {len(timeouts)} timeouts, "
          f"{len(lost)} with data lost, {len(ran)} where a file ran code, "
          f"{len(left) + len(leftovers)} with temporary files left behind, {len(unescaped)} with raw terminal "
          f"escapes, {len(unexpected)} unexpected outcomes (a refusal accepted, an input refused, a wrong output).")
    if worst:
        print(f"Peak memory of any case: {worst.peak_mb:.0f} MB ({worst.case.name}), {above:+.0f} MB against the "
              f"{baseline.peak_mb:.0f} MB of a plain `cnnviz summary` (target at most +{MEMORY_TARGET_MB} MB).")
    for outcome in outcomes:
        if outcome.failed:
            print(f"  {outcome.verdict}: {outcome.case.name}: {outcome.last_line[:160]}")
            for path in outcome.changed + outcome.appeared + outcome.left[:5]:
                print(f"      {path}")
    for path in leftovers:
        print(f"  left behind: {path}")
    met = not leftovers and not any(o.failed for o in outcomes)
    print("Targets met." if met else "Targets NOT met.")
    return 0 if met else 1
