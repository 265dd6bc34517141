"""The 2022 record as targets (scenarios/targets/record-2022.toml, batches/targets.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from batches.history import HISTORY_EVENTS, evaluate
from batches.targets import (
    CHECK_IDS,
    history_window,
    load_targets,
    parse_window,
    statistics_by_group,
    summary_statistics,
    targets_dir,
)
from simulation.scenario import ScenarioError
from simulation.schema import ACTION_NAMES

CODES = ("BLR", "RUS", "AZE", "ARM", "GEO", "WEST", "TUR")


@pytest.fixture(scope="module")
def record():
    return load_targets()


def test_the_shipped_record_mirrors_the_eleven_checks(record):
    assert [c.id for c in record.checks] == list(CHECK_IDS)
    assert [c.definition for c in record.checks] == list(HISTORY_EVENTS)
    for check in record.checks:
        assert check.window == history_window(check.definition)
        assert check.happened == check.definition.expect_at_least_half
        assert check.source.strip()
    assert record.scenario == "history-2022"
    assert (record.first, record.last, record.months) == ("2022-01", "2022-12", 12)


def test_the_shipped_counts_are_sourced_and_consistent(record):
    by_name = {c.statistic: c for c in record.counts}
    for count in record.counts:
        assert count.source.strip()
        assert count.action in ACTION_NAMES
        if count.documented:
            assert count.low <= count.count <= count.high
    # the documented acts of 2022, and the acts that did not happen
    expected = {
        "count.ARM.summon_ambassador.BLR": 1,
        "count.GEO.summon_ambassador.BLR": 1,
        "count.BLR.visit_breakaway.RUS": 1,
        "count.ARM.invoke_article4": 1,
        "count.AZE.attack.ARM": 1,
        "count.ARM.refuse_declaration": 1,
        "count.BLR.recognize_breakaway.RUS": 0,
        "count.*.recall_ambassador.*": 0,
        "count.ARM.freeze_participation.RUS": 0,
        "count.ARM.exit_alliance.RUS": 0,
        "count.RUS.honour_article4.ARM": 0,
    }
    for name, value in expected.items():
        assert by_name[name].count == value, name
    assert not by_name["count.*.trade_deal.*"].documented
    observed = record.observed()
    assert "count.*.trade_deal.*" not in observed
    assert observed["check.blr_recognises_abkhazia"] == 0.0
    assert observed["check.arm_summons_blr"] == 1.0


def test_windows():
    assert parse_window("2022-02..2022-03") == ("2022-02", "2022-03")
    assert parse_window("2022-09") == ("2022-09", "2022-09")
    with pytest.raises(ValueError):
        parse_window("2022-03..2022-02")
    with pytest.raises(ValueError):
        parse_window("2022-13")


GOOD = """
first = "2022-01"
last = "2022-12"
[[checks]]
id = "arm_summons_blr"
event = "Armenia summons the Belarusian ambassador"
window = "2022-02..2022-03"
expect = "happened"
source = "a source"
[[counts]]
actor = "ARM"
action = "summon_ambassador"
target = "BLR"
count = 1
source = "a source"
"""


def write(tmp_path, text):
    path = tmp_path / "targets.toml"
    path.write_text(text)
    return path


def test_a_minimal_file_loads(tmp_path):
    targets = load_targets(write(tmp_path, GOOD), codes=CODES)
    assert targets.observed() == {
        "check.arm_summons_blr": 1.0,
        "count.ARM.summon_ambassador.BLR": 1.0,
    }


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ('actor = "ARM"', 'actor = "XYZ"', "counts[0].actor", "unknown code 'XYZ'"),
        (
            'action = "summon_ambassador"',
            'action = "summon"',
            "counts[0].action",
            "unknown action",
        ),
        ("count = 1", "count = -1", "counts[0].count", "whole number >= 0"),
        (
            'target = "BLR"\ncount = 1\nsource = "a source"',
            'target = "BLR"\ncount = 1',
            "counts[0].source",
            "non-empty",
        ),
        ('id = "arm_summons_blr"', 'id = "arm_summons"', "checks[0].id", "unknown check"),
        ('window = "2022-02..2022-03"', 'window = "2022-02..03"', "checks[0].window", "YYYY-MM"),
        (
            'window = "2022-02..2022-03"',
            'window = "2022-02..2022-04"',
            "checks[0].window",
            "scored over",
        ),
        ('expect = "happened"', 'expect = "did_not_happen"', "checks[0].expect", "target"),
        ('last = "2022-12"', 'last = "2023-06"', "last", "2022 at the latest"),
        ("count = 1", "count = 1\nhigh = 0", "counts[0].low", "low <= count <= high"),
        ("count = 1", "count = 1\nweight = 2", "counts[0].weight", "unknown key"),
    ],
)
def test_a_bad_file_is_one_clear_error(tmp_path, old, new, key, message):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioError, match=message) as error:
        load_targets(path, codes=CODES)
    assert error.value.source == str(path)
    assert error.value.key == key


def test_a_missing_or_broken_file(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_targets(tmp_path / "none.toml", codes=CODES)
    with pytest.raises(ScenarioError, match="TOML syntax"):
        load_targets(write(tmp_path, "first = "), codes=CODES)


ACTS = [
    ("BLR", "signal_loyalty", "RUS"),
    ("ARM", "summon_ambassador", "BLR"),
    ("ARM", "summon_ambassador", "RUS"),
    ("ARM", "invoke_article4", ""),
    ("RUS", "partial_response", "ARM"),
    ("RUS", "refuse_article4", "ARM"),
    ("RUS", "honour_article4", "ARM"),
    ("ARM", "court_west", "WEST"),
    ("BLR", "visit_breakaway", "RUS"),
    ("GEO", "summon_ambassador", "BLR"),
    ("GEO", "recall_ambassador", "BLR"),
    ("BLR", "recognize_breakaway", "RUS"),
    ("ARM", "refuse_declaration", ""),
    ("ARM", "boycott_summit", ""),
    ("BLR", "side_with", "AZE"),
    ("BLR", "side_with", "ARM"),
    ("AZE", "attack", "ARM"),
    ("AZE", "trade_deal", "GEO"),
]


def synthetic_events(runs: int, groups: int, seed: int) -> pd.DataFrame:
    """Random events over 15 months (some beyond 2022), `groups` groups of `runs` runs each."""
    rng = np.random.default_rng(seed)
    n = runs * groups * 12
    acts = rng.integers(0, len(ACTS), n)
    run = rng.integers(0, runs * groups, n)
    return pd.DataFrame(
        {
            "particle": run // runs,
            "run": run,
            "month": rng.integers(0, 15, n),
            "actor": [ACTS[a][0] for a in acts],
            "action": [ACTS[a][1] for a in acts],
            "target": [ACTS[a][2] for a in acts],
        }
    )


def test_statistics_are_the_history_checks_and_mean_counts(record):
    events = synthetic_events(runs=40, groups=1, seed=1)
    stats = summary_statistics(events, 40, record)
    in_2022 = events[events["month"] < 12]
    for check, row in zip(record.checks, evaluate(in_2022, 40), strict=True):
        assert stats[check.statistic] == pytest.approx(row["probability"], abs=1e-4)
    signals = ((in_2022["actor"] == "BLR") & (in_2022["action"] == "signal_loyalty")).sum()
    assert stats["count.BLR.signal_loyalty.RUS"] == signals / 40
    summonses = (in_2022["action"] == "summon_ambassador").sum()
    assert stats["count.*.summon_ambassador.*"] == summonses / 40
    assert stats["count.ARM.summon_ambassador.BLR"] < stats["count.*.summon_ambassador.*"]
    assert stats["count.ARM.invoke_article4"] == (in_2022["action"] == "invoke_article4").sum() / 40


def test_statistics_by_group_equal_each_group_alone(record):
    runs, groups = 12, 6
    events = synthetic_events(runs=runs, groups=groups, seed=2)
    # a group with no events at all, and one where Belarus never visits or takes a side
    events = events[events["particle"] != 4]
    quiet = (events["particle"] == 5) & events["action"].isin(["visit_breakaway", "side_with"])
    events = events[~quiet]
    table = statistics_by_group(events, "particle", runs, record, groups=range(groups))
    assert list(table.index) == list(range(groups))
    assert list(table.columns) == record.statistic_names()
    for group in range(groups):
        alone = summary_statistics(events[events["particle"] == group], runs, record)
        np.testing.assert_allclose(
            table.loc[group].to_numpy(dtype=float),
            np.array([alone[name] for name in table.columns]),
            equal_nan=True,
        )
    assert np.isnan(table.loc[5, "check.geo_summons_after_visit"])
    assert (
        table.loc[4].drop(["check.geo_summons_after_visit", "check.blr_sides_with_aze"]) == 0
    ).all()
    filled = statistics_by_group(
        events, "particle", {g: runs for g in range(groups)}, record, undefined=0.5
    )
    assert filled.loc[5, "check.blr_sides_with_aze"] == 0.5


def test_every_act_the_model_takes_in_2022_has_a_target(record):
    """Every (actor, action, target) of a history-2022 batch matches a count (exactly or by a
    wildcard); the pole's forced outreach is the only exception."""
    from batches.chunks import iter_records, plan_chunks
    from batches.history import named_events
    from simulation.scenario import load_scenario

    scenario = load_scenario("history-2022", None, 12)
    records = [r for _, r in iter_records(scenario, 12, plan_chunks(200, 3), 1)]
    events = named_events(records)
    acts = events[["actor", "action", "target"]].drop_duplicates().itertuples(index=False)
    for actor, action, target in acts:
        if action == "outreach":
            continue
        assert any(
            c.action == action
            and c.actor in (actor, "*")
            and (c.target == target or c.target == "*")
            for c in record.counts
        ), (actor, action, target)
    stats = summary_statistics(events, 200, record)
    for check, row in zip(record.checks, evaluate(events, 200), strict=True):
        assert stats[check.statistic] == pytest.approx(row["probability"], abs=1e-4)


def test_the_targets_ship_as_package_data():
    assert (targets_dir() / "record-2022.toml").exists()
