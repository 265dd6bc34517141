"""Column names, dtypes and sort keys of the result tables: the single source of their layout.

Every table the package builds or reads back is passed through `conform`, so a table built from a
record, read from Parquet or read from CSV has exactly the same columns and dtypes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulation.record import METRIC_NAMES

STRING = pd.StringDtype("pyarrow", na_value=np.nan)
"""Text columns: pandas' default string dtype, stored as Arrow strings (round-trips Parquet)."""

POINT = "point"
"""Optional first column: index of a parameter-sweep point."""

POINT_DTYPE = np.dtype(np.int64)
RUN_DTYPE = np.dtype(np.int64)
MONTH_DTYPE = np.dtype(np.int16)
FLOAT = np.dtype(np.float64)

TABLE_NAMES: tuple[str, ...] = ("metrics", "agents", "relations", "events")
"""The four per-run tables of a run folder, in writing order."""

SCHEMAS: dict[str, dict[str, object]] = {
    "metrics": {
        "run": RUN_DTYPE,
        "month": MONTH_DTYPE,
        "date": STRING,
        **{name: FLOAT for name in METRIC_NAMES},
    },
    "agents": {
        "run": RUN_DTYPE,
        "month": MONTH_DTYPE,
        "date": STRING,
        "agent": STRING,
        "posture": np.dtype(np.int8),
        "alignment": FLOAT,
        "credibility": FLOAT,
        "standing": FLOAT,
        "threat": FLOAT,
        "status": STRING,
    },
    "relations": {
        "run": RUN_DTYPE,
        "month": MONTH_DTYPE,
        "source": STRING,
        "target": STRING,
        "relation": np.dtype(np.float32),
    },
    "events": {
        "run": RUN_DTYPE,
        "month": MONTH_DTYPE,
        "date": STRING,
        "actor": STRING,
        "action": STRING,
        "target": STRING,
        "goldstein": FLOAT,
    },
    "summary": {
        "month": MONTH_DTYPE,
        "date": STRING,
        "metric": STRING,
        "mean": FLOAT,
        "p05": FLOAT,
        "p50": FLOAT,
        "p95": FLOAT,
    },
}

SORT_KEYS: dict[str, tuple[str, ...]] = {
    "metrics": ("run", "month"),
    "agents": ("run", "month", "agent"),
    "relations": ("run", "month", "source", "target"),
    "events": ("run", "month"),
    "summary": (),
}
"""Natural keys that `store.read_table` sorts by (stably); empty: keep the stored order."""


def schema(name: str, with_point: bool = False) -> dict[str, object]:
    """Column -> dtype of table `name`, with the `point` column first when `with_point`."""
    try:
        columns = SCHEMAS[name]
    except KeyError:
        raise ValueError(f"unknown table {name!r}; expected one of {sorted(SCHEMAS)}") from None
    return {POINT: POINT_DTYPE, **columns} if with_point else dict(columns)


def sort_keys(name: str, with_point: bool = False) -> list[str]:
    """The keys `name` is sorted by, with `point` first when `with_point`."""
    keys = list(SORT_KEYS[name])
    return [POINT, *keys] if with_point and keys else keys


def float_columns(name: str) -> list[str]:
    """Floating-point columns of table `name` (their empty CSV cells are NaN)."""
    return [
        col
        for col, dtype in schema(name).items()
        if isinstance(dtype, np.dtype) and dtype.kind == "f"
    ]


def empty_table(name: str, with_point: bool = False) -> pd.DataFrame:
    """A table `name` with no rows but the right columns and dtypes."""
    return pd.DataFrame(
        {col: pd.Series([], dtype=dtype) for col, dtype in schema(name, with_point).items()}
    )


def conform(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Check that `df` has exactly the columns of table `name` and cast them to its dtypes.

    A leading `point` column is accepted. Raises ValueError on missing, extra or misordered
    columns. Columns already of the right dtype are not copied.
    """
    expected = schema(name, with_point=POINT in df.columns)
    if list(df.columns) != list(expected):
        raise ValueError(
            f"table {name!r} must have columns {list(expected)}, got {list(df.columns)}"
        )
    casts = {col: dtype for col, dtype in expected.items() if df[col].dtype != dtype}
    return df.astype(casts) if casts else df
