"""The dose-response figures of the README: Belarus's choices against its oil ties and its
dependence on Russia, from the two shipped sweeps.

    csto sweep belarus-azerbaijan-ties --seed 5 --out runs/ties
    csto sweep belarus-dependence --seed 5 --out runs/dep
    python benchmarks/dose_plots.py runs/ties runs/dep [--out docs/img]

Writes `dose_ties.png` (the share of runs in which Belarus sides with Azerbaijan in 2022 at each
value of its oil ties, with its 95% Wilson interval) and `dose_dependence.png` (Belarus's loyalty
signals and Abkhazia visits per run in 2022 at each value of its dependence D), and prints the
numbers the figures show.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from results.compare import wilson_interval  # noqa: E402

YEAR_2022 = range(12)


def sweep_tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
    """(points, events of 2022, runs per point, seed) of a sweep folder."""
    import json

    manifest = json.loads((folder / "manifest.json").read_text())
    points = pd.read_parquet(folder / "points.parquet")
    events = pd.read_parquet(folder / "events.parquet")
    events = events[events["month"].isin(YEAR_2022)]
    return points, events, int(manifest["runs"]), int(manifest["seed"])


def matching(events: pd.DataFrame, actor: str, action: str, target: str) -> pd.DataFrame:
    """The events of `actor` doing `action` to `target`."""
    return events[
        (events["actor"] == actor) & (events["action"] == action) & (events["target"] == target)
    ]


def runs_with(events: pd.DataFrame, actor: str, action: str, target: str) -> pd.Series:
    """Per point: the number of runs with at least one such event."""
    return matching(events, actor, action, target).groupby("point")["run"].nunique()


def per_run(events: pd.DataFrame, actor: str, action: str, target: str, runs: int) -> pd.Series:
    """Per point: the mean number of such events per run."""
    return matching(events, actor, action, target).groupby("point").size() / runs


def save(fig, ax, title: str, path: Path) -> None:
    """Title, legend, layout; write the figure and close it."""
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def ties_figure(folder: Path, out: Path) -> pd.DataFrame:
    points, events, runs, seed = sweep_tables(folder)
    key = [c for c in points.columns if c != "point"][0]
    sided = runs_with(events, "BLR", "side_with", "AZE").reindex(points["point"], fill_value=0)
    table = points.assign(share=sided.to_numpy() / runs)
    bounds = [wilson_interval(int(k), runs) for k in sided.to_numpy()]
    table["low"], table["high"] = zip(*bounds, strict=True)
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    yerr = np.array([table["share"] - table["low"], table["high"] - table["share"]])
    ax.errorbar(table[key], table["share"], yerr=yerr, marker="o", capsize=3,
                label="sides with Azerbaijan (95% Wilson)")  # fmt: skip
    ax.axvline(520.0, color="grey", linestyle=":", label="world-2022 (US$ 520 m)")
    ax.set(xlabel="Belarus's oil ties with Azerbaijan, US$ m a year", ylim=(0, 1),
           ylabel="share of runs in 2022")  # fmt: skip
    save(fig, ax, f"history-2022, {runs:,} runs a point, seed {seed}", out / "dose_ties.png")
    return table


def dependence_figure(folder: Path, out: Path) -> pd.DataFrame:
    points, events, runs, seed = sweep_tables(folder)
    key = [c for c in points.columns if c != "point"][0]
    index = points["point"]
    table = points.assign(
        signals=per_run(events, "BLR", "signal_loyalty", "RUS", runs).reindex(index, fill_value=0)
        .to_numpy(),
        visits=per_run(events, "BLR", "visit_breakaway", "RUS", runs).reindex(index, fill_value=0)
        .to_numpy(),
    )  # fmt: skip
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.plot(table[key], table["signals"], marker="o", label="loyalty signals")
    ax.plot(table[key], table["visits"], marker="s", label="Abkhazia visits")
    ax.axvline(0.9, color="grey", linestyle=":", label="world-2022 (0.9)")
    ax.set(xlabel="Belarus's dependence on Russia, D", ylabel="events per run in 2022")
    title = f"history-2022, {runs:,} runs a point, seed {seed}"
    save(fig, ax, title, out / "dose_dependence.png")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ties", type=Path, help="the belarus-azerbaijan-ties sweep folder")
    parser.add_argument("dependence", type=Path, help="the belarus-dependence sweep folder")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(ties_figure(args.ties, args.out).round(3).to_string(index=False))
    print(dependence_figure(args.dependence, args.out).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
