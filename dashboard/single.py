"""The single-run view's model: one replication stepped by Mesa's ModelController.

Mesa 3.5's `Model` has a `scenario` property of its own (a `mesa.experimental.scenarios.Scenario`)
and ModelController's Reset rebuilds the model as `type(model)(scenario=<that object>, **params)`.
CSTOModel's first argument is also called `scenario` (a csto scenario), so `SingleRun` takes the
csto scenario as `spec` and ignores Mesa's `scenario` keyword.
"""

from __future__ import annotations

from typing import Any

from simulation.model import CSTOModel
from simulation.record import STATUS_NAMES
from simulation.schema import Scenario
from simulation.trace import Trace

POSTURE_WORDS = {1: "with Moscow", 0: "hedging", -1: "with the alternative pole"}


class SingleRun(CSTOModel):
    """CSTOModel with one replication, built from a validated scenario (`spec`).

    Its decisions are traced (`simulation.trace`), so each event can show the terms behind it.
    """

    def __init__(
        self,
        spec: Scenario | None = None,
        months: int | None = None,
        rng: Any = None,
        scenario: Any = None,
    ):
        del scenario  # Mesa's own scenario object, passed by ModelController's Reset
        super().__init__(
            spec if spec is not None else "baseline",
            replications=1,
            rng=rng,
            months=months,
            trace=Trace(),
        )


def agent_rows(model: CSTOModel) -> list[dict[str, Any]]:
    """The countries' state in the model's first replication, one dict per country."""
    state, params = model.state, model.params
    credibility = state.credibility
    rows = []
    for number, code in enumerate(params.agent_codes):
        posture = int(state.posture[0, number])
        rows.append(
            {
                "country": model.spec.agents[code].name,
                "posture": POSTURE_WORDS.get(posture, str(posture)),
                "credibility": round(float(credibility[0, number]), 2),
                "standing": round(float(state.standing[0, number]), 2),
                "threat": round(float(state.threat[0, number]), 2),
                "status": STATUS_NAMES[int(state.status[0, number])],
            }
        )
    return rows
