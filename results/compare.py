"""Comparing finished runs (or the points of a sweep): differences with bootstrap CIs, outcomes.

Groups are the scenarios of several run folders, or the points of one sweep folder; the first
group is the reference. Tables are read part by part (one chunk at a time) and reduced at once,
so the agents, relations and events tables are never loaded whole; only the metrics table (one row
per run × month) is held, as a (runs, months, metrics) array per group.

Confidence intervals of means and of differences from the reference are 95% percentile bootstrap
intervals, seeded. The resampling unit is the run; beyond `MAX_UNITS` runs, the runs are dealt into
`MAX_UNITS` equal blocks (run number modulo MAX_UNITS) and blocks are resampled, which for
independent runs gives the same interval at a fraction of the cost. Outcome probabilities carry
95% Wilson score intervals.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from results.layout import (
    DamagedFolderError,
    has_table,
    list_parts,
    missing_table_note,
    parts_dir,
)
from results.manifest import MANIFEST_NAME, read_run_manifest
from results.schema import POINT
from simulation.record import METRIC_NAMES

BOOTSTRAP_DRAWS = 1000
MAX_UNITS = 2000
CONFIDENCE = 0.95
DEFAULT_SEED = 20221211
CSV_ROWS = 1_000_000
STATUSES: tuple[str, ...] = ("member", "frozen", "exited", "non_member")

COMPARE_COLUMNS = [
    "scenario", "metric", "month", "mean", "diff", "ci_low", "ci_high", "runs_low", "runs_high",
    "draws_low", "draws_high",
]  # fmt: skip
RUNS_RANGE = 0.90
"""The share of runs the `runs_low`..`runs_high` range of a difference holds (5% to 95%)."""
OUTCOME_COLUMNS = ["scenario", "outcome", "probability", "ci_low", "ci_high"]

OUTCOMES: dict[str, str] = {
    "armenia_frozen_or_exited": "Armenia frozen or exited by the last month",
    "belarus_recognises_abkhazia": "Belarus recognises Abkhazia",
    "article4_honoured_by_russia": "Article 4 honoured by Russia when invoked",
    "armenia_boycotts_or_refuses": "Armenia boycotts a summit or refuses a declaration",
    "belarus_sides_with_azerbaijan": "Belarus sides with Azerbaijan",
}
"""Outcome key -> its description (the `outcome` column holds the key)."""

ARMENIA_OUT = ("frozen", "exited")
"""Armenia's statuses that count for `armenia_frozen_or_exited`."""

OUTCOME_ACTIONS = ("recognize_breakaway", "invoke_article4", "honour_article4")
OUTCOME_ACTIONS += ("boycott_summit", "refuse_declaration", "side_with")

OUTCOME_TABLES: dict[str, str] = {
    "armenia_frozen_or_exited": "agents",
    "belarus_recognises_abkhazia": "events",
    "article4_honoured_by_russia": "events",
    "armenia_boycotts_or_refuses": "events",
    "belarus_sides_with_azerbaijan": "events",
}
"""Outcome key -> the table it is counted from."""

OPTIONAL_TABLES: dict[str, str] = {
    "agents": "the member status and alignment plots and the outcome armenia_frozen_or_exited",
    "events": "the events plot and the outcomes "
    + ", ".join(key for key, table in OUTCOME_TABLES.items() if table == "events"),
}
"""The tables a comparison can do without (metrics it cannot), and what it then leaves out."""


# --- reading part by part ----------------------------------------------------------------------


def table_parts(
    folder: str | os.PathLike[str], name: str, columns: Sequence[str] | None = None
) -> Iterator[pd.DataFrame]:
    """Table `name` of a run folder, one part (chunk) at a time, with only `columns`.

    Parquet and unfinished CSV folders are read part by part; a finished CSV table in blocks of
    CSV_ROWS rows. A `point` column is included when the folder has one (sweeps). Columns keep
    their stored types (no sorting).
    """
    folder = Path(folder)
    wanted = list(columns) if columns is not None else None
    parquet = parts_dir(folder, name, "parquet")
    if parquet.is_dir() or parquet.is_file():
        paths = [parquet] if parquet.is_file() else list(list_parts(parquet, "parquet").values())
        for path in paths:
            yield _damage_named(path, lambda p=path: _parquet_part(p, wanted))
        return
    whole = folder / f"{name}.csv"
    if whole.is_file():
        header = _damage_named(whole, lambda: pd.read_csv(whole, nrows=0).columns)
        cols = _with_point(wanted, list(header))
        blocks = pd.read_csv(whole, usecols=cols, chunksize=CSV_ROWS, keep_default_na=False)
        while (block := _damage_named(whole, lambda: next(blocks, None))) is not None:
            yield block
        return
    csv_parts = list_parts(parts_dir(folder, name, "csv"), "csv")
    if not csv_parts:
        raise FileNotFoundError(f"no table {name!r} in {folder}")
    for path in csv_parts.values():
        yield _damage_named(path, lambda p=path: _csv_part(p, wanted))


