"""The CSTO alliance simulation: the Mesa model, its phases and metrics, scenario loading."""

from simulation.model import CSTOModel

__all__ = ["CSTOModel"]
