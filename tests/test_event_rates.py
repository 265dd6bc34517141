"""The shipped world's events happen about as often as the record of 2022 says (issue: realistic
event rates): the five rates the record's examples name stay within a factor 1.5 of the record."""

from __future__ import annotations

import pytest

from batches.history import history_records, named_events
from batches.targets import load_targets, summary_statistics

RUNS = 600
FACTOR = 1.5
EXAMPLES = (
    "count.ARM.summon_ambassador.BLR",
    "count.BLR.signal_loyalty.RUS",
    "count.AZE.attack.ARM",
    "count.ARM.invoke_article4",
    "count.ARM.court_west.WEST",
)


@pytest.fixture(scope="module")
def rates() -> dict[str, float]:
    """Mean count per run in 2022 of `history-2022` at the shipped medians (600 runs, seed 11:
    the standard error of each rate is below 0.03, its distance to a limit above 0.3)."""
    targets = load_targets()
    events = named_events(history_records(RUNS, 11, 12))
    return summary_statistics(events, RUNS, targets)


@pytest.mark.parametrize("statistic", EXAMPLES)
def test_the_rate_is_within_a_factor_of_the_record(rates, statistic):
    record = {c.statistic: c.count for c in load_targets().counts}[statistic]
    assert record / FACTOR <= rates[statistic] <= record * FACTOR, rates[statistic]
