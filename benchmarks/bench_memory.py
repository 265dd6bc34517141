"""Peak memory of a large batch: `csto run baseline --runs N --no-plots --quiet` under GNU time.

    python benchmarks/bench_memory.py [N] [--months 36] [--workers 1] [--keep]

Runs the command once with `/usr/bin/time -v` (GNU time, Linux) in a temporary folder and prints
the peak resident memory of the command's process ("Maximum resident set size"; with --workers > 1
each worker process is counted on its own, not added), the wall time and the run folder's size.
The default N is 100,000 replications of 36 months; it takes minutes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TIME = "/usr/bin/time"


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(runs: int, months: int, workers: int, keep: bool) -> dict[str, float]:
    """Run the batch under GNU time; return peak RSS (MiB), wall seconds and folder size (MiB)."""
    if shutil.which(TIME) is None:
        sys.exit(f"{TIME} (GNU time) is needed: apt-get install time")
    work = Path(tempfile.mkdtemp(prefix="csto-mem-"))
    out = work / "run"
    command = [
        TIME, "-v", sys.executable, "-c", "from cli import main; main()",
        "run", "baseline", "--runs", str(runs), "--months", str(months),
        "--workers", str(workers), "--no-plots", "--quiet", "--out", str(out),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"the batch failed ({done.returncode}):\n{done.stderr}")
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr)
        seconds = 0.0
        for part in wall.group(1).split(":"):
            seconds = seconds * 60 + float(part)
        return {
            "peak_rss_mib": int(rss.group(1)) / 1024,
            "wall_seconds": seconds,
            "folder_mib": folder_bytes(out) / 2**20,
        }
    finally:
        if keep:
            print(f"run folder kept: {out}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="?", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the run folder")
    args = parser.parse_args()
    figures = measure(args.runs, args.months, args.workers, args.keep)
    print(
        f"csto run baseline --runs {args.runs:,} --months {args.months} "
        f"--workers {args.workers}: peak RSS {figures['peak_rss_mib']:,.0f} MiB, "
        f"wall {figures['wall_seconds']:,.0f} s, run folder {figures['folder_mib']:,.0f} MiB"
    )


if __name__ == "__main__":
    main()
