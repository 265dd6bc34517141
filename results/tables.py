"""Pure functions turning a `RunRecord` into long-format pandas tables.

Rows are laid out in the record's array order (run, then month, then agent or pair), built with
numpy repeat/tile so that a record of thousands of replications converts without Python loops.
The columns and dtypes are those of `results.schema`. A record with `run_ids` numbers its runs by
them, and one with `point_ids` (a design chunk over several points) gets a `point` column from them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from results.schema import (
    FLOAT,
    MONTH_DTYPE,
    POINT,
    POINT_DTYPE,
    RUN_DTYPE,
    STRING,
    conform,
    empty_table,
)
from simulation.calendar import month_labels
from simulation.record import AGENT_FIELDS, EVENT_FIELDS, METRIC_NAMES, STATUS_NAMES, RunRecord

_AGENT_FLOATS: tuple[str, ...] = ("alignment", "credibility", "standing", "threat")


def code_labels(
    codes: np.ndarray, names: list[str] | tuple[str, ...] | np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """Map integer `codes` to the strings `names[code]` as a string array (no Python loop).

    Raises ValueError if a code is outside 0..len(names)-1.
    """
    codes = np.asarray(codes, dtype=np.int64).reshape(-1)
    if codes.size and (codes.min() < 0 or codes.max() >= len(names)):
        raise ValueError(f"codes must lie in 0..{len(names) - 1}, got {codes.min()}..{codes.max()}")
    dictionary = pa.array([str(name) for name in names], type=pa.large_string())
    strings = pa.DictionaryArray.from_arrays(pa.array(codes), dictionary).cast(pa.large_string())
    return pd.array(strings, dtype=STRING)


def _require_shape(what: str, array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Return `array` as numpy, raising ValueError unless it has exactly `shape`."""
    array = np.asarray(array)
    if array.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, got {array.shape}")
    return array


def _ids(record: RunRecord, ids: np.ndarray, what: str, dtype: np.dtype) -> np.ndarray:
    """A per-replication id array of `record` as `dtype`, checked to have shape (R,)."""
    return _require_shape(what, ids, (record.replications,)).astype(dtype, copy=False)


def run_numbers(record: RunRecord) -> np.ndarray:
    """The `run` of each replication: `record.run_ids`, else run_offset + 0..R-1."""
    if record.run_ids is not None:
        return _ids(record, record.run_ids, "run_ids", RUN_DTYPE)
    return np.arange(record.replications, dtype=RUN_DTYPE) + RUN_DTYPE.type(record.run_offset)


def _runs(record: RunRecord, repeats: int) -> np.ndarray:
    """Global run numbers, each repeated `repeats` times (the run axis is outermost)."""
    return np.repeat(run_numbers(record), repeats)


def _points(record: RunRecord, point: int | None, repeats: int) -> int | np.ndarray | None:
    """The `point` column: `point` everywhere if given, else `record.point_ids` each repeated
    `repeats` times, else None (no column)."""
    if point is not None or record.point_ids is None:
        return point
    return np.repeat(_ids(record, record.point_ids, "point_ids", POINT_DTYPE), repeats)


def _months(record: RunRecord, repeats: int) -> np.ndarray:
    """Month indices, each repeated `repeats` times, tiled over the runs."""
    months = np.repeat(np.arange(record.months, dtype=MONTH_DTYPE), repeats)
    return np.tile(months, record.replications)


