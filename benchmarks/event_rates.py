"""Event rates of `history-2022` next to the documented record of 2022.

    python benchmarks/event_rates.py [--runs 1000] [--seed 20221211] [--posterior shipped] [--all]

Runs `history-2022` (36 months from 2022-01) with `--runs` lock-step replications, then prints,
for the record's counts (scenarios/targets/record-2022.toml), the model's mean per run in 2022
(`batches.targets.summary_statistics`) beside the record's count and tolerated range, and the
model's mean per run-year in 2023-24 (out of sample: no record is compared). With `--posterior`
(a calibration folder or "shipped") each replication draws its parameters from the posterior.
Without `--all` only the counts the model produces or the record documents as non-zero are
printed.
"""

from __future__ import annotations

import argparse

import numpy as np

from batches.history import history_records, named_events
from batches.targets import load_targets, summary_statistics

MONTHS = 36


def rates(
    runs: int, seed: int, posterior: str | None = None
) -> list[tuple[str, float, float, float, float, float]]:
    """(statistic, record, low, high, model 2022 per run, model per run-year 2023-24) per count."""
    events = named_events(history_records(runs, seed, MONTHS, posterior=posterior))
    targets = load_targets()
    values = summary_statistics(events, runs, targets)
    years = [year for year in (1, 2) if 12 * (year + 1) <= MONTHS]
    later = [_year(events, targets, runs, year) for year in years]
    rows = []
    for count in targets.counts:
        after = float(np.mean([v[count.statistic] for v in later])) if later else np.nan
        record = count.count if count.documented else np.nan
        low = count.low if count.documented else np.nan
        high = count.high if count.documented else np.nan
        rows.append((count.statistic, record, low, high, values[count.statistic], after))
    return rows


def _year(events, targets, runs: int, year: int) -> dict[str, float]:
    """The statistics of the `year`-th year after 2022 (its months shifted onto 0..11)."""
    shifted = events[events["month"] >= 12 * year].copy()
    shifted["month"] -= 12 * year
    return summary_statistics(shifted, runs, targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20221211)
    parser.add_argument("--posterior", help="a calibration folder or 'shipped'")
    parser.add_argument("--all", action="store_true", help="print every count")
    options = parser.parse_args()
    rows = rates(options.runs, options.seed, options.posterior)
    under = f", posterior {options.posterior}" if options.posterior else ""
    print(f"history-2022, {options.runs} runs, seed {options.seed}{under}")
    print(f"{'count':48s} {'record':>6s} {'range':>9s} {'2022':>7s} {'ratio':>6s} {'23-24/yr':>8s}")
    for name, record, low, high, model, after in rows:
        if not options.all and model < 0.005 and after < 0.005 and not record:
            continue
        span = "" if np.isnan(record) else f"{low:g}-{high:g}"
        ratio = model / record if record and not np.isnan(record) else np.nan
        shown = "" if np.isnan(record) else f"{record:g}"
        print(f"{name:48s} {shown:>6s} {span:>9s} {model:7.2f} {ratio:6.2f} {after:8.2f}")


if __name__ == "__main__":
    main()
