"""The action catalogue turned into menus: each agent's options, as arrays.

The catalogue is data (the scenario's `[actions.*]` tables: Goldstein weights, collateral targets,
costs, visibility, preconditions). A `Menu` is one agent's options for one decision: option 0 is
always `none`; each other option is an action with a concrete target and a Goldstein vector over
all actors (Goldstein 1992: -10 conflict ... +10 cooperation). Roles in `targets` resolve here:
`patron`, `alternative_pole`, `rival` (either side of a rivalry), `conflict_sides`, `partners`
(every other country), `members` (the alliance: the weight goes to each member), `actors` (every
other country or pole).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from agents.deterrence import rung_weights
from simulation.schema import ACTION_NAMES, ActionSpec, Scenario
from simulation.varying import Numbers

DIPLOMACY_EXCLUDED = frozenset(
    {
        "attack",
        "invoke_article4",
        "honour_article4",
        "partial_response",
        "refuse_article4",
        "sign_declaration",
        "refuse_declaration",
        "boycott_summit",
        "freeze_participation",
        "exit_alliance",
        "rejoin",
        "outreach",
    }
)
"""Actions decided in their own phase, not from the monthly diplomatic menu."""

SUMMIT_ACTIONS = ("sign_declaration", "refuse_declaration", "boycott_summit")
RESPONSE_ACTIONS = ("honour_article4", "partial_response", "refuse_article4")
ACTION_ID = {name: k for k, name in enumerate(ACTION_NAMES)}
FAVOUR_ACTIONS = np.array([ACTION_ID["reward"], ACTION_ID["pressure"]])
"""The patron's favour instruments: they move their targets' standing directly."""


@dataclass
class Option:
    """One concrete option: an action toward a target, with its Goldstein vector ((L, A))."""

    action: str
    target: int
    goldstein: np.ndarray
    spec: ActionSpec
    conflict: int = -1
    parties: tuple[int, ...] = ()  # the disputants the option weighs against each other


NUMERIC_FIELDS = ("goldstein", "weight", "cost", "visibility", "alignment", "relation_below")
"""Menu fields with a leading replication axis (length 1, or R when an action's number varies)."""


@dataclass
class Menu:
    """An agent's options for one decision, as arrays over options (K).

    The catalogue's numbers (NUMERIC_FIELDS) carry a leading axis L: 1 when shared by every
    replication, R when one of them varies per replication.
    """

    actions: np.ndarray  # (K,) action ids (index into ACTION_NAMES)
    targets: np.ndarray  # (K,) actor index, -1 for none
    goldstein: np.ndarray  # (L, K, A) raw Goldstein weights toward each actor
    weight: np.ndarray  # (L, K) the catalogue's Goldstein weight toward the target
    cost: np.ndarray  # (L, K)
    visibility: np.ndarray  # (L, K)
    alignment: np.ndarray  # (L, K) Moscow-ward content: g(patron) - g(alternative pole), / 10
    needs_offence: np.ndarray  # (K,) bool
    relation_below: np.ndarray  # (L, K) threshold, +inf when not required
    conflict: np.ndarray  # (K,) conflict index required active, -1 when not
    needs_chair: np.ndarray  # (K,) bool
    once: np.ndarray  # (K,) bool
    needs_membership: np.ndarray  # (K,) bool
    offends: np.ndarray  # (K,) bool: its weights <= -3 are offences the targets may answer
    names: list[str] = field(default_factory=list)
    parties: np.ndarray | None = None  # (K, A) bool: the disputants each option weighs (stakes)
    rung: np.ndarray | None = None  # (K,) int: the protest's rung on the ladder, 0 if none

    def __post_init__(self) -> None:
        if self.parties is None:
            self.parties = np.zeros(self.goldstein.shape[1:], dtype=bool)
        if self.rung is None:
            self.rung = np.zeros(len(self.actions), dtype=int)

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def varies(self) -> bool:
        """Whether some of the menu's numbers differ between replications (L = R)."""
        return any(getattr(self, name).shape[0] > 1 for name in NUMERIC_FIELDS)

    @cached_property
    def favour_act(self) -> bool:
        """Whether the menu holds the patron's favour instruments (reward, pressure)."""
        return bool(np.isin(self.actions, FAVOUR_ACTIONS).any())

    @cached_property
    def remembered(self) -> np.ndarray:
        """Options the model remembers once taken: `once` actions and negotiations."""
        return np.flatnonzero(self.once | (self.actions == ACTION_ID["negotiate"]))

    def number(self, name: str, runs: np.ndarray, options: np.ndarray) -> np.ndarray:
        """A numeric field at (replication, option) pairs: row runs[n], option options[n]."""
        values = getattr(self, name)
        return values[0, options] if values.shape[0] == 1 else values[runs, options]

    def rows(self, runs: np.ndarray) -> Menu:
        """The menu for replications `runs` (itself when its numbers are shared)."""
        if not self.varies:
            return self
        fields = {
            name: getattr(self, name)[runs]
            if name in NUMERIC_FIELDS and getattr(self, name).shape[0] > 1
            else getattr(self, name)
            for name in self.__dataclass_fields__
        }
        return Menu(**fields)

    def subset(self, options: np.ndarray) -> Menu:
        """The menu restricted to `options` (indices, `none` first), for cheaper utilities."""
        fields = {
            name: getattr(self, name)[:, options]
            if name in NUMERIC_FIELDS
            else getattr(self, name)[options]
            for name in self.__dataclass_fields__
            if name != "names"
        }
        return Menu(**fields, names=[self.names[k] for k in options])


def conflicts_of(scenario: Scenario) -> list[tuple[int, int]]:
    """Conflicts as (aggressor, victim) agent-index pairs, from each agent's `rival`."""
    codes = list(scenario.agents)
    return [
        (k, codes.index(agent.rival))
        for k, agent in enumerate(scenario.agents.values())
        if agent.rival is not None
    ]


def protest_ladder(scenario: Scenario) -> dict[str, int]:
    """The escalation ladder (Kahn 1965): each action that answers an offence ("offended"), by
    rung, in the catalogue's order: 1 the first listed (the mildest, a summons), up to the last
    (a recall). The order is structural, so a per-replication Goldstein weight never reorders it.
    """
    protests = [name for name, spec in scenario.actions.items() if "offended" in spec.requires]
    return {name: rung for rung, name in enumerate(protests, start=1)}


def member_indices(scenario: Scenario) -> list[int]:
    """Agents that belong to the alliance at month 0 (members and frozen members)."""
    return [k for k, a in enumerate(scenario.agents.values()) if a.status in ("member", "frozen")]


class CatalogueBuilder:
    """Resolves catalogue entries into menus for one scenario."""

    def __init__(self, scenario: Scenario, numbers: Numbers | None = None):
        self.scenario = scenario
        self.numbers = numbers or Numbers(scenario)
        self.agent_codes = list(scenario.agents)
        self.actor_codes = scenario.actor_codes
        self.index = {code: k for k, code in enumerate(self.actor_codes)}
        self.conflicts = conflicts_of(scenario)
        self.members = member_indices(scenario)
        self.patron = self.index[scenario.world.patron]
        self.rungs = protest_ladder(scenario)
        self.rung_weights = rung_weights(
            self.rungs,
            {name: self.number(name, "goldstein", 0.0) for name in self.rungs},
        )
        self.no_relations = {
            frozenset(self.index[code] for code in pair)
            for pair in scenario.world.no_diplomatic_relations
        }

    def acts(self, name: str, agent: int) -> bool:
        spec = self.scenario.actions.get(name)
        if spec is None:
            return False
        return "*" in spec.actors or self.agent_codes[agent] in spec.actors

    def number(self, name: str, key: str, default: float) -> np.ndarray:
        """(L,) an action's number `key` (`cost`, `collateral.GEO` ...), shared or varying."""
        if name not in self.scenario.actions:
            return np.array([default])
        return self.numbers.value(f"actions.{name}.{key}")

    def vector(self, name: str, agent: int, target: int, other_side: int = -1) -> np.ndarray:
        """(L, A) Goldstein weights toward every actor; the actor itself always gets 0."""
        spec = self.scenario.actions.get(name) or ActionSpec(goldstein=0.0)
        values = {"": self.number(name, "goldstein", spec.goldstein)}
        values |= {
            code: self.number(name, f"collateral.{code}", v) for code, v in spec.collateral.items()
        }
        weights = np.zeros((max(len(v) for v in values.values()), len(self.actor_codes)))
        others = [m for m in self.members if m != agent]
        if spec.targets == ["members"]:
            weights[:, others] = values[""][:, None]
        elif target >= 0:
            weights[:, target] = values[""]
        for code in spec.collateral:
            if code == "other_side":
                if other_side >= 0:
                    weights[:, other_side] = values[code]
            elif code == "members":
                weights[:, others] = values[code][:, None]
            else:
                weights[:, self.index[code]] = values[code]
        weights[:, agent] = 0.0
        return weights

    def options(self, name: str, agent: int) -> list[Option]:
        """The concrete options of action `name` for `agent` (empty if it is not an actor)."""
        if not self.acts(name, agent):
            return []
        spec = self.scenario.actions[name]
        if spec.targets == ["conflict_sides"]:
            return self._conflict_options(name, spec, agent)
        if spec.targets == ["members"]:
            return [Option(name, -1, self.vector(name, agent, -1), spec)]
        needs_ties = "diplomatic_relations" in spec.requires
        return [
            Option(name, target, self.vector(name, agent, target), spec)
            for target in self._targets(spec, agent)
            if target != agent
            and not (needs_ties and frozenset((agent, target)) in self.no_relations)
        ]

    def _targets(self, spec: ActionSpec, agent: int) -> list[int]:
        role = spec.targets[0] if spec.targets else "actors"
        alternative = self.scenario.agents[self.agent_codes[agent]].alternative_pole
        if role == "patron":
            return [self.patron]
        if role == "alternative_pole":
            return [self.index[alternative]] if alternative else []
        if role == "rival":
            return sorted(
                {v for a, v in self.conflicts if a == agent}
                | {a for a, v in self.conflicts if v == agent}
            )
        if role == "partners":
            return list(range(len(self.agent_codes)))
        if role == "actors":
            return list(range(len(self.actor_codes)))
        return [self.index[code] for code in spec.targets]

    def _conflict_options(self, name: str, spec: ActionSpec, agent: int) -> list[Option]:
        symmetric = spec.collateral.get("other_side") == spec.goldstein
        options = []
        for number, (aggressor, victim) in enumerate(self.conflicts):
            if agent in (aggressor, victim):
                continue
            sides = [aggressor] if symmetric else [aggressor, victim]
            for side in sides:
                other = victim if side == aggressor else aggressor
                vector = self.vector(name, agent, side, other_side=other)
                parties = (aggressor, victim)
                options.append(Option(name, side, vector, spec, number, parties))
        return options

    def menu(self, agent: int, names: list[str] | tuple[str, ...]) -> Menu:
        """The menu of `agent` over actions `names`, with `none` first."""
        none = ActionSpec(goldstein=0.0)
        options = [Option("none", -1, np.zeros((1, len(self.actor_codes))), none)]
        for name in names:
            options.extend(self.options(name, agent))
        return self._as_menu(options, agent)

    def diplomacy_menu(self, agent: int) -> Menu:
        names = [n for n in self.scenario.actions if n not in DIPLOMACY_EXCLUDED]
        return self.menu(agent, names)

    def response_menu(self, agent: int, requester: int, aggressor: int) -> Menu:
        """Honour / partial / refuse toward `requester`; `other_side` is the aggressor."""
        options = []
        for name in RESPONSE_ACTIONS:
            spec = self.scenario.actions.get(name) or ActionSpec(goldstein=0.0)
            vector = self.vector(name, agent, requester, other_side=aggressor)
            options.append(Option(name, requester, vector, spec, parties=(requester, aggressor)))
        return self._as_menu(options, agent)

    def _as_menu(self, options: list[Option], agent: int) -> Menu:
        alternative = self.scenario.agents[self.agent_codes[agent]].alternative_pole
        pole = self.index[alternative] if alternative else -1

        def side_by_side(rows: list[np.ndarray]) -> np.ndarray:
            """(L, K, ...) from one (L_k, ...) array per option."""
            length = max(len(row) for row in rows)
            return np.stack([np.broadcast_to(row, (length, *row.shape[1:])) for row in rows], 1)

        def numbers(key: str, default: str) -> np.ndarray:
            return side_by_side(
                [self.number(o.action, key, getattr(o.spec, default)) for o in options]
            )

        goldstein = side_by_side([o.goldstein for o in options])
        alignment = goldstein[:, :, self.patron] - (goldstein[:, :, pole] if pole >= 0 else 0.0)
        threshold = side_by_side(
            [
                self.number(o.action, "relation_threshold", o.spec.relation_threshold)
                if "relation_below" in o.spec.requires
                else np.array([np.inf])
                for o in options
            ]
        )
        return Menu(
            actions=np.array([ACTION_ID[o.action] for o in options]),
            targets=np.array([o.target for o in options]),
            goldstein=goldstein,
            weight=numbers("goldstein", "goldstein"),
            cost=numbers("cost", "cost"),
            visibility=numbers("visibility", "visibility"),
            alignment=alignment / 10.0,
            needs_offence=np.array(["offended" in o.spec.requires for o in options]),
            relation_below=threshold,
            conflict=np.array(
                [o.conflict if "conflict_active" in o.spec.requires else -1 for o in options]
            ),
            needs_chair=np.array(["is_chair" in o.spec.requires for o in options]),
            once=np.array(["once" in o.spec.requires for o in options]),
            needs_membership=np.array(["member" in o.spec.requires for o in options]),
            offends=np.array([o.spec.offends for o in options]),
            names=[o.action for o in options],
            parties=self._parties(options),
            rung=np.array([self.rungs.get(o.action, 0) for o in options]),
        )

    def _parties(self, options: list[Option]) -> np.ndarray:
        parties = np.zeros((len(options), len(self.actor_codes)), dtype=bool)
        for k, option in enumerate(options):
            parties[k, list(option.parties)] = True
        return parties
