"""Time of ``lhsim compare`` on the nine Figure-1 countries (demo size), against its target.

Usage::

    python benchmarks/compare_figure1.py [REPLICATES] [WORKERS]

Runs ``scenarios/figure1/A.yaml`` to ``I.yaml`` (600 facilities, 20 districts, 60
months each) with common random numbers into a temporary folder, builds the
comparison table, figures and report, and prints the wall time, the CPU time of this
process and the target (nine scenarios x 20 replicates in at most 300 s on two
cores). With one worker every replicate runs in this process, so its CPU time is the
whole cost; divided by two it estimates the wall time on two idle cores, which the
wall time measured on a busy machine may exceed.

This is not a test: it prints figures.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 300.0


def main(argv: list[str]) -> int:
    """Run the comparison once and print its timings."""
    from sim.planning.compare import run_comparison

    replicates = int(argv[0]) if argv else 20
    workers = int(argv[1]) if len(argv) > 1 else 2
    files = [ROOT / "scenarios" / "figure1" / f"{name}.yaml" for name in "ABCDEFGHI"]
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        wall, cpu = time.perf_counter(), time.process_time()
        run_comparison(
            files,
            baseline="B",
            replicates=replicates,
            out_dir=Path(folder),
            workers=workers,
            progress=False,
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    runs = replicates * len(files)
    print(f"nine Figure-1 scenarios x {replicates} replicates, {workers} worker(s)")
    print(f"  load average before the run   {load:8.2f}")
    print(f"  wall time                     {wall:8.1f} s   ({wall / runs:.2f} s a replicate)")
    print(f"  CPU time of this process      {cpu:8.1f} s")
    if workers == 1:
        print(f"  estimated on two idle cores   {cpu / 2:8.1f} s   (CPU time / 2)")
    print(f"  target                        {TARGET_SECONDS:8.1f} s   (9 x 20 on two cores)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
