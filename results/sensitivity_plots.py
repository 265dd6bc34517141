"""Plots of a sensitivity analysis: the Morris mu*-sigma plane, Sobol bars, Sobol convergence.

As in results/plots.py, each plot is a pure data function (indices table -> small DataFrame,
testable on numbers) and a draw function (data -> a Figure on an Agg canvas, no pyplot).
The tables are those of `batches.sensitivity.analyse` and `convergence`: columns outcome,
parameter and the indices (mu_star, sigma, ...; S1, S1_conf, ST, ST_conf).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from results.plots import _new_figure, save_figures

if TYPE_CHECKING:
    from results.plots import Figure

TOP = 15
"""Parameters shown in a Sobol bar chart and a convergence plot (the highest ST)."""

_COLORS = ("#1f4e79", "#6fa8dc", "#b45f06", "#38761d", "#741b47", "#999999")


def short_label(key: str) -> str:
    """A short label for a dotted key: agents.BLR.beta_loyalty -> BLR.beta_loyalty,
    propensity.BLR.AZE -> p.BLR.AZE, actions.court_west.cost -> court_west.cost,
    poles.WEST.engagement -> WEST.engagement, dynamics.threat_decay -> threat_decay."""
    head, _, rest = key.partition(".")
    if not rest:
        return key
    if head in ("agents", "poles", "actions"):
        return rest
    if head == "propensity":
        return f"p.{rest}"
    if head == "aggression":
        return f"aggr.{rest}"
    return rest


def _rows(indices: pd.DataFrame, outcome: str, columns: Sequence[str]) -> pd.DataFrame:
    rows = indices[indices["outcome"] == outcome]
    if rows.empty:
        raise ValueError(f"no indices for outcome {outcome!r}")
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ValueError(f"the indices lack the columns {missing}")
    return rows


# --- data ------------------------------------------------------------------------------------


def morris_data(indices: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """parameter, label, mu_star, mu_star_conf, sigma of one outcome, highest mu_star first
    (NaN rows left out)."""
    columns = ["mu_star", "mu_star_conf", "sigma"]
    rows = _rows(indices, outcome, columns).dropna(subset=["mu_star", "sigma"])
    rows = rows.sort_values("mu_star", ascending=False, kind="stable")
    data = rows[["parameter", *columns]].reset_index(drop=True)
    data.insert(1, "label", data["parameter"].map(short_label))
    return data


def sobol_data(indices: pd.DataFrame, outcome: str, top: int = TOP) -> pd.DataFrame:
    """parameter, label, S1, S1_conf, ST, ST_conf of one outcome: the `top` highest ST, in
    that order (NaN rows left out)."""
    columns = ["S1", "S1_conf", "ST", "ST_conf"]
    rows = _rows(indices, outcome, columns).dropna(subset=["ST"])
    rows = rows.sort_values("ST", ascending=False, kind="stable").head(top)
    data = rows[["parameter", *columns]].reset_index(drop=True)
    data.insert(1, "label", data["parameter"].map(short_label))
    return data


def convergence_data(table: pd.DataFrame, outcome: str, top: int = 6) -> pd.DataFrame:
    """samples, parameter, label, ST, ST_conf of one outcome for the `top` parameters with the
    highest ST at the largest sample, in sample order."""
    rows = _rows(table, outcome, ["samples", "ST", "ST_conf"])
    largest = rows[rows["samples"] == rows["samples"].max()].dropna(subset=["ST"])
    chosen = largest.sort_values("ST", ascending=False, kind="stable")["parameter"].head(top)
    data = rows[rows["parameter"].isin(chosen)][["samples", "parameter", "ST", "ST_conf"]]
    order = {p: i for i, p in enumerate(chosen)}
    data = data.assign(_order=data["parameter"].map(order))
    data = data.sort_values(["_order", "samples"], kind="stable").drop(columns="_order")
    data = data.reset_index(drop=True)
    data.insert(2, "label", data["parameter"].map(short_label))
    return data


# --- drawing ---------------------------------------------------------------------------------


def draw_morris(data: pd.DataFrame, outcome: str, labelled: int = 12) -> Figure:
    """mu* against sigma, one labelled point per parameter (the `labelled` highest mu*)."""
    fig, (ax,) = _new_figure((7.0, 5.5))
    ax.scatter(data["mu_star"], data["sigma"], s=18, color=_COLORS[0], zorder=3)
    for row in data.head(labelled).itertuples():
        ax.annotate(
            row.label,
            (row.mu_star, row.sigma),
            textcoords="offset points",
            xytext=(4, 3),
            fontsize=7,
        )
    top = float(np.nanmax([data["mu_star"].max(), data["sigma"].max(), 0.0])) or 1.0
    ax.plot([0, top], [0, top], color="#999999", lw=0.8, ls="--", label="sigma = mu*")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("mu* (mean |elementary effect|)")
    ax.set_ylabel("sigma (interaction or non-linearity)")
    ax.set_title(f"Morris screening: {outcome}")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return fig


def draw_sobol(data: pd.DataFrame, outcome: str) -> Figure:
    """First-order (S1) and total (ST) indices as bars with their confidence intervals."""
    height = max(3.0, 0.32 * len(data) + 1.2)
    fig, (ax,) = _new_figure((7.0, height))
    positions = np.arange(len(data))
    ax.barh(
        positions - 0.2,
        data["S1"],
        height=0.4,
        xerr=data["S1_conf"],
        color=_COLORS[1],
        label="S1 (first order)",
        capsize=2,
    )
    ax.barh(
        positions + 0.2,
        data["ST"],
        height=0.4,
        xerr=data["ST_conf"],
        color=_COLORS[0],
        label="ST (total)",
        capsize=2,
    )
    ax.set_yticks(positions, data["label"], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_xlabel("Sobol index (share of the outcome's variance)")
    ax.set_title(f"Sobol indices: {outcome}")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return fig


def draw_convergence(data: pd.DataFrame, outcome: str) -> Figure:
    """ST of the leading parameters against the base samples used, with confidence bands."""
    fig, (ax,) = _new_figure((7.0, 4.5))
    for number, (label, rows) in enumerate(data.groupby("label", sort=False)):
        color = _COLORS[number % len(_COLORS)]
        ax.plot(rows["samples"], rows["ST"], marker="o", ms=3, color=color, label=label)
        ax.fill_between(
            rows["samples"],
            rows["ST"] - rows["ST_conf"],
            rows["ST"] + rows["ST_conf"],
            color=color,
            alpha=0.15,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("base samples N (points: N (D + 2))")
    ax.set_ylabel("ST (total index)")
    ax.set_title(f"Convergence of the total indices: {outcome}")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    return fig


def save_sensitivity_plots(
    out: str | os.PathLike[str],
    indices: pd.DataFrame,
    convergence: pd.DataFrame | None = None,
    outcomes: Sequence[str] | None = None,
    svg: bool = False,
) -> list[Path]:
    """Draw every outcome's plots into `out`: morris-<outcome>.png or sobol-<outcome>.png, and
    convergence-<outcome>.png when a convergence table is given; outcomes that could not be
    analysed (all NaN) are skipped. Returns the paths written."""
    method = "morris" if "mu_star" in indices.columns else "sobol"
    score = "mu_star" if method == "morris" else "ST"
    names = list(outcomes) if outcomes is not None else list(indices["outcome"].unique())
    figures: dict[str, Figure] = {}
    for outcome in names:
        rows = indices[indices["outcome"] == outcome]
        if rows[score].isna().all():
            continue
        stem = _file_stem(outcome)
        if method == "morris":
            figures[f"morris-{stem}"] = draw_morris(morris_data(indices, outcome), outcome)
        else:
            figures[f"sobol-{stem}"] = draw_sobol(sobol_data(indices, outcome), outcome)
            if convergence is not None:
                data = convergence_data(convergence, outcome)
                figures[f"convergence-{stem}"] = draw_convergence(data, outcome)
    return save_figures(figures, Path(out), svg)


def _file_stem(outcome: str) -> str:
    """A file-name-safe stem: cohesion@2024-12 -> cohesion_2024-12."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in outcome)
