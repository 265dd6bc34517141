"""Wall time of `csto calibrate`: the smoke budget and the real one.

    python benchmarks/bench_calibrate.py [--skip-default] [--workers N]

Runs `csto calibrate --budget quick` and `csto calibrate` (the default budget) end to end, each in
a subprocess into a temporary folder, and reports for each: wall time, the CPU time of the
subprocess, the generations, the simulations (particles simulated), the final epsilon, and the
load average of the machine before and after. On a shared machine the wall time depends on the
load (the CPU time much less): read both.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def calibrate(budget: str, out: Path, workers: int) -> dict:
    """Run one calibration; its figures."""
    command = [
        sys.executable, "-c", "from cli import main; main()", "calibrate", "--budget", budget,
        "--out", str(out), "--workers", str(workers), "--quiet",
    ]  # fmt: skip
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "budget": budget,
        "wall_s": round(wall, 1),
        "cpu_s": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        "generations": manifest["generations"],
        "simulations": sum(manifest["simulations"]),
        "runs_per_particle": manifest["settings"]["runs"],
        "population": manifest["settings"]["population"],
        "epsilon": round(manifest["epsilons"][-1], 3),
        "load_before": round(load_before, 1),
        "load_after": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-default", action="store_true", help="Only the quick budget.")
    parser.add_argument("--workers", type=int, default=1)
    options = parser.parse_args()
    budgets = ["quick"] if options.skip_default else ["quick", "default"]
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for budget in budgets:
            row = calibrate(budget, Path(tmp) / budget, options.workers)
            print(
                f"{budget:>8}: {row['wall_s']:7.1f} s wall, {row['cpu_s']:7.1f} s CPU; "
                f"{row['generations']} generations, {row['simulations']:,} particles x "
                f"{row['runs_per_particle']} runs (population {row['population']}), "
                f"epsilon {row['epsilon']}; load {row['load_before']} -> {row['load_after']}"
            )


if __name__ == "__main__":
    main()
