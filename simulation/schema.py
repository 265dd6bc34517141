"""The scenario schema: every key a scenario file may hold, its type, range and meaning.

This is the one place that knows the keys (EMA Workbench's "parameters as typed objects"). Pydantic
models with `extra="forbid"` reject unknown keys; field constraints reject out-of-range values; the
model validators check cross-references (agent codes, action names, months). Validation is strict:
a value must already have its key's type (no "0.5" for a number, no `true` for an integer, no
"yes" for a boolean; an integer is accepted where a number is expected, as TOML writers emit one),
and no number may be NaN or infinite. Text keys hold no control characters. Symbols in the field
descriptions are those of the model documentation (docs/MODEL.md).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    field_validator,
    model_validator,
)

from simulation.calendar import month_index, parse_month


def _exact_integer(value: Any) -> Any:
    """Refuse booleans and floats where an integer choice is expected (`Literal` accepts both)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def _finite_number(value: Any) -> int | float:
    """A shock's `add` amount: an integer or a finite number (an integer stays an integer)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return value


def _shock_value(value: Any) -> int | float | str | bool:
    """A shock's `set` value: a boolean, an integer, a finite number or a string, as given."""
    if isinstance(value, str | bool):
        return value
    return _finite_number(value)


Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Signed = Annotated[float, Field(ge=-1.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]
Posture = Annotated[Literal[-1, 0, 1], BeforeValidator(_exact_integer)]
Code = Annotated[str, Field(pattern=r"^[A-Z]{3,5}$")]
Text = Annotated[str, Field(max_length=200, pattern=r"^[^\p{Cc}]*$")]
"""A name or tag: one line of at most 200 characters without control characters."""
Prose = Annotated[str, Field(max_length=20_000, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$")]
"""A description: text with line breaks and tabs, but no other control characters."""
ShockNumber = Annotated[int | float, PlainValidator(_finite_number)]
ShockValue = Annotated[int | float | str | bool, PlainValidator(_shock_value)]

ACTION_NAMES: tuple[str, ...] = (
    "none",
    "signal_loyalty",
    "visit_breakaway",
    "recognize_breakaway",
    "side_with",
    "mediate",
    "trade_deal",
    "summon_ambassador",
    "recall_ambassador",
    "court_west",
    "attack",
    "negotiate",
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
    "reward",
    "pressure",
    "outreach",
)
"""Action names (MODEL 5.2), plus `outreach`: a pole's offer to an agent (used by shocks)."""

TARGET_ROLES: tuple[str, ...] = (
    "patron",
    "alternative_pole",
    "rival",
    "conflict_sides",
    "partners",
    "members",
    "actors",
)
"""Roles an action's `targets` may name instead of agent codes (see `ActionSpec.targets`)."""

COLLATERAL_ROLES: tuple[str, ...] = ("other_side", "members")
"""Roles a `collateral` key may name: the other side of a conflict, or every alliance member."""

PRECONDITIONS: tuple[str, ...] = (
    "conflict_active",
    "is_chair",
    "offended",
    "relation_below",
    "once",
    "member",
    "not_party",
    "diplomatic_relations",
)
"""Predicates an action's `requires` may list (their meaning: docs/MODEL.md, "Preconditions")."""


class Strict(BaseModel):
    """Base for every table: unknown keys are errors, types are exact, numbers finite.

    Values are validated on assignment too.
    """

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, frozen=False, strict=True, allow_inf_nan=False
    )


class CredibilityPrior(Strict):
    """Beta prior of an agent's belief that the alliance will defend it (MODEL section 7)."""

    mean: float = Field(0.5, gt=0.0, lt=1.0, description="prior mean of c_i = alpha/(alpha+beta)")
    strength: float = Field(6.0, gt=0.0, le=100.0, description="alpha + beta: months of evidence")


class AgentSpec(Strict):
    """A country agent: sourced attributes and behavioural parameters."""

    name: Text = Field(description="display name")
    gdp: Positive = Field(description="GDP, current US$ bn (size s_i)")
    milex: Positive = Field(description="military expenditure, current US$ m (size s_i)")
    total_trade: Positive = Field(description="total goods trade, US$ m (denominator of w_ij)")
    status: Literal["member", "frozen", "exited", "non_member"] = Field(
        "non_member", description="CSTO status at month 0"
    )
    posture: Posture = Field(0, description="x_i at month 0: +1 Moscow, 0 hedge, -1 alternative")
    fixed_posture: bool = Field(False, description="posture never changes (RUS)")
    rationality: NonNegative = Field(3.0, le=100.0, description="lambda_i of the logit choice")
    beta_affinity: NonNegative = Field(1.0, le=100.0, description="beta_A: weight of affinity")
    beta_trade: NonNegative = Field(1.0, le=100.0, description="beta_T: weight of trade partners")
    beta_security: NonNegative = Field(1.0, le=100.0, description="beta_S: weight of security")
    beta_legitimacy: NonNegative = Field(1.0, le=100.0, description="beta_G: legitimacy weight")
    beta_loyalty: NonNegative = Field(
        1.0, le=100.0, description="beta_L: weight of Russia's favour"
    )
    switching_cost: NonNegative = Field(
        0.5, le=100.0, description="kappa: cost of a posture change"
    )
    insecurity: Unit = Field(0.3, description="q_i: the regime's need for outside legitimacy")
    public_lean: Signed = Field(0.0, description="mu_i at month 0: the public on the posture axis")
    dependence: Unit = Field(0.3, description="D_i: how much the economy hangs on Russia's favour")
    standing: Signed = Field(
        0.0, description="L_i at month 0: Russia's favour, and the level it fades back to"
    )
    threat: Unit = Field(0.0, description="sigma_i at month 0: security threat felt")
    credibility_prior: CredibilityPrior = Field(default_factory=CredibilityPrior)
    alternative_pole: Code | None = Field(None, description="the pole posture -1 aligns with")
    pole_credibility: Unit = Field(0.1, description="belief the alternative pole would protect")
    prefers: dict[Code, Posture] = Field(
        default_factory=dict, description="pi_j,i: the posture this actor wants for others"
    )
    rival: Code | None = Field(None, description="the agent it may attack (MODEL section 6)")
    article4_policy: Literal["choose", "honour", "partial", "refuse"] = Field(
        "choose", description="'choose' decides by logit; else a forced what-if policy"
    )
    intervention_cost: NonNegative = Field(
        1.0, le=100.0, description="cost of honouring Article 4 (entrapment, Snyder 1984)"
    )


class PoleSpec(Strict):
    """An exogenous pole (WEST, TUR): fixed posture and preferences, no decisions."""

    name: Text
    gdp: Positive = Field(description="GDP, current US$ bn")
    milex: Positive = Field(description="military expenditure, current US$ m")
    engagement: Unit = Field(
        0.05, description="share of the pole's capability it brings to the region"
    )
    posture: Posture = Field(-1, description="its place on the posture axis")
    prefers: dict[Code, Posture] = Field(default_factory=dict)


class ChairTerm(Strict):
    """One chairmanship of the alliance, from a month until the next term."""

    from_month: str = Field(alias="from", description="first month of the term, YYYY-MM")
    agent: str = Field(description="the chairing agent's code, or 'none' for an unmodelled one")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("from_month")
    @classmethod
    def _month(cls, value: str) -> str:
        parse_month(value)
        return value


class ResponseLevels(Strict):
    honour: Unit = 1.0
    partial: Unit = 0.3
    refuse: Unit = 0.0


class ObserverWeights(Strict):
    """omega of the credibility update (MODEL section 7)."""

    requester: NonNegative = 3.0
    member: NonNegative = 1.0
    non_member: NonNegative = 0.5


class AllianceSpec(Strict):
    """The alliance (CSTO): its calendar, decision rule and membership thresholds."""

    name: Text = "CSTO"
    decision_rule: Literal["consensus", "weighted_median"] = "consensus"
    summit_month: int = Field(11, ge=1, le=12, description="calendar month of the annual summit")
    extraordinary_session: bool = Field(True, description="a session the month after a request")
    chairs: list[ChairTerm] = Field(default_factory=list)
    response_levels: ResponseLevels = Field(default_factory=ResponseLevels)
    observer_weights: ObserverWeights = Field(default_factory=ObserverWeights)
    credibility_discount: float = Field(0.99, gt=0.0, le=1.0, description="delta per month")
    freeze_credibility: Unit = Field(0.4, description="freezing needs credibility below this")
    freeze_after_months: int = Field(3, ge=1, le=120, description="months of posture <= 0")
    exit_after_months: int = Field(6, ge=1, le=120, description="months frozen before exit")
    abandonment_weight: NonNegative = Field(
        1.0, le=100.0, description="weight of the credibility members lose on a refusal"
    )
    request_threat: Unit = Field(0.5, description="threat above which a request is considered")


class WorldSpec(Strict):
    patron: Code = Field("RUS", description="the alliance's leading power")
    overstretch: Unit = Field(0.0, description="Russia's military overstretch")
    no_diplomatic_relations: list[Annotated[tuple[Code, Code], Field(strict=False)]] = Field(
        default_factory=list, description="pairs with no embassies (no summons, no recalls)"
    )


class DynamicsSpec(Strict):
    """Monthly rates and reaction strengths (MODEL sections 4, 5.2, 6)."""

    relation_decay: Unit = Field(0.08, description="rho relaxes toward p_ij at this rate")
    threat_decay: Unit = Field(0.35, description="sigma shrinks by this share per month")
    standing_decay: Unit = Field(
        0.12, description="L returns to its month-0 level at this rate x (1 + overstretch)"
    )
    public_lean_decay: Unit = Field(0.03, description="mu relaxes toward its month-0 value")
    reaction_target: NonNegative = Field(1.0, le=10.0, description="eta: target's reaction")
    reaction_observer: NonNegative = Field(0.5, le=10.0, description="eta_obs: observers'")
    standing_reaction: NonNegative = Field(1.0, le=10.0, description="L moves by this x d rho")
    public_reaction: NonNegative = Field(0.8, le=10.0, description="mu moves by this x surprise")
    offence_memory: int = Field(2, ge=0, le=24, description="months an offence can be answered")
    conflict_memory: int = Field(3, ge=0, le=24, description="months a conflict stays active")
    escalation_memory: int = Field(
        0,
        ge=0,
        le=60,
        description="months a protest is remembered: a new offence by the same offender within "
        "them can only be answered a rung higher; after them the ladder relaxes (0: no ladder)",
    )
    protest_deterrence: NonNegative = Field(
        0.0,
        le=10.0,
        description="how much a protest deters its offender from repeating the offence: the "
        "utility it weighs per unit of the next rung's |Goldstein|/10 (0: protests warn no one)",
    )
    signal_fatigue: Unit = Field(
        0.0,
        description="share of its favour a signal to the patron loses per recent signal of the "
        "same kind (0: every signal earns the same)",
    )
    signal_memory: NonNegative = Field(
        6.0, le=60.0, description="months: the mean life of the decaying count of recent signals"
    )


class AggressionSpec(Strict):
    """GeoSim-style superiority threshold (Cederman 1997), MODEL section 6."""

    steepness: NonNegative = Field(8.0, le=1000.0, description="kappa_a of the logistic")
    threshold: NonNegative = Field(1.0, le=100.0, description="tau: the power ratio at p = 1/2")
    ceiling: Unit = Field(0.1, description="highest monthly attack probability")
    posture_scale: Unit = Field(0.5, description="share removed when aligned with Moscow")
    negotiation_damping: Unit = Field(0.5, description="share removed by a recent negotiation")
    victim_threat: Unit = Field(0.9, description="sigma of the victim after an attack")
    ally_threat: Unit = Field(0.2, description="sigma added to the victim's allies")


class ActionSpec(Strict):
    """A catalogue action (MODEL 5.2): Goldstein weights, cost, visibility, preconditions."""

    goldstein: float = Field(ge=-10.0, le=10.0, description="weight toward the target")
    collateral: dict[str, Annotated[float, Field(ge=-10.0, le=10.0)]] = Field(
        default_factory=dict,
        description="weights toward others: codes, or a role of COLLATERAL_ROLES",
    )
    cost: float = Field(0.0, ge=-10.0, le=100.0, description="direct cost in utility units")
    visibility: Unit = Field(0.0, description="v_a: how visible (legitimacy for insecure regimes)")
    actors: list[str] = Field(default_factory=list, description="agent codes, or ['*'] for all")
    targets: list[str] = Field(
        default_factory=list, description="agent or pole codes, or one role of TARGET_ROLES"
    )
    requires: list[str] = Field(default_factory=list, description="preconditions (PRECONDITIONS)")
    relation_threshold: Signed = Field(-0.5, description="for 'relation_below'")
    offends: bool = Field(
        True, description="weights <= -3 are offences the targets may answer (summon, recall)"
    )

    @field_validator("requires")
    @classmethod
    def _known_preconditions(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in PRECONDITIONS]
        if unknown:
            raise ValueError(
                f"unknown precondition {unknown[0]!r}; expected one of {PRECONDITIONS}"
            )
        return value


class ForcedEvent(Strict):
    """An event a shock forces: an attack, a pole's outreach, or any catalogue action."""

    action: str
    actor: Code
    target: str = ""


class Shock(Strict):
    """A scheduled change: set or add scenario parameters, or force an event, in a month."""

    id: Text = ""
    month: str = Field(description="YYYY-MM")
    tags: list[Text] = Field(default_factory=list, description="applied only if included")
    description: Prose = ""
    set: dict[str, ShockValue] = Field(default_factory=dict)
    add: dict[str, ShockNumber] = Field(default_factory=dict)
    event: ForcedEvent | None = None

    @field_validator("month")
    @classmethod
    def _month(cls, value: str) -> str:
        parse_month(value)
        return value


class Scenario(Strict):
    """A whole scenario: the world, its agents, the action catalogue and the schedule."""

    name: Text = ""
    description: Prose = ""
    extends: Annotated[str, Field(max_length=4096, pattern=r"^[^\p{Cc}]*$")] = ""
    start: str = Field("2022-01", description="month 0, YYYY-MM")
    months: int = Field(36, ge=1, le=1200, description="default horizon")
    include_shocks: list[Text] = Field(
        default_factory=list, description="tags of tagged shocks to apply"
    )
    exclude_shocks: list[Text] = Field(default_factory=list, description="ids of shocks to skip")
    world: WorldSpec = Field(default_factory=WorldSpec)
    dynamics: DynamicsSpec = Field(default_factory=DynamicsSpec)
    aggression: AggressionSpec = Field(default_factory=AggressionSpec)
    alliance: AllianceSpec = Field(default_factory=AllianceSpec)
    agents: dict[Code, AgentSpec]
    poles: dict[Code, PoleSpec] = Field(default_factory=dict)
    trade: dict[Code, dict[Code, NonNegative]] = Field(
        default_factory=dict, description="goods turnover, US$ m, one direction per pair"
    )
    ties: dict[Code, dict[Code, NonNegative]] = Field(
        default_factory=dict, description="energy and arms ties, US$ m a year, added to trade"
    )
    propensity: dict[Code, dict[Code, Signed]] = Field(
        default_factory=dict, description="p_ij base affinity, symmetric, one direction per pair"
    )
    actions: dict[str, ActionSpec] = Field(default_factory=dict)
    shocks: list[Shock] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        parse_month(value)
        return value

    @field_validator("actions")
    @classmethod
    def _known_actions(cls, value: dict[str, ActionSpec]) -> dict[str, ActionSpec]:
        for name in value:
            if name not in ACTION_NAMES:
                raise ValueError(f"unknown action {name!r}; expected one of {ACTION_NAMES}")
        return value

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        check_cross_references(self)
        return self

    @property
    def actor_codes(self) -> list[str]:
        return [*self.agents, *self.poles]

    def active_shocks(self) -> list[Shock]:
        """Shocks this scenario applies: untagged ones and those whose tag it includes."""
        include = set(self.include_shocks)
        exclude = set(self.exclude_shocks)
        return [
            s
            for s in self.shocks
            if s.id not in exclude and (not s.tags or include.intersection(s.tags))
        ]

    def check_horizon(self, months: int) -> None:
        """Raise HorizonError naming an applied shock whose month is outside the horizon.

        Tagged shocks the scenario does not include are not checked: `baseline` may run 3 months
        although the 2022 history it leaves out lies later.
        """
        active = {id(shock) for shock in self.active_shocks()}
        for number, shock in enumerate(self.shocks):
            if id(shock) not in active:
                continue
            index = month_index(self.start, shock.month)
            if not 0 <= index < months:
                name = f" (id {shock.id!r})" if shock.id else ""
                raise HorizonError(
                    f"shocks[{number}]{name}.month",
                    f"{shock.month} is outside the horizon {self.start} + {months} months",
                )


class HorizonError(ValueError):
    """A shock month outside the run's horizon; `path` names the key."""

    def __init__(self, path: str, message: str):
        super().__init__(message)
        self.path = path


def check_cross_references(scenario: Scenario) -> None:
    """Raise ValueError for any code, role or action name that does not resolve."""
    agents = set(scenario.agents)
    actors = agents | set(scenario.poles)
    _require(scenario.world.patron in agents, f"world.patron {scenario.world.patron!r}", agents)
    overlap = agents & set(scenario.poles)
    if overlap:
        raise ValueError(f"codes used both as agent and pole: {sorted(overlap)}")
    for number, pair in enumerate(scenario.world.no_diplomatic_relations):
        for code in pair:
            _require(code in actors, f"world.no_diplomatic_relations[{number}] {code!r}", actors)
    for code, agent in scenario.agents.items():
        where = f"agents.{code}"
        if agent.alternative_pole is not None:
            _require(
                agent.alternative_pole in scenario.poles,
                f"{where}.alternative_pole {agent.alternative_pole!r}",
                set(scenario.poles),
            )
        if agent.rival is not None:
            _require(agent.rival in agents, f"{where}.rival {agent.rival!r}", agents)
        for other in agent.prefers:
            _require(other in actors, f"{where}.prefers.{other}", actors)
    for code, pole in scenario.poles.items():
        for other in pole.prefers:
            _require(other in actors, f"poles.{code}.prefers.{other}", actors)
    for table in ("trade", "ties", "propensity"):
        _check_pair_table(getattr(scenario, table), table, actors)
    for term in scenario.alliance.chairs:
        _require(
            term.agent in agents or term.agent == "none",
            f"alliance.chairs agent {term.agent!r}",
            agents | {"none"},
        )
    for name, action in scenario.actions.items():
        _check_action(name, action, agents, actors)
    for number, shock in enumerate(scenario.shocks):
        if shock.event is not None:
            where = f"shocks[{number}].event"
            _require(shock.event.action in ACTION_NAMES, f"{where}.action", set(ACTION_NAMES))
            _require(shock.event.actor in actors, f"{where}.actor {shock.event.actor!r}", actors)
            if shock.event.target:
                _require(
                    shock.event.target in actors, f"{where}.target {shock.event.target!r}", actors
                )


def _check_pair_table(table: dict, name: str, actors: set[str]) -> None:
    seen: dict[frozenset, float] = {}
    for source, row in table.items():
        _require(source in actors, f"{name}.{source}", actors)
        for target, value in row.items():
            _require(target in actors, f"{name}.{source}.{target}", actors)
            if source == target:
                raise ValueError(f"{name}.{source}.{target}: a pair needs two different codes")
            pair = frozenset((source, target))
            if pair in seen and seen[pair] != value:
                raise ValueError(
                    f"{name}.{source}.{target}: the pair is given twice with different values"
                )
            seen[pair] = value


def _check_action(name: str, action: ActionSpec, agents: set[str], actors: set[str]) -> None:
    where = f"actions.{name}"
    for code in action.actors:
        _require(code in agents or code == "*", f"{where}.actors {code!r}", agents | {"*"})
    roles = [t for t in action.targets if t in TARGET_ROLES]
    if roles and len(action.targets) > 1:
        raise ValueError(f"{where}.targets: a role ({roles[0]!r}) must stand alone")
    for code in action.targets:
        _require(
            code in actors or code in TARGET_ROLES,
            f"{where}.targets {code!r}",
            actors | set(TARGET_ROLES),
        )
    for code in action.collateral:
        _require(
            code in actors or code in COLLATERAL_ROLES,
            f"{where}.collateral.{code}",
            actors | set(COLLATERAL_ROLES),
        )


def _require(condition: bool, what: str, expected: set[str]) -> None:
    if not condition:
        raise ValueError(f"{what} is unknown; expected one of {sorted(expected)}")
