"""Plots of a calibration: posterior marginals against priors, the most correlated pairs,
epsilon per generation, and the posterior predictive check against the record.

As in `results.plots`, each plot has a data function (testable on numbers) and a draw function
building a Figure on an Agg canvas through `results.plots` (no pyplot, no global backend).
The posterior predictive check (Gelman, Meng & Stern 1996) shows, for each target, the
distribution of the statistic simulated from posterior draws with its 90% interval, and the
documented value (with the record's own range where it is fuzzy).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from results.layout import PLOTS_DIR
from results.plots import _new_figure, save_figures

if TYPE_CHECKING:
    from results.plots import Figure

WEIGHT = "weight"
PAIRS = 3
_POSTERIOR = "#1f4e79"
_PRIOR = "#b0b0b0"
_RECORD = "#c00000"


def _figure(width: float, height: float) -> Figure:
    """An empty Figure (constrained layout) to add panels to."""
    figure, _ = _new_figure((width, height))
    figure.clear()
    return figure


def _parameters(posterior: pd.DataFrame) -> list[str]:
    return [c for c in posterior.columns if c != WEIGHT]


def weighted_correlations(posterior: pd.DataFrame) -> pd.DataFrame:
    """Weighted correlation matrix of the parameters."""
    keys = _parameters(posterior)
    x = posterior[keys].to_numpy(dtype=float)
    w = posterior[WEIGHT].to_numpy(dtype=float)
    w = w / w.sum()
    centred = x - w @ x
    covariance = (centred * w[:, None]).T @ centred
    sd = np.sqrt(np.clip(np.diag(covariance), 1e-300, None))
    return pd.DataFrame(covariance / np.outer(sd, sd), index=keys, columns=keys)


def top_pairs(posterior: pd.DataFrame, n: int = PAIRS) -> list[tuple[str, str, float]]:
    """The `n` parameter pairs with the largest absolute posterior correlation."""
    corr = weighted_correlations(posterior)
    keys = list(corr.index)
    pairs = [(a, b, float(corr.loc[a, b])) for i, a in enumerate(keys) for b in keys[i + 1 :]]
    return sorted(pairs, key=lambda p: -abs(p[2]))[:n]


def predictive_intervals(
    predictive: pd.DataFrame, observed: Mapping[str, float], level: float = 0.9
) -> pd.DataFrame:
    """Per statistic: simulated median and `level` interval, the record, and whether the record
    lies inside (columns low, median, high, observed, inside)."""
    tail = (1 - level) / 2
    rows = {}
    for name, value in observed.items():
        if name not in predictive.columns:
            continue
        values = predictive[name].dropna().to_numpy(dtype=float)
        if values.size == 0:
            continue
        low, median, high = np.quantile(values, [tail, 0.5, 1 - tail])
        rows[name] = {
            "low": low,
            "median": median,
            "high": high,
            "observed": float(value),
            "inside": bool(low <= value <= high),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def draw_marginals(posterior: pd.DataFrame, priors: Sequence[Any]) -> Figure:
    """One panel per parameter: the weighted posterior histogram over its prior's density."""
    keys = _parameters(posterior)
    columns = min(3, len(keys))
    rows = math.ceil(len(keys) / columns)
    figure = _figure(4 * columns, 3 * rows)
    by_name = {p.name: p for p in priors}
    for number, key in enumerate(keys):
        axes = figure.add_subplot(rows, columns, number + 1)
        prior = by_name[key]
        log = prior.kind == "log-uniform"
        edges = (
            np.geomspace(prior.low, prior.high, 31)
            if log
            else np.linspace(prior.low, prior.high, 31)
        )
        axes.hist(
            posterior[key],
            bins=edges,
            weights=posterior[WEIGHT],
            density=True,
            color=_POSTERIOR,
            alpha=0.8,
            label="posterior",
        )
        grid = (
            np.geomspace(prior.low, prior.high, 200)
            if log
            else np.linspace(prior.low, prior.high, 200)
        )
        density = (
            1 / (grid * (math.log(prior.high) - math.log(prior.low)))
            if log
            else np.full_like(grid, 1 / (prior.high - prior.low))
        )
        axes.plot(grid, density, color=_PRIOR, linewidth=2, label=f"prior ({prior.kind})")
        if log:
            axes.set_xscale("log")
        axes.set_title(key, fontsize=9)
        if number == 0:
            axes.legend(fontsize=7)
    return figure


