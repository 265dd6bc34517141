"""Which terms carry the article's claims: each claim's events with one term switched off.

    python benchmarks/claims.py [--runs 1000] [--seed 5] [--markdown]

Runs `history-2022` over 2022 (12 months, `--runs` lock-step replications, one model a row) for
the reference and for each switch-off of a claim (a list of `--set` overrides, e.g.
`agents.BLR.beta_trade=0`), and prints each row's event rates: the share of runs with the event
in its window, from the checks of `csto history` (`batches.history.HISTORY_EVENTS`) where the
windows match. "Summons after the visit" is conditional on the runs with a 2022 visit to
Abkhazia; "(Armenia x)" is the share of runs in which Belarus sides with Armenia in 2022. A term
carries a claim when switching it off moves the claim's rates far from the reference (the first
row of each block). `--markdown` prints the table of docs/CALIBRATION.md ("Which terms carry the
article's claims"): claim | switched off | event | rate.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from batches.history import (
    HISTORY_EVENTS,
    HISTORY_MONTHS,
    HISTORY_SCENARIO,
    named_events,
    share_of_runs,
)
from simulation.model import CSTOModel

Check = Callable[[pd.DataFrame, int], tuple[float, int]]


def _history(event: str) -> Check:
    """The check of `csto history` for `event` (its name in HISTORY_EVENTS)."""
    return {check.event: check.test for check in HISTORY_EVENTS}[event]


SIDES_WITH_AZERBAIJAN = share_of_runs("BLR", ("side_with",), "2022-01", "2022-12", "AZE")
SIDES_WITH_ARMENIA = share_of_runs("BLR", ("side_with",), "2022-01", "2022-12", "ARM")


@dataclass(frozen=True)
class Switch:
    """One row: the term switched off (its `--set` overrides); `armenia` adds Belarus's siding
    with Armenia to the rate."""

    term: str
    overrides: tuple[str, ...] = ()
    armenia: bool = False

    @property
    def label(self) -> str:
        if not self.overrides:
            return "—"
        return f"{self.term} ({', '.join(f'`{o}`' for o in self.overrides)})"


@dataclass(frozen=True)
class Claim:
    """One claim of the article, its events (rates joined by " / ") and its switch-offs."""

    claim: str
    event: str
    checks: tuple[Check, ...]
    switches: tuple[Switch, ...]


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "**Belarus sides with Azerbaijan** because of its trade and oil (over four times "
        "Armenia's, plus oil and arms)",
        "Belarus sides with Azerbaijan (runs)",
        (SIDES_WITH_AZERBAIJAN,),
        (
            Switch("stakes and trade", ("agents.BLR.beta_trade=0",), armenia=True),
            Switch("the oil and trade themselves", ("trade.BLR.AZE=0", "ties.BLR.AZE=0"), True),
            Switch("affinity", ("agents.BLR.beta_affinity=0",)),
        ),
    ),
    Claim(
        "**Belarus signals loyalty** because it needs Russia's favour",
        "loyalty signal 2022-01..03 / visit 2022-08..10",
        (
            _history("Belarus makes a loyalty signal that hurts Armenia"),
            _history("Belarus visits Abkhazia"),
        ),
        (
            Switch("loyalty", ("agents.BLR.beta_loyalty=0",)),
            Switch("legitimacy", ("agents.BLR.beta_legitimacy=0",)),
            Switch("regime insecurity", ("agents.BLR.insecurity=0",)),
        ),
    ),
    Claim(
        "**Georgia protests but does not retaliate** (it needs Belarus as a partner and fears "
        "Russia)",
        "summons after the visit / recall in 2022",
        (
            _history("Georgia summons the Belarusian ambassador after the visit"),
            _history("Georgia recalls its ambassador from Belarus"),
        ),
        (
            Switch("trade", ("agents.GEO.beta_trade=0",)),
            Switch("security", ("agents.GEO.beta_security=0",)),
            Switch("Russia's favour", ("agents.GEO.beta_loyalty=0",)),
            Switch("affinity", ("agents.GEO.beta_affinity=0",)),
            Switch("the recall's cost", ("actions.recall_ambassador.cost=0",)),
        ),
    ),
    Claim(
        "**Armenia turns away** after the non-response",
        "courts the West 2022-09..11 / refuses the declaration",
        (
            _history("Armenia courts the West"),
            _history("Armenia refuses the declaration or boycotts the November summit"),
        ),
        (
            Switch("the public's reaction", ("dynamics.public_reaction=0",)),
            Switch("legitimacy", ("agents.ARM.beta_legitimacy=0",)),
            Switch("security", ("agents.ARM.beta_security=0",)),
            Switch("Russia's favour", ("agents.ARM.beta_loyalty=0",)),
        ),
    ),
)


def events_of(overrides: tuple[str, ...], runs: int, seed: int) -> pd.DataFrame:
    """The events of one lock-step batch of `history-2022` over 2022 with `overrides` set."""
    from simulation.scenario import load_scenario

    scenario = load_scenario(HISTORY_SCENARIO, list(overrides), HISTORY_MONTHS)
    model = CSTOModel(scenario, replications=runs, rng=seed, months=HISTORY_MONTHS)
    return named_events([model.run()])


def rates(claim: Claim, switch: Switch, runs: int, seed: int) -> tuple[list[float], float | None]:
    """The claim's event rates with `switch` applied, and Belarus's siding with Armenia (or
    None when the row does not show it)."""
    events = events_of(switch.overrides, runs, seed)
    values = [float(check(events, runs)[0]) for check in claim.checks]
    armenia = float(SIDES_WITH_ARMENIA(events, runs)[0]) if switch.armenia else None
    return values, armenia


def _share(value: float) -> str:
    """Two decimals; three for a small non-zero share (so 0.016 is not shown as 0.02); "—" for
    a conditional share over no runs."""
    if value != value:
        return "—"
    return f"{value:.3f}" if 0 < value < 0.05 else f"{value:.2f}"


def rate_text(values: list[float], armenia: float | None) -> str:
    """The rate column: the event rates joined by " / ", then "(Armenia x)" if shown."""
    text = " / ".join(_share(v) for v in values)
    return text if armenia is None else f"{text} (Armenia {_share(armenia)})"


def table(runs: int, seed: int) -> list[tuple[str, str, str, str]]:
    """(claim, switched off, event, rate) for every row; the reference first in each block."""
    rows = []
    for claim in CLAIMS:
        for index, switch in enumerate((Switch("reference"), *claim.switches)):
            text = rate_text(*rates(claim, switch, runs, seed))
            first = index == 0
            rows.append(
                (claim.claim if first else "", switch.label, claim.event if first else "", text)
            )
    return rows


def markdown(rows: list[tuple[str, str, str, str]]) -> str:
    """The table in the layout of docs/CALIBRATION.md."""
    lines = ["| claim | switched off | event | rate |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def plain(rows: list[tuple[str, str, str, str]]) -> str:
    """The table as aligned text: switched off, then rate (a claim's header above its block)."""
    lines = []
    for claim, switch, event, rate in rows:
        if claim:
            lines.append(f"{claim.replace('**', '')}: {event}")
        lines.append(f"  {switch:60s} {rate}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--markdown", action="store_true", help="print the doc's markdown table")
    options = parser.parse_args()
    if options.runs < 1:
        parser.error(f"--runs: expected a positive number of runs, got {options.runs}")
    rows = table(options.runs, options.seed)
    print(f"history-2022 over 2022, {options.runs} runs a row, seed {options.seed}")
    print(markdown(rows) if options.markdown else plain(rows))


if __name__ == "__main__":
    main()
