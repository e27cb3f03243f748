"""Stress the results folders: concurrent writers, kills at random points, damaged parts.

Runs the real command line (``python -m sim.cli.main``) on a small scenario and an
Ishigami sweep, in a scratch folder:

1. **Concurrent writers.** Several ``run`` commands (with different seeds, some with
   ``--force``, some with ``--resume``) start at once on one ``--out``. Exactly the ones
   that got the lock may write; the others must stop with exit status 2. The folder must
   then hold the results of one seed only, identical to a clean run of that seed.
2. **Kills.** A run (or a sweep) is killed with SIGKILL at a random moment, then
   continued with ``--resume``, over and over; the end result must be identical to a
   clean run.
3. **Damaged parts.** After a kill, a random part is truncated, emptied or replaced by
   another part; ``--resume`` must report it, run it again and end identical to a clean
   run. Two ``sweep --resume`` on one folder at once must not both write.

It prints the counts of what it did and found (``re-run warnings`` counts the damaged
parts reported by the last resume of each folder; a part damaged before a resume that
was itself killed is reported by that one). Nothing is lost or mixed when the
``mismatches`` and ``tracebacks`` counts are 0.

Usage::

    python benchmarks/stress.py [--rounds 6] [--seed 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = """\
name: stress
months: 12
replicates: 6
practices: {count: 6}
countries:
  - name: A
    districts: 3
    facilities: 60