def draw_pairs(posterior: pd.DataFrame, n: int = PAIRS) -> Figure:
    """Scatter of the most correlated parameter pairs (point size ~ weight)."""
    pairs = top_pairs(posterior, n)
    figure = _figure(4 * max(len(pairs), 1), 3.6)
    weights = posterior[WEIGHT].to_numpy()
    sizes = 4 + 60 * weights / weights.max()
    for number, (a, b, r) in enumerate(pairs):
        axes = figure.add_subplot(1, len(pairs), number + 1)
        axes.scatter(posterior[a], posterior[b], s=sizes, color=_POSTERIOR, alpha=0.5)
        axes.set_xlabel(a, fontsize=8)
        axes.set_ylabel(b, fontsize=8)
        axes.set_title(f"weighted r = {r:+.2f}", fontsize=9)
    return figure


def draw_epsilons(epsilons: Sequence[float]) -> Figure:
    """Epsilon (the acceptance threshold) per generation, on a log scale."""
    figure = _figure(5, 3.2)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot(range(len(epsilons)), epsilons, marker="o", color=_POSTERIOR)
    axes.set_yscale("log")
    axes.set_xlabel("generation")
    axes.set_ylabel("epsilon (scaled distance)")
    axes.grid(alpha=0.3)
    return figure


def draw_predictive(
    intervals: pd.DataFrame, ranges: Mapping[str, tuple[float, float]] | None = None
) -> Figure:
    """For each target: simulated median and 90% interval, the record marked (its range too)."""
    ranges = ranges or {}
    names = list(intervals.index)
    figure = _figure(7.5, 0.22 * len(names) + 1.2)
    axes = figure.add_subplot(1, 1, 1)
    y = np.arange(len(names))[::-1]
    axes.hlines(y, intervals["low"], intervals["high"], color=_POSTERIOR, linewidth=3, alpha=0.6)
    axes.plot(intervals["median"], y, "o", color=_POSTERIOR, markersize=3, label="simulated")
    for yi, name in zip(y, names, strict=True):
        if name in ranges and ranges[name][0] != ranges[name][1]:
            axes.hlines(yi, *ranges[name], color=_RECORD, linewidth=1, alpha=0.7)
    axes.plot(intervals["observed"], y, "x", color=_RECORD, markersize=6, label="record 2022")
    axes.set_yticks(y)
    axes.set_yticklabels(names, fontsize=6)
    axes.set_xlabel("probability (checks) or events per run in 2022 (counts)")
    axes.legend(fontsize=7, loc="lower right")
    axes.grid(axis="x", alpha=0.3)
    return figure


def write_calibration_plots(
    folder: str | os.PathLike[str],
    posterior: pd.DataFrame,
    priors: Sequence[Any],
    epsilons: Sequence[float],
    *,
    predictive: pd.DataFrame | None = None,
    observed: Mapping[str, float] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> list[Path]:
    """Write the calibration's plots into `folder/plots/`; return their paths."""
    out = Path(folder) / PLOTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "posterior_marginals": draw_marginals(posterior, priors),
        "epsilon": draw_epsilons(epsilons),
    }
    if len(_parameters(posterior)) > 1:
        figures["posterior_pairs"] = draw_pairs(posterior)
    if predictive is not None and observed:
        intervals = predictive_intervals(predictive, observed)
        if len(intervals):
            figures["predictive_check"] = draw_predictive(intervals, ranges)
    return save_figures(figures, out)
