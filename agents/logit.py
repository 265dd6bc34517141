"""The logit (quantal-response) choice every agent decision uses.

P(option k) = exp(lambda U_k) / sum_k' exp(lambda U_k')  (McKelvey & Palfrey 1995; Signorino &
Ritter 1999 for its use on international choices), for all replications at once. Sampling draws
one uniform number per replication and inverts the cumulative choice probabilities: exact, and a
third of the cost of the Gumbel-max trick (argmax of lambda U_k + Gumbel noise), which needs a
Gumbel draw per option. Unavailable options carry a False mask and are never chosen.
"""

from __future__ import annotations

import numpy as np


def _weights_by_option(
    utilities: np.ndarray, rationality: float | np.ndarray, mask: np.ndarray | None
) -> np.ndarray:
    """Unnormalised choice weights exp(lambda U - max), zero where masked, as (K, R).

    The option axis goes first so that every reduction runs across the replications, which numpy
    vectorises; reducing a short last axis of an (R, K) array is several times slower.
    """
    scaled = np.array(utilities.T, dtype=float, order="C")  # (K, R): a copy we may overwrite
    scaled *= np.asarray(rationality, dtype=float)
    if mask is not None:
        np.copyto(scaled, -np.inf, where=~mask.T)
    top = scaled.max(axis=0)
    top[~np.isfinite(top)] = 0.0
    scaled -= top
    return np.exp(scaled, out=scaled)


def logit_probabilities(
    utilities: np.ndarray, rationality: float | np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """Choice probabilities over the last axis; rows with no available option get all zeros."""
    flat = np.reshape(utilities, (-1, np.shape(utilities)[-1]))
    flat_mask = None if mask is None else np.reshape(mask, flat.shape)
    weights = _weights_by_option(flat, _per_row(rationality, flat.shape[0]), flat_mask)
    total = weights.sum(axis=0)
    probabilities = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    return probabilities.T.reshape(np.shape(utilities))


def sample_logit(
    rng: np.random.Generator | np.ndarray,
    utilities: np.ndarray,
    rationality: float | np.ndarray,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Index of the chosen option for each row of `utilities` (shape (..., K)).

    `rng` is a Generator, or the uniform numbers themselves (one in [0, 1) per row). With
    lambda = 0 every available option is equally likely. A row whose options are all masked
    returns 0 (callers keep option 0 always available).
    """
    flat = np.reshape(utilities, (-1, np.shape(utilities)[-1]))
    flat_mask = None if mask is None else np.reshape(mask, flat.shape)
    weights = _weights_by_option(flat, _per_row(rationality, flat.shape[0]), flat_mask)
    return _invert(weights, _uniforms(rng, flat.shape[0])).reshape(np.shape(utilities)[:-1])


def _uniforms(rng: np.random.Generator | np.ndarray, rows: int) -> np.ndarray:
    if isinstance(rng, np.ndarray):
        return rng.reshape(rows)
    return rng.random(rows)


def _invert(weights: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Inverse-CDF choice from unnormalised weights (K, R): the first k whose cumulative weight
    exceeds u x total (in place: `weights` is overwritten by its cumulative sums)."""
    cumulative = np.cumsum(weights, axis=0, out=weights)
    total = cumulative[-1].copy()
    draw = uniforms * total
    choice = np.add.reduce(cumulative <= draw, axis=0, dtype=np.intp)
    np.minimum(choice, len(weights) - 1, out=choice)
    choice *= total > 0
    return choice


def _per_row(rationality: float | np.ndarray, rows: int) -> float | np.ndarray:
    """lambda as a scalar, or flattened to one value per row."""
    rationality = np.asarray(rationality, dtype=float)
    return float(rationality) if rationality.ndim == 0 else rationality.reshape(rows)


def sample_from_probabilities(
    rng: np.random.Generator | np.ndarray, probabilities: np.ndarray
) -> np.ndarray:
    """Index drawn from each row of already-normalised `probabilities` (one uniform per row).

    `rng` is a Generator, or the uniforms themselves.
    """
    cumulative = np.cumsum(np.asarray(probabilities).T, axis=0)
    draw = _uniforms(rng, cumulative.shape[1]) * cumulative[-1]
    return np.minimum(np.sum(cumulative <= draw, axis=0), probabilities.shape[-1] - 1)
