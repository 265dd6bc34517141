"""Plots of a comparison (scenarios, or the points of a sweep): data functions and draw functions.

Data functions turn a `results.compare.Comparison` into small frames (tested on numbers); draw
functions take those frames and `ax=None` (or `axes=None`) and return the Figure. As in
`results.plots`, figures are pyplot-free (an Agg canvas), time axes are dated, legends sit outside
the data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from results.plots import _format_month_axis, _new_figure, save_figures

if TYPE_CHECKING:
    from results.compare import Comparison
    from results.plots import Axes, Figure

MAX_LINES = 10
COLORS = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
STYLES = ("-", "--", "-.", ":", (0, (5, 1)), "-", "--", "-.", ":", (0, (3, 1, 1, 1)))
STATUS_PANELS = ("member", "frozen", "exited")
METRIC_LABELS = {
    "cohesion": "cohesion",
    "k_align": "alignment with Moscow",
    "k_cred": "credibility of Article 4",
    "k_part": "participation",
    "k_sim": "relation similarity",
}


# --- data --------------------------------------------------------------------------------------


def pick_groups(labels: Sequence[str], limit: int = MAX_LINES) -> list[str]:
    """At most `limit` labels, the first (reference) always, the rest evenly spaced."""
    labels = list(labels)
    if len(labels) <= limit:
        return labels
    chosen = np.unique(np.round(np.linspace(0, len(labels) - 1, limit)).astype(int))
    return [labels[i] for i in chosen]


def cohesion_bands(summaries: dict[str, pd.DataFrame], metric: str = "cohesion") -> pd.DataFrame:
    """group, date (datetime64), p05, p50, p95 of `metric` per group and month."""
    frames = []
    for label, summary in summaries.items():
        rows = summary[summary["metric"] == metric].sort_values("month")
        frames.append(
            pd.DataFrame(
                {
                    "group": label,
                    "date": pd.to_datetime(rows["date"].astype(str), format="%Y-%m").to_numpy(),
                    "p05": rows["p05"].to_numpy(float),
                    "p50": rows["p50"].to_numpy(float),
                    "p95": rows["p95"].to_numpy(float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def difference_series(differences: pd.DataFrame, metric: str = "cohesion") -> pd.DataFrame:
    """group, date (datetime64), diff, ci_low, ci_high of `metric` for every non-reference group."""
    reference = differences["group"].iloc[0]
    rows = differences[(differences["metric"] == metric) & (differences["group"] != reference)]
    table = rows[["group", "date", "diff", "ci_low", "ci_high"]].copy()
    table["date"] = pd.to_datetime(table["date"].astype(str), format="%Y-%m")
    return table.reset_index(drop=True)


def event_shares(events: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """Share of runs with each (actor, action), wide: rows "ACTOR action", a column per group.

    The `top` rows with the highest share in any group, highest first.
    """
    table = events.assign(event=events["actor"].astype(str) + " " + events["action"].astype(str))
    wide = table.pivot_table(
        index="event", columns="group", values="share_of_runs", aggfunc="sum", fill_value=0.0
    )
    wide = wide[list(dict.fromkeys(events["group"]))]
    order = wide.max(axis=1).sort_values(ascending=False, kind="stable").index[:top]
    return wide.loc[order]


def status_panels(
    status: pd.DataFrame, members: Sequence[str], statuses: Sequence[str] = STATUS_PANELS
) -> pd.DataFrame:
    """group, agent, date (datetime64), status, probability for the members and statuses shown."""
    rows = status[status["agent"].isin(members) & status["status"].isin(statuses)].copy()
    rows["date"] = pd.to_datetime(rows["date"].astype(str), format="%Y-%m")
    return rows[["group", "agent", "date", "status", "probability"]].reset_index(drop=True)


def sweep_response(comparison: Comparison, key: str, metric: str = "cohesion") -> pd.DataFrame:
    """point, value (of `key`), mean, mean_low, mean_high of `metric` at the last month."""
    diffs = comparison.differences
    last = diffs["month"].max()
    rows = diffs[(diffs["metric"] == metric) & (diffs["month"] == last)].set_index("group")
    out = []
    for group in comparison.inputs.groups:
        row = rows.loc[group.label]
        out.append(
            {
                "point": group.point,
                "value": float(group.values[key]),
                "mean": row["mean"],
                "mean_low": row["mean_low"],
                "mean_high": row["mean_high"],
            }
        )
    return pd.DataFrame(out).sort_values(["value", "point"]).reset_index(drop=True)


# --- drawing -----------------------------------------------------------------------------------


def _style(index: int) -> dict[str, Any]:
    return {"color": COLORS[index % len(COLORS)], "linestyle": STYLES[index % len(STYLES)]}


def _legend_right(ax: Axes) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")


def _grid(ax: Axes) -> None:
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def draw_cohesion_bands(
    data: pd.DataFrame, ax: Axes | None = None, *, title: str | None = None
) -> Figure:
    """Median line and 5–95% band of every group on one axes (`cohesion_bands` output)."""
    if ax is None:
        _, (ax,) = _new_figure((10.0, 5.0))
    labels = list(dict.fromkeys(data["group"]))
    for i, label in enumerate(labels):
        rows = data[data["group"] == label]
        style = _style(i)
        ax.fill_between(
            rows["date"], rows["p05"], rows["p95"], color=style["color"], alpha=0.12, linewidth=0
        )
        ax.plot(rows["date"], rows["p50"], linewidth=2, label=label, **style)
    _grid(ax)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("cohesion (0–1): median, band 5–95% of runs")
    _format_month_axis(ax, data.loc[data["group"] == labels[0], "date"].reset_index(drop=True), 12)
    ax.set_title(title or "CSTO cohesion by scenario")
    _legend_right(ax)
    return ax.figure


def draw_differences(
    data: pd.DataFrame,
    ax: Axes | None = None,
    *,
    reference: str = "",
    metric: str = "cohesion",
    colors_from: Sequence[str] | None = None,
) -> Figure:
    """Difference from the reference over time, with its 95% bootstrap band, per group."""
    if ax is None:
        _, (ax,) = _new_figure((10.0, 5.0))
    labels = list(dict.fromkeys(data["group"]))
    palette = list(colors_from) if colors_from is not None else ["", *labels]
    for label in labels:
        rows = data[data["group"] == label]
        style = _style(palette.index(label) if label in palette else labels.index(label) + 1)
        ax.fill_between(
            rows["date"], rows["ci_low"], rows["ci_high"], color=style["color"], alpha=0.2, lw=0
        )
        ax.plot(rows["date"], rows["diff"], linewidth=2, label=label, **style)
    ax.axhline(0.0, color="black", linewidth=0.8)
    _grid(ax)
    name = METRIC_LABELS.get(metric, metric)
    ax.set_ylabel(f"difference in mean {name} (0–1 scale)")
    if len(data):
        first = data[data["group"] == labels[0]]["date"].reset_index(drop=True)
        _format_month_axis(ax, first, 12)
    ax.set_title(f"Mean {name} minus {reference or 'the reference'}, with 95% bootstrap CI")
    if labels:
        _legend_right(ax)
    return ax.figure


def draw_alignment_heatmap(
    matrix: pd.DataFrame, ax: Axes | None = None, *, date: str = ""
) -> Figure:
    """Groups × agents heatmap of mean alignment (expected posture, −1 to +1) at the last month."""
    if ax is None:
        height = 1.6 + 0.45 * len(matrix)
        _, (ax,) = _new_figure((2.8 + 1.1 * matrix.shape[1], height))
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns])
    ax.set_yticks(range(matrix.shape[0]), [str(i) for i in matrix.index])
    for (r, c), value in np.ndenumerate(values):
        if np.isfinite(value):
            ax.text(c, r, f"{value:+.2f}", ha="center", va="center", fontsize="small",
                    color="white" if abs(value) > 0.6 else "black")  # fmt: skip
    ax.set_xlabel("agent")
    ax.set_title(f"Mean alignment with Moscow{f' in {date}' if date else ''}")
    ax.figure.colorbar(image, ax=ax, label="alignment (−1 West … +1 Moscow)")
    return ax.figure


def draw_status_probabilities(
    data: pd.DataFrame, axes: Sequence[Axes] | None = None, *, statuses=STATUS_PANELS
) -> Figure:
    """A grid: one row per CSTO member, one column per status; a line per group over time."""
    members = list(dict.fromkeys(data["agent"]))
    labels = list(dict.fromkeys(data["group"]))
    if axes is None:
        fig, axes = _new_figure(
            (4.2 * len(statuses) + 2.5, 2.6 * len(members)), len(members), len(statuses)
        )
    fig = axes[0].figure
    dates = None
    for r, agent in enumerate(members):
        for c, status in enumerate(statuses):
            ax = axes[r * len(statuses) + c]
            for i, label in enumerate(labels):
                rows = data[
                    (data["agent"] == agent) & (data["status"] == status) & (data["group"] == label)
                ]
                ax.plot(rows["date"], rows["probability"], linewidth=1.6, label=label, **_style(i))
                dates = rows["date"].reset_index(drop=True) if dates is None else dates
            if status == "member":
                ax.set_ylim(-0.02, 1.02)
            else:  # rare statuses: scale to the data, at least 0-5%
                shown = data.loc[data["status"] == status, "probability"]
                ax.set_ylim(0.0, max(0.05, 1.15 * float(shown.max() if len(shown) else 0.0)))
            _grid(ax)
            ax.set_title(f"{agent}: {status}", fontsize="medium")
            if c == 0:
                ax.set_ylabel("probability (share of runs)")
            _format_month_axis(ax, dates, 6)
    fig.suptitle("CSTO status of each member over time")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), 4), frameon=False)
    return fig


def draw_event_frequencies(wide: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """Grouped horizontal bars: share of runs with at least one such event, per group."""
    if ax is None:
        _, (ax,) = _new_figure((10.0, 1.5 + 0.32 * len(wide) * max(1, wide.shape[1] / 3)))
    groups = list(wide.columns)
    height = 0.8 / max(1, len(groups))
    positions = np.arange(len(wide))
    for i, label in enumerate(groups):
        ax.barh(
            positions + (i - (len(groups) - 1) / 2) * height,
            wide[label].to_numpy(),
            height=height,
            color=COLORS[i % len(COLORS)],
            label=str(label),
        )
    ax.set_yticks(positions, list(wide.index))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of runs with at least one event (0–1)")
    ax.set_title("Events: who does what (actor, action)")
    ax.grid(True, axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    _legend_right(ax)
    return ax.figure


def draw_sweep_response(
    data: pd.DataFrame, ax: Axes | None = None, *, key: str = "", metric: str = "cohesion",
    date: str = "",
) -> Figure:  # fmt: skip
    """Mean `metric` at the last month against the varied parameter, with 95% bootstrap CIs."""
    if ax is None:
        _, (ax,) = _new_figure((7.5, 4.8))
    errors = np.vstack([data["mean"] - data["mean_low"], data["mean_high"] - data["mean"]])
    ax.errorbar(
        data["value"], data["mean"], yerr=errors, fmt="o", color=COLORS[0], ecolor="#888888",
        capsize=3, markersize=5, label="point mean, 95% CI",
    )  # fmt: skip
    means = data.groupby("value")["mean"].mean()
    if len(means) > 1:
        ax.plot(means.index, means.to_numpy(), color=COLORS[0], linewidth=1, alpha=0.6,
                label="mean over points at a value")  # fmt: skip
    _grid(ax)
    name = METRIC_LABELS.get(metric, metric)
    ax.set_xlabel(key)
    ax.set_ylabel(f"mean {name} (0–1){f' in {date}' if date else ''}")
    ax.set_title(f"{name.capitalize()} against {key}")
    _legend_right(ax)
    return ax.figure


# --- saving ------------------------------------------------------------------------------------


def comparison_figures(comparison: Comparison) -> dict[str, Figure]:
    """Every figure of a comparison, keyed by file stem.

    The alignment and status figures need the agents table, the events figure the events table;
    each is left out when a compared folder lacks its table (`Inputs.missing` says so).
    """
    labels = comparison.labels
    shown = pick_groups(labels)
    kind = comparison.inputs.kind
    more = f" ({len(shown)} of {len(labels)} {kind}s)" if len(shown) < len(labels) else ""
    reference = labels[0]
    last_date = comparison.inputs.dates[-1]
    figures: dict[str, Figure] = {}
    if comparison.summaries:
        bands = cohesion_bands({k: v for k, v in comparison.summaries.items() if k in shown})
        figures["compare_cohesion"] = draw_cohesion_bands(
            bands, title=f"CSTO cohesion by {kind}{more}"
        )
    diffs = difference_series(comparison.differences)
    figures["compare_difference"] = draw_differences(
        diffs[diffs["group"].isin(shown)], reference=reference, colors_from=shown
    )
    if "agents" in comparison.inputs.tables:
        figures["compare_alignment"] = draw_alignment_heatmap(comparison.alignment, date=last_date)
        status = comparison.status[comparison.status["group"].isin(shown)]
        panels = status_panels(status, comparison.members)
        figures["compare_status"] = draw_status_probabilities(panels)
    if "events" in comparison.inputs.tables:
        events = comparison.events[comparison.events["group"].isin(shown)]
        figures["compare_events"] = draw_event_frequencies(event_shares(events))
    if comparison.inputs.sweep is not None:
        for key in [c for c in comparison.inputs.sweep.columns if c != "point"]:
            figures[f"sweep_{key.replace('.', '_')}"] = draw_sweep_response(
                sweep_response(comparison, key), key=key, date=last_date
            )
    return figures


def save_sweep_plots(
    folder: str | os.PathLike[str],
    out: str | os.PathLike[str],
    svg: bool = False,
    warn: Callable[[str], None] | None = None,
) -> list[Path]:
    """A sweep folder's plots: the comparison of its points (point 0 the reference).

    `warn` receives a line for each plot left out because its table was not written.
    """
    from results.compare import compare, open_sweep

    inputs = open_sweep(folder)
    for line in inputs.missing:
        (warn or (lambda _: None))(line)
    return save_figures(comparison_figures(compare(inputs)), out, svg)