def _parquet_part(path: Path, wanted: list[str] | None) -> pd.DataFrame:
    cols = _with_point(wanted, pq.read_schema(path).names)
    return pq.read_table(path, columns=cols).to_pandas()


def _csv_part(path: Path, wanted: list[str] | None) -> pd.DataFrame:
    header = pd.read_csv(path, nrows=0).columns
    return pd.read_csv(path, usecols=_with_point(wanted, list(header)), keep_default_na=False)


def _damage_named(path: Path, read: Callable[[], Any]) -> Any:
    """`read()`; a file that cannot be read as its table raises DamagedFolderError naming it."""
    try:
        return read()
    except (pa.ArrowException, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        reason = error
    except (UnicodeDecodeError, ValueError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        reason = error
    first = (str(reason).strip().splitlines() or [type(reason).__name__])[0][:160]
    raise DamagedFolderError(path, f"unreadable table file ({first})")


def _with_point(columns: list[str] | None, available: Sequence[str]) -> list[str] | None:
    if columns is None:
        return None
    return ([POINT] if POINT in available and POINT not in columns else []) + columns


def read_filtered(
    folder: str | os.PathLike[str],
    name: str,
    columns: Sequence[str],
    keep: Callable[[pd.DataFrame], Any] | None = None,
) -> pd.DataFrame:
    """The rows of table `name` that `keep(part)` selects (a boolean mask), part by part."""
    pieces = []
    for part in table_parts(folder, name, columns):
        pieces.append(part[keep(part)] if keep is not None else part)
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=list(columns))


# --- the groups compared ------------------------------------------------------------------------


@dataclass
class Group:
    """One compared scenario (a run folder) or sweep point."""

    label: str
    folder: Path
    point: int | None = None
    runs: int = 0
    values: dict[str, Any] = field(default_factory=dict)
    nesting: tuple[str, int, int] | None = None
    """(posterior sha256, seed, runs per draw) of a batch whose consecutive runs share posterior
    draws (`--runs-per-draw` > 1); None otherwise (`nesting_of`)."""


def nesting_of(manifest: dict[str, Any]) -> tuple[str, int, int] | None:
    """The draws a batch nests its runs in (`Group.nesting`), from its manifest."""
    record = manifest.get("posterior") or {}
    per_draw = int(record.get("runs_per_draw", 1) or 1)
    if per_draw < 2:
        return None
    return str(record.get("sha256")), int(manifest.get("seed", 0)), per_draw


@dataclass
class Inputs:
    """What is compared: the groups (the first is the reference), the horizon and its dates."""

    groups: list[Group]
    months: int
    start: str
    dates: list[str]
    sweep: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    tables: frozenset[str] = frozenset(OPTIONAL_TABLES)
    missing: list[str] = field(default_factory=list)
    """Warning lines for the tables some folder lacks (also in `warnings`)."""

    @property
    def kind(self) -> str:
        return "point" if self.sweep is not None else "scenario"


def available_tables(inputs: Inputs) -> Inputs:
    """Set `inputs.tables` to the optional tables every compared folder holds; a warning line
    (in `missing` and `warnings`) for each folder and table that is not there."""
    tables = set(OPTIONAL_TABLES)
    for folder in dict.fromkeys(g.folder for g in inputs.groups):
        for name, needed_for in OPTIONAL_TABLES.items():
            if not has_table(folder, name):
                tables.discard(name)
                inputs.missing.append(missing_table_note(folder, name, needed_for))
    inputs.tables = frozenset(tables)
    inputs.warnings.extend(inputs.missing)
    return inputs


def _dates(start: str, months: int) -> list[str]:
    from simulation.calendar import month_labels

    return list(month_labels(start, months))


def compared_manifest(folder: Path) -> dict[str, Any]:
    """The checked manifest of a run or sweep folder to compare (`read_run_manifest`), with the
    `scenario` and `start` a comparison labels and dates by; DamagedFolderError otherwise."""
    manifest = read_run_manifest(folder)
    for key in ("scenario", "start"):
        if not isinstance(manifest.get(key), str):
            raise DamagedFolderError(folder / MANIFEST_NAME, f"no {key!r} text; cannot compare")
    return manifest


def read_points(folder: Path) -> pd.DataFrame:
    """A sweep folder's points.parquet; DamagedFolderError naming it when it cannot be read."""
    path = folder / "points.parquet"
    try:
        points = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise DamagedFolderError(path, f"unreadable points table ({first})") from None
    if POINT not in points.columns:
        raise DamagedFolderError(path, f"no {POINT!r} column")
    return points


def open_runs(folders: Sequence[str | os.PathLike[str]]) -> Inputs:
    """The run folders to compare (the first is the reference); ValueError if incomparable."""
    groups, warnings, horizons = [], [], set()
    for folder in map(Path, folders):
        manifest = compared_manifest(folder)
        if manifest.get("sweep"):
            raise ValueError(f"{folder} is a sweep; compare a sweep folder on its own")
        if manifest.get("status") != "complete":
            warnings.append(
                f"{folder} is {manifest.get('status')}: "
                f"{manifest.get('runs_completed', 0):,} of {manifest['runs']:,} runs"
            )
        runs = int(manifest.get("runs_completed") or manifest["runs"])
        groups.append(
            Group(str(manifest["scenario"]), folder, None, runs, {}, nesting_of(manifest))
        )
        horizons.add((manifest["start"], int(manifest["months"])))
    if len(horizons) > 1:
        shown = ", ".join(f"{s} + {m} months" for s, m in sorted(horizons))
        raise ValueError(f"the runs cover different horizons ({shown}); rerun with equal --months")
    labels = [g.label for g in groups]
    for group in groups:
        if labels.count(group.label) > 1:
            group.label = f"{group.label} ({group.folder.name})"
    seen: dict[str, int] = {}
    for group in groups:  # the same folder twice
        seen[group.label] = seen.get(group.label, 0) + 1
        if seen[group.label] > 1:
            group.label = f"{group.label} #{seen[group.label]}"
    start, months = horizons.pop()
    return available_tables(Inputs(groups, months, start, _dates(start, months), None, warnings))


def open_sweep(folder: str | os.PathLike[str], reference: int = 0) -> Inputs:
    """The points of a sweep folder, `reference` first."""
    folder = Path(folder)
    manifest = compared_manifest(folder)
    points = read_points(folder)
    if reference not in set(points[POINT]):
        raise ValueError(f"{folder} has points 0..{len(points) - 1}, not {reference}")
    keys = [c for c in points.columns if c != POINT]
    order = [reference, *(p for p in points[POINT] if p != reference)]
    groups = []
    nesting = nesting_of(manifest)
    for point in order:
        row = points[points[POINT] == point].iloc[0]
        values = {k: row[k] for k in keys}
        label = point_label(int(point), values)
        groups.append(Group(label, folder, int(point), 0, values, nesting))
    warnings = []
    if manifest.get("status") != "complete":
        warnings.append(f"{folder} is {manifest.get('status')}")
    start, months = manifest["start"], int(manifest["months"])
    return available_tables(Inputs(groups, months, start, _dates(start, months), points, warnings))


def short_key(key: str) -> str:
    """agents.BLR.beta_loyalty -> BLR.beta_loyalty; world.overstretch -> overstretch."""
    parts = key.split(".")
    return ".".join(parts[-2:]) if parts[0] == "agents" and len(parts) > 2 else parts[-1]


def point_label(point: int, values: dict[str, Any]) -> str:
    shown = ", ".join(f"{short_key(k)}={_fmt(v)}" for k, v in values.items())
    return f"p{point}: {shown}" if shown else f"p{point}"


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)


