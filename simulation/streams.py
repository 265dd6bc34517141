"""Counter-based random streams: a row's uniform at a decision is a hash of where it is drawn.

u(seed, stream, month, site) = splitmix64(splitmix64(splitmix64(seed ^ stream') ^ month') ^ site')
/ 2^64, on the top 53 bits (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
generators"; the counter-based idea is Salmon et al. 2011, "Parallel random numbers: as easy as
1, 2, 3"). Rows with the same stream id draw the same numbers at the same decision, in any model,
chunk or position: common random numbers across the design points of an experiment.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_SALT_STREAM = np.uint64(0x632BE59BD9B4E019)
_SALT_MONTH = np.uint64(0x8CB92BA72F3D8DD7)
_SALT_SITE = np.uint64(0xD6E8FEB86659FD93)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser of x + golden ratio, elementwise on uint64 (wrapping)."""
    with np.errstate(over="ignore"):
        z = np.asarray(x, dtype=np.uint64) + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def _word(value: int) -> np.uint64:
    return np.uint64(value & 0xFFFF_FFFF_FFFF_FFFF)


def counter_uniforms(seed: int, streams: np.ndarray, month: int, site: int) -> np.ndarray:
    """(R,) uniforms in [0, 1): a pure function of (seed, streams[r], month, site)."""
    with np.errstate(over="ignore"):
        state = splitmix64(_word(seed) ^ (streams.astype(np.uint64) * _SALT_STREAM))
        state = splitmix64(state ^ (_word(month) * _SALT_MONTH))
        state = splitmix64(state ^ (_word(site) * _SALT_SITE))
    return (state >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
