"""The decision trace: every logit choice of chosen agents, months and runs, split into its terms.

A `Trace` is handed to the model (`model.trace`, None by default, so a run without it pays
nothing). At each decision site the model asks `wants(agent, month)` before it splits utilities
into terms, then calls `record` with the (R, K) arrays it already has. `record` keeps only the
selected runs and the open options, as a few small arrays per call; `frame` builds the long table
once at the end: one row per decision x option x term, in the columns of `TRACE_COLUMNS`.

Every decision is the logit choice P(k) = exp(lambda U_k) / sum_k' exp(lambda U_k') over the open
options (McKelvey & Palfrey 1995), with U_k the sum of the named terms; the trace holds the terms,
U_k, lambda, P(k) and the chosen option, so each recorded choice can be checked and explained.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

TRACE_COLUMNS: tuple[str, ...] = (
    "run",
    "month",
    "agent",
    "decision",
    "option",
    "target",
    "term",
    "value",
    "utility",
    "probability",
    "chosen",
    "rationality",
)
"""The trace's columns, in order. A decision is identified by (run, month, agent, decision)."""

DECISION_KEY: tuple[str, ...] = ("run", "month", "agent", "decision")
OPTION_KEY: tuple[str, ...] = (*DECISION_KEY, "option", "target")

DECISIONS: tuple[str, ...] = (
    "article4_request",
    "article4_response",
    "posture",
    "summit",
    "diplomacy",
    "freeze_participation",
    "exit_alliance",
    "rejoin",
)
"""Decision kinds, in the order of a month's phases (MODEL section 3: Article 4, posture, summit
and diplomacy, membership)."""

POSTURE_OPTIONS: tuple[str, ...] = ("-1", "0", "+1")
"""The `option` labels of postures -1, 0 and +1."""

STRING = pd.StringDtype("pyarrow", na_value=np.nan)
"""Text columns: pandas' default string dtype on Arrow, as in the run folder's tables."""

TRACE_DTYPES: dict[str, object] = {
    "run": np.dtype(np.int64),
    "month": np.dtype(np.int16),
    "agent": STRING,
    "decision": STRING,
    "option": STRING,
    "target": STRING,
    "term": STRING,
    "value": np.dtype(np.float64),
    "utility": np.dtype(np.float64),
    "probability": np.dtype(np.float64),
    "chosen": np.dtype(bool),
    "rationality": np.dtype(np.float64),
}


def empty_trace() -> pd.DataFrame:
    """A trace with no rows, with the columns and dtypes of `TRACE_COLUMNS`."""
    return pd.DataFrame({name: pd.Series(dtype=TRACE_DTYPES[name]) for name in TRACE_COLUMNS})


@dataclass
class _Block:
    """One `record` call, reduced to its selected runs and open options (m option rows)."""

    decision: str
    agent: str
    month: int
    runs: np.ndarray  # (m,) global run index
    options: np.ndarray  # (m,) option label
    targets: np.ndarray  # (m,) target code or ""
    terms: tuple[str, ...]
    values: np.ndarray  # (m, T)
    utility: np.ndarray  # (m,)
    probability: np.ndarray  # (m,)
    chosen: np.ndarray  # (m,) bool
    rationality: np.ndarray  # (m,)


