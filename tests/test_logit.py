"""The logit choice (MODEL section 5): probabilities against the softmax formula, and the
sampler's frequencies (one uniform draw per row through the cumulative probabilities) against
those probabilities."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from agents.logit import logit_probabilities, sample_logit


def softmax(utilities: list[float], rationality: float, mask: list[bool] | None = None):
    """P(k) = exp(lambda U_k) / sum over available k' of exp(lambda U_k'), written out."""
    weights = [
        np.exp(rationality * u) if mask is None or mask[k] else 0.0 for k, u in enumerate(utilities)
    ]
    total = sum(weights)
    return np.array([w / total for w in weights])


@pytest.mark.parametrize(
    ("utilities", "rationality"),
    [
        ([0.0, 1.0, 2.0], 1.0),
        ([0.5, -0.3, 0.2, 1.1], 3.0),
        ([-2.0, -2.0, 1.0], 0.5),
        ([10.0, 0.0, -10.0], 2.0),
    ],
)
def test_probabilities_are_the_softmax(utilities, rationality):
    got = logit_probabilities(np.array(utilities), rationality)
    np.testing.assert_allclose(got, softmax(utilities, rationality), rtol=1e-12, atol=1e-15)


def test_probabilities_with_a_mask_renormalise_over_available_options():
    utilities = np.array([0.3, 2.0, -0.4, 0.9])
    mask = np.array([True, False, True, True])
    got = logit_probabilities(utilities, 2.0, mask)
    assert got[1] == 0.0
    np.testing.assert_allclose(got, softmax(list(utilities), 2.0, list(mask)), rtol=1e-12)


def test_rationality_zero_is_uniform_over_available_options():
    utilities = np.array([[5.0, -3.0, 0.0, 1.0]])
    np.testing.assert_allclose(logit_probabilities(utilities, 0.0), [[0.25] * 4])
    mask = np.array([[True, True, False, True]])
    np.testing.assert_allclose(
        logit_probabilities(utilities, 0.0, mask), [[1 / 3, 1 / 3, 0, 1 / 3]]
    )


def test_rows_with_every_option_masked_get_zeros():
    utilities = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    mask = np.array([[False, False, False], [True, False, True]])
    got = logit_probabilities(utilities, 1.0, mask)
    np.testing.assert_array_equal(got[0], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(got[1], softmax([1.0, 2.0, 3.0], 1.0, [True, False, True]))


def test_per_row_rationality_applies_to_its_row():
    utilities = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    rationality = np.array([0.0, 1.0, 4.0])
    got = logit_probabilities(utilities, rationality)
    for row, lam in enumerate(rationality):
        np.testing.assert_allclose(got[row], softmax([0.0, 1.0], lam), rtol=1e-12)


def test_large_utilities_do_not_overflow():
    got = logit_probabilities(np.array([1000.0, 999.0, -1000.0]), 5.0)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, softmax([0.0, -1.0, -2000.0], 5.0), rtol=1e-12)


DRAWS = 200_000


@pytest.mark.parametrize(
    ("utilities", "rationality", "mask"),
    [
        ([0.0, 0.5, 1.0], 1.0, None),
        ([0.2, -0.7, 1.3, 0.4], 3.0, None),
        ([1.0, 3.0, 0.0, -0.5], 0.8, [True, False, True, True]),
        ([0.0, 0.0, 0.0], 0.0, None),
    ],
)
def test_sampled_frequencies_match_the_probabilities(utilities, rationality, mask):
    rng = np.random.default_rng(20220913)
    rows = np.tile(np.array(utilities), (DRAWS, 1))
    row_mask = None if mask is None else np.tile(np.array(mask), (DRAWS, 1))
    choices = sample_logit(rng, rows, rationality, row_mask)
    counts = np.bincount(choices, minlength=len(utilities))
    probabilities = logit_probabilities(np.array(utilities), rationality, mask)
    available = probabilities > 0
    assert counts[~available].sum() == 0, "a masked option was chosen"
    result = stats.chisquare(counts[available], DRAWS * probabilities[available])
    assert result.pvalue > 1e-3, (counts, DRAWS * probabilities)


def test_sampler_has_power_against_wrong_probabilities():
    """The frequency test above can fail: it rejects the probabilities of another rationality."""
    rng = np.random.default_rng(7)
    utilities = np.array([0.2, -0.7, 1.3, 0.4])
    choices = sample_logit(rng, np.tile(utilities, (DRAWS, 1)), 3.0)
    counts = np.bincount(choices, minlength=4)
    wrong = logit_probabilities(utilities, 2.8)
    assert stats.chisquare(counts, DRAWS * wrong).pvalue < 1e-6


def test_sampler_with_per_row_rationality():
    rng = np.random.default_rng(11)
    rationality = np.repeat([0.0, 2.0], DRAWS // 2)
    utilities = np.tile(np.array([0.0, 1.0]), (DRAWS, 1))
    choices = sample_logit(rng, utilities, rationality)
    for lam, part in ((0.0, choices[: DRAWS // 2]), (2.0, choices[DRAWS // 2 :])):
        counts = np.bincount(part, minlength=2)
        expected = len(part) * softmax([0.0, 1.0], lam)
        assert stats.chisquare(counts, expected).pvalue > 1e-3, (lam, counts, expected)


utility_rows = st.lists(
    st.floats(min_value=-50.0, max_value=50.0, allow_nan=False), min_size=1, max_size=8
)


@settings(max_examples=200, deadline=None)
@given(
    utilities=utility_rows,
    rationality=st.floats(min_value=0.0, max_value=20.0),
    shift=st.floats(min_value=-100.0, max_value=100.0),
)
def test_probabilities_sum_to_one_and_ignore_a_constant(utilities, rationality, shift):
    base = np.array(utilities)
    probabilities = logit_probabilities(base, rationality)
    assert np.all(probabilities >= 0.0)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    shifted = logit_probabilities(base + shift, rationality)
    np.testing.assert_allclose(shifted, probabilities, rtol=1e-7, atol=1e-12)


def test_agents_package_imports_on_its_own():
    """`import agents.logit` in a fresh interpreter, before anything from `simulation`, works."""
    result = subprocess.run(
        [sys.executable, "-c", "import agents.logit"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr.strip().splitlines()[-1:]
