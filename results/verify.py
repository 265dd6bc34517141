"""Damaged run folders are named, never trusted: which chunks' parts are whole.

A part file exists only once it is complete (`results.atomic`), but a folder can still be damaged
afterwards: a copy cut short, a disk that filled up, a file overwritten, a second writer's parts.
Before a folder is resumed (or marked complete), each chunk's part files (one per table the
batch writes) are checked against what the manifest says the chunk holds: the file opens as its
format, has the table's columns (`results.schema`) and the right number of rows, and its runs,
months and point are the chunk's.

Rows per chunk of `size` runs and `months` months (`results.tables`): metrics size × months,
agents size × months × agents, relations size × recorded months × ordered pairs of distinct
actors (agents and poles), events any number. A chunk's runs are offset .. offset + size - 1.

By default a Parquet part is checked from its footer (schema, row count, the key columns' min/max
statistics): it catches truncated, empty and foreign files in milliseconds, where reading every
value costs about as much as simulating the chunk again. `full=True` reads every value too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from results.layout import FORMATS, DamagedFolderError, list_parts, part_path, parts_dir
from results.manifest import MANIFEST_NAME, check_run_manifest
from results.schema import POINT, TABLE_NAMES, schema

__all__ = [
    "DamagedFolderError",
    "PartExpectation",
    "discard_parts",
    "part_expectations",
    "verified_chunks",
    "verify_part",
]


@dataclass(frozen=True)
class PartExpectation:
    """What part `part` of a batch holds: runs offset .. offset + size - 1 of `point`.

    `relation_months` is the number of months the relations table records (None: every month);
    `tables` the tables the batch writes (its manifest's `tables`, default all four). A lock-step
    design chunk (rows across points, runs numbered within their points) gives the lowest and
    highest of its `runs` and `points` instead.
    """

    part: int
    offset: int
    size: int
    months: int
    agents: int
    actors: int
    point: int | None = None
    relation_months: int | None = None
    tables: tuple[str, ...] = TABLE_NAMES
    runs: tuple[int, int] | None = None
    points: tuple[int, int] | None = None

    def rows(self, table: str) -> int | None:
        """The number of rows of `table` in this part (None for events: any number)."""
        if table == "metrics":
            return self.size * self.months
        if table == "agents":
            return self.size * self.months * self.agents
        if table == "relations":
            recorded = self.months if self.relation_months is None else self.relation_months
            return self.size * recorded * self.actors * (self.actors - 1)
        return None

    def columns(self, table: str) -> list[str]:
        with_point = self.point is not None or self.points is not None
        return list(schema(table, with_point=with_point))


def part_expectations(
    manifest: dict[str, Any], source: str | os.PathLike[str] = MANIFEST_NAME
) -> dict[int, PartExpectation]:
    """Part index -> what it holds, for the batch a (run, sweep or sensitivity) manifest
    describes (a sensitivity analysis' design is cut as its entry's `layout` says).

    The parts follow the batch plan: chunks of `chunk_size` runs; a sweep's design chunk i is
    part i (`design.rows_per_chunk`), and in a sweep of one model per point (a structural key, or
    written before designs) point p's chunk c is part p × chunks-per-point + c. Only the
    manifest's `tables` are expected, and the relations table holds the months its
    `relations_every` keeps. Raises DamagedFolderError (naming `source`, the manifest's file) if
    the manifest lacks what this needs.
    """
    from results.tables import relation_months

    check_run_manifest(manifest, source)
    runs, chunk_size, months = manifest["runs"], manifest["chunk_size"], manifest["months"]
    tables = manifest.get("tables") or TABLE_NAMES
    if not isinstance(tables, list | tuple) or not set(tables) <= set(TABLE_NAMES):
        raise DamagedFolderError(source, f"'tables' must be some of {list(TABLE_NAMES)}")
    every = manifest.get("relations_every")
    if every is not None and (not isinstance(every, int) or isinstance(every, bool) or every < 1):
        raise DamagedFolderError(source, "'relations_every' must be a positive integer or null")
    recorded = None if every is None else len(relation_months(months, every))
    chosen = tuple(name for name in TABLE_NAMES if name in tables)
    scenario = manifest["resolved_scenario"]
    agents = len(scenario.get("agents") or {})
    actors = agents + len(scenario.get("poles") or {})
    sweep, sensitivity = manifest.get("sweep"), manifest.get("sensitivity")
    design = manifest.get("design") if sweep else (sensitivity or {}).get("layout")
    if design and not design.get("fallback"):
        return _design_expectations(
            design["rows_per_chunk"], runs, months, agents, actors, recorded, chosen
        )
    offsets = range(0, runs, chunk_size)
    if sweep:
        points: list[int | None] = list(range(len(sweep["points"])))
    elif sensitivity:
        points = list(range(int(sensitivity["points"])))
    else:
        points = [None]
    expected = {}
    for number, point in enumerate(points):
        for index, offset in enumerate(offsets):
            part = number * len(offsets) + index
            size = min(chunk_size, runs - offset)
            expected[part] = PartExpectation(
                part, offset, size, months, agents, actors, point, recorded, chosen
            )
    return expected


def _design_expectations(
    rows_per_chunk: list[int],
    runs: int,
    months: int,
    agents: int,
    actors: int,
    relation_months: int | None,
    tables: tuple[str, ...],
) -> dict[int, PartExpectation]:
    """The parts of a lock-step design: chunk i holds rows offset .. offset + size - 1 of the
    point-major layout (row = point × runs + run)."""
    expected = {}
    offset = 0
    for part, size in enumerate(rows_per_chunk):
        rows = np.arange(offset, offset + size)
        within = rows % runs
        expected[part] = PartExpectation(
            part, offset, size, months, agents, actors,
            relation_months=relation_months, tables=tables,
            runs=(int(within.min()), int(within.max())),
            points=(int(rows[0] // runs), int(rows[-1] // runs)),
        )  # fmt: skip
        offset += size
    return expected


def verify_part(
    folder: str | os.PathLike[str],
    part: int,
    fmt: str,
    expected: PartExpectation,
    *,
    full: bool = False,
) -> str | None:
    """None if part `part` of every table in `folder` holds what `expected` says; else why not.

    The reason is one line naming the first bad file from the folder on, e.g.
    "relations.parquet/part-00003.parquet: 42000 rows, expected 84000".
    """
    folder = Path(folder)
    for table in expected.tables:
        path = part_path(folder, table, fmt, part)
        where = path.relative_to(folder)
        if not path.is_file():
            return f"{where}: missing"
        reason = check_part_file(path, table, fmt, expected, full=full)
        if reason is not None:
            return f"{where}: {reason}"
    return None


def check_part_file(
    path: Path, table: str, fmt: str, expected: PartExpectation, *, full: bool = False
) -> str | None:
    """None if the part file `path` of `table` holds what `expected` says; else the reason."""
    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    wanted = expected.columns(table)
    try:
        if fmt == "parquet":
            columns, rows, ranges = _parquet_facts(path, table, wanted, full)
        else:
            columns, rows, ranges = _csv_facts(path, wanted)
    except (pa.ArrowException, OSError, ValueError) as error:
        return f"unreadable as {fmt} ({_first_line(error)})"
    if isinstance(ranges, str):
        return ranges
    return _compare(table, expected, columns, rows, ranges)


Ranges = dict[str, tuple[int, int] | None]
"""Key column -> (min, max) over the file, None when the file has no rows."""


def _parquet_facts(
    path: Path, table: str, wanted: list[str], full: bool
) -> tuple[list[str], int, Ranges | str]:
    """Columns, rows and key ranges of a Parquet part (a reason instead of ranges for bad types)."""
    metadata = pq.ParquetFile(path).metadata
    arrow_schema = metadata.schema.to_arrow_schema()
    if arrow_schema.names != wanted:
        return arrow_schema.names, metadata.num_rows, {}
    wrong = _wrong_type(arrow_schema, table)
    if wrong:
        return arrow_schema.names, metadata.num_rows, wrong
    keys = [name for name in (POINT, "run", "month") if name in wanted]
    ranges = _statistics_ranges(metadata, keys)
    if full or ranges is None:
        data = pq.read_table(path, columns=None if full else keys)
        if data.num_rows != metadata.num_rows:
            raise ValueError(f"{data.num_rows} rows read, footer says {metadata.num_rows}")
        ranges = _table_ranges(data, keys)
    return arrow_schema.names, metadata.num_rows, ranges


def _wrong_type(arrow_schema: pa.Schema, table: str) -> str | None:
    """ "column X is T, expected U" for the first column not of its table's type, or None."""
    for name, dtype in schema(table, with_point=POINT in arrow_schema.names).items():
        found = arrow_schema.field(name).type
        if isinstance(dtype, np.dtype):
            ok = found == pa.from_numpy_dtype(dtype)
            wanted = str(pa.from_numpy_dtype(dtype))
        else:
            value = found.value_type if pa.types.is_dictionary(found) else found
            ok = pa.types.is_string(value) or pa.types.is_large_string(value)
            wanted = "string"
        if not ok:
            return f"column {name!r} is {found}, expected {wanted}"
    return None


def _statistics_ranges(metadata: pq.FileMetaData, keys: list[str]) -> Ranges | None:
    """Min/max of `keys` from the row groups' statistics; None if any is missing."""
    names = metadata.schema.to_arrow_schema().names
    ranges: Ranges = {key: None for key in keys}
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        if row_group.num_rows == 0:
            continue
        for key in keys:
            stats = row_group.column(names.index(key)).statistics
            if stats is None or not stats.has_min_max:
                return None
            low, high = int(stats.min), int(stats.max)
            seen = ranges[key]
            ranges[key] = (low, high) if seen is None else (min(seen[0], low), max(seen[1], high))
    return ranges


def _csv_facts(path: Path, wanted: list[str]) -> tuple[list[str], int, Ranges]:
    data = pacsv.read_csv(path)
    if data.column_names != wanted:
        return data.column_names, data.num_rows, {}
    keys = [name for name in (POINT, "run", "month") if name in wanted]
    return data.column_names, data.num_rows, _table_ranges(data, keys)


def _table_ranges(table: pa.Table, keys: list[str]) -> Ranges:
    ranges: Ranges = {}
    for key in keys:
        if table.num_rows == 0:
            ranges[key] = None
            continue
        column = table.column(key)
        if column.null_count or not pa.types.is_integer(column.type):
            raise ValueError(f"column {key!r} is not a whole number in every row")
        extremes = pc.min_max(column)
        ranges[key] = (int(extremes["min"].as_py()), int(extremes["max"].as_py()))
    return ranges


def _compare(
    table: str, expected: PartExpectation, columns: list[str], rows: int, ranges: Ranges
) -> str | None:
    """The first way the facts of a part file differ from `expected`, or None."""
    wanted = expected.columns(table)
    if columns != wanted:
        return f"columns {columns}, expected {wanted}"
    count = expected.rows(table)
    if count is not None and rows != count:
        return f"{rows} rows, expected {count}"
    runs = expected.runs or (expected.offset, expected.offset + expected.size - 1)
    bounds = {"run": runs, "month": (0, expected.months - 1)}
    if expected.point is not None:
        bounds[POINT] = (expected.point, expected.point)
    elif expected.points is not None:
        bounds[POINT] = expected.points
    for key, (low, high) in bounds.items():
        seen = ranges.get(key)
        if seen is None:
            continue
        exact = count is not None and key != "month"
        if exact and seen != (low, high):
            return f"{key} {seen[0]}..{seen[1]}, expected {low}..{high}"
        if seen[0] < low or seen[1] > high:
            return f"{key} {seen[0]}..{seen[1]}, expected within {low}..{high}"
    return None


def verified_chunks(
    folder: str | os.PathLike[str], manifest: dict[str, Any], *, full: bool = False
) -> tuple[set[int], dict[int, str]]:
    """The parts of `folder` that are whole (`good`), and those present but not (`bad`: why).

    A part with no file in any table is neither (it is simply missing). A bad part is one whose
    files are damaged or incomplete (some tables only), or a part file the manifest's batch does
    not have (another batch's, or of the other format). Resuming keeps `good`, discards the
    files of `bad` (`discard_parts`) and reruns every planned part not in `good`. Raises
    DamagedFolderError if the manifest lacks what the check needs.
    """
    folder = Path(folder)
    expected = part_expectations(manifest, folder / MANIFEST_NAME)
    fmt = manifest["format"]
    good: set[int] = set()
    bad: dict[int, str] = {}
    for part in sorted(_present_parts(folder, fmt)):
        if part not in expected:
            bad[part] = f"part {part} is not a chunk of this batch (it has {len(expected)})"
            continue
        reason = verify_part(folder, part, fmt, expected[part], full=full)
        if reason is None:
            good.add(part)
        else:
            bad[part] = reason
    for other in FORMATS:
        if other == fmt:
            continue
        for part in sorted(_present_parts(folder, other)):
            good.discard(part)
            bad.setdefault(part, f"a {other} part in a {fmt} folder")
    return good, bad


def _present_parts(folder: Path, fmt: str) -> set[int]:
    """Parts with a file of format `fmt` in at least one table."""
    return {part for name in TABLE_NAMES for part in list_parts(parts_dir(folder, name, fmt), fmt)}


def discard_parts(folder: str | os.PathLike[str], parts: set[int] | dict[int, str]) -> None:
    """Remove the files of `parts` in every table and format (before they are written again)."""
    for table in TABLE_NAMES:
        for fmt in FORMATS:
            for part in parts:
                part_path(folder, table, fmt, part).unlink(missing_ok=True)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:160] if text else type(error).__name__