class Trace:
    """Collects decisions of the selected runs, months and agents (None: all of them).

    runs are global run indices (a chunk's local replication r is run `run_offset + r`); months
    are month indices from the scenario's start; agents are country codes.
    """

    def __init__(
        self,
        runs: Iterable[int] | None = None,
        months: Iterable[int] | None = None,
        agents: Iterable[str] | None = None,
    ):
        self.runs = None if runs is None else frozenset(int(run) for run in runs)
        self.months = None if months is None else frozenset(int(month) for month in months)
        self.agents = None if agents is None else frozenset(agents)
        self._blocks: list[_Block] = []

    def wants(self, agent: str, month: int) -> bool:
        """Whether decisions of `agent` in `month` are recorded (ask before splitting terms)."""
        return (self.agents is None or agent in self.agents) and (
            self.months is None or int(month) in self.months
        )

    def local_runs(self, replications: int, run_offset: int = 0) -> np.ndarray:
        """(R,) bool: the replications of a model numbered from `run_offset` that are traced."""
        if self.runs is None:
            return np.ones(replications, dtype=bool)
        wanted = np.array(sorted(self.runs), dtype=np.int64) - run_offset
        mask = np.zeros(replications, dtype=bool)
        mask[wanted[(wanted >= 0) & (wanted < replications)]] = True
        return mask

    def record(
        self,
        decision: str,
        agent: str,
        month: int,
        options: Sequence[str],
        targets: Sequence[str],
        terms: Mapping[str, np.ndarray],
        utilities: np.ndarray,
        probabilities: np.ndarray,
        chosen: np.ndarray,
        rationality: float | np.ndarray,
        runs_mask: np.ndarray | None = None,
        *,
        open_mask: np.ndarray | None = None,
        run_offset: int = 0,
    ) -> None:
        """Keep one decision site's choice for the traced runs where it was taken.

        options, targets: K labels (targets "" where none); terms: name -> an array broadcastable
        to (R, K), whose sum is `utilities` (R, K); probabilities: (R, K) over the open options;
        chosen: (R,) option index; rationality: lambda, a scalar or (R,); runs_mask: (R,) where the
        decision was taken (None: everywhere); open_mask: (R, K) open options (None: all).
        """
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
        names = tuple(terms)
        if not names:
            raise ValueError("a decision needs at least one term")
        if not self.wants(agent, month):
            return
        utilities = np.asarray(utilities, dtype=float)
        if utilities.ndim != 2:
            raise ValueError(f"utilities must be (R, K), got shape {utilities.shape}")
        shape = utilities.shape
        replications, k = shape
        if len(options) != k or len(targets) != k:
            raise ValueError(f"{k} options need {k} option and target labels")
        where = self.local_runs(replications, run_offset)
        if runs_mask is not None:
            where &= np.broadcast_to(np.asarray(runs_mask, dtype=bool), (replications,))
        local = np.flatnonzero(where)
        if local.size == 0:
            return
        opened = (
            np.ones((local.size, k), dtype=bool)
            if open_mask is None
            else np.broadcast_to(np.asarray(open_mask, dtype=bool), shape)[local]
        )
        rows, cols = np.nonzero(opened)
        at = (local[rows], cols)  # fancy indexing: copies, so the model may change its arrays
        values = np.empty((rows.size, len(names)))
        for column, name in enumerate(names):
            values[:, column] = np.broadcast_to(np.asarray(terms[name], dtype=float), shape)[at]
        lam = np.broadcast_to(np.asarray(rationality, dtype=float), (replications,))
        self._blocks.append(
            _Block(
                decision=decision,
                agent=agent,
                month=int(month),
                runs=run_offset + local[rows],
                options=np.asarray(options, dtype=object)[cols],
                targets=np.asarray(targets, dtype=object)[cols],
                terms=names,
                values=values,
                utility=utilities[at],
                probability=np.broadcast_to(np.asarray(probabilities, dtype=float), shape)[at],
                chosen=np.asarray(chosen, dtype=np.int64)[local[rows]] == cols,
                rationality=lam[local[rows]],
            )
        )

    def __len__(self) -> int:
        """Rows `frame` will hold."""
        return sum(block.values.size for block in self._blocks)

    def frame(self) -> pd.DataFrame:
        """The long table: one row per decision x option x term, in the order recorded."""
        if not self._blocks:
            return empty_trace()
        parts = [_block_frame(block) for block in self._blocks]
        columns = {name: np.concatenate([part[name] for part in parts]) for name in TRACE_COLUMNS}
        return pd.DataFrame(columns).astype(TRACE_DTYPES)


def _block_frame(block: _Block) -> dict[str, np.ndarray]:
    """A block's rows as columns: each option row repeated once per term."""
    m, t = block.values.shape

    def repeat(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, t)

    return {
        "run": repeat(block.runs),
        "month": np.full(m * t, block.month, dtype=np.int64),
        "agent": np.full(m * t, block.agent, dtype=object),
        "decision": np.full(m * t, block.decision, dtype=object),
        "option": repeat(block.options),
        "target": repeat(block.targets),
        "term": np.tile(np.asarray(block.terms, dtype=object), m),
        "value": block.values.ravel(),
        "utility": repeat(block.utility),
        "probability": repeat(block.probability),
        "chosen": repeat(block.chosen),
        "rationality": repeat(block.rationality),
    }


def conform_trace(trace: pd.DataFrame) -> pd.DataFrame:
    """`trace` with exactly the columns of `TRACE_COLUMNS` in order, cast to their dtypes.

    Raises ValueError naming the missing columns. Extra columns are dropped.
    """
    missing = [name for name in TRACE_COLUMNS if name not in trace.columns]
    if missing:
        raise ValueError(f"a trace needs the columns {list(TRACE_COLUMNS)}; missing {missing}")
    frame = trace.loc[:, list(TRACE_COLUMNS)]
    casts = {name: dtype for name, dtype in TRACE_DTYPES.items() if frame[name].dtype != dtype}
    return frame.astype(casts) if casts else frame
