"""The CSTO alliance simulation: the Mesa model, its phases and metrics, scenario loading.

`from simulation import CSTOModel` imports the model (and Mesa) on first use only, so that light
modules (`simulation.record`, `simulation.calendar`, `simulation.scenario`) load fast.
"""

from typing import Any

__all__ = ["CSTOModel"]


def __getattr__(name: str) -> Any:
    if name == "CSTOModel":
        from simulation.model import CSTOModel

        return CSTOModel
    raise AttributeError(f"module 'simulation' has no attribute {name!r}")
