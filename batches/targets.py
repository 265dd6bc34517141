"""The documented record as calibration targets, and the statistics a batch is compared on.

A targets file (TOML, `scenarios/targets/record-2022.toml` by default) holds the eleven timeline
checks of `csto history` (by id, mirroring `batches.history.HISTORY_EVENTS`) and the documented
count of each actor-action-target in the period. The statistics of a batch are, per target:

- a check: the probability `batches.history` computes (the share of runs in which the event
  happens in its window, or of the runs meeting its condition); the record's value is 1 if the
  event happened and 0 if not;
- a count: the mean number of matching events per run over the period (months 0..11 for 2022),
  the record's value being the documented count.

`statistics_by_group` computes the same for every group of runs (a `point` or `particle` column)
of one batch, which is how a whole ABC population is evaluated at once.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from batches.history import HISTORY_EVENTS, HistoryEvent
from simulation.calendar import month_index, parse_month
from simulation.scenario import ScenarioError
from simulation.schema import ACTION_NAMES

TARGETS_PACKAGE = "scenarios.targets"
DEFAULT_TARGETS = "record-2022.toml"
EXPECT = {"happened": True, "did_not_happen": False}
ANY = "*"

CHECK_IDS: dict[str, int] = {
    "blr_signal_hurts_armenia": 0,
    "arm_summons_blr": 1,
    "arm_invokes_article4": 2,
    "rus_does_not_honour": 3,
    "arm_courts_west": 4,
    "blr_visits_abkhazia": 5,
    "geo_summons_after_visit": 6,
    "geo_recalls_from_blr": 7,
    "blr_recognises_abkhazia": 8,
    "arm_refuses_summit": 9,
    "blr_sides_with_aze": 10,
}
"""Check id -> index of its definition in batches.history.HISTORY_EVENTS."""


@dataclass(frozen=True)
class CheckTarget:
    """One timeline check: the record says the event happened (1) or did not (0)."""

    id: str
    event: str
    window: tuple[str, str]
    happened: bool
    source: str

    @property
    def statistic(self) -> str:
        return f"check.{self.id}"

    @property
    def definition(self) -> HistoryEvent:
        return HISTORY_EVENTS[CHECK_IDS[self.id]]


@dataclass(frozen=True)
class CountTarget:
    """The documented number of times `actor` took `action` toward `target` in the period."""

    actor: str
    action: str
    target: str
    count: int | None
    low: int | None
    high: int | None
    source: str
    how: str = ""

    @property
    def documented(self) -> bool:
        return self.count is not None

    @property
    def statistic(self) -> str:
        target = f".{self.target}" if self.target else ""
        return f"count.{self.actor}.{self.action}{target}"


@dataclass(frozen=True)
class Targets:
    """A loaded targets file."""

    path: Path
    name: str
    description: str
    scenario: str
    first: str
    last: str
    checks: tuple[CheckTarget, ...]
    counts: tuple[CountTarget, ...]

    @property
    def months(self) -> int:
        """Months in the period (the statistics count months 0..months-1 from `first`)."""
        return month_index(self.first, self.last) + 1

    def observed(self) -> dict[str, float]:
        """The record's value of every compared statistic (undocumented counts left out)."""
        values = {c.statistic: 1.0 if c.happened else 0.0 for c in self.checks}
        values.update({c.statistic: float(c.count) for c in self.counts if c.documented})
        return values

    def uncertainty(self) -> dict[str, float]:
        """Half the width of the record's range of each documented count (0 where exact)."""
        return {c.statistic: (c.high - c.low) / 2 for c in self.counts if c.documented}

    def statistic_names(self) -> list[str]:
        """Every statistic, compared or not, in file order (checks first)."""
        return [c.statistic for c in self.checks] + [c.statistic for c in self.counts]


def targets_dir() -> Path:
    """The folder of the shipped targets files."""
    return Path(str(resources.files(TARGETS_PACKAGE)))


