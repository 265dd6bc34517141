"""The alliance's collective response to an Article 4 request, and credibility updating (MODEL 7).

The collective response f in [0, 1] is the consensus minimum of the members' responses or their
size-weighted median. Each observer updates a Beta belief about the alliance's reliability:
alpha <- delta alpha + omega f, beta <- delta beta + omega (1 - f), c = alpha / (alpha + beta).
Priors: Leeds, Long & Mitchell (2000) find 74.5% of defence pacts honoured; Berkemeier & Fuhrmann
(2018) find 41% after 1945.
"""

from __future__ import annotations

import numpy as np


def collective_response(levels: np.ndarray, sizes: np.ndarray, rule: str) -> np.ndarray:
    """f for each replication from the responders' levels (R, M) and sizes ((M,) or (R, M)).

    consensus: the minimum (any refusal blocks collective aid, the CSTO's consensus rule);
    weighted_median: the lowest level at which the cumulative size share reaches one half
    (a responder of size 0 does not count). Rows whose sizes are all 0 get 0.
    """
    if levels.shape[1] == 0:
        return np.zeros(levels.shape[0])
    if rule == "consensus":
        return levels.min(axis=1)
    sizes = np.broadcast_to(np.asarray(sizes, dtype=float), levels.shape)
    order = np.argsort(levels, axis=1, kind="stable")
    sorted_levels = np.take_along_axis(levels, order, axis=1)
    sorted_sizes = np.take_along_axis(sizes, order, axis=1)
    totals = sorted_sizes.sum(axis=1, keepdims=True)
    shares = np.divide(sorted_sizes, totals, out=np.zeros_like(sorted_sizes), where=totals > 0)
    reached = (np.cumsum(shares, axis=1) >= 0.5 - 1e-12) & (sorted_sizes > 0)
    first = np.argmax(reached, axis=1)
    return np.where(totals[:, 0] > 0, sorted_levels[np.arange(levels.shape[0]), first], 0.0)


def update_credibility(
    alpha: np.ndarray, beta: np.ndarray, response: np.ndarray, weight: np.ndarray, discount: float
) -> tuple[np.ndarray, np.ndarray]:
    """Beta update with forgetting: (delta alpha + omega f, delta beta + omega (1 - f))."""
    return discount * alpha + weight * response, discount * beta + weight * (1.0 - response)


def credibility_loss_if_refused(
    alpha: np.ndarray, beta: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """How much each observer's credibility falls if the response is 0 rather than 1.

    c(f=1) - c(f=0) = omega / (alpha + beta + omega): the abandonment stake (Snyder 1984).
    """
    return weight / (alpha + beta + weight)
