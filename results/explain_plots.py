"""The plot of `csto explain --event`: which terms made an event happen, and which held it back.

A diverging horizontal bar chart: one row per term, one bar for the runs where the event happened
(the term's mean contribution to the chosen option's margin over the best alternative) and one for
the runs where it was open and not taken (the mean contribution to U_event - U_chosen), each with
its 95% bootstrap interval. Positive bars pushed toward the event, negative ones away from it.

As in `results.plots`, the data function (attribution table -> bar table) is separate from the
drawing, and figures are pyplot-free (an Agg canvas, `results.plots._new_figure`).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from results.atomic import atomic_write
from results.plots import DPI, _new_figure

if TYPE_CHECKING:
    from results.plots import Axes, Figure

GROUP_STYLE: dict[str, tuple[str, str]] = {
    "happened": ("where it happened: margin", "#1f4e79"),
    "not_happened": ("where it did not: held back", "#c0504d"),
}
"""Group -> (legend label, colour), in drawing order (top bar first)."""

BAR_COLUMNS: tuple[str, ...] = ("term", "group", "mean", "err_low", "err_high", "runs", "y")
_BAR_HEIGHT = 0.38


def attribution_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """The bars to draw from an attribution table (group, term, mean, ci_low, ci_high, runs).

    Groups with no runs are left out. Terms are ordered by the largest size of their mean
    contribution in either group, largest at the top (y = 0). err_low and
    err_high are the distances from the mean to the interval's ends (0 where there is none).
    """
    rows = frame[(frame["runs"] > 0) & frame["mean"].notna()].copy()
    if rows.empty:
        return pd.DataFrame(columns=list(BAR_COLUMNS))
    size = rows.assign(size=rows["mean"].abs()).pivot_table(
        index="term", columns="group", values="size", aggfunc="first", sort=False
    )
    largest = size.max(axis=1)
    order = sorted(size.index, key=lambda term: -largest[term])
    rows["y"] = rows["term"].map({term: i for i, term in enumerate(order)})
    rows["err_low"] = (rows["mean"] - rows["ci_low"]).clip(lower=0).fillna(0.0)
    rows["err_high"] = (rows["ci_high"] - rows["mean"]).clip(lower=0).fillna(0.0)
    rows = rows.sort_values(["y", "group"], key=_group_key, kind="stable")
    return rows.loc[:, list(BAR_COLUMNS)].reset_index(drop=True)


def _group_key(column: pd.Series) -> pd.Series:
    if column.name == "group":
        return column.map({g: i for i, g in enumerate(GROUP_STYLE)})
    return column


def draw_attribution(bars: pd.DataFrame, ax: Axes | None = None, *, title: str = "") -> Figure:
    """Draw `attribution_bars` output: a diverging bar per term and group, with its interval."""
    terms = bars.drop_duplicates("term").sort_values("y")["term"].tolist()
    if ax is None:
        _, (ax,) = _new_figure((8.0, 1.6 + 0.55 * max(len(terms), 1)))
    groups = [g for g in GROUP_STYLE if g in set(bars["group"])]
    for number, group in enumerate(groups):
        label, colour = GROUP_STYLE[group]
        part = bars[bars["group"] == group]
        runs = int(part["runs"].iloc[0])
        offset = (number - (len(groups) - 1) / 2) * _BAR_HEIGHT
        ax.barh(
            part["y"].to_numpy(dtype=float) + offset,
            part["mean"].to_numpy(dtype=float),
            height=_BAR_HEIGHT,
            color=colour,
            xerr=np.vstack([part["err_low"], part["err_high"]]).astype(float),
            error_kw={"ecolor": "#333333", "capsize": 3, "linewidth": 1},
            label=f"{label} ({runs:,} runs)",
        )
    ax.axvline(0.0, color="#333333", linewidth=0.8)
    ax.set_yticks(range(len(terms)), terms)
    ax.set_ylim(len(terms) - 0.5, -0.5)  # the largest term on top
    ax.set_xlabel("mean contribution to the utility difference (95% bootstrap interval)")
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title)
    if groups:
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.18), frameon=False, ncol=1)
    else:
        ax.text(0.5, 0.5, "the event was never open", ha="center", transform=ax.transAxes)
    return ax.figure


def save_attribution_plot(
    frame: pd.DataFrame, path: str | os.PathLike[str], *, title: str = ""
) -> Path:
    """Draw an attribution table and write it to `path` (PNG or SVG by its suffix), atomically."""
    path = Path(path)
    fig = draw_attribution(attribution_bars(frame), title=title)
    fmt = path.suffix.lstrip(".").lower() or "png"
    try:
        return atomic_write(path, partial(fig.savefig, dpi=DPI, format=fmt, bbox_inches="tight"))
    finally:
        fig.clear()
