"""ABC-SMC with a batched simulator: a whole set of parameter vectors is simulated in one call.

Approximate Bayesian computation by sequential Monte Carlo (Toni et al. 2009; Beaumont et al.
2009; for agent-based models, van der Vaart et al. 2015, "Calibration and evaluation of individual-
based models using Approximate Bayesian Computation", Ecological Modelling 312:182) on pyabc
(Klinger, Rickert & Hasenauer 2018; Schaelte et al. 2022, JOSS 7:4304). The model is a black box:
`simulate(thetas, seed) -> statistics`, one row of statistics per row of parameters, so that a
lock-step model can run a whole population of candidates as one batch of replications.

Why pyabc and not ELFI. Both were measured on the same toy problem (two normal means, 20
observations each, uniform priors; population 200, four generations with the same thresholds),
on the project's 2-core machine while it was loaded (load average ~8):

| library | wall time | simulator calls | simulations |
|---|---|---|---|
| pyabc 0.13.0 + `BatchSampler` | 22 s | 6: one per generation (235, 465, 540, 626, 725) | 2,791 |
| ELFI 0.8.8 `SMC(batch_size=200)` | 0.8 s | 24, each of `batch_size` 200 | 4,800 |

(imports ~15-18 s each under that load.) ELFI is much lighter per candidate: pyabc spends about
4-8 ms on each candidate (drawing it from the transition kernel, its prior and proposal
densities, the particle, the SQLite write) where ELFI works on arrays. Both batch: ELFI in calls
of a fixed `batch_size`, pyabc (with the sampler below) in one call per generation, sized from the
previous generation's acceptance rate. pyabc is used because the calibration must be a record and
must resume: pyabc keeps every generation in an SQLite database (`history.db`) and continues a
run from it (`ABCSMC.load`), while ELFI's SMC keeps its state in memory; and ELFI 0.8.8 pins
matplotlib < 3.9 (installing it replaces the project's matplotlib 3.11 with 3.8.4). For the model
a candidate costs R replications x 12 months at ~10 us each (R = 50: ~6 ms) plus its statistics,
so pyabc's overhead is of the order of the simulation itself, not above it.

The pieces, and why:

- **Sampler** (`BatchSampler`): pyabc's samplers call `simulate_one()` once per candidate. This one
  draws many candidates from pyabc's own proposal (`generate_valid_proposal`), simulates them in
  one call, then lets pyabc evaluate each (`evaluate_proposal`) against the simulated statistics,
  in candidate order; it keeps the first n accepted. Every simulated candidate counts as a
  simulation (so the acceptance rate is honest).
- **Distance**: Euclidean over the statistics, each divided by a fixed scale: its median absolute
  deviation over a pilot sample from the prior (the scaled distance of Beaumont, Zhang & Balding
  2002; Prangle 2017, "Adapting the ABC distance function", Bayesian Analysis 12:289, shows why
  unscaled statistics let the widest one dominate), its standard deviation where the MAD is 0,
  and at least the record's own uncertainty. A statistic that no prior draw moves gets weight 0:
  it carries no information about the parameters, and a tiny scale would let its constant gap
  from the record swamp the rest. The scales are fixed for the whole run (not re-adapted per
  generation) so that a resumed calibration is the same computation as an uninterrupted one; the
  pilot is drawn from its own seed, so resuming recomputes the same scales.
- **Epsilon**: the weighted median of the previous generation's distances (pyabc's
  `QuantileEpsilon`, alpha 0.5), the first from a calibration sample from the prior.
- **Search space**: a log-uniform parameter is searched as ln(value), uniform on [ln low, ln high]
  (the same prior), so the transition kernel's steps are relative: a Gaussian kernel in the raw
  value of a parameter whose prior spans a factor 9 proposes steps too large at its low end and
  too small at its high end, and its importance weights (prior over proposal density) then spread
  over orders of magnitude. pyabc's database holds the search values; the posterior this module
  returns is in the parameters' own units.
- **Randomness**: pyabc draws from numpy's global generator. The sampler reseeds it at the start of
  every generation from (seed, generation), and each simulation batch gets its own seed from
  (seed, generation, batch), so a seed fixes the whole posterior, and a run resumed from its
  database after generation k continues exactly as the uninterrupted run did.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from simulation.scenario import ScenarioError

PRIOR_KINDS: tuple[str, ...] = ("uniform", "log-uniform")
EPSILON_QUANTILE = 0.5  # each epsilon is this weighted quantile of the last distances
PILOT = 2**20  # the seed path of the pilot sample, apart from every generation's
TRANSITIONS: tuple[str, ...] = ("beaumont", "local", "silverman")
"""Perturbation kernels (`make_transition`); the first is the default."""

Simulator = Callable[[pd.DataFrame, int], pd.DataFrame]
"""simulate(thetas (n x parameters), seed) -> statistics (n x statistics), rows in order."""


class PriorLike(Protocol):
    key: str
    low: float
    high: float
    prior: str


@dataclass(frozen=True)
class Prior:
    """A free parameter's prior: uniform or log-uniform on [low, high]."""

    name: str
    low: float
    high: float
    kind: str = "uniform"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n independent draws."""
        u = rng.uniform(size=n)
        if self.kind == "log-uniform":
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    @property
    def search_bounds(self) -> tuple[float, float]:
        """The prior's box in the space the search works in: [ln low, ln high] if log-uniform."""
        if self.kind == "log-uniform":
            return math.log(self.low), math.log(self.high)
        return self.low, self.high

    def pyabc_rv(self):
        """The pyabc random variable of this prior in the search space: uniform on its box."""
        from pyabc import RV

        low, high = self.search_bounds
        return RV("uniform", low, high - low)

    def from_search(self, values: np.ndarray) -> np.ndarray:
        """Search-space values back to the parameter's own (exp of a log-uniform one's)."""
        return np.exp(values) if self.kind == "log-uniform" else values


