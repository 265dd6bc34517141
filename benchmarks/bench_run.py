"""Speed of csto: replication-months per second, lock-step vs one replication per Mesa model.

    python benchmarks/bench_run.py [--replications 2000 10000] [--batch-runs 100] [--skip-cli]
                                   [--profile]

1. `baseline` at R replications x 36 months in one CSTOModel (one process), for each R: per
   second of wall time and per second of this process's CPU time (the CPU figure is the steadier
   one on a shared machine);
2. the same model through `mesa.batch_run`, one replication per model (what Mesa users do);
3. their ratio;
4. `csto run baseline --runs R --no-plots` end to end (a subprocess, wall time).
Figures depend on the machine and its load: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MONTHS = 36


def lockstep(replications: int) -> float:
    """Replication-months per second (wall) of one model carrying all replications."""
    return lockstep_rates(replications)[0]


def lockstep_rates(replications: int) -> tuple[float, float]:
    """(wall, CPU) replication-months per second of one model carrying all replications."""
    from simulation.model import CSTOModel

    model = CSTOModel("baseline", replications=replications, rng=1, months=MONTHS)
    wall, cpu = time.perf_counter(), time.process_time()
    model.run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return replications * MONTHS / wall, replications * MONTHS / cpu


def profile(replications: int, top: int = 15) -> None:
    """Print the functions that take the most time in one lock-step run."""
    import cProfile
    import pstats

    from simulation.model import CSTOModel

    model = CSTOModel("baseline", replications=replications, rng=1, months=MONTHS)
    profiler = cProfile.Profile(time.process_time)
    profiler.runcall(model.run)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def one_per_model(runs: int) -> float:
    """Replication-months per second through mesa.batch_run, one replication per model."""
    import mesa

    from simulation.model import CSTOModel

    start = time.perf_counter()
    mesa.batch_run(
        CSTOModel,
        {"scenario": "baseline"},
        rng=list(range(runs)),
        max_steps=MONTHS,
        number_processes=1,
        display_progress=False,
    )
    return runs * MONTHS / (time.perf_counter() - start)


def cli_wall_seconds(replications: int) -> float:
    """Wall seconds of `csto run baseline --runs R --no-plots --quiet`."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        command = [sys.executable, "-m", "cli", "run", "baseline", "--runs", str(replications)]
        command += ["--no-plots", "--quiet", "--out", str(out)]
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=Path(__file__).resolve().parents[1])
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, nargs="+", default=[10_000])
    parser.add_argument("--batch-runs", type=int, default=100)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile the largest R")
    args = parser.parse_args()
    for replications in args.replications:
        wall, cpu = lockstep_rates(replications)
        print(
            f"lock-step, {replications} replications x {MONTHS} months: "
            f"{wall:,.0f} rep-months/s wall, {cpu:,.0f} per CPU second"
        )
    fast = wall
    slow = one_per_model(args.batch_runs)
    print(
        f"mesa.batch_run, one replication per model ({args.batch_runs} runs): "
        f"{slow:,.0f} rep-months/s"
    )
    print(f"ratio: {fast / slow:,.0f}x")
    if not args.skip_cli:
        replications = args.replications[-1]
        wall_seconds = cli_wall_seconds(replications)
        print(f"csto run baseline --runs {replications} --no-plots: {wall_seconds:.1f} s wall")
    if args.profile:
        profile(max(args.replications))


if __name__ == "__main__":
    main()
