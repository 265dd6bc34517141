"""The dashboard's ensemble: run a few hundred replications and turn them into plot data.

`run_ensemble` runs the batch runner's first chunk, so the dashboard's ensemble of R runs with
seed S is the same as `csto run SCENARIO --runs R --seed S --set ...` (R up to one chunk). The
data functions are pure (record -> small DataFrame); the draw functions return matplotlib
Figures made without pyplot, like `results.plots`, whose band plots they reuse.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from batches.chunks import CHUNK_SIZE, plan_chunks, run_chunk
from results.plots import _new_figure, band_data, components_data, draw_band, draw_components
from results.summary import event_frequencies, summary_table
from results.tables import events_table, metrics_table
from simulation.record import STATUS_NAMES, RunRecord, Status
from simulation.scenario import apply_overrides
from simulation.schema import Scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DEFAULT_RUNS = 300
RUN_CHOICES: tuple[int, ...] = (100, 300, 500)
DEFAULT_SEED = 20221211
"""The seed of `csto run`, so the page and the command line agree."""

STATUS_COLORS: dict[str, str] = {
    "member": "#1f4e79",
    "frozen": "#f0a830",
    "exited": "#c0392b",
    "non_member": "#bbbbbb",
}
_REFERENCE_COLOR = "#888888"


@dataclass
class Ensemble:
    """An ensemble run: the record, its scenario and how long it took."""

    scenario: Scenario
    record: RunRecord
    runs: int
    months: int
    seed: int
    seconds: float

    @property
    def summary(self) -> pd.DataFrame:
        """Per month × metric mean and quantiles (results.summary.summary_table)."""
        if not hasattr(self, "_summary"):
            self._summary = summary_table(metrics_table(self.record))
        return self._summary


def shipped_posterior_exists() -> bool:
    """Whether the package ships a calibrated posterior (`--posterior shipped`)."""
    from batches.posterior import shipped_posterior

    return (shipped_posterior() / "posterior.parquet").is_file()


def run_ensemble(
    scenario: Scenario,
    overrides: dict[str, Any] | None = None,
    runs: int = DEFAULT_RUNS,
    months: int | None = None,
    seed: int = DEFAULT_SEED,
    posterior: bool = False,
) -> Ensemble:
    """Run `runs` replications of `scenario` with `overrides` (dotted keys) for `months`.

    With `posterior`, each replication draws the calibrated parameters from the shipped
    posterior (the keys overridden stay as set), as `csto run ... --posterior shipped`.
    Raises ScenarioError for an override the schema rejects or a horizon too short for a shock.
    """
    if not 1 <= runs <= CHUNK_SIZE:
        raise ValueError(f"runs must lie in 1..{CHUNK_SIZE}, got {runs}")
    months = months if months is not None else scenario.months
    spec = apply_overrides(scenario, overrides or {}, months)
    started = time.perf_counter()
    (chunk,) = plan_chunks(runs, seed)
    if posterior:
        from batches.posterior import SHIPPED, chunk_draws, posterior_record

        record = posterior_record(SHIPPED, spec, fixed=list(overrides or {}))
        record = run_chunk(spec, months, chunk, varying=chunk_draws(record, seed, chunk))
    else:
        record = run_chunk(spec, months, chunk)
    return Ensemble(spec, record, runs, months, seed, time.perf_counter() - started)


class EnsembleCache:
    """The last few ensembles by their inputs (the unchanged scenario is asked for often)."""

    def __init__(self, size: int = 8):
        self.size = size
        self._items: OrderedDict[tuple, Ensemble] = OrderedDict()

    def get(
        self,
        scenario: Scenario,
        overrides: dict[str, Any],
        runs: int,
        months: int,
        seed: int,
        posterior: bool = False,
    ) -> Ensemble:
        key = (scenario.name, repr(sorted(overrides.items())), runs, months, seed, posterior)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        ensemble = run_ensemble(scenario, overrides, runs, months, seed, posterior)
        self._items[key] = ensemble
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return ensemble


# --- data ------------------------------------------------------------------------------------


def cohesion_band(ensemble: Ensemble) -> pd.DataFrame:
    """Median and 5-95% band of cohesion per month (columns date, p05, p50, p95)."""
    return band_data(ensemble.summary, "cohesion")


def component_bands(ensemble: Ensemble) -> dict[str, pd.DataFrame]:
    """The four components' bands, in results.plots.COMPONENTS order."""
    return components_data(ensemble.summary)


def month_dates(record: RunRecord) -> pd.DatetimeIndex:
    """The first day of each simulated month."""
    return pd.date_range(pd.Timestamp(record.start + "-01"), periods=record.months, freq="MS")


def status_probabilities(record: RunRecord) -> dict[str, pd.DataFrame]:
    """For each agent that is ever in the alliance: share of runs in each status, per month.

    Returns code -> DataFrame indexed by date with one column per status in STATUS_NAMES order
    (rows sum to 1). Agents that stay non-members throughout are left out.
    """
    status = record.agents["status"]
    result = {}
    for number, code in enumerate(record.agent_codes):
        column = status[:, :, number]
        if (column == Status.non_member).all():
            continue
        shares = {
            name: (column == int(s)).mean(axis=0)
            for name, s in zip(STATUS_NAMES, Status, strict=True)
        }
        result[code] = pd.DataFrame(shares, index=month_dates(record))
    return result


def relation_matrix(record: RunRecord, month: int) -> pd.DataFrame:
    """Mean over runs of each actor's warmth toward each other at `month` (rows: source)."""
    if not 0 <= month < record.months:
        raise ValueError(f"month must lie in 0..{record.months - 1}, got {month}")
    matrix = record.relations[:, month].mean(axis=0).astype(float)
    np.fill_diagonal(matrix, np.nan)
    return pd.DataFrame(matrix, index=record.actor_codes, columns=record.actor_codes)