def load_targets(path: str | Path | None = None, codes: Sequence[str] | None = None) -> Targets:
    """Load and validate a targets file (default: the shipped record of 2022).

    `codes` are the actor codes a count may name (default: the actors of `world-2022`). Raises
    ScenarioError(file, key, message) naming the first bad entry.
    """
    file = Path(path) if path is not None else targets_dir() / DEFAULT_TARGETS
    source = str(file)
    try:
        with open(file, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(source, "", f"TOML syntax error: {error}") from None
    except OSError as error:
        raise ScenarioError(source, "", f"cannot read: {error.strerror}") from None
    if codes is None:
        from simulation.scenario import load_scenario

        codes = load_scenario("world-2022").actor_codes
    return _parse(data, file, set(codes))


def _parse(data: dict[str, Any], file: Path, codes: set[str]) -> Targets:
    source = str(file)
    known = {"name", "description", "scenario", "first", "last", "checks", "counts"}
    for key in data:
        if key not in known:
            raise ScenarioError(source, key, f"unknown key; expected one of {sorted(known)}")
    first = _month(data, "first", source)
    last = _month(data, "last", source)
    if month_index(first, last) < 0:
        raise ScenarioError(source, "last", f"{last} is before first {first}")
    if parse_month(last)[0] > 2022:
        raise ScenarioError(source, "last", f"the record ends in 2022 at the latest, got {last}")
    checks = tuple(
        _check(entry, f"checks[{n}]", source, first, last)
        for n, entry in enumerate(_tables(data, "checks", source))
    )
    ids = [c.id for c in checks]
    for n, check_id in enumerate(ids):
        if check_id in ids[:n]:
            raise ScenarioError(source, f"checks[{n}].id", f"{check_id!r} is given twice")
    counts = tuple(
        _count(entry, f"counts[{n}]", source, codes)
        for n, entry in enumerate(_tables(data, "counts", source))
    )
    names = [c.statistic for c in counts]
    for n, name in enumerate(names):
        if name in names[:n]:
            raise ScenarioError(source, f"counts[{n}]", f"{name} is given twice")
    return Targets(
        path=file,
        name=str(data.get("name", file.stem)),
        description=str(data.get("description", "")),
        scenario=str(data.get("scenario", "history-2022")),
        first=first,
        last=last,
        checks=checks,
        counts=counts,
    )


def _month(data: dict[str, Any], key: str, source: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ScenarioError(source, key, "expected a month, YYYY-MM")
    try:
        parse_month(value)
    except ValueError:
        raise ScenarioError(source, key, f"expected a month, YYYY-MM, got {value!r}") from None
    return value


def _tables(data: dict[str, Any], key: str, source: str) -> list[dict[str, Any]]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ScenarioError(source, key, f"expected [[{key}]] tables")
    return entries


def _text(entry: dict[str, Any], key: str, where: str, source: str, required: bool = True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ScenarioError(source, f"{where}.{key}", "expected a non-empty string")
    return value


def _unknown_keys(entry: dict[str, Any], allowed: set[str], where: str, source: str) -> None:
    for key in entry:
        if key not in allowed:
            raise ScenarioError(
                source, f"{where}.{key}", f"unknown key; expected one of {sorted(allowed)}"
            )


def parse_window(text: str) -> tuple[str, str]:
    """A window "YYYY-MM..YYYY-MM" (or one month "YYYY-MM") as (first, last); ValueError if bad."""
    first, _, last = text.partition("..")
    last = last or first
    parse_month(first)
    parse_month(last)
    if month_index(first, last) < 0:
        raise ValueError(f"{last} is before {first}")
    return first, last


def history_window(check: HistoryEvent) -> tuple[str, str]:
    """The window of a `batches.history` check as (first, last) months.

    Its labels are "2022-01..03", "2022-09" or "2022 ..."; a conditional window ("visit month + 2
    (runs with a 2022 visit)") counts as the whole of 2022, the period its condition looks at.
    """
    label = check.window.split(" ")[0]
    if label[:4].isdigit() and len(label) == 4:
        return f"{label}-01", f"{label}-12"
    if ".." in label:
        first, _, tail = label.partition("..")
        return first, f"{first[:4]}-{tail}" if len(tail) == 2 else tail
    try:
        parse_month(label)
        return label, label
    except ValueError:
        return "2022-01", "2022-12"


def _check(entry: dict[str, Any], where: str, source: str, first: str, last: str) -> CheckTarget:
    _unknown_keys(entry, {"id", "event", "window", "expect", "source"}, where, source)
    check_id = _text(entry, "id", where, source)
    if check_id not in CHECK_IDS:
        raise ScenarioError(
            source, f"{where}.id", f"unknown check {check_id!r}; expected one of {list(CHECK_IDS)}"
        )
    definition = HISTORY_EVENTS[CHECK_IDS[check_id]]
    event = _text(entry, "event", where, source)
    if event != definition.event:
        raise ScenarioError(
            source, f"{where}.event", f"check {check_id!r} is {definition.event!r}, got {event!r}"
        )
    try:
        window = parse_window(_text(entry, "window", where, source))
    except ValueError as error:
        raise ScenarioError(
            source, f"{where}.window", f"expected YYYY-MM..YYYY-MM ({error})"
        ) from None
    if month_index(first, window[0]) < 0 or month_index(window[1], last) < 0:
        raise ScenarioError(source, f"{where}.window", f"outside the period {first}..{last}")
    expected = history_window(definition)
    if window != expected:
        raise ScenarioError(
            source,
            f"{where}.window",
            f"check {check_id!r} is scored over {expected[0]}..{expected[1]}",
        )
    expect = _text(entry, "expect", where, source)
    if expect not in EXPECT:
        raise ScenarioError(source, f"{where}.expect", f"expected one of {list(EXPECT)}")
    if EXPECT[expect] != definition.expect_at_least_half:
        raise ScenarioError(
            source, f"{where}.expect", f"check {check_id!r} has {definition.target} as its target"
        )
    return CheckTarget(
        check_id, event, window, EXPECT[expect], _text(entry, "source", where, source)
    )


def _count(entry: dict[str, Any], where: str, source: str, codes: set[str]) -> CountTarget:
    allowed = {"actor", "action", "target", "count", "low", "high", "documented", "source", "how"}
    _unknown_keys(entry, allowed, where, source)
    actor = _text(entry, "actor", where, source)
    if actor != ANY and actor not in codes:
        raise ScenarioError(
            source, f"{where}.actor", f"unknown code {actor!r}; expected one of {sorted(codes)}"
        )
    action = _text(entry, "action", where, source)
    if action not in ACTION_NAMES or action == "none":
        raise ScenarioError(source, f"{where}.action", f"unknown action {action!r}")
    target = _text(entry, "target", where, source, required=False)
    if target not in ("", ANY) and target not in codes:
        raise ScenarioError(
            source,
            f"{where}.target",
            f"unknown code {target!r}; expected one of {sorted(codes)}, '' or '*'",
        )
    if "target" not in entry:
        raise ScenarioError(source, f"{where}.target", "expected a code, '' (none) or '*' (any)")
    text = _text(entry, "source", where, source)
    how = _text(entry, "how", where, source, required=False)
    documented = entry.get("documented", True)
    if not isinstance(documented, bool):
        raise ScenarioError(source, f"{where}.documented", "expected true or false")
    if not documented:
        for key in ("count", "low", "high"):
            if key in entry:
                raise ScenarioError(source, f"{where}.{key}", "an undocumented entry has no count")
        return CountTarget(actor, action, target, None, None, None, text, how)
    count = _whole(entry, "count", where, source, None)
    low = _whole(entry, "low", where, source, count)
    high = _whole(entry, "high", where, source, count)
    if not low <= count <= high:
        raise ScenarioError(
            source, f"{where}.low", f"expected low <= count <= high, got {low}..{high}"
        )
    return CountTarget(actor, action, target, count, low, high, text, how)


def _whole(entry: dict[str, Any], key: str, where: str, source: str, default: int | None) -> int:
    value = entry.get(key, default)
    if value is None:
        raise ScenarioError(source, f"{where}.{key}", "expected a count (or documented = false)")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScenarioError(
            source, f"{where}.{key}", f"expected a whole number >= 0, got {value!r}"
        )
    return value


# -- statistics -------------------------------------------------------------------------------


def _in_period(events: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    return events[events["month"] < targets.months]


def _matches(events: pd.DataFrame, count: CountTarget) -> np.ndarray:
    mask = (events["action"] == count.action).to_numpy(dtype=bool, na_value=False)
    if count.actor != ANY:
        mask = mask & (events["actor"] == count.actor).to_numpy(dtype=bool, na_value=False)
    if count.target != ANY:
        target = events["target"].fillna("") == count.target
        mask = mask & target.to_numpy(dtype=bool, na_value=False)
    return mask


def summary_statistics(
    events: pd.DataFrame, runs: int, targets: Targets, undefined: float = math.nan
) -> dict[str, float]:
    """The statistics of one batch of `runs` runs: each check's probability (as
    `batches.history` scores it) and each count's mean per run over the period.

    A conditional check whose condition never holds has no probability: it is `undefined`.
    """
    if runs < 1:
        raise ValueError("runs must be >= 1")
    period = _in_period(events, targets)
    values: dict[str, float] = {}
    for check in targets.checks:
        probability, over = check.definition.test(period, runs)
        values[check.statistic] = float(probability) if over > 0 else undefined
    for count in targets.counts:
        values[count.statistic] = float(_matches(period, count).sum()) / runs
    return values


def statistics_by_group(
    events: pd.DataFrame,
    group_column: str,
    runs_per_group: int | Mapping[Any, int],
    targets: Targets,
    groups: Sequence[Any] | None = None,
    undefined: float = math.nan,
) -> pd.DataFrame:
    """`summary_statistics` for every group of runs (e.g. a `point` or `particle` column): one
    row per group (index: the groups), one column per statistic.

    `runs_per_group` is the runs of every group (an int) or per group (a mapping, which also
    names the groups); `groups` lists the groups when a group may have no events at all.
    """
    if isinstance(runs_per_group, Mapping):
        runs = dict(runs_per_group)
        order = list(groups) if groups is not None else list(runs)
    else:
        order = (
            list(groups) if groups is not None else sorted(events[group_column].unique().tolist())
        )
        runs = dict.fromkeys(order, int(runs_per_group))
    period = _in_period(events, targets)
    index = pd.Index(order, name=group_column)
    n = pd.Series([runs[g] for g in order], index=index, dtype=float)
    frame = pd.DataFrame(index=index)
    for check in targets.checks:
        frame[check.statistic] = _check_by_group(check.id, period, group_column, n, undefined)
    keys = [group_column, "actor", "action", "target"]
    tally = period[keys].astype({"target": object}).fillna({"target": ""})
    tally = tally.groupby(keys, observed=True, sort=False).size().rename("n").reset_index()
    for count in targets.counts:
        chosen = tally[_matches(tally, count)]
        totals = chosen.groupby(group_column)["n"].sum()
        frame[count.statistic] = totals.reindex(index, fill_value=0).to_numpy() / n.to_numpy()
    return frame[targets.statistic_names()]


# The checks of simulation/history.py, computed for every group at once. Each mirrors the
# function of the same check there (tests/test_targets.py asserts they agree group by group).
_SHARES: dict[str, tuple[str, tuple[str, ...], str, str, str | None]] = {
    "blr_signal_hurts_armenia": ("BLR", ("signal_loyalty",), "2022-01", "2022-03", None),
    "arm_summons_blr": ("ARM", ("summon_ambassador",), "2022-02", "2022-03", "BLR"),
    "arm_invokes_article4": ("ARM", ("invoke_article4",), "2022-09", "2022-09", None),
    "arm_courts_west": ("ARM", ("court_west",), "2022-09", "2022-11", None),
    "blr_visits_abkhazia": ("BLR", ("visit_breakaway",), "2022-08", "2022-10", None),
    "geo_recalls_from_blr": ("GEO", ("recall_ambassador",), "2022-01", "2022-12", "BLR"),
    "blr_recognises_abkhazia": ("BLR", ("recognize_breakaway",), "2022-01", "2022-12", None),
    "arm_refuses_summit": (
        "ARM",
        ("refuse_declaration", "boycott_summit"),
        "2022-11",
        "2022-11",
        None,
    ),
}


def _runs_with(
    events: pd.DataFrame,
    group: str,
    actor: str,
    actions: tuple[str, ...],
    first: str,
    last: str,
    target: str | None,
) -> pd.DataFrame:
    """Distinct (group, run) pairs where `actor` takes one of `actions` in [first, last]."""
    start = "2022-01"
    chosen = events[
        (events["actor"] == actor)
        & events["action"].isin(actions)
        & events["month"].between(month_index(start, first), month_index(start, last))
    ]
    if target is not None:
        chosen = chosen[chosen["target"] == target]
    return chosen[[group, "run"]].drop_duplicates()


def _check_by_group(
    check_id: str, events: pd.DataFrame, group: str, runs: pd.Series, undefined: float
) -> np.ndarray:
    if check_id in _SHARES:
        pairs = _runs_with(events, group, *_SHARES[check_id])
        hits = pairs.groupby(group).size().reindex(runs.index, fill_value=0)
        return hits.to_numpy() / runs.to_numpy()
    if check_id == "rus_does_not_honour":
        window = ("2022-09", "2022-10")
        short = _runs_with(
            events, group, "RUS", ("partial_response", "refuse_article4"), *window, "ARM"
        )
        honoured = _runs_with(events, group, "RUS", ("honour_article4",), *window, "ARM")
        merged = short.merge(honoured, how="left", indicator=True)
        hits = merged[merged["_merge"] == "left_only"].groupby(group).size()
        return hits.reindex(runs.index, fill_value=0).to_numpy() / runs.to_numpy()
    if check_id == "geo_summons_after_visit":
        return _georgia_after_visit(events, group, runs.index, undefined)
    if check_id == "blr_sides_with_aze":
        sidings = events[(events["actor"] == "BLR") & (events["action"] == "side_with")]
        favour = (
            sidings.assign(aze=sidings["target"] == "AZE").groupby([group, "run"])["aze"].mean()
        )
        share = (favour > 0.5).groupby(level=0).mean()
        return share.reindex(runs.index, fill_value=undefined).to_numpy(dtype=float)
    raise KeyError(check_id)


def _georgia_after_visit(
    events: pd.DataFrame, group: str, index: pd.Index, undefined: float
) -> np.ndarray:
    visits = events[(events["actor"] == "BLR") & (events["action"] == "visit_breakaway")]
    first = visits.groupby([group, "run"])["month"].min().rename("visit").reset_index()
    summons = events[
        (events["actor"] == "GEO")
        & (events["action"] == "summon_ambassador")
        & (events["target"] == "BLR")
    ][[group, "run", "month"]]
    joined = summons.merge(first, on=[group, "run"])
    answered = joined[joined["month"].between(joined["visit"], joined["visit"] + 2)]
    hits = answered.drop_duplicates([group, "run"]).groupby(group).size()
    visited = first.groupby(group).size()
    share = (hits.reindex(visited.index, fill_value=0) / visited).reindex(index)
    return share.fillna(undefined).to_numpy(dtype=float)
