"""Benchmark: what `csto sensitivity` costs on `baseline` over 36 months.

    python benchmarks/bench_sensitivity.py                 # Morris, then Sobol at N = 512
    python benchmarks/bench_sensitivity.py --samples 64    # a smaller Sobol run (extrapolate)
    python benchmarks/bench_sensitivity.py --morris DIR --samples 64   # Sobol only, ranked by DIR

1. Morris over every parameter of scenarios/sensitivity/parameters.toml, 20 trajectories, 100
   runs per point (D + 1 points a trajectory for D parameters: 1,400 points, 140,000
   replications for the 69 declared);
2. Sobol (first and total order) over the 10 parameters Morris ranks highest for cohesion at the
   last month, N base samples (N x 12 points), 100 runs per point.

For each: the wall time and the CPU time of this process and its children (the machine may be
shared: CPU time is the figure that does not depend on the load), split into the simulation
(running the design and writing its tables) and the analysis (outcomes, indices, plots).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from batches.folders import open_folder
from batches.sensitivity import ranking
from batches.sensitivity_run import sensitivity


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measured(label: str, **options) -> object:
    """Run one analysis and print its cost."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    folder = sensitivity("baseline", months=36, runs=100, seed=20221211, force=True, **options)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    manifest = folder.manifest
    points = manifest["sensitivity"]["points"]
    print(
        f"{label}: {points:,} points x 100 runs = {points * 100:,} replications x 36 months; "
        f"wall {wall:.1f} s (simulation {manifest['wall_seconds']:.1f} s, analysis and plots "
        f"{manifest['analysis_seconds']:.1f} s), CPU {cpu:.1f} s; folder {folder.path}",
        flush=True,
    )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=512, help="Sobol base sample N")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep the folders here")
    parser.add_argument("--skip-sobol", action="store_true")
    parser.add_argument("--morris", type=Path, default=None, help="a finished Morris folder")
    args = parser.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="csto-bench-"))
    if args.morris is not None:
        morris = open_folder(args.morris)
    else:
        morris = measured(
            "morris", method="morris", trajectories=20, out=base / "morris", workers=args.workers
        )
    top = ranking(morris.indices)["cohesion"][:10]
    print("top 10 for cohesion:", ", ".join(top), flush=True)
    if not args.skip_sobol:
        measured(
            f"sobol N={args.samples}",
            method="sobol",
            samples=args.samples,
            vary=top,
            out=base / f"sobol-{args.samples}",
            workers=args.workers,
        )


if __name__ == "__main__":
    main()