def top_events(record: RunRecord, n: int = 12) -> pd.DataFrame:
    """The `n` most frequent events: actor, action, target, share_of_runs, per_run.

    Ranked by the share of runs with at least one, then by the mean number per run.
    """
    runs = record.replications
    table = event_frequencies(events_table(record), runs)
    if table.empty:
        return pd.DataFrame(columns=["actor", "action", "target", "share_of_runs", "per_run"])
    table["per_run"] = table["count"] / float(runs)
    table = table.sort_values(["share_of_runs", "per_run"], ascending=False, kind="stable")
    columns = ["actor", "action", "target", "share_of_runs", "per_run"]
    return (
        table[columns]
        .head(n)
        .reset_index(drop=True)
        .astype({"actor": str, "action": str, "target": str})
    )


# --- drawing ---------------------------------------------------------------------------------


def draw_cohesion(
    data: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    *,
    title: str = "CSTO cohesion",
) -> Figure:
    """Cohesion median and 5-95% band, with the unchanged scenario's as a faint reference."""
    fig, (ax,) = _new_figure((8.0, 3.6))
    if reference is not None:
        ax.fill_between(
            reference["date"],
            reference["p05"],
            reference["p95"],
            color=_REFERENCE_COLOR,
            alpha=0.12,
            linewidth=0,
        )
        ax.plot(
            reference["date"],
            reference["p50"],
            color=_REFERENCE_COLOR,
            linewidth=1.5,
            linestyle="--",
            label="unchanged scenario (median, 5–95%)",
        )
    draw_band(data, ax, title=title, ylabel="cohesion (0–1)", legend=False)
    ax.legend(loc="lower left", frameon=False, fontsize=8, ncol=3)
    return fig


def draw_component_grid(bands: dict[str, pd.DataFrame], runs: int) -> Figure:
    """The four components as a 2×2 grid (results.plots.draw_components)."""
    fig, axes = _new_figure((8.0, 5.0), nrows=2, ncols=2)
    draw_components(bands, axes, runs=runs)
    for ax in axes:
        ax.title.set_fontsize(9)
        ax.tick_params(labelsize=8)
    return fig


def draw_status(probabilities: dict[str, pd.DataFrame], names: dict[str, str]) -> Figure:
    """One stacked-area strip per alliance member: the share of runs in each status."""
    panels = max(1, len(probabilities))
    fig, axes = _new_figure((6.0, 1.2 + 0.95 * panels), nrows=panels, ncols=1)
    for ax, (code, shares) in zip(axes, probabilities.items(), strict=False):
        ax.stackplot(
            shares.index,
            *(shares[s] for s in STATUS_NAMES),
            labels=[s.replace("_", " ") for s in STATUS_NAMES],
            colors=[STATUS_COLORS[s] for s in STATUS_NAMES],
            alpha=0.9,
        )
        ax.set_ylim(0, 1)
        ax.set_yticks([0, 0.5, 1], ["0", "50%", "100%"], fontsize=7)
        ax.set_title(names.get(code, code), fontsize=9, loc="left", pad=2)
        ax.tick_params(axis="x", labelsize=7)
        ax.margins(x=0)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, frameon=False, fontsize=8)
    fig.suptitle("CSTO status of each member: share of runs", fontsize=10)
    return fig


def draw_relations(matrix: pd.DataFrame, date: str) -> Figure:
    """Heatmap of the mean relation matrix (-1 hostile … +1 warm), values written in cells."""
    fig, (ax,) = _new_figure((5.6, 4.6))
    image = ax.imshow(matrix.to_numpy(), cmap="RdBu", vmin=-1, vmax=1)
    codes = list(matrix.index)
    ax.set_xticks(range(len(codes)), codes, fontsize=8)
    ax.set_yticks(range(len(codes)), codes, fontsize=8)
    ax.set_xlabel("toward (target)", fontsize=9)
    ax.set_ylabel("warmth of (source)", fontsize=9)
    for i in range(len(codes)):
        for j in range(len(codes)):
            value = matrix.iat[i, j]
            if np.isfinite(value):
                color = "white" if abs(value) > 0.55 else "black"
                ax.text(j, i, f"{value:+.2f}", ha="center", va="center", fontsize=7, color=color)
    fig.colorbar(image, ax=ax, shrink=0.8, label="relation ρ (mean over runs)")
    ax.set_title(f"Relations in {date}", fontsize=10)
    return fig


def draw_top_events(table: pd.DataFrame) -> Figure:
    """Horizontal bars: share of runs with each of the most frequent events, and the rate."""
    from dashboard.narrate import event_label

    rows = max(1, len(table))
    fig, (ax,) = _new_figure((8.0, 0.9 + 0.3 * rows))
    labels = [event_label(r.actor, r.action, r.target) for r in table.itertuples()]
    positions = np.arange(len(table))[::-1]
    ax.barh(positions, table["share_of_runs"], color="#6fa8dc")
    ax.set_yticks(positions, labels, fontsize=8)
    ax.set_xlim(0, 1.18)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"], fontsize=8)
    for y, (share, rate) in zip(
        positions, zip(table["share_of_runs"], table["per_run"], strict=True), strict=True
    ):
        ax.text(share + 0.01, y, f"{rate:.1f}/run", va="center", fontsize=7)
    ax.set_xlabel("share of runs with at least one (label: mean number per run)", fontsize=8)
    ax.set_title("Most frequent events", fontsize=10)
    return fig
