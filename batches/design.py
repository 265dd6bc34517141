"""Designs: many parameter points x replications, run as one lock-step batch.

A design is a base scenario, a table of points (a value of each varied key per point) and a number
of runs per point. Its P x runs replications are laid out point-major (row g = p x runs + k, k the
run within its point) and cut into chunks of `chunk_size` rows across the points: a chunk is one
model whose replications carry their own parameter values (`CSTOModel(varying=...)`), so a design
of 1,000 points of 10 runs pays the per-model cost 5 times, not 1,000.

Random numbers come from counter-based streams (`simulation.streams`), seeded by the design seed:
with common random numbers (`crn`, the default) run k of every point uses stream k, so two points
differ only by their parameters (the variance of their difference shrinks; Law, "Simulation
Modeling and Analysis", 5th ed., section 11.2); without, row g uses stream g. Either way a row's
trajectory depends only on its values and its stream, never on the chunk it falls in, the chunk
size, the executor or the number of workers.

A key that cannot vary per replication (`simulation.varying.may_vary` false: a structural key)
falls back to one model per point, each point's chunks cut from its own runs, with the same
streams: the tables are those the lock-step layout would give.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from batches.chunks import CHUNK_SIZE, Chunk, chunk_seed
from batches.executors import Failure, Task, iter_results
from simulation.record import RunRecord
from simulation.schema import Scenario

POINT = "point"
RUN = "run"
DESIGN_TABLES: tuple[str, ...] = ("metrics", "events", "agents")


class DesignError(ValueError):
    """A design that cannot run: a malformed points table, or a chunk that failed."""


@dataclass(frozen=True, eq=False)
class Design:
    """A design: `runs` replications of each row of `points` on the base `scenario`.

    Attributes:
        scenario: the validated base scenario.
        points: a frame with `point` (0..P-1, in order) and one column per varied dotted key.
        runs: replications per point.
        seed: the seed of the random streams (and of the chunks' models).
        months: the horizon.
        crn: common random numbers: run k of every point sees the same random numbers.
    """

    scenario: Scenario
    points: pd.DataFrame
    runs: int
    seed: int
    months: int
    crn: bool = True

    def __post_init__(self) -> None:
        check_design(self)

    @property
    def keys(self) -> list[str]:
        """The varied dotted keys, in column order."""
        return [column for column in self.points.columns if column != POINT]

    @property
    def size(self) -> int:
        """The number of points, P."""
        return len(self.points)

    @property
    def rows(self) -> int:
        """The replications of the whole design, P x runs."""
        return self.size * self.runs

    def values(self, key: str) -> np.ndarray:
        """The (P,) values of `key`, one per point."""
        return self.points[key].to_numpy()

    def point_values(self, point: int) -> dict[str, Any]:
        """{key: value} of one point (numpy scalars as Python numbers)."""
        return {key: self.values(key)[point].item() for key in self.keys}


def check_design(design: Design) -> None:
    """DesignError unless the points table, runs, months and seed make a design."""
    points = design.points
    if not isinstance(points, pd.DataFrame) or POINT not in points.columns:
        raise DesignError("points: expected a DataFrame with a 'point' column")
    if len(points) < 1:
        raise DesignError("points: expected at least one point")
    if not np.array_equal(points[POINT].to_numpy(), np.arange(len(points))):
        raise DesignError(f"points: the 'point' column must be 0..{len(points) - 1} in order")
    if len(set(points.columns)) != len(points.columns):
        raise DesignError("points: a column appears twice")
    for name, value in (("runs", design.runs), ("months", design.months)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise DesignError(f"{name}: expected a positive integer, got {value!r}")
    if isinstance(design.seed, bool) or not isinstance(design.seed, int | np.integer):
        raise DesignError(f"seed: expected an integer, got {design.seed!r}")
    for key in design.keys:
        column = points[key].to_numpy()
        if not np.issubdtype(column.dtype, np.number) or np.issubdtype(column.dtype, np.bool_):
            raise DesignError(f"points: column {key!r} must hold numbers, got {column.dtype}")


def fixed_keys(design: Design) -> list[str]:
    """The varied keys that cannot take one value per replication (structural keys)."""
    from simulation.varying import may_vary

    return [key for key in design.keys if not may_vary(design.scenario, key)]


def is_lockstep(design: Design) -> bool:
    """Whether the design runs as lock-step chunks across points (no structural key varies)."""
    return not fixed_keys(design)


def stream_ids(design: Design, points: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """The stream of each (point, run): the run with crn, else the global row p x runs + k."""
    if design.crn:
        return np.asarray(runs, dtype=np.int64)
    return np.asarray(points, dtype=np.int64) * design.runs + np.asarray(runs, dtype=np.int64)


def design_tasks(design: Design, chunk_size: int = CHUNK_SIZE) -> list[Task]:
    """The tasks of `design`, in part order.

    Lock-step (every key may vary): chunk i holds rows i x chunk_size .. of the point-major
    layout, across points, as part i; its Task carries the rows' values (`varying`), streams,
    point and run ids, and `point` None (the base scenario). Otherwise one model per point:
    point p's chunk c (of its own runs) is part p x chunks-per-point + c, with `point` p.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise DesignError(f"chunk_size: expected a positive integer, got {chunk_size!r}")
    if not is_lockstep(design):
        return _point_tasks(design, chunk_size)
    values = _checked_values(design)
    rows = np.arange(design.rows, dtype=np.int64)
    point_of, run_of = rows // design.runs, rows % design.runs
    streams = stream_ids(design, point_of, run_of)
    tasks = []
    for index, offset in enumerate(range(0, design.rows, chunk_size)):
        cut = slice(offset, min(offset + chunk_size, design.rows))
        size = cut.stop - cut.start
        tasks.append(
            Task(
                part=index,
                chunk=Chunk(index, offset, size, chunk_seed(design.seed, index)),
                varying={key: column[point_of[cut]] for key, column in values.items()},
                streams=streams[cut],
                stream_seed=int(design.seed),
                point_ids=point_of[cut],
                run_ids=run_of[cut],
            )
        )
    return tasks


def _checked_values(design: Design) -> dict[str, np.ndarray]:
    """Each key's (P,) values as floats, checked against the key's range (VaryingError)."""
    from simulation.varying import check_values

    return {
        key: check_values(design.scenario, key, design.values(key), design.size)
        for key in design.keys
    }


def _point_tasks(design: Design, chunk_size: int) -> list[Task]:
    """One model per point: point p's runs cut into chunks, part p x chunks-per-point + c."""
    from batches.sweeps import sweep_seed

    offsets = range(0, design.runs, chunk_size)
    tasks = []
    for point in range(design.size):
        for index, offset in enumerate(offsets):
            size = min(chunk_size, design.runs - offset)
            runs = np.arange(offset, offset + size, dtype=np.int64)
            points = np.full(size, point, dtype=np.int64)
            tasks.append(
                Task(
                    part=point * len(offsets) + index,
                    chunk=Chunk(index, offset, size, sweep_seed(design.seed, point, index)),
                    point=point,
                    streams=stream_ids(design, points, runs),
                    stream_seed=int(design.seed),
                    point_ids=points,
                    run_ids=runs,
                )
            )
    return tasks


def design_scenarios(design: Design) -> dict[int | None, Scenario]:
    """The scenario of each task's `point`: the base (None) when lock-step, else each point's
    (the base with its values, validated: ScenarioError names the point)."""
    if is_lockstep(design):
        return {None: design.scenario}
    from batches.sweeps import point_scenarios

    values = [design.point_values(point) for point in range(design.size)]
    return dict(point_scenarios(design.scenario, values, design.months))


def design_record(design: Design, chunk_size: int = CHUNK_SIZE) -> dict[str, Any]:
    """How the design is cut, for a manifest: layout, chunk size, rows per chunk, streams,
    and the keys that forced one model per point (if any)."""
    fixed = fixed_keys(design)
    if fixed:
        per_point = [min(chunk_size, design.runs - o) for o in range(0, design.runs, chunk_size)]
        layout = "one model per point"
        rows = per_point * design.size
    else:
        layout = "lock-step chunks across points (row = point x runs + run)"
        rows = [min(chunk_size, design.rows - o) for o in range(0, design.rows, chunk_size)]
    return {
        "layout": layout,
        "chunk_size": chunk_size,
        "chunks": len(rows),
        "rows_per_chunk": rows,
        "crn": design.crn,
        "streams": "stream = run" if design.crn else "stream = point x runs + run",
        "stream_seed": int(design.seed),
        "fallback": (
            {"keys": fixed, "reason": "these keys cannot vary per replication"} if fixed else None
        ),
    }


def iter_design(
    design: Design,
    *,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[tuple[Task, RunRecord | Failure]]:
    """Run the design's tasks and yield (task, record or Failure) as chunks finish.

    Each record carries its rows' `point_ids` and `run_ids`. `executor`, `workers` and
    `scheduler` are those of `batches.executors.iter_results`.
    """
    tasks = design_tasks(design, chunk_size)
    scenarios = design_scenarios(design)
    yield from iter_results(
        scenarios,
        design.months,
        tasks,
        executor=executor,
        workers=workers,
        scheduler=scheduler,
    )


def design_tables(
    design: Design,
    *,
    tables: Sequence[str] = DESIGN_TABLES,
    workers: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    relations_every: int | None = None,
) -> dict[str, pd.DataFrame]:
    """The design's tables in memory, with `point` and `run` (within its point) columns.

    Rows are sorted by the table's keys (point, run, month, ...; events keep their recorded order
    within a run and month), identical for any chunk size, executor and number of workers.
    DesignError when a chunk fails (the first failure's error and traceback).
    """
    from results.schema import TABLE_NAMES, empty_table, sort_keys
    from results.tables import all_tables

    unknown = [name for name in tables if name not in TABLE_NAMES]
    if unknown:
        raise DesignError(f"tables: unknown {unknown}; expected some of {list(TABLE_NAMES)}")
    parts: dict[int, dict[str, pd.DataFrame]] = {}
    for task, result in iter_design(
        design, workers=workers, executor=executor, scheduler=scheduler, chunk_size=chunk_size
    ):
        if isinstance(result, Failure):
            raise DesignError(f"chunk {result.part} failed: {result.error}\n{result.traceback}")
        parts[task.part] = all_tables(result, task.point, tables, relations_every)
    frames = {}
    for name in [n for n in TABLE_NAMES if n in tables]:
        pieces = [parts[part][name] for part in sorted(parts)]
        frame = pd.concat(pieces, ignore_index=True) if pieces else empty_table(name)
        keys = sort_keys(name, with_point=True)
        frames[name] = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    return frames