def as_priors(priors: Sequence[Any], source: str = "priors") -> list[Prior]:
    """Validate priors given as (name, low, high, kind) tuples or FreeParameter-like objects.

    Raises ScenarioError(source, name, message) for a bad one: an empty or repeated name, low >=
    high, a non-finite bound, an unknown kind, or a log-uniform prior with low <= 0.
    """
    checked: list[Prior] = []
    for number, item in enumerate(priors):
        if isinstance(item, Prior):
            name, low, high, kind = item.name, item.low, item.high, item.kind
        elif isinstance(item, tuple | list):
            if len(item) not in (3, 4):
                raise ScenarioError(source, f"[{number}]", "expected (name, low, high[, kind])")
            name, low, high, kind = (*item, "uniform") if len(item) == 3 else item
        else:
            name, low, high, kind = item.key, item.low, item.high, item.prior
        key = str(name) or f"[{number}]"
        if not name or not isinstance(name, str):
            raise ScenarioError(source, key, "a prior needs a non-empty name")
        if any(p.name == name for p in checked):
            raise ScenarioError(source, key, "the parameter is given twice")
        try:
            low, high = float(low), float(high)
        except (TypeError, ValueError):
            message = f"low and high must be numbers, got {low!r} and {high!r}"
            raise ScenarioError(source, key, message) from None
        if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
            raise ScenarioError(source, key, f"expected finite low < high, got {low} and {high}")
        if kind not in PRIOR_KINDS:
            message = f"unknown prior {kind!r}; expected one of {PRIOR_KINDS}"
            raise ScenarioError(source, key, message)
        if kind == "log-uniform" and low <= 0:
            raise ScenarioError(source, key, f"a log-uniform prior needs low > 0, got {low}")
        checked.append(Prior(name, low, high, kind))
    if not checked:
        raise ScenarioError(source, "", "no free parameters to calibrate")
    return checked


