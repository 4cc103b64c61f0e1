"""`cnnviz compare --jobs 2` against `--jobs 1` for the same runs, side by side (interleaved), issue 24.

What is timed: the wall-clock time of the whole command, from starting `cnnviz compare` to its exit,
for the same (architecture, seed) runs: Python and TensorFlow starting, MNIST loading, with `--jobs 2`
the two worker processes starting (each imports TensorFlow and loads MNIST itself), every training
with its test pass and its accuracy on the training digits, and writing the CSVs. That is what a user
waits for. Each round runs both commands, in alternating order (jobs 1 first in odd rounds, jobs 2
first in even ones) so that a drift of the machine's speed hits both alike; each command writes to a
fresh folder (no run is reused). Printed: every round's times with the load average, then the medians
and their ratio (jobs 1 / jobs 2: above 1 means two jobs are faster).

Why the ratio may be near 1 on 2 cores: `--jobs 1` already uses both cores (TensorFlow splits each
convolution over 2 threads); `--jobs 2` runs two trainings with 1 thread each, the same arithmetic on
the same cores. Two jobs win only the time a single training leaves a core idle (Python between
batches, the input pipeline, the test pass's set-up, tracing) and lose the second process's start
(TensorFlow's import, MNIST) and some cache and memory-bandwidth contention. With more cores than one
training can use well (small batches do not split over 8 threads), two or more jobs win clearly.

    .venv/bin/python scripts/bench_compare_jobs.py [--rounds 3] [--architectures seed,strided]
        [--seeds 1,2] [--epochs 1] [--limit 3000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def time_compare(jobs: int, args: argparse.Namespace, folder: Path) -> float:
    """Seconds for one `cnnviz compare --jobs JOBS` of the benchmark's runs, writing into `folder`."""
    command = [sys.executable, "-m", "cnnviz", "compare", "--architectures", args.architectures, "--seeds", args.seeds,
               "--epochs", str(args.epochs), "--limit", str(args.limit), "--jobs", str(jobs),
               "--runs", str(folder / "runs.csv"), "--out", str(folder / "summary.csv")]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"--jobs {jobs} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both commands (default 3)")
    parser.add_argument("--architectures", default="seed,strided", help="variants (default seed,strided)")
    parser.add_argument("--seeds", default="1,2", help="seeds (default 1,2)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (default 1)")
    parser.add_argument("--limit", type=int, default=3000, help="training digits per run (default 3000)")
    args = parser.parse_args()

    from cnnviz.core.run_pool import available_cores

    runs = len(args.architectures.split(",")) * len(args.seeds.split(","))
    print(f"{runs} runs ({args.architectures} × seeds {args.seeds}, {args.epochs} epoch(s) of {args.limit:,} "
          f"digits) per command; {available_cores()} cores", flush=True)
    times: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="cnnviz-bench-jobs-") as scratch:
        for round_number in range(1, args.rounds + 1):
            order = (1, 2) if round_number % 2 else (2, 1)
            for jobs in order:
                folder = Path(scratch, f"round{round_number}-jobs{jobs}")
                folder.mkdir()
                times[jobs].append(time_compare(jobs, args, folder))
            print(f"round {round_number}: --jobs 1 {times[1][-1]:.1f} s, --jobs 2 {times[2][-1]:.1f} s; "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"\nmedians of {args.rounds} interleaved rounds: --jobs 1 {one:.1f} s, --jobs 2 {two:.1f} s; "
          f"ratio (jobs 1 / jobs 2) {one / two:.2f}")


if __name__ == "__main__":
    main()
