"""Poles: exogenous powers (WEST = EU + US, TUR = Turkey) with fixed postures and no decisions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from simulation.model import CSTOModel


class Pole(mesa.Agent):
    """An exogenous pole: a size, a fixed posture and preferred postures for the agents.

    It takes no decisions; scenarios change it through shocks (a Western outreach to Armenia is a
    forced `outreach` event and a change of `agents.ARM.pole_credibility`).
    """

    def __init__(self, model: CSTOModel, code: str, index: int):
        super().__init__(model)
        self.code = code
        self.index = index
