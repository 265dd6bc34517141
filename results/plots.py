"""Plots of a run's summary: cohesion over time and its four components.

Each plot is split in two: a pure data function (summary table -> small DataFrame, testable on
numbers) and a draw function (data -> matplotlib Figure). matplotlib is imported lazily, inside
the draw functions, and figures are created as `matplotlib.figure.Figure` objects on an Agg
canvas: they render to PNG/SVG without pyplot, so no global backend is selected or changed and
nothing needs closing. To draw into a pyplot figure, pass its axes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from results.layout import PLOTS_DIR
from results.schema import POINT

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COMPONENTS: dict[str, str] = {
    "k_align": "Alignment with Moscow",
    "k_cred": "Credibility of Article 4",
    "k_part": "Participation",
    "k_sim": "Relation similarity",
}
"""Cohesion components, in grid order, with the titles of their panels."""

BAND_COLUMNS: tuple[str, ...] = ("date", "p05", "p50", "p95")
TICK_INTERVALS: tuple[int, ...] = (1, 3, 6, 12, 24, 60, 120)
MAX_TICKS = 12
DPI = 120

_MEDIAN_COLOR = "#1f4e79"
_BAND_COLOR = "#6fa8dc"


# --- data ------------------------------------------------------------------------------------


def _select_point(summary_df: pd.DataFrame, point: int | None) -> pd.DataFrame:
    """The rows of one sweep point (or all rows when the summary has no point column)."""
    if POINT not in summary_df.columns:
        return summary_df
    if point is None:
        points = summary_df[POINT].unique()
        if len(points) > 1:
            raise ValueError(f"the summary holds points {sorted(points)}; choose one with point=")
        return summary_df
    return summary_df[summary_df[POINT] == point]


def band_data(summary_df: pd.DataFrame, metric: str, point: int | None = None) -> pd.DataFrame:
    """Median and 5–95% band of `metric` per month: columns date (datetime64), p05, p50, p95.

    Rows are in month order. With a `point` column, `point` selects the sweep point (required
    when there are several). Raises ValueError if the metric has no rows.
    """
    rows = _select_point(summary_df, point)
    rows = rows[rows["metric"] == metric].sort_values("month", kind="stable")
    if rows.empty:
        raise ValueError(f"no summary rows for metric {metric!r}")
    data = rows[list(BAND_COLUMNS)].reset_index(drop=True)
    data["date"] = pd.to_datetime(data["date"].astype(str), format="%Y-%m")
    return data.astype({col: "float64" for col in BAND_COLUMNS[1:]})


def components_data(summary_df: pd.DataFrame, point: int | None = None) -> dict[str, pd.DataFrame]:
    """`band_data` of each of the four cohesion components, in `COMPONENTS` order."""
    return {metric: band_data(summary_df, metric, point) for metric in COMPONENTS}


def month_tick_interval(months: int, max_ticks: int = MAX_TICKS) -> int:
    """Months between date ticks: the smallest of TICK_INTERVALS giving at most `max_ticks`."""
    for interval in TICK_INTERVALS:
        if months <= interval * max_ticks:
            return interval
    return TICK_INTERVALS[-1]


def month_ticks(dates: pd.Series, max_ticks: int = MAX_TICKS) -> pd.Series:
    """The dates (monthly, in order) that get a labelled tick: every `month_tick_interval` months.

    Ticks fall on calendar months divisible by the interval (Jan/Apr/Jul/Oct for 3, January for
    12), so plots of different horizons share tick positions.
    """
    dates = pd.Series(pd.to_datetime(dates)).reset_index(drop=True)
    interval = month_tick_interval(len(dates), max_ticks)
    month_number = dates.dt.year * 12 + dates.dt.month - 1
    return dates[month_number % interval == 0].reset_index(drop=True)


def in_unit_interval(data: pd.DataFrame) -> bool:
    """Whether all band values lie in [0, 1] (then the y axis is fixed to 0–1)."""
    values = data[list(BAND_COLUMNS[1:])].to_numpy()
    return bool(((values >= 0) & (values <= 1) | pd.isna(values)).all())


# --- drawing ---------------------------------------------------------------------------------


def _new_figure(
    figsize: tuple[float, float], nrows: int = 1, ncols: int = 1
) -> tuple[Figure, list[Axes]]:
    """A pyplot-free Figure on an Agg canvas, with its grid of axes (constrained layout)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
    return fig, list(axes.flat)