# --- metrics: means and differences with bootstrap intervals -----------------------------------


def metric_cube(metrics_df: pd.DataFrame, months: int) -> np.ndarray:
    """(runs, months, metrics) array from a metrics table of complete runs (any row order)."""
    df = metrics_df.sort_values(["run", "month"], kind="stable")
    n_runs = df["run"].nunique()
    if len(df) != n_runs * months:
        raise ValueError(f"expected {months} months for each of {n_runs} runs, got {len(df)} rows")
    values = df[list(METRIC_NAMES)].to_numpy(dtype=np.float64)
    return values.reshape(n_runs, months, len(METRIC_NAMES))


def unit_sums(values: np.ndarray, max_units: int = MAX_UNITS) -> tuple[np.ndarray, np.ndarray]:
    """Per resampling unit, the sum and count of the non-NaN values of each column.

    values: (n, C). Units are the rows when n <= max_units, else max_units blocks of rows
    (row i goes to block i mod max_units). Returns two (units, C) arrays.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] == 0:
        raise ValueError(f"values must be a non-empty (n, C) array, got shape {values.shape}")
    present = ~np.isnan(values)
    sums = np.where(present, values, 0.0)
    counts = present.astype(np.float64)
    n = values.shape[0]
    if n <= max_units:
        return sums, counts
    pad = (-n) % max_units
    shape = (-1, max_units, values.shape[1])
    sums = np.concatenate([sums, np.zeros((pad, values.shape[1]))]).reshape(shape).sum(axis=0)
    counts = np.concatenate([counts, np.zeros((pad, values.shape[1]))]).reshape(shape).sum(axis=0)
    return sums, counts


def bootstrap_means(
    values: np.ndarray,
    rng: np.random.Generator,
    draws: int = BOOTSTRAP_DRAWS,
    max_units: int = MAX_UNITS,
) -> np.ndarray:
    """(draws, C) bootstrap replicates of the column means of `values` (n, C), NaN ignored."""
    sums, counts = unit_sums(values, max_units)
    units = sums.shape[0]
    weights = rng.multinomial(units, np.full(units, 1.0 / units), size=draws).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (weights @ sums) / (weights @ counts)


def percentile_interval(draws: np.ndarray, confidence: float = CONFIDENCE) -> np.ndarray:
    """(2, C) lower and upper percentile bounds of bootstrap `draws` (draws, C), NaN ignored."""
    tail = (1.0 - confidence) / 2.0 * 100.0
    with np.errstate(invalid="ignore"), _quiet_nan():
        return np.nanpercentile(draws, [tail, 100.0 - tail], axis=0)


@contextmanager
def _quiet_nan() -> Iterator[None]:
    """Silence numpy's RuntimeWarnings for all-NaN columns (their result is NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def run_differences(cube: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """(2, months x metrics) the 5% and 95% quantiles of the runs' own differences, run k of
    `cube` minus run k of `reference` (both (runs, months, metrics), runs in run order); NaN
    where the two have different numbers of runs.

    The confidence interval of a difference in means narrows with the number of runs; this
    range does not: it is how far the difference itself varies from one run to the next. Two
    batches with the same seed are paired run by run (common random numbers), and under the
    same `--posterior` run k of each carries the same parameter draw, so the range holds the
    parameter uncertainty of the effect as well as its chance; with different seeds the runs are
    independent and it is the range of the difference between two independent runs.
    """
    if cube.shape != reference.shape:
        return np.full((2, cube.shape[1] * cube.shape[2]), np.nan)
    differences = (cube - reference).reshape(cube.shape[0], -1)
    tail = (1.0 - RUNS_RANGE) / 2.0 * 100.0
    with np.errstate(invalid="ignore"), _quiet_nan():
        return np.nanpercentile(differences, [tail, 100.0 - tail], axis=0)


def draw_differences(cube: np.ndarray, reference: np.ndarray, runs_per_draw: int) -> np.ndarray:
    """(2, months x metrics) the 5% and 95% quantiles over posterior draws of each draw's mean
    difference: runs k*N .. k*N + N - 1 of both batches share draw k (N = `runs_per_draw`,
    `csto run --runs-per-draw`), and their mean difference averages the chance out of that
    draw's effect (its own sampling error shrinks as 1/sqrt(N)). The range is where the effect
    lies over 90% of the posterior: the parameter uncertainty of the effect, which the mean's
    interval (Monte Carlo error) and the runs' range (chance and parameters together) are not.
    NaN when the batches differ in length or hold fewer than two whole draws: the range of the
    draws' means is `run_differences` of the two batches averaged draw by draw.
    """
    draws = cube.shape[0] // runs_per_draw
    if cube.shape != reference.shape or draws < 2:
        return np.full((2, cube.shape[1] * cube.shape[2]), np.nan)
    return run_differences(
        _draw_means(cube, draws, runs_per_draw), _draw_means(reference, draws, runs_per_draw)
    )


def _draw_means(cube: np.ndarray, draws: int, runs_per_draw: int) -> np.ndarray:
    """(draws, months, metrics) the mean of each draw's runs of `cube` (runs, months, metrics)."""
    whole = cube[: draws * runs_per_draw].reshape(draws, runs_per_draw, *cube.shape[1:])
    with np.errstate(invalid="ignore"), _quiet_nan():
        return np.nanmean(whole, axis=1)


