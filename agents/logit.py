"""The logit (quantal-response) choice every agent decision uses.

P(option k) = exp(lambda U_k) / sum_k' exp(lambda U_k')  (McKelvey & Palfrey 1995; Signorino &
Ritter 1999 for its use on international choices). Sampling uses the Gumbel-max trick: the argmax
of lambda U_k + G_k with G_k i.i.d. standard Gumbel is distributed as the logit choice, for all
replications at once. Unavailable options carry a False mask and are never chosen.
"""

from __future__ import annotations

import numpy as np


def logit_probabilities(
    utilities: np.ndarray, rationality: float | np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """Choice probabilities over the last axis; rows with no available option get all zeros."""
    scaled = np.asarray(rationality, dtype=float)[..., None] * utilities if np.ndim(
        rationality
    ) else float(rationality) * utilities
    if mask is not None:
        scaled = np.where(mask, scaled, -np.inf)
    top = np.max(scaled, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    weights = np.exp(scaled - top)
    total = weights.sum(axis=-1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)


def sample_logit(
    rng: np.random.Generator,
    utilities: np.ndarray,
    rationality: float | np.ndarray,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Index of the chosen option for each row of `utilities` (shape (..., K)).

    Gumbel-max: argmax_k (lambda U_k + G_k). With lambda = 0 every available option is equally
    likely. A row whose options are all masked returns 0 (callers keep option 0 always available).
    """
    scaled = np.asarray(rationality, dtype=float)
    scaled = (scaled[..., None] if scaled.ndim else scaled) * utilities
    noisy = scaled + rng.gumbel(size=utilities.shape)
    if mask is not None:
        noisy = np.where(mask, noisy, -np.inf)
    return np.argmax(noisy, axis=-1)
