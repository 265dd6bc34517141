"""What a batch will cost, checked before anything is allocated or written.

A batch of R replications (runs, times the points of a sweep) of M months costs R × M
replication-months. From that, before any chunk is planned or any folder opened:

* wall time: simulating at SIMULATE_RATE replication-months per second per worker, plus writing
  the tables (done by one process) at WRITE_RATE bytes per second of the format;
* disk: BYTES_PER_REPLICATION_MONTH of each table written, in the format; the relations table
  scaled by the share of months `relations_every` keeps.

The constants were measured here (2 cores, shared) on `csto run baseline --runs 2000 --months
36` (72,000 replication-months): all four tables took 3.6 s of wall time in Parquet and 4.8 s in
CSV, metrics only 3.9 s for 4,000 runs (37,000 replication-months per second simulated); the
tables' sizes on disk divided by 72,000 give the bytes below. Relations dominate (ordered pairs of
actors, every month). The estimate is the order of magnitude, not a promise.

`check_cost` refuses a batch beyond MAX_SECONDS or MAX_BYTES, or larger than the free space of
the disk it goes to, unless `yes` (`--yes`) says to go ahead.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from batches.errors import BatchError

SIMULATE_RATE = 37_000
"""Replication-months simulated per second by one worker (measured, see the module)."""

WRITE_RATE = {"parquet": 10e6, "csv": 40e6}
"""Bytes of tables written per second, by format (measured, see the module)."""

BYTES_PER_REPLICATION_MONTH = {
    "parquet": {"metrics": 25.0, "agents": 67.0, "events": 4.2, "relations": 138.0},
    "csv": {"metrics": 87.0, "agents": 416.0, "events": 47.0, "relations": 1144.0},
}
"""Bytes on disk per replication-month of each table (measured, see the module)."""

MAX_SECONDS = 2 * 3600.0
MAX_BYTES = 50e9


class CostError(BatchError):
    """The batch would take too long or use too much disk; `--yes` (yes=True) runs it anyway."""


@dataclass(frozen=True)
class Cost:
    """The estimated cost of a batch."""

    replications: int
    months: int
    seconds: float
    bytes: float

    @property
    def replication_months(self) -> int:
        return self.replications * self.months

    def describe(self) -> str:
        """E.g. "72,000 replication-months, about 4 s and 17 MB"."""
        return (
            f"{self.replication_months:,} replication-months, about "
            f"{duration(self.seconds)} and {size(self.bytes)}"
        )


def kept_relation_months(months: int, every: int | None) -> int:
    """Months the relations table keeps: m with m % every == 0, and the last month."""
    if every is None or every <= 1 or months <= 0:
        return months
    return math.ceil(months / every) + (1 if (months - 1) % every else 0)


def estimate(
    replications: int,
    months: int,
    *,
    workers: int = 1,
    fmt: str = "parquet",
    tables: Sequence[str] = ("metrics", "agents", "events", "relations"),
    relations_every: int | None = None,
) -> Cost:
    """The cost of `replications` runs of `months` months writing `tables` in `fmt`."""
    per_table = BYTES_PER_REPLICATION_MONTH[fmt]
    replication_months = replications * months
    total = 0.0
    for name in tables:
        share = kept_relation_months(months, relations_every) / months if name == "relations" else 1
        total += per_table[name] * replication_months * share
    seconds = replication_months / (SIMULATE_RATE * max(1, workers)) + total / WRITE_RATE[fmt]
    return Cost(replications, months, seconds, total)


def free_bytes(out: Path) -> int | None:
    """Free space of the disk `out` would be on (its nearest existing folder), or None."""
    place = Path(os.path.abspath(out))
    while not place.exists() and place != place.parent:
        place = place.parent
    try:
        return shutil.disk_usage(place).free
    except OSError:
        return None


def check_cost(cost: Cost, out: Path, yes: bool = False) -> None:
    """CostError naming what is over its limit, unless `yes`."""
    if yes:
        return
    over = []
    if cost.seconds > MAX_SECONDS:
        over.append(f"more than {duration(MAX_SECONDS)}")
    if cost.bytes > MAX_BYTES:
        over.append(f"more than {size(MAX_BYTES)} of disk")
    free = free_bytes(out)
    if free is not None and cost.bytes > free:
        over.append(f"more than the {size(free)} free on the disk of {out}")
    if over:
        raise CostError(
            f"this batch is {cost.describe()}: {' and '.join(over)}; make it smaller (--runs, "
            "--months, --tables, --relations-every) or add --yes to run it anyway"
        )


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def size(count: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{round(count)} bytes"