def difference_table(
    cubes: dict[str, np.ndarray],
    dates: Sequence[str],
    seed: int = DEFAULT_SEED,
    draws: int = BOOTSTRAP_DRAWS,
    max_units: int = MAX_UNITS,
    nesting: dict[str, tuple[str, int, int] | None] | None = None,
) -> pd.DataFrame:
    """Every metric's mean per group and month, and its difference from the first group.

    cubes: group label -> (runs, months, metrics) array; the first group is the reference.
    Columns: group, metric, month, date, mean, mean_low, mean_high, diff, ci_low, ci_high (95%
    bootstrap intervals of the mean and of the difference; the reference's difference is 0),
    runs_low, runs_high (`run_differences`: where 90% of the runs' own differences lie),
    draws_low, draws_high (`draw_differences`, where a group and the reference nest their runs
    in the same posterior draws: `nesting`, label -> `Group.nesting`; NaN otherwise).
    Each group's resampling uses its own stream spawned from `seed`, so results are reproducible.
    """
    nesting = nesting or {}
    labels = list(cubes)
    streams = np.random.SeedSequence(seed).spawn(len(labels))
    boots, means = {}, {}
    for label, stream in zip(labels, streams, strict=True):
        cube = cubes[label]
        flat = cube.reshape(cube.shape[0], -1)
        boots[label] = bootstrap_means(flat, np.random.default_rng(stream), draws, max_units)
        with _quiet_nan():
            means[label] = np.nanmean(flat, axis=0)
    reference = labels[0]
    n_months, n_metrics = cubes[reference].shape[1:]
    month_index = np.repeat(np.arange(n_months), n_metrics)
    metric_index = np.tile(np.arange(n_metrics), n_months)
    frames = []
    for label in labels:
        mean_ci = percentile_interval(boots[label])
        diff = means[label] - means[reference]
        nested = nesting.get(label)
        if label == reference:
            diff_ci = runs_range = np.zeros((2, diff.size))
            draws_range = np.zeros((2, diff.size)) if nested else np.full((2, diff.size), np.nan)
        else:
            diff_ci = percentile_interval(boots[label] - boots[reference])
            runs_range = run_differences(cubes[label], cubes[reference])
            draws_range = np.full((2, diff.size), np.nan)
            if nested is not None and nested == nesting.get(reference):
                draws_range = draw_differences(cubes[label], cubes[reference], nested[2])
        frames.append(
            pd.DataFrame(
                {
                    "group": label,
                    "metric": np.asarray(METRIC_NAMES)[metric_index],
                    "month": month_index,
                    "date": np.asarray(dates)[month_index],
                    "mean": means[label],
                    "mean_low": mean_ci[0],
                    "mean_high": mean_ci[1],
                    "diff": diff,
                    "ci_low": diff_ci[0],
                    "ci_high": diff_ci[1],
                    "runs_low": runs_range[0],
                    "runs_high": runs_range[1],
                    "draws_low": draws_range[0],
                    "draws_high": draws_range[1],
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    order = {m: i for i, m in enumerate(METRIC_NAMES)}
    table["_order"] = table["metric"].map(order)
    table = table.sort_values(["_order", "month"], kind="stable").drop(columns="_order")
    return table.reset_index(drop=True)


def parse_months(text: str | None, dates: Sequence[str]) -> list[int]:
    """`--months` "M,..." (month numbers from 0, or YYYY-MM) -> month numbers; default the last."""
    if not text:
        return [len(dates) - 1]
    chosen = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        if item in dates:
            chosen.append(list(dates).index(item))
            continue
        try:
            month = int(item)
        except ValueError:
            raise ValueError(
                f"--months: {item!r} is neither a month number nor a date {dates[0]}..{dates[-1]}"
            ) from None
        if month < 0:
            month += len(dates)
        if not 0 <= month < len(dates):
            raise ValueError(f"--months: month {item} is outside 0..{len(dates) - 1}")
        chosen.append(month)
    return sorted(set(chosen))


# --- outcomes ----------------------------------------------------------------------------------


def wilson_interval(
    successes: int, trials: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion; (nan, nan) when there are no trials."""
    from scipy.stats import norm

    if trials <= 0:
        return float("nan"), float("nan")
    z = float(norm.ppf(0.5 + confidence / 2.0))
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def outcome_counts(
    events: pd.DataFrame, armenia_out_runs: set[int], runs: int
) -> dict[str, tuple[int, int]]:
    """Outcome key -> (runs with the outcome, runs at risk) for one group.

    events: the group's events (run, actor, action, target); armenia_out_runs: the runs in which
    Armenia's status was frozen or exited in some month; runs: the group's number of runs.
    Article 4 is at risk in the runs where it was invoked, and counts when Russia honoured it.
    """
    group = "_group"
    events = events[["run", "actor", "action", "target"]].assign(**{group: 0})
    out = pd.DataFrame({group: 0, "run": sorted(armenia_out_runs)}, dtype=np.int64)
    hits, trials = outcome_tallies(events, out, pd.Series([runs], index=[0]), by=group)
    return {key: (int(hits.at[0, key]), int(trials.at[0, key])) for key in OUTCOMES}


def outcome_tallies(
    events: pd.DataFrame, armenia_out: pd.DataFrame, runs: pd.Series, by: str = POINT
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(hits, trials) of every outcome for many groups at once: two frames indexed like `runs`
    (group -> number of runs) with one column per key of OUTCOMES.

    events: rows with `by`, run, actor, action, target; armenia_out: (`by`, run) rows of the runs
    in which Armenia was frozen or exited (see `armenia_out_runs`). The outcomes are those of
    `outcome_counts`, which is the one-group case.
    """

    def runs_with(
        actor: str | None, actions: tuple[str, ...], target: str | None = None
    ) -> pd.DataFrame:
        mask = events["action"].isin(actions)
        if actor is not None:
            mask &= events["actor"] == actor
        if target is not None:
            mask &= events["target"] == target
        return events.loc[mask, [by, "run"]].drop_duplicates()

    def per_group(pairs: pd.DataFrame) -> pd.Series:
        counts = pairs.groupby(by).size() if len(pairs) else pd.Series(dtype=np.int64)
        return counts.reindex(runs.index, fill_value=0).astype(np.int64)

    invoked = runs_with(None, ("invoke_article4",))
    honoured = runs_with("RUS", ("honour_article4",)).merge(invoked, on=[by, "run"])
    hits = pd.DataFrame(
        {
            "armenia_frozen_or_exited": per_group(armenia_out[[by, "run"]].drop_duplicates()),
            "belarus_recognises_abkhazia": per_group(runs_with("BLR", ("recognize_breakaway",))),
            "article4_honoured_by_russia": per_group(honoured),
            "armenia_boycotts_or_refuses": per_group(
                runs_with("ARM", ("boycott_summit", "refuse_declaration"))
            ),
            "belarus_sides_with_azerbaijan": per_group(runs_with("BLR", ("side_with",), "AZE")),
        }
    )
    trials = pd.DataFrame({key: runs.astype(np.int64) for key in OUTCOMES})
    trials["article4_honoured_by_russia"] = per_group(invoked)
    return hits, trials


def outcome_table(counts: dict[str, dict[str, tuple[int, int]]]) -> pd.DataFrame:
    """group, outcome, probability, ci_low, ci_high, runs (at risk), from `outcome_counts`."""
    rows = []
    for label, per_outcome in counts.items():
        for outcome, (hits, trials) in per_outcome.items():
            low, high = wilson_interval(hits, trials)
            probability = hits / trials if trials else float("nan")
            rows.append(
                {
                    "group": label,
                    "outcome": outcome,
                    "probability": probability,
                    "ci_low": low,
                    "ci_high": high,
                    "runs": trials,
                }
            )
    columns = ["group", "outcome", "probability", "ci_low", "ci_high", "runs"]
    return pd.DataFrame(rows, columns=columns)


# --- agents: status over time and final alignment; events: frequencies --------------------------


@dataclass
class AgentStats:
    """Counts accumulated over the agents table of one folder (per point for sweeps)."""

    status: pd.DataFrame  # [point,] agent, month, status, count
    alignment: pd.DataFrame  # [point,] agent, sum, count at the last month
    armenia_out: dict[int | None, set[int]]  # point -> runs with ARM frozen or exited


def armenia_out_runs(agents: pd.DataFrame) -> dict[int | None, set[int]]:
    """Per point (None for a table without `point`): the runs in which Armenia's status was
    frozen or exited in some month (the outcome `armenia_frozen_or_exited`).

    agents: rows of the agents table (run, agent, status at least; any months).
    """
    out = agents[(agents["agent"] == "ARM") & agents["status"].isin(ARMENIA_OUT)]
    if POINT not in agents.columns:
        return {None: set(out["run"].tolist())}
    return {int(point): set(rows["run"].tolist()) for point, rows in out.groupby(POINT)}


def agent_stats(folder: str | os.PathLike[str], last_month: int) -> AgentStats:
    """One pass over the agents table, part by part."""
    status_parts, align_parts = [], []
    armenia_out: dict[int | None, set[int]] = {}
    columns = ["run", "month", "agent", "status", "alignment"]
    for part in table_parts(folder, "agents", columns):
        keys = [POINT] if POINT in part.columns else []
        part = part.astype({"agent": str, "status": str})
        status_parts.append(part.groupby([*keys, "agent", "month", "status"]).size())
        final = part[part["month"] == last_month]
        align_parts.append(final.groupby([*keys, "agent"])["alignment"].agg(["sum", "count"]))
        for point, runs in armenia_out_runs(part).items():
            armenia_out.setdefault(point, set()).update(runs)
    status = pd.concat(status_parts).groupby(level=list(range(status_parts[0].index.nlevels))).sum()
    align = pd.concat(align_parts)
    align = align.groupby(level=list(range(align.index.nlevels))).sum()
    return AgentStats(status.rename("count").reset_index(), align.reset_index(), armenia_out)


def event_stats(folder: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(counts per [point,] actor, action with count and runs_with; the outcome events)."""
    counts, outcome_rows = [], []
    for part in table_parts(folder, "events", ["run", "actor", "action", "target"]):
        keys = [POINT] if POINT in part.columns else []
        part = part.astype({"actor": str, "action": str, "target": str})
        grouped = part.groupby([*keys, "actor", "action"])["run"]
        counts.append(pd.DataFrame({"count": grouped.size(), "runs_with": grouped.nunique()}))
        outcome_rows.append(part[part["action"].isin(OUTCOME_ACTIONS)])
    if counts:
        table = pd.concat(counts)
        table = table.groupby(level=list(range(table.index.nlevels))).sum().reset_index()
    else:
        table = pd.DataFrame(columns=["actor", "action", "count", "runs_with"])
    outcomes = pd.concat(outcome_rows, ignore_index=True) if outcome_rows else pd.DataFrame()
    return table, outcomes


def status_probabilities(status_counts: pd.DataFrame, dates: Sequence[str]) -> pd.DataFrame:
    """agent, month, date, status, probability (share of runs) from status counts of one group."""
    totals = status_counts.groupby(["agent", "month"])["count"].transform("sum")
    table = status_counts.assign(probability=status_counts["count"] / totals)
    full = pd.MultiIndex.from_product(
        [sorted(table["agent"].unique()), range(len(dates)), STATUSES],
        names=["agent", "month", "status"],
    )
    table = table.set_index(["agent", "month", "status"])["probability"]
    table = table.reindex(full, fill_value=0.0).reset_index()
    table["date"] = np.asarray(dates)[table["month"].to_numpy()]
    return table[["agent", "month", "date", "status", "probability"]]


def csto_members(status_counts: pd.DataFrame) -> list[str]:
    """Agents that are CSTO members (member, frozen or exited) in some run at month 0."""
    first = status_counts[(status_counts["month"] == 0) & (status_counts["status"] != "non_member")]
    return sorted(first["agent"].unique())


# --- the whole comparison --------------------------------------------------------------------


@dataclass
class Comparison:
    """Everything `csto compare` writes and draws."""

    inputs: Inputs
    differences: pd.DataFrame  # difference_table, all months
    outcomes: pd.DataFrame  # outcome_table
    status: pd.DataFrame  # group, agent, month, date, status, probability
    alignment: pd.DataFrame  # group x agent mean alignment at the last month
    events: pd.DataFrame  # group, actor, action, count, runs_with, share_of_runs
    summaries: dict[str, pd.DataFrame]  # group -> summary rows (month, date, metric, p05..p95)
    members: list[str]

    @property
    def labels(self) -> list[str]:
        return [g.label for g in self.inputs.groups]


def _summary(folder: Path) -> pd.DataFrame | None:
    from results.store import read_table

    return read_table(folder, "summary") if (folder / "summary.csv").exists() else None


def _select(df: pd.DataFrame, point: int | None) -> pd.DataFrame:
    if point is None or POINT not in df.columns:
        return df
    return df[df[POINT] == point].drop(columns=POINT)


def compare(
    inputs: Inputs, seed: int = DEFAULT_SEED, progress: Callable[[], None] | None = None
) -> Comparison:
    """Read every group's tables (part by part) and compute the comparison.

    Only the tables in `inputs.tables` besides metrics are read; what needs another is left out
    (no status, alignment or event rows, and only the outcomes of the tables present).
    """
    from results.store import read_table

    tick = progress or (lambda: None)
    last = inputs.months - 1
    use_agents, use_events = "agents" in inputs.tables, "events" in inputs.tables
    cubes, outcome_input, summaries = {}, {}, {}
    status_frames, align_rows, event_frames = [], {}, []
    folders = list(dict.fromkeys(g.folder for g in inputs.groups))
    metrics = {f: read_table(f, "metrics") for f in folders}
    agents = {f: agent_stats(f, last) for f in folders} if use_agents else {}
    tick()
    events = {f: event_stats(f) for f in folders} if use_events else {}
    summary = {f: _summary(f) for f in folders}
    tick()
    members: set[str] = set()
    outcomes_kept = {k for k, table in OUTCOME_TABLES.items() if table in inputs.tables}
    for group in inputs.groups:
        folder, point = group.folder, group.point
        cube = metric_cube(_select(metrics[folder], point), inputs.months)
        cubes[group.label] = cube
        group.runs = cube.shape[0]
        armenia_out: set[int] = set()
        if use_agents:
            stats = agents[folder]
            armenia_out = stats.armenia_out.get(point, set())
            status_counts = _select(stats.status, point)
            members.update(csto_members(status_counts))
            probabilities = status_probabilities(status_counts, inputs.dates)
            status_frames.append(probabilities.assign(group=group.label))
            align = _select(stats.alignment, point).set_index("agent")
            align_rows[group.label] = align["sum"] / align["count"]
        outcome_events = pd.DataFrame(columns=["run", "actor", "action", "target"])
        if use_events:
            counts, found = events[folder]
            counts = _select(counts, point).copy()
            counts["share_of_runs"] = counts["runs_with"] / group.runs
            event_frames.append(counts.assign(group=group.label))
            if POINT in found.columns and point is not None:
                found = found[found[POINT] == point]
            if len(found):
                outcome_events = found
        every = outcome_counts(outcome_events, armenia_out, group.runs)
        outcome_input[group.label] = {k: v for k, v in every.items() if k in outcomes_kept}
        if summary[folder] is not None:
            summaries[group.label] = _select(summary[folder], point)
    tick()
    return Comparison(
        inputs=inputs,
        differences=difference_table(
            cubes, inputs.dates, seed, nesting={g.label: g.nesting for g in inputs.groups}
        ),
        outcomes=outcome_table(outcome_input),
        status=_concat(status_frames, ["agent", "month", "date", "status", "probability"]),
        alignment=pd.DataFrame(align_rows).T.reindex(index=list(align_rows)),
        events=_concat(event_frames, ["actor", "action", "count", "runs_with", "share_of_runs"]),
        summaries=summaries,
        members=sorted(members),
    )


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The frames as one, or an empty frame with `columns` and `group` when there are none."""
    if frames:
        return pd.concat(frames, ignore_index=True)
    return pd.DataFrame(columns=[*columns, "group"])


def compare_csv(comparison: Comparison, months: Sequence[int]) -> pd.DataFrame:
    """compare.csv: the group column named `scenario` (or `point`), at the chosen months."""
    table = comparison.differences[comparison.differences["month"].isin(months)]
    return _named(table, comparison)[[comparison.inputs.kind, *COMPARE_COLUMNS[1:]]]


def outcomes_csv(comparison: Comparison) -> pd.DataFrame:
    return _named(comparison.outcomes, comparison)[[comparison.inputs.kind, *OUTCOME_COLUMNS[1:]]]


def _named(table: pd.DataFrame, comparison: Comparison) -> pd.DataFrame:
    if comparison.inputs.kind == "point":
        point_of = {g.label: g.point for g in comparison.inputs.groups}
        return table.assign(point=table["group"].map(point_of))
    return table.rename(columns={"group": "scenario"})
