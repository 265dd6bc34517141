"""Mesa agent classes (countries and poles) and the logic of the action catalogue."""

from agents.country import Country
from agents.pole import Pole

__all__ = ["Country", "Pole"]
