"""Events in words: "2022-09: Armenia invokes Article 4; Russia: partial response"."""

from __future__ import annotations

from collections.abc import Mapping

from simulation.calendar import month_label
from simulation.record import RunRecord

PHRASES: dict[str, str] = {
    "signal_loyalty": "{actor} signals loyalty to {target}",
    "visit_breakaway": "{actor} visits a breakaway region (a signal to {target})",
    "recognize_breakaway": "{actor} recognises a breakaway region (a signal to {target})",
    "side_with": "{actor} sides with {target}",
    "mediate": "{actor} offers to mediate with {target}",
    "trade_deal": "{actor} signs a trade deal with {target}",
    "summon_ambassador": "{actor} summons {target}'s ambassador",
    "recall_ambassador": "{actor} recalls its ambassador from {target}",
    "court_west": "{actor} courts {target}",
    "attack": "{actor} attacks {target}",
    "negotiate": "{actor} negotiates with {target}",
    "invoke_article4": "{actor} invokes Article 4",
    "honour_article4": "{actor}: honours Article 4",
    "partial_response": "{actor}: partial response",
    "refuse_article4": "{actor}: refuses Article 4",
    "sign_declaration": "{actor} signs the summit declaration",
    "refuse_declaration": "{actor} refuses to sign the summit declaration",
    "boycott_summit": "{actor} boycotts the summit",
    "freeze_participation": "{actor} freezes its participation in the CSTO",
    "exit_alliance": "{actor} leaves the CSTO",
    "rejoin": "{actor} rejoins the CSTO",
    "reward": "{actor} rewards {target}",
    "pressure": "{actor} puts pressure on {target}",
    "outreach": "{actor} makes {target} an offer",
}
"""One phrase per action name (MODEL 5.2); {target} is left out when an event has none."""

ROUTINE: frozenset[str] = frozenset({"sign_declaration"})
"""Actions listed after the others in a month's line (every member signs most summits)."""


def describe(
    actor: str, action: str, target: str = "", names: Mapping[str, str] | None = None
) -> str:
    """One event in words, with display names when `names` maps codes to them."""
    names = names or {}
    phrase = PHRASES.get(action, "{actor}: " + action.replace("_", " ") + " {target}")
    if not target:
        phrase = phrase.replace(" with {target}", "").replace(" to {target}", "")
        phrase = phrase.replace(" (a signal to {target})", "").replace(" {target}", "")
    text = phrase.format(actor=names.get(actor, actor), target=names.get(target, target))
    return text.strip()


def event_label(actor: str, action: str, target: str = "") -> str:
    """A short label for a chart: "ARM invoke_article4", "AZE attack → ARM"."""
    return f"{actor} {action}" + (f" → {target}" if target else "")


def month_events(record: RunRecord, month: int, run: int = 0) -> list[tuple[str, str, str]]:
    """(actor, action, target) codes of the events of one run in one month, in record order.

    `run` is the record's local run index. Routine summit signatures come last.
    """
    events = record.events
    if not events or len(events.get("run", ())) == 0:
        return []
    chosen = (events["run"] == run) & (events["month"] == month)
    found = []
    for actor, action, target in zip(
        events["actor"][chosen], events["action"][chosen], events["target"][chosen], strict=True
    ):
        name = record.action_names[int(action)]
        if name == "none":
            continue
        target_code = record.actor_codes[int(target)] if int(target) >= 0 else ""
        found.append((record.actor_codes[int(actor)], name, target_code))
    return sorted(found, key=lambda event: event[1] in ROUTINE)


def narrate_month(
    record: RunRecord, month: int, run: int = 0, names: Mapping[str, str] | None = None
) -> str:
    """ "2022-09: Armenia invokes Article 4; Russia: partial response" (or "…: nothing happens")."""
    date = month_label(record.start, month)
    events = month_events(record, month, run)
    if not events:
        return f"{date}: no diplomatic event"
    return f"{date}: " + "; ".join(describe(a, act, t, names) for a, act, t in events)


def narrate(record: RunRecord, run: int = 0, names: Mapping[str, str] | None = None) -> list[str]:
    """One line per recorded month of one run, in month order."""
    return [narrate_month(record, month, run, names) for month in range(record.months)]