def _dates(record: RunRecord, months: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The "YYYY-MM" label of each month index in `months`."""
    return code_labels(months, month_labels(record.start, record.months))


def _finish(columns: dict[str, object], name: str, point: int | np.ndarray | None) -> pd.DataFrame:
    """Assemble the columns into table `name`, adding the `point` column first if given (one
    point for every row, or an array of one per row)."""
    df = pd.DataFrame(columns)
    if isinstance(point, np.ndarray):
        df.insert(0, POINT, point)
    elif point is not None:
        df.insert(0, POINT, np.full(len(df), operator.index(point), dtype=POINT_DTYPE))
    return conform(df, name)


def metrics_table(record: RunRecord, point: int | None = None) -> pd.DataFrame:
    """One row per run × month: run, month, date and the five cohesion metrics."""
    shape = (record.replications, record.months)
    months = _months(record, 1)
    columns: dict[str, object] = {
        "run": _runs(record, record.months),
        "month": months,
        "date": _dates(record, months),
    }
    for metric in METRIC_NAMES:
        values = _require_shape(f"metrics[{metric!r}]", record.metrics[metric], shape)
        columns[metric] = values.astype(FLOAT, copy=False).reshape(-1)
    return _finish(columns, "metrics", _points(record, point, record.months))


def agents_table(record: RunRecord, point: int | None = None) -> pd.DataFrame:
    """One row per run × month × agent: the agent's posture, scores and CSTO status."""
    n_agents = len(record.agent_codes)
    shape = (record.replications, record.months, n_agents)
    fields = {f: _require_shape(f"agents[{f!r}]", record.agents[f], shape) for f in AGENT_FIELDS}
    months = _months(record, n_agents)
    columns: dict[str, object] = {
        "run": _runs(record, record.months * n_agents),
        "month": months,
        "date": _dates(record, months),
        "agent": code_labels(np.tile(np.arange(n_agents), shape[0] * shape[1]), record.agent_codes),
        "posture": fields["posture"].astype(np.int8, copy=False).reshape(-1),
    }
    for name in _AGENT_FLOATS:
        columns[name] = fields[name].astype(FLOAT, copy=False).reshape(-1)
    columns["status"] = code_labels(fields["status"], STATUS_NAMES)
    return _finish(columns, "agents", _points(record, point, record.months * n_agents))


def relation_months(months: int, every: int | None) -> np.ndarray:
    """The months kept in the relations table: m with m % every == 0, and the last month.

    None (or 1) keeps every month.
    """
    if every is not None and every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    index = np.arange(months, dtype=MONTH_DTYPE)
    if every is None or every == 1 or months == 0:
        return index
    return index[(index % every == 0) | (index == months - 1)]


def relations_table(
    record: RunRecord, point: int | None = None, every: int | None = None
) -> pd.DataFrame:
    """One row per run × month × ordered pair of distinct actors: source's warmth to target.

    With `every` K, only the months m with m % K == 0 and the last month are kept.
    """
    n_actors = len(record.actor_codes)
    shape = (record.replications, record.months, n_actors, n_actors)
    relations = _require_shape("relations", record.relations, shape)
    sources, targets = np.nonzero(~np.eye(n_actors, dtype=bool))
    n_pairs = sources.size
    kept = relation_months(record.months, every)
    if len(kept) != record.months:
        relations = relations[:, kept]
    cells = shape[0] * len(kept)
    return _finish(
        {
            "run": _runs(record, len(kept) * n_pairs),
            "month": np.tile(np.repeat(kept, n_pairs), record.replications),
            "source": code_labels(np.tile(sources, cells), record.actor_codes),
            "target": code_labels(np.tile(targets, cells), record.actor_codes),
            "relation": relations[:, :, sources, targets].astype(np.float32).reshape(-1),
        },
        "relations",
        _points(record, point, len(kept) * n_pairs),
    )


def _event_arrays(record: RunRecord) -> dict[str, np.ndarray] | None:
    """The record's event arrays as 1-D numpy arrays of equal length, or None if it has none."""
    if not record.events:
        return None
    missing = [f for f in EVENT_FIELDS if f not in record.events]
    if missing:
        raise ValueError(f"events lack the fields {missing}")
    arrays = {f: np.asarray(record.events[f]).reshape(-1) for f in EVENT_FIELDS}
    if len({a.size for a in arrays.values()}) > 1:
        raise ValueError("event arrays must all have the same length")
    runs = arrays["run"]
    if runs.size and (runs.min() < 0 or runs.max() >= record.replications):
        raise ValueError(f"event runs must be local indices 0..{record.replications - 1}")
    return arrays


def events_table(record: RunRecord, point: int | None = None) -> pd.DataFrame:
    """One row per event, in record order; `target` is "" for events without a target."""
    arrays = _event_arrays(record)
    if arrays is None or arrays["run"].size == 0:
        points = _points(record, point, 0)
        return _finish(dict(empty_table("events").items()), "events", points)
    months = arrays["month"].astype(MONTH_DTYPE)
    targets = arrays["target"].astype(np.int64)
    no_target = len(record.actor_codes)
    local = arrays["run"].astype(np.int64)
    points = _points(record, point, 1)
    return _finish(
        {
            "run": run_numbers(record)[local],
            "month": months,
            "date": _dates(record, months),
            "actor": code_labels(arrays["actor"], record.actor_codes),
            "action": code_labels(arrays["action"], record.action_names),
            "target": code_labels(
                np.where(targets == -1, no_target, targets), [*record.actor_codes, ""]
            ),
            "goldstein": arrays["goldstein"].astype(FLOAT),
        },
        "events",
        points[local] if isinstance(points, np.ndarray) else points,
    )


TableFunction = Callable[..., pd.DataFrame]

TABLE_FUNCTIONS: dict[str, TableFunction] = {
    "metrics": metrics_table,
    "agents": agents_table,
    "relations": relations_table,
    "events": events_table,
}
"""Table name -> the function building it, in the order of `schema.TABLE_NAMES`."""


def all_tables(
    record: RunRecord,
    point: int | None = None,
    tables: Sequence[str] | None = None,
    relations_every: int | None = None,
) -> dict[str, pd.DataFrame]:
    """The tables of `record` (default all four; else those in `tables`), keyed by table name.

    `relations_every` thins the relations table (see `relations_table`).
    """
    chosen = TABLE_FUNCTIONS if tables is None else [n for n in TABLE_FUNCTIONS if n in tables]
    return {
        name: relations_table(record, point, relations_every)
        if name == "relations"
        else TABLE_FUNCTIONS[name](record, point)
        for name in chosen
    }
