"""The logit (quantal-response) choice every agent decision uses.

P(option k) = exp(lambda U_k) / sum_k' exp(lambda U_k')  (McKelvey & Palfrey 1995; Signorino &
Ritter 1999 for its use on international choices), for all replications at once. Sampling draws
one uniform number per replication and inverts the cumulative choice probabilities: exact, and a
third of the cost of the Gumbel-max trick (argmax of lambda U_k + Gumbel noise), which needs a
Gumbel draw per option. Unavailable options carry a False mask and are never chosen.
"""

from __future__ import annotations

import numpy as np


def _scaled(utilities: np.ndarray, rationality: float | np.ndarray) -> np.ndarray:
    """lambda U, with lambda a scalar or one value per row."""
    rationality = np.asarray(rationality, dtype=float)
    return (rationality[..., None] if rationality.ndim else rationality) * utilities


def logit_weights(
    utilities: np.ndarray, rationality: float | np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """Unnormalised choice weights exp(lambda U - max), zero where masked."""
    scaled = _scaled(utilities, rationality)
    if mask is not None:
        scaled = np.where(mask, scaled, -np.inf)
    top = np.max(scaled, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.exp(scaled - top)


def logit_probabilities(
    utilities: np.ndarray, rationality: float | np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """Choice probabilities over the last axis; rows with no available option get all zeros."""
    weights = logit_weights(utilities, rationality, mask)
    total = weights.sum(axis=-1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)


def sample_logit(
    rng: np.random.Generator,
    utilities: np.ndarray,
    rationality: float | np.ndarray,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Index of the chosen option for each row of `utilities` (shape (..., K)).

    With lambda = 0 every available option is equally likely. A row whose options are all masked
    returns 0 (callers keep option 0 always available).
    """
    weights = logit_weights(utilities, rationality, mask)
    cumulative = np.cumsum(weights, axis=-1)
    draw = rng.random(cumulative.shape[:-1]) * cumulative[..., -1]
    choice = np.sum(cumulative <= draw[..., None], axis=-1)
    return np.minimum(choice, utilities.shape[-1] - 1) * (cumulative[..., -1] > 0)


def sample_from_probabilities(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """Index drawn from each row of already-normalised `probabilities` (one uniform per row)."""
    cumulative = np.cumsum(probabilities, axis=-1)
    draw = rng.random(cumulative.shape[:-1]) * cumulative[..., -1]
    return np.minimum(np.sum(cumulative <= draw[..., None], axis=-1), probabilities.shape[-1] - 1)
