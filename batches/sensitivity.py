"""Global sensitivity analysis of the model's outcomes: designs, outcomes per point, indices.

The analysis core is independent of the model: `design` draws the points of a Morris screening
(Morris 1991, elementary effects on a grid of 4 levels) or of a Sobol analysis (Saltelli 2002 /
Saltelli et al. 2010 sampling on a scrambled Sobol' sequence, first-order and total indices only);
whatever runs them, `point_outcomes` reduces the run-folder tables of the batch to one row per
point; `analyse` estimates the indices with SALib (Herman & Usher 2017); `convergence` re-estimates
the total indices on growing subsets to show whether the design is large enough.

Log-uniform parameters are sampled uniformly in log(value): the SALib problem holds their bounds as
[ln low, ln high], the sampled column is exponentiated to give the design's value, and `analyse`
takes the logarithm again before handing the design to SALib. Morris elementary effects are
therefore per fraction of a parameter's sampled range (a range in log space for log-uniform ones),
comparable across parameters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from results.compare import ARMENIA_OUT, OUTCOMES, outcome_tallies
from results.schema import POINT
from simulation.free_parameters import FreeParameter
from simulation.record import METRIC_NAMES

METHODS: tuple[str, ...] = ("morris", "sobol")
MORRIS_LEVELS = 4
RESAMPLES = 100
CONFIDENCE = 0.95
DEFAULT_SEED = 20221211
COUNT = "n"
NOTE = "note"
MORRIS_COLUMNS: tuple[str, ...] = ("mu", "mu_star", "mu_star_conf", "sigma")
SOBOL_COLUMNS: tuple[str, ...] = ("S1", "S1_conf", "ST", "ST_conf")

RATE_EVENTS: tuple[tuple[str, str], ...] = (
    ("BLR", "signal_loyalty"),
    ("BLR", "visit_breakaway"),
    ("ARM", "summon_ambassador"),
    ("ARM", "court_west"),
    ("AZE", "attack"),
    ("GEO", "summon_ambassador"),
)
"""(actor, action) pairs whose rate per run-year is an outcome: each actor's most frequent acts
in `baseline` and `history-2022` (docs/CALIBRATION.md)."""

RATE_PREFIX = "rate."


# --- the problem and the design ----------------------------------------------------------------


def problem(params: Sequence[FreeParameter]) -> dict:
    """The SALib problem: names are the dotted keys; log-uniform bounds are [ln low, ln high]."""
    return {
        "num_vars": len(params),
        "names": [p.key for p in params],
        "bounds": [
            [math.log(p.low), math.log(p.high)] if p.log else [p.low, p.high] for p in params
        ],
    }


def to_values(params: Sequence[FreeParameter], sampled: np.ndarray) -> np.ndarray:
    """Sampled (problem-space) columns -> parameter values: exp for log-uniform, within range."""
    values = np.array(sampled, dtype=np.float64, copy=True)
    for column, param in enumerate(params):
        if param.log:
            values[:, column] = np.exp(values[:, column])
        values[:, column] = np.clip(values[:, column], param.low, param.high)
    return values


def to_sampled(params: Sequence[FreeParameter], values: np.ndarray) -> np.ndarray:
    """Parameter values -> problem-space columns (log for log-uniform ones)."""
    sampled = np.array(values, dtype=np.float64, copy=True)
    for column, param in enumerate(params):
        if param.log:
            sampled[:, column] = np.log(sampled[:, column])
    return sampled


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def design(
    method: str,
    params: Sequence[FreeParameter],
    *,
    trajectories: int = 20,
    samples: int = 512,
    seed: int,
) -> pd.DataFrame:
    """The points to run: a `point` column (0, 1, ...) and one column per parameter key.

    morris: `trajectories` one-at-a-time trajectories of D + 1 points on a 4-level grid
    (SALib.sample.morris); sobol: N = `samples` base points (a power of 2) expanded to N (D + 2)
    points (SALib.sample.sobol, Saltelli's scheme without second-order terms). Seeded: the same
    seed gives the same design.
    """
    from SALib.sample import morris, sobol

    _check_method(method)
    if not params:
        raise ValueError("a design needs at least one parameter")
    spec = problem(params)
    if method == "morris":
        if trajectories < 2:
            raise ValueError(f"trajectories must be >= 2, got {trajectories}")
        sampled = morris.sample(spec, trajectories, num_levels=MORRIS_LEVELS, seed=seed)
    else:
        if samples < 2 or samples & (samples - 1):
            raise ValueError(f"samples must be a power of 2 (Sobol' sequence), got {samples}")
        sampled = sobol.sample(spec, samples, calc_second_order=False, seed=seed)
    frame = pd.DataFrame(to_values(params, sampled), columns=spec["names"])
    frame.insert(0, POINT, np.arange(len(frame), dtype=np.int64))
    return frame


def design_size(method: str, dimensions: int, *, trajectories: int = 20, samples: int = 512) -> int:
    """Number of points `design` draws: r (D + 1) for Morris, N (D + 2) for Sobol."""
    _check_method(method)
    return trajectories * (dimensions + 1) if method == "morris" else samples * (dimensions + 2)


# --- the indices -------------------------------------------------------------------------------


def outcome_columns(outcomes_frame: pd.DataFrame) -> list[str]:
    """The outcome columns of a point x outcome frame (all but `point` and `n`)."""
    return [c for c in outcomes_frame.columns if c not in (POINT, COUNT)]


def _aligned(design_frame: pd.DataFrame, outcomes_frame: pd.DataFrame) -> pd.DataFrame:
    """The outcomes in the design's point order; ValueError if a point has none."""
    indexed = outcomes_frame.set_index(POINT)
    missing = design_frame[POINT][~design_frame[POINT].isin(indexed.index)]
    if len(missing):
        raise ValueError(
            f"{len(missing)} of {len(design_frame)} design points have no outcomes "
            f"(first: point {int(missing.iloc[0])})"
        )
    return indexed.loc[design_frame[POINT].to_numpy()].reset_index()


def _unusable(values: np.ndarray) -> str:
    """Why an outcome cannot be analysed ('' if it can)."""
    undefined = int(np.isnan(values).sum())
    if undefined:
        return f"not analysed: {undefined} of {values.size} points have no value"
    if np.ptp(values) == 0:
        return "not analysed: no variance (the outcome is the same at every point)"
    return ""


def _check_layout(method: str, rows: int, dimensions: int) -> None:
    block = dimensions + 1 if method == "morris" else dimensions + 2
    if rows == 0 or rows % block:
        raise ValueError(
            f"a {method} design over {dimensions} parameters has a multiple of {block} points, "
            f"got {rows}"
        )


def analyse(
    method: str,
    params: Sequence[FreeParameter],
    design_frame: pd.DataFrame,
    outcomes_frame: pd.DataFrame,
    *,
    seed: int,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
) -> pd.DataFrame:
    """Sensitivity indices of every outcome column, each outcome analysed on its own.

    Columns: outcome, parameter, then mu, mu_star, mu_star_conf, sigma (Morris: Morris 1991,
    mu* of Campolongo et al. 2007) or S1, S1_conf, ST, ST_conf (Sobol: first-order and total
    indices, Saltelli et al. 2010 estimators), and `note`. `*_conf` are half-widths of the
    `confidence` bootstrap intervals (`resamples` draws, seeded). An outcome with no variance or
    with undefined points gets NaN indices and a note.
    """
    from SALib.analyze import morris, sobol

    _check_method(method)
    keys = [p.key for p in params]
    _check_layout(method, len(design_frame), len(keys))
    spec = problem(params)
    outcomes = _aligned(design_frame, outcomes_frame)
    sampled = to_sampled(params, design_frame[keys].to_numpy(dtype=np.float64))
    columns = MORRIS_COLUMNS if method == "morris" else SOBOL_COLUMNS
    frames = []
    for name in outcome_columns(outcomes_frame):
        values = outcomes[name].to_numpy(dtype=np.float64)
        note = _unusable(values)
        if note:
            result = {c: np.full(len(keys), np.nan) for c in columns}
        elif method == "morris":
            result = morris.analyze(
                spec,
                sampled,
                values,
                num_resamples=resamples,
                conf_level=confidence,
                num_levels=MORRIS_LEVELS,
                seed=seed,
            )
        else:
            result = sobol.analyze(
                spec,
                values,
                calc_second_order=False,
                num_resamples=resamples,
                conf_level=confidence,
                seed=seed,
            )
        frame = pd.DataFrame({c: np.asarray(result[c], dtype=np.float64) for c in columns})
        frame.insert(0, "parameter", keys)
        frame.insert(0, "outcome", name)
        frame[NOTE] = note
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def convergence(
    params: Sequence[FreeParameter],
    design_frame: pd.DataFrame,
    outcomes_frame: pd.DataFrame,
    sizes: Sequence[int],
    *,
    seed: int = DEFAULT_SEED,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
) -> pd.DataFrame:
    """Sobol indices re-estimated on the first n base samples, for each n of `sizes`.

    A Sobol design (Saltelli's scheme, no second order) lays its points in blocks of D + 2 per
    base sample, so the first n blocks are a complete design of n base samples. Columns: outcome,
    parameter, samples (n), points (n (D + 2)), S1, S1_conf, ST, ST_conf, note. Stable indices and
    shrinking intervals as n grows show the analysis is not under-sampled.
    """
    block = len(params) + 2
    _check_layout("sobol", len(design_frame), len(params))
    total = len(design_frame) // block
    frames = []
    for n in sorted(set(int(s) for s in sizes)):
        if not 2 <= n <= total:
            raise ValueError(f"sizes must lie in 2..{total} base samples, got {n}")
        head = design_frame.iloc[: n * block]
        indices = analyse(
            "sobol",
            params,
            head,
            outcomes_frame,
            seed=seed,
            confidence=confidence,
            resamples=resamples,
        )
        indices.insert(2, "samples", n)
        indices.insert(3, "points", n * block)
        frames.append(indices)
    return pd.concat(frames, ignore_index=True)


def convergence_sizes(samples: int, smallest: int = 16) -> list[int]:
    """Powers of 2 from `smallest` up to `samples` (the default subsets of `convergence`)."""
    sizes = []
    n = smallest
    while n < samples:
        sizes.append(n)
        n *= 2
    return [*sizes, samples]


def _score(indices: pd.DataFrame) -> str:
    """The column that ranks parameters: mu_star (Morris) or ST (Sobol)."""
    if "mu_star" in indices.columns:
        return "mu_star"
    if "ST" in indices.columns:
        return "ST"
    raise ValueError("indices need a mu_star (Morris) or ST (Sobol) column")


def ranking(indices: pd.DataFrame) -> dict[str, list[str]]:
    """Outcome -> its parameters, most influential first (by mu_star or ST; NaN left out)."""
    score = _score(indices)
    ranks: dict[str, list[str]] = {}
    for outcome, rows in indices.groupby("outcome", sort=False):
        rows = rows.dropna(subset=[score]).sort_values(score, ascending=False, kind="stable")
        ranks[str(outcome)] = rows["parameter"].tolist()
    return ranks


def format_ranking(indices: pd.DataFrame, top: int = 8) -> str:
    """The printed ranking: per outcome, its `top` parameters with their index and interval."""
    from results.sensitivity_plots import short_label

    score = _score(indices)
    conf = f"{score}_conf"
    lines = []
    for outcome, rows in indices.groupby("outcome", sort=False):
        notes = [
            n for n in rows.get(NOTE, pd.Series(dtype=str)).unique() if isinstance(n, str) and n
        ]
        if notes:
            lines.append(f"{outcome}: {notes[0]}")
            continue
        rows = rows.dropna(subset=[score]).sort_values(score, ascending=False, kind="stable")
        shown = [
            f"{short_label(r.parameter)} {getattr(r, score):.3g} ±{getattr(r, conf):.2g}"
            for r in rows.head(top).itertuples()
        ]
        lines.append(f"{outcome} ({score}): " + ", ".join(shown))
    return "\n".join(lines)


# --- outcomes per point ------------------------------------------------------------------------


def _month_columns(metrics: pd.DataFrame, months: Sequence[int | str] | None) -> dict[int, str]:
    """Month index -> column suffix for the metrics table (see `_suffixes`)."""
    last = int(metrics["month"].max())
    present = {int(m): str(m) for m in metrics["month"].unique()}
    if "date" in metrics.columns:
        pairs = metrics[["month", "date"]].drop_duplicates("month")
        present.update({int(m): str(d) for m, d in zip(pairs["month"], pairs["date"], strict=True)})
    return _suffixes(present, last, months)


def _suffixes(
    dates: dict[int, str], last: int, months: Sequence[int | str] | None
) -> dict[int, str]:
    """Month index -> column suffix: '' for the last month, '@YYYY-MM' for the others.

    dates: month index -> its label, for the months present; `months` holds indices (negative
    ones count from the end) or labels; None means the last month only.
    """
    chosen: dict[int, str] = {}
    for month in [last] if months is None else months:
        if isinstance(month, str):
            found = [m for m, d in dates.items() if d == month]
            if not found:
                raise ValueError(f"months: {month!r} is not a date of the metrics table")
            month = found[0]
        month = int(month)
        if month < 0:
            month += last + 1
        if month not in dates:
            raise ValueError(f"months: month {month} is not in the metrics table (0..{last})")
        chosen[month] = "" if month == last else f"@{dates[month]}"
    return chosen


def outcome_names(
    dates: Sequence[str],
    months: Sequence[int | str] | None = None,
    rates: Sequence[tuple[str, str]] = RATE_EVENTS,
) -> list[str]:
    """The outcome columns `point_outcomes` gives (without point and n) for a horizon whose
    month labels are `dates`, in the same order."""
    suffixes = _suffixes(dict(enumerate(dates)), len(dates) - 1, months)
    names = [f"{metric}{suffix}" for suffix in suffixes.values() for metric in METRIC_NAMES]
    return [*names, *OUTCOMES, *(f"{RATE_PREFIX}{actor}.{action}" for actor, action in rates)]


def point_outcomes(
    metrics: pd.DataFrame,
    events: pd.DataFrame,
    agents: pd.DataFrame,
    *,
    months: Sequence[int | str] | None = None,
    runs_per_point: int | None = None,
    rates: Sequence[tuple[str, str]] = RATE_EVENTS,
) -> pd.DataFrame:
    """One row per point: its outcomes, reduced over its runs, and its run count `n`.

    metrics, events, agents: run-folder tables of a batch with a `point` column (a sweep's), any
    row order; agents needs run, agent and status. Columns:
    - mean cohesion and components at `months` (indices from 0, or YYYY-MM): `cohesion` etc. for
      the last month of the metrics table, `cohesion@2024-12` etc. for the others;
    - the probabilities of `results.compare.OUTCOMES` (by its `outcome_tallies`, whose one-group
      case is `outcome_counts`):
      Armenia frozen or exited, Belarus recognises Abkhazia, Article 4 honoured by Russia when
      invoked (NaN at a point without an invocation), Armenia boycotts or refuses a declaration;
    - `rate.ACTOR.action`: events per run-year for each pair of `rates`, the horizon being the
      months of the metrics table.
    `runs_per_point`, if given, is checked against the runs each point has in `metrics`.
    """
    for name, table in (("metrics", metrics), ("events", events), ("agents", agents)):
        if POINT not in table.columns:
            raise ValueError(f"the {name} table needs a {POINT!r} column (the tables of a sweep)")
    counts = metrics.groupby(POINT)["run"].nunique().sort_index()
    if runs_per_point is not None and (counts != runs_per_point).any():
        point = int(counts.index[(counts != runs_per_point).to_numpy()][0])
        raise ValueError(
            f"point {point} has {int(counts[point])} runs, expected {runs_per_point} per point"
        )
    result = pd.DataFrame({POINT: counts.index.to_numpy(np.int64), COUNT: counts.to_numpy()})
    result = result.set_index(POINT)
    for month, suffix in _month_columns(metrics, months).items():
        means = metrics[metrics["month"] == month].groupby(POINT)[list(METRIC_NAMES)].mean()
        for metric in METRIC_NAMES:
            result[f"{metric}{suffix}"] = means[metric].reindex(result.index)
    for outcome, values in _probabilities(events, agents, counts).items():
        result[outcome] = values
    horizon_years = (int(metrics["month"].max()) + 1) / 12.0
    for outcome, values in _rates(events, counts, rates, horizon_years).items():
        result[outcome] = values
    return result.reset_index()


def _probabilities(
    events: pd.DataFrame, agents: pd.DataFrame, counts: pd.Series
) -> dict[str, np.ndarray]:
    """Outcome -> probability per point (in `counts` order), by compare's `outcome_tallies`."""
    out = agents[(agents["agent"] == "ARM") & agents["status"].isin(ARMENIA_OUT)]
    hits, trials = outcome_tallies(
        events[[POINT, "run", "actor", "action", "target"]], out[[POINT, "run"]], counts, by=POINT
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = hits.to_numpy(dtype=np.float64) / trials.to_numpy(dtype=np.float64)
    shares[trials.to_numpy() == 0] = np.nan
    return {key: shares[:, column] for column, key in enumerate(hits.columns)}


def _rates(
    events: pd.DataFrame,
    counts: pd.Series,
    rates: Sequence[tuple[str, str]],
    years: float,
) -> dict[str, np.ndarray]:
    """`rate.ACTOR.action` -> events per run-year per point (in `counts` order)."""
    tallies = events.groupby([POINT, "actor", "action"], observed=True).size()
    result = {}
    for actor, action in rates:
        try:
            per_point = tallies.xs((actor, action), level=("actor", "action"))
        except KeyError:
            per_point = pd.Series(dtype=np.float64)
        per_point = per_point.reindex(counts.index, fill_value=0).to_numpy(dtype=np.float64)
        result[f"{RATE_PREFIX}{actor}.{action}"] = per_point / (counts.to_numpy() * years)
    return result