def _format_month_axis(ax: Axes, dates: pd.Series, max_ticks: int) -> None:
    """Ticks labelled YYYY-MM every few months, a minor tick each month, half a month of padding.

    Tick positions are fixed from the data (`month_ticks`) rather than by a date locator, which
    keeps the labels predictable and drawing fast.
    """
    from matplotlib import dates as mdates

    ax.set_xticks(mdates.date2num(dates), minor=True)
    ax.set_xticks(mdates.date2num(month_ticks(dates, max_ticks)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    pad = pd.Timedelta(days=15)
    ax.set_xlim(dates.iloc[0] - pad, dates.iloc[-1] + pad)
    ax.tick_params(axis="x", which="minor", labelbottom=False)
    for label in ax.get_xticklabels():
        label.set_rotation(45)
        label.set_horizontalalignment("right")
        label.set_rotation_mode("anchor")


def _draw_band_on(ax: Axes, data: pd.DataFrame, max_ticks: int) -> None:
    """Shaded 5–95% band and median line (with markers when there are few months).

    A single month has no width to shade, so its band is drawn as a thick vertical bar.
    """
    band = {"color": _BAND_COLOR, "alpha": 0.35, "label": "5–95% of runs"}
    if len(data) == 1:
        ax.vlines(data["date"], data["p05"], data["p95"], linewidth=12, **band)
    else:
        ax.fill_between(data["date"], data["p05"], data["p95"], linewidth=0, **band)
    marker = "o" if len(data) <= 12 else None
    ax.plot(
        data["date"],
        data["p50"],
        color=_MEDIAN_COLOR,
        linewidth=2,
        marker=marker,
        markersize=3.5,
        label="median",
    )
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if in_unit_interval(data):
        ax.set_ylim(-0.02, 1.02)
    _format_month_axis(ax, data["date"], max_ticks)


def draw_band(
    data: pd.DataFrame,
    ax: Axes | None = None,
    *,
    title: str | None = None,
    ylabel: str | None = None,
    legend: bool = True,
    max_ticks: int = MAX_TICKS,
) -> Figure:
    """Draw `band_data` output: median line and 5–95% band over dates. Returns the Figure.

    The legend, if any, is placed outside the axes on the right, so it never hides data; at most
    `max_ticks` dates are labelled.
    """
    if ax is None:
        _, (ax,) = _new_figure((9.0, 4.8))
    _draw_band_on(ax, data, max_ticks)
    if title:
        ax.set_title(title)
    if ylabel:
        ax.set_ylabel(ylabel)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax.figure


def _runs_text(runs: int | None) -> str:
    """ " (1,000 runs)" or "" when unknown."""
    if runs is None:
        return ""
    return f" ({runs:,} run{'s' if runs != 1 else ''})"


def draw_cohesion(
    data: pd.DataFrame,
    ax: Axes | None = None,
    *,
    scenario_name: str = "",
    runs: int | None = None,
) -> Figure:
    """Cohesion over time (`band_data(summary, "cohesion")`), titled with scenario and runs."""
    prefix = f"{scenario_name}: " if scenario_name else ""
    title = f"{prefix}CSTO cohesion{_runs_text(runs)}"
    return draw_band(data, ax, title=title, ylabel="cohesion (0–1)")


def draw_components(
    data: Mapping[str, pd.DataFrame],
    axes: Sequence[Axes] | None = None,
    *,
    scenario_name: str = "",
    runs: int | None = None,
) -> Figure:
    """The four components (`components_data` output) as a 2×2 grid of band plots.

    `axes`, if given, are four axes to draw into (in `COMPONENTS` order).
    """
    if axes is None:
        fig, axes = _new_figure((11.0, 7.5), nrows=2, ncols=2)
    if len(axes) != len(COMPONENTS):
        raise ValueError(f"need {len(COMPONENTS)} axes, got {len(axes)}")
    for ax, (metric, title) in zip(axes, COMPONENTS.items(), strict=True):
        draw_band(data[metric], ax, title=f"{title} ({metric})", legend=False, max_ticks=8)
    fig = axes[0].figure
    prefix = f"{scenario_name}: " if scenario_name else ""
    fig.suptitle(f"{prefix}components of CSTO cohesion{_runs_text(runs)}")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(handles), frameon=False)
    return fig


def save_run_plots(
    folder: str | os.PathLike[str],
    summary_df: pd.DataFrame,
    scenario_name: str,
    runs: int,
    svg: bool = False,
) -> list[Path]:
    """Write plots/cohesion.png and plots/components.png (and .svg copies if `svg`).

    Returns the paths written.
    """
    figures = {
        "cohesion": draw_cohesion(
            band_data(summary_df, "cohesion"), scenario_name=scenario_name, runs=runs
        ),
        "components": draw_components(
            components_data(summary_df), scenario_name=scenario_name, runs=runs
        ),
    }
    return save_figures(figures, Path(folder) / PLOTS_DIR, svg)


def save_figures(
    figures: dict[str, Figure], out: str | os.PathLike[str], svg: bool = False
) -> list[Path]:
    """Write each figure as `out/<stem>.png` (and `.svg` if `svg`), free it; return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, fig in figures.items():
        for ext in ("png", "svg") if svg else ("png",):
            path = out / f"{stem}.{ext}"
            fig.savefig(path, dpi=DPI, bbox_inches="tight")
            paths.append(path)
        fig.clear()
    return paths