def derived_seed(seed: int, *path: int) -> int:
    """A 32-bit seed derived from `seed` and a path of integers (numpy SeedSequence)."""
    entropy = [int(seed) % 2**63, *(int(p) + 2**31 for p in path)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


@dataclass
class BatchLog:
    """What reached the simulator: one entry per call, (generation, batch size)."""

    calls: list[tuple[int, int]] = field(default_factory=list)

    def sizes(self, generation: int) -> list[int]:
        return [size for t, size in self.calls if t == generation]


@dataclass(frozen=True)
class GenerationReport:
    """Passed to the progress callback after each generation's sample."""

    generation: int
    epsilon: float
    acceptance_rate: float
    simulations: int
    total_simulations: int
    batches: int
    elapsed: float
    effective_sample_size: float = math.nan  # Kish's, of the accepted particles' weights


def effective_sample_size(weights: Any) -> float:
    """Kish's effective sample size of importance weights, (sum w)^2 / sum w^2."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w**2).sum())


def _statistics_rows(frame: pd.DataFrame, names: list[str], n: int) -> list[dict[str, float]]:
    """The simulator's output as one dict per candidate, with every observed statistic."""
    if not isinstance(frame, pd.DataFrame) or len(frame) != n:
        raise ValueError(f"the simulator must return a DataFrame of {n} rows")
    missing = [s for s in names if s not in frame.columns]
    if missing:
        raise ValueError(f"the simulator did not return the statistics {missing}")
    values = frame[names].to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        column = names[int(np.nonzero(bad.any(axis=0))[0][0])]
        raise ValueError(
            f"the simulator returned a non-finite {column!r}: fill undefined statistics first "
            "(statistics_by_group(..., undefined=0.0) scores an unscorable check as not met)"
        )
    return [dict(zip(names, row, strict=True)) for row in values]


def _make_sampler_class():
    """The pyabc Sampler subclass (built lazily: pyabc is an optional dependency)."""
    from pyabc import Model
    from pyabc.inference_util.inference_util import (
        _simulate_one_from_prior,
        evaluate_proposal,
        generate_valid_proposal,
    )
    from pyabc.population import Particle
    from pyabc.sampler import Sampler

    class Replay(Model):
        """A pyabc model whose outputs were computed in a batch beforehand, returned in order."""

        def __init__(self, outputs: list[dict[str, float]]):
            super().__init__(name="csto")
            self.outputs = outputs
            self.position = 0

        def sample(self, pars):  # noqa: ARG002 - the output was simulated for these pars
            output = self.outputs[self.position]
            self.position += 1
            return output

    class BatchSampler(Sampler):
        """Draw candidates, simulate them in one call, accept in order (see the module doc)."""

        def __init__(self, calibration: _Calibration):
            super().__init__()
            self.calibration = calibration

        def sample_until_n_accepted(
            self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None
        ):
            run = self.calibration
            np.random.seed(derived_seed(run.seed, t + 1, 0))
            started = time.perf_counter()
            keywords = simulate_one.keywords
            from_prior = simulate_one.func is _simulate_one_from_prior
            sample = self._create_empty_sample()
            accepted = evaluations = batches = 0
            rate = run.expected_rate(t)
            # every population is filled: pyabc's max_eval (population / min_acceptance_rate)
            # would discard the generation whose acceptance falls below the rate, where the stop
            # (`Stop`) keeps it and ends the calibration after it
            while accepted < n:
                size = math.ceil((n - accepted) / max(rate, 0.02) * 1.15) + 5
                size = int(min(size, run.max_batch))
                if from_prior:
                    proposals = [(0, keywords["parameter_priors"][0].rvs()) for _ in range(size)]
                elif run.bounds is not None and len(keywords["m"]) == 1:
                    transition = keywords["transitions"][keywords["m"][0]]
                    proposals = [
                        (keywords["m"][0], theta)
                        for theta in _proposals_inside(transition, run.bounds, size)
                    ]
                else:
                    proposals = [
                        generate_valid_proposal(
                            t=keywords["t"],
                            m=keywords["m"],
                            p=keywords["p"],
                            model_prior=keywords["model_prior"],
                            parameter_priors=keywords["parameter_priors"],
                            model_perturbation_kernel=keywords["model_perturbation_kernel"],
                            transitions=keywords["transitions"],
                        )
                        for _ in range(size)
                    ]
                batches += 1
                outputs = run.simulate_batch([theta for _, theta in proposals], t, batches)
                evaluations += size
                replay = Replay(outputs)
                new = 0
                for m_ss, theta in proposals:
                    if from_prior:
                        particle = Particle(
                            m=0,
                            parameter=theta,
                            weight=1.0,
                            sum_stat=replay.sample(theta),
                            distance=np.inf,
                            accepted=True,
                            proposal_id=0,
                            preliminary=False,
                        )
                    else:
                        particle = evaluate_proposal(
                            m_ss,
                            theta,
                            t=keywords["t"],
                            models=[replay],
                            summary_statistics=keywords["summary_statistics"],
                            distance_function=keywords["distance_function"],
                            eps=keywords["eps"],
                            acceptor=keywords["acceptor"],
                            x_0=keywords["x_0"],
                            weight_function=keywords["weight_function"],
                            proposal_id=keywords["proposal_id"],
                        )
                    sample.append(particle)
                    if particle.accepted:
                        accepted += 1
                        new += 1
                        if accepted == n:
                            break
                rate = max(new / size, 1.0 / (evaluations + 1))
            self.nr_evaluations_ = evaluations
            if sample.n_accepted < n:
                sample.ok = False
            if not from_prior:
                weights = [particle.weight for particle in sample.accepted_particles]
                ess = effective_sample_size(weights) if weights else math.nan
                run.report(t, keywords["eps"](t), n, evaluations, batches, started, ess)
            return sample

    return BatchSampler


def _proposals_inside(transition, bounds: dict[str, tuple[float, float]], size: int) -> list:
    """`size` draws of the transition kernel inside the priors' box, drawn in bulk.

    The same distribution as pyabc's `generate_valid_proposal` (a kernel draw, redrawn until the
    prior density is positive), which draws one at a time and evaluates every prior's density for
    each try: with 20+ parameters most tries fall outside the box and that loop costs seconds per
    accepted proposal. Box priors (uniform, log-uniform) are positive exactly inside the box."""
    from pyabc.parameters import Parameter

    names = list(bounds)
    low = np.array([bounds[name][0] for name in names])
    high = np.array([bounds[name][1] for name in names])
    kept: list[np.ndarray] = []
    found = tries = 0
    while found < size:
        draw = max(4 * (size - found), 64)
        frame = transition.rvs(size=draw)
        values = frame[names].to_numpy(dtype=float)
        inside = values[np.all((values >= low) & (values <= high), axis=1)]
        kept.append(inside)
        found += len(inside)
        tries += draw
        if tries > 10_000 * size:
            raise RuntimeError("the transition kernel puts almost no mass inside the priors")
    values = np.concatenate(kept)[:size]
    return [Parameter(dict(zip(names, row.tolist(), strict=True))) for row in values]


@dataclass
class _Calibration:
    """The state the sampler needs: simulator, names, seed, batch bookkeeping."""

    simulate: Simulator
    names: list[str]
    statistics: list[str]
    seed: int
    max_batch: int
    progress: Callable[[GenerationReport], None] | None
    priors: list[Prior] = field(default_factory=list)
    bounds: dict[str, tuple[float, float]] | None = None
    log: BatchLog = field(default_factory=BatchLog)
    history: Any = None
    total: int = 0
    started: float = field(default_factory=time.perf_counter)

    def expected_rate(self, t: int) -> float:
        """The acceptance rate expected: the previous generation's, as stored in the database.

        Read from the database, not remembered, so that a resumed run sizes its batches (and so
        seeds its simulations) as the uninterrupted run did."""
        if t < 0:
            return 1.0  # the calibration sample from the prior accepts everything
        if t == 0 or self.history is None:
            return EPSILON_QUANTILE  # epsilon 0 is the median of a prior sample's distances
        populations = self.history.get_all_populations().set_index("t")
        if t - 1 not in populations.index:
            return 1.0
        row = populations.loc[t - 1]
        return float(row["particles"]) / float(row["samples"])

    def simulate_batch(self, thetas: list, t: int, batch: int) -> list[dict[str, float]]:
        frame = pd.DataFrame(
            [[float(theta[name]) for name in self.names] for theta in thetas], columns=self.names
        )
        frame = to_parameters(frame, self.priors)
        self.log.calls.append((t, len(frame)))
        result = self.simulate(frame, derived_seed(self.seed, t + 1, batch))
        return _statistics_rows(result, self.statistics, len(frame))

    def report(
        self, t: int, eps: float, n: int, evaluations: int, batches: int, start: float, ess: float
    ):
        self.total += evaluations
        if self.progress is not None:
            self.progress(
                GenerationReport(
                    generation=t,
                    epsilon=float(eps),
                    acceptance_rate=n / evaluations,
                    simulations=evaluations,
                    total_simulations=self.total,
                    batches=batches,
                    elapsed=time.perf_counter() - self.started,
                    effective_sample_size=ess,
                )
            )


def pilot_scales(
    priors: list[Prior],
    observed: dict[str, float],
    simulate: Simulator,
    *,
    size: int,
    seed: int,
    floors: dict[str, float] | None = None,
) -> dict[str, float]:
    """Each statistic's scale over `size` prior draws: its median absolute deviation (Beaumont,
    Zhang & Balding 2002), or its standard deviation where more than half the draws agree, and
    at least its floor (the record's uncertainty). A statistic no prior draw moves (spread and
    floor 0) says nothing about the parameters: its scale is infinite (weight 0), rather than
    tiny, which would let a constant gap from the record swamp every other statistic."""
    rng = np.random.default_rng(derived_seed(seed, PILOT, 1))
    thetas = pd.DataFrame({p.name: p.sample(rng, size) for p in priors})
    names = list(observed)
    rows = simulate(thetas, derived_seed(seed, PILOT, 2))
    values = np.array([[row[s] for s in names] for row in _statistics_rows(rows, names, size)])
    mad = np.median(np.abs(values - np.median(values, axis=0)), axis=0)
    spread = np.where(mad > 0, mad, values.std(axis=0))
    floors = floors or {}
    scales = {}
    for name, value in zip(names, spread, strict=True):
        scale = max(float(value), floors.get(name, 0.0))
        scales[name] = scale if scale > 1e-12 else math.inf
    return scales


@dataclass
class CalibrationResult:
    """A finished (or stopped) calibration: the last generation's weighted posterior."""

    posterior: pd.DataFrame
    epsilons: list[float]
    acceptance: list[float]
    simulations: list[int]
    scales: dict[str, float]
    db_path: Path
    run_id: int
    batches: list[tuple[int, int]]
    complete: bool

    @property
    def generations(self) -> int:
        return len(self.epsilons)


def calibrate(
    priors: Sequence[Any],
    observed: dict[str, float],
    simulate: Simulator,
    *,
    population: int,
    generations: int,
    min_epsilon: float = 0.0,
    min_acceptance: float = 0.0,
    seed: int,
    db_path: str | Path,
    resume: bool = False,
    progress: Callable[[GenerationReport], None] | None = None,
    floors: dict[str, float] | None = None,
    max_batch: int | None = None,
    transition: str = TRANSITIONS[0],
) -> CalibrationResult:
    """Run (or resume) ABC-SMC until `generations` generations, epsilon <= `min_epsilon`, or a
    generation whose acceptance rate is below `min_acceptance`.

    The last stop marks the simulator's noise floor: each epsilon is the median of the distances
    the last population reached, and particles accepted partly by luck (a few replications per
    particle) rarely do as well again, so once acceptance collapses a further generation costs
    many times the last for little narrowing.

    `observed` maps each statistic's name to its documented value; `simulate` returns those
    columns. `floors` (optional) are lower bounds of the statistics' scales (the record's own
    uncertainty). `transition` names the perturbation kernel (`make_transition`). With `resume`,
    the run stored in `db_path` continues to `generations` in all,
    giving the posterior the uninterrupted run gives.
    """
    from pyabc import ABCSMC, Distribution, QuantileEpsilon
    from pyabc.distance import PNormDistance

    checked = as_priors(priors)
    if population < 2 or generations < 1:
        raise ScenarioError("calibrate", "population", "needs population >= 2, generations >= 1")
    if not observed:
        raise ScenarioError("calibrate", "observed", "no observed statistics")
    logging.getLogger("ABC").setLevel(logging.ERROR)  # its numerical notes are not for users
    db_path = Path(db_path)
    names = [p.name for p in checked]
    statistics = list(observed)
    scales = pilot_scales(checked, observed, simulate, size=population, seed=seed, floors=floors)
    state = _Calibration(
        simulate, names, statistics, seed, max_batch or 50 * population, progress, checked
    )
    state.bounds = {p.name: p.search_bounds for p in checked}
    abc = ABCSMC(
        models=_identity_model(),
        parameter_priors=Distribution(**{p.name: p.pyabc_rv() for p in checked}),
        distance_function=PNormDistance(p=2, fixed_weights={s: 1 / v for s, v in scales.items()}),
        population_size=population,
        transitions=make_transition(transition),
        sampler=_make_sampler_class()(state),
        eps=QuantileEpsilon(alpha=EPSILON_QUANTILE),
    )
    database = f"sqlite:///{db_path.resolve()}"
    if resume:
        if not db_path.exists():
            raise ScenarioError(str(db_path), "", "no calibration database to resume")
        history = abc.load(database, 1)
    else:
        if db_path.exists():
            db_path.unlink()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        history = abc.new(database, {s: float(v) for s, v in observed.items()})
    state.history = history
    stop = Stop(generations, min_epsilon, min_acceptance)
    if not stop.reached(history):
        history = abc.run(
            minimum_epsilon=min_epsilon,
            max_nr_populations=generations - (history.max_t + 1),
            min_acceptance_rate=min_acceptance,
        )
    return _result(history, checked, scales, db_path, state.log, stop)


def to_parameters(frame: pd.DataFrame, priors: Sequence[Prior]) -> pd.DataFrame:
    """Search-space columns (ln value for log-uniform priors) in the parameters' own units."""
    frame = frame.copy()
    for prior in priors:
        if prior.name in frame.columns:
            frame[prior.name] = prior.from_search(frame[prior.name].to_numpy(dtype=float))
    return frame


def _unit_bandwidth(n_samples: float, dimension: int) -> float:  # noqa: ARG001
    return 1.0


def make_transition(name: str):
    """The pyabc perturbation kernel `name` (TRANSITIONS).

    - beaumont: a Gaussian kernel with twice the previous population's weighted covariance
      (Beaumont, Cornuet, Marin & Robert 2009, Biometrika 96:983; the choice that minimises the
      Kullback-Leibler distance between successive populations, Filippi et al. 2013).
    - local: a Gaussian kernel per particle with the covariance of its nearest quarter of the
      population (pyabc's LocalTransition; Filippi et al. 2013, "On optimality of kernels for
      approximate Bayesian computation using sequential Monte Carlo", SAGMB 12:87): follows
      curved ridges.
    - silverman: pyabc's default, the weighted covariance shrunk by Silverman's rule; in 10+
      dimensions it shrinks to ~0.45 of the covariance, the proposal follows the few heaviest
      particles, and the importance weights degenerate.
    """
    from pyabc import LocalTransition, MultivariateNormalTransition

    if name == "beaumont":
        return MultivariateNormalTransition(scaling=2.0, bandwidth_selector=_unit_bandwidth)
    if name == "local":
        return LocalTransition()
    if name == "silverman":
        return MultivariateNormalTransition()
    raise ScenarioError("calibrate", "transition", f"expected one of {TRANSITIONS}, got {name!r}")


def _identity_model():
    from pyabc import Model

    class Unused(Model):
        def sample(self, pars):  # pragma: no cover - the BatchSampler never calls it
            raise RuntimeError("simulations go through the BatchSampler")

    return Unused(name="csto")


@dataclass(frozen=True)
class Stop:
    """When a calibration is done: generations run, epsilon reached, or acceptance collapsed."""

    generations: int
    min_epsilon: float = 0.0
    min_acceptance: float = 0.0

    def reached(self, history) -> bool:
        """Whether the populations stored in `history` satisfy the stop (read from the database,
        so that a resumed calibration stops where the uninterrupted one did)."""
        populations = history.get_all_populations()
        populations = populations[populations["t"] >= 0].sort_values("t")
        if populations.empty:
            return False
        last = populations.iloc[-1]
        return bool(
            len(populations) >= self.generations
            or last["epsilon"] <= self.min_epsilon
            or float(last["particles"]) / float(last["samples"]) < self.min_acceptance
        )


def _result(history, priors, scales, db_path, log, stop: Stop) -> CalibrationResult:
    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0].sort_values("t")
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    posterior = frame.reset_index(drop=True)
    posterior.columns = [str(c) for c in posterior.columns]
    posterior = to_parameters(posterior, priors)
    posterior["weight"] = np.asarray(weights, dtype=float)
    epsilons = [float(e) for e in populations["epsilon"]]
    simulations = [int(s) for s in populations["samples"]]
    acceptance = [
        float(p) / float(s) for p, s in zip(populations["particles"], simulations, strict=True)
    ]
    complete = stop.reached(history)
    return CalibrationResult(
        posterior=posterior,
        epsilons=epsilons,
        acceptance=acceptance,
        simulations=simulations,
        scales=scales,
        db_path=db_path,
        run_id=int(history.id),
        batches=list(log.calls),
        complete=complete,
    )