"""
EXPERIMENT = """\
name: stress-sweep
model: ishigami
parameters: {x1: [-3.14159, 3.14159], x2: [-3.14159, 3.14159], x3: [-3.14159, 3.14159]}
method: sobol
samples: 256
replicates: 2
outputs: [y]
seed: 3
settings: {noise_sd: 1.0}
"""
FINAL = ("summary.csv", "time_to_scale.csv", "timeseries.parquet", "countries.parquet")


def lhsim(*arguments: str) -> list[str]:
    return [sys.executable, "-W", "ignore", "-m", "sim.cli.main", *arguments]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}


def digest(folder: Path, names: tuple[str, ...] = FINAL) -> str:
    hashed = hashlib.sha256()
    for name in names:
        hashed.update((folder / name).read_bytes())
    return hashed.hexdigest()


def sweep_rows(folder: Path) -> str:
    import pandas as pd

    frame = pd.read_parquet(folder / "runs.parquet").drop(columns="seconds")
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).values).hexdigest()


class Stress:
    def __init__(self, scratch: Path, rng: random.Random) -> None:
        self.scratch = scratch
        self.rng = rng
        self.counts: Counter[str] = Counter()
        self.scenario = scratch / "stress.yaml"
        self.scenario.write_text(SCENARIO)
        self.experiment = scratch / "sweep.yaml"
        self.experiment.write_text(EXPERIMENT)
        self.reference: dict[int, str] = {}

    def call(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            lhsim(*arguments),
            env=environment(),
            cwd=self.scratch,
            capture_output=True,
            text=True,
            timeout=900,
        )
        self.check_output(done.stderr + done.stdout)
        return done

    def start(self, *arguments: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            lhsim(*arguments),
            env=environment(),
            cwd=self.scratch,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def check_output(self, text: str) -> None:
        if "Traceback" in text:
            self.counts["tracebacks"] += 1
            print(text, file=sys.stderr)

    def run_args(self, out: Path, seed: int, *extra: str) -> list[str]:
        return ["run", str(self.scenario), "--out", str(out), "--seed", str(seed), "-q", *extra]

    # ------------------------------------------------------------------ references
    def references(self) -> None:
        for seed in (1, 2):
            out = self.scratch / f"reference-{seed}"
            done = self.call(*self.run_args(out, seed))
            assert done.returncode == 0, done.stderr
            self.reference[seed] = digest(out)
        out = self.scratch / "reference-sweep"
        done = self.call(
            "sweep", str(self.experiment), "--out", str(out), "--executor", "serial", "-q"
        )
        assert done.returncode == 0, done.stderr
        self.reference_sweep = sweep_rows(out)

    def verify_run(self, out: Path, what: str) -> None:
        import json

        manifest = json.loads((out / "manifest.json").read_text())
        seed = manifest["seed"]
        if not manifest.get("complete") or digest(out) != self.reference[seed]:
            self.counts["mismatches"] += 1
            print(f"MISMATCH after {what}: {out} (seed {seed})", file=sys.stderr)
        else:
            self.counts["folders verified identical to a clean run"] += 1

    # ------------------------------------------------------------------ 1. writers at once
    def concurrent_writers(self, round_: int) -> None:
        out = self.scratch / f"concurrent-{round_}"
        if self.rng.random() < 0.5:  # half the rounds start on a finished folder
            assert self.call(*self.run_args(out, 1)).returncode == 0
        writers = []
        for index in range(4):
            seed = 1 + index % 2
            mode = self.rng.choice(["--force", "--resume", "--force"])
            writers.append(self.start(*self.run_args(out, seed, mode)))
        for process in writers:
            stdout, stderr = process.communicate(timeout=900)
            self.check_output(stdout + stderr)
            self.counts["concurrent writers started"] += 1
            if process.returncode == 0:
                self.counts["concurrent writers that wrote"] += 1
            elif process.returncode == 2 and "being written by another lhsim" in stderr:
                self.counts["concurrent writers refused by the lock (exit 2)"] += 1
            elif process.returncode == 2:
                self.counts["concurrent writers refused otherwise (exit 2)"] += 1
            else:
                self.counts[f"concurrent writers with exit {process.returncode}"] += 1
        if (out / "manifest.json").is_file() and (out / "summary.csv").is_file():
            self.verify_run(out, "concurrent writers")

    # ------------------------------------------------------------------ 2 and 3. kills
    def kill_and_resume(self, round_: int) -> None:
        out = self.scratch / f"killed-{round_}"
        seed = self.rng.choice([1, 2])
        for attempt in range(3):
            process = self.start(*self.run_args(out, seed, *(["--resume"] if attempt else [])))
            parts = self.rng.randint(1, 5 * 6 - 1)  # 5 tables x 6 replicates
            self.kill_when(process, out / "parts", "*/r*.parquet", parts, "runs killed")
            if self.rng.random() < 0.6:
                self.damage(out / "parts")
        done = self.call(*self.run_args(out, seed, "--resume"))
        if done.returncode != 0:
            self.counts[f"resumes with exit {done.returncode}"] += 1
            print(done.stderr, file=sys.stderr)
            return
        self.counts["re-run warnings"] += done.stderr.count("cannot be trusted")
        self.verify_run(out, "kills and resume")

    def kill_when(
        self, process: subprocess.Popen[str], folder: Path, pattern: str, parts: int, what: str
    ) -> None:
        """SIGKILL ``process`` once ``folder`` holds ``parts`` parts (mid-run, at random)."""
        while process.poll() is None and len(list(folder.glob(pattern))) < parts:
            time.sleep(0.02)
        time.sleep(self.rng.uniform(0.0, 0.2))  # now and then inside the next write
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            self.counts[what] += 1
        else:
            self.counts[f"{what.split()[0]} that ended before the kill"] += 1
        stdout, stderr = process.communicate()
        self.check_output(stdout + stderr)

    def damage(self, parts: Path) -> None:
        files = sorted(parts.glob("*/r*.parquet")) + sorted(parts.glob("runs-*.parquet"))
        if not files:
            return
        target = self.rng.choice(files)
        how = self.rng.choice(["truncate", "empty", "copy"])
        if how == "truncate":
            target.write_bytes(target.read_bytes()[: max(1, target.stat().st_size // 3)])
        elif how == "empty":
            target.write_bytes(b"")
        else:
            others = [f for f in files if f != target and f.parent == target.parent]
            if not others:
                return
            shutil.copyfile(self.rng.choice(others), target)
        self.counts[f"parts damaged ({how})"] += 1

    def sweep_kills(self, round_: int) -> None:
        out = self.scratch / f"sweep-{round_}"
        base = ["sweep", str(self.experiment), "--out", str(out), "--executor", "serial", "-q"]
        process = self.start(*base)
        parts = self.rng.randint(1, 3)
        self.kill_when(process, out / "parts", "runs-*.parquet", parts, "sweeps killed")
        if self.rng.random() < 0.7:
            self.damage(out / "parts")
        twins = [self.start(*base, "--resume") for _ in range(2)]
        codes = []
        for twin in twins:
            stdout, stderr = twin.communicate(timeout=900)
            self.check_output(stdout + stderr)
            codes.append(twin.returncode)
            if twin.returncode == 2 and "being written by another lhsim" in stderr:
                self.counts["sweep resumes refused by the lock (exit 2)"] += 1
            self.counts["re-run warnings"] += stderr.count("cannot be trusted")
        if 0 not in codes:
            done = self.call(*base, "--resume")
            codes.append(done.returncode)
        if (out / "runs.parquet").is_file() and sweep_rows(out) == self.reference_sweep:
            self.counts["sweep folders verified identical to a clean sweep"] += 1
        else:
            self.counts["mismatches"] += 1
            print(f"MISMATCH in sweep {out}: exit statuses {codes}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="rounds of each test")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random kills")
    parser.add_argument("--keep", type=Path, help="keep the scratch folder here")
    arguments = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="lhsim-stress-", dir=arguments.keep))
    stress = Stress(scratch, random.Random(arguments.seed))
    started = time.perf_counter()
    try:
        stress.references()
        for round_ in range(arguments.rounds):
            stress.concurrent_writers(round_)
            stress.kill_and_resume(round_)
            stress.sweep_kills(round_)
            print(f"round {round_ + 1} of {arguments.rounds} done", file=sys.stderr)
    finally:
        if arguments.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    counts = stress.counts
    counts.setdefault("mismatches", 0)
    counts.setdefault("tracebacks", 0)
    print(f"stress: {arguments.rounds} rounds in {time.perf_counter() - started:.0f} s")
    for name, count in sorted(counts.items()):
        print(f"  {name:<55} {count}")
    return 0 if counts["mismatches"] == 0 and counts["tracebacks"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
