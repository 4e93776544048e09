"""PSI and the KS statistic against a training-data profile, pinned on tiny inputs.

Expected values are worked out by hand from the definitions: bins from the
profile (below the first edge, [e0, e1), ..., equal to the last edge, above it),
empty bins given the share EPSILON and the shares renormalised, then
PSI = sum over bins of (window - baseline) * ln(window / baseline).
Then which drift starts retraining: the champion's only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from {{ cookiecutter.package_name }}.data_profile import build_profile, ecdf_points
from {{ cookiecutter.package_name }}.monitoring.drift import EPSILON, compare
from {{ cookiecutter.package_name }}.monitoring.figures import DATA_QUALITY, DRIFT, figure
from {{ cookiecutter.package_name }}.steps.monitor import retraining_required

E = EPSILON


def profile_of(values, column: str = "x") -> dict:
    """The profile entry of one column built by the training code (predictions are dummies)."""
    frame = pd.DataFrame({column: values})
    return build_profile(frame, np.zeros(len(frame)))["columns"][column]


def test_empty_bins_are_smoothed():
    # Baseline 0, 1, 2, 3: edges [0, 1, 2, 3], bins <0 [0,1) [1,2) [2,3) =3 >3,
    # shares 0 .25 .25 .25 .25 0. Window 0, 0, 1, 1: 0 .5 .5 0 0 0.
    entry = profile_of([0.0, 1.0, 2.0, 3.0])
    assert entry["edges"] == [0.0, 1.0, 2.0, 3.0]
    assert entry["shares"] == [0.0, 0.25, 0.25, 0.25, 0.25, 0.0]
    base = [E / (1 + 2 * E), *[0.25 / (1 + 2 * E)] * 4, E / (1 + 2 * E)]
    window = [E / (1 + 4 * E), 0.5 / (1 + 4 * E), 0.5 / (1 + 4 * E), *[E / (1 + 4 * E)] * 3]
    expected = sum((w - b) * math.log(w / b) for w, b in zip(window, base, strict=True))
    result = compare(entry, pd.Series([0.0, 0.0, 1.0, 1.0]))
    assert result.psi == pytest.approx(expected, rel=1e-12)
    # Two bins of .25 that the window leaves empty dominate: 2 * .2499 * ln(.25 / E) = 3.911.
    assert math.isfinite(result.psi) and result.psi == pytest.approx(4.257, abs=1e-3)


def test_duplicate_quantile_edges_are_merged_into_shared_bins():
    # Eight 5s and two 7s: every decile is 5 or 7, so the edges are [5, 7] and the
    # bins <5 [5,7) =7 >7 hold 0 .8 .2 0. Window five 5s, five 7s: 0 .5 .5 0.
    entry = profile_of([5.0] * 8 + [7.0] * 2)
    assert entry["edges"] == [5.0, 7.0]
    assert entry["shares"] == [0.0, 0.8, 0.2, 0.0]
    result = compare(entry, pd.Series([5.0] * 5 + [7.0] * 5))
    assert result.window == [0.0, 0.5, 0.5, 0.0]
    # Both vectors smooth the same two empty bins, so both divide by (1 + 2E).
    expected = ((0.5 - 0.8) * math.log(0.5 / 0.8) + (0.5 - 0.2) * math.log(0.5 / 0.2)) / (1 + 2 * E)
    assert result.psi == pytest.approx(expected, rel=1e-12)


def test_a_constant_against_the_same_constant_is_zero():
    entry = profile_of([3.0] * 10)
    assert entry["edges"] == [3.0] and entry["shares"] == [0.0, 1.0, 0.0]
    result = compare(entry, pd.Series([3.0] * 4))
    assert result.psi == 0.0 and result.ks_statistic == 0.0


@pytest.mark.parametrize("other", [2.0, 4.0])
def test_a_constant_against_a_different_constant_is_drift(other):
    # Baseline all in "= 3"; window all below or above it. Each side: one bin of
    # share 1 and two of E, divided by (1 + 2E); two bins differ.
    entry = profile_of([3.0] * 10)
    result = compare(entry, pd.Series([other] * 10))
    expected = 2 * (1 - E) / (1 + 2 * E) * math.log(1 / E)
    assert result.psi == pytest.approx(expected, rel=1e-12)
    assert result.psi == pytest.approx(18.415, abs=1e-3) and result.ks_statistic == 1.0


def test_categorical_psi_puts_unseen_categories_under_other():
    # Baseline EWR .5, JFK .5; window all LGA (unseen): bins EWR JFK <other>.
    entry = profile_of(["EWR", "JFK"] * 5, column="origin")
    result = compare(entry, pd.Series(["LGA"] * 10))
    assert result.labels == ["EWR", "JFK", "<other>"]
    base = [0.5 / (1 + E), 0.5 / (1 + E), E / (1 + E)]
    window = [E / (1 + 2 * E), E / (1 + 2 * E), 1 / (1 + 2 * E)]
    expected = sum((w - b) * math.log(w / b) for w, b in zip(window, base, strict=True))
    assert result.psi == pytest.approx(expected, rel=1e-12)
    assert result.ks_statistic is None
    assert compare(entry, pd.Series(["JFK", "EWR"])).psi == 0.0


def test_nulls_are_left_to_the_null_share():
    entry = profile_of([1.0, 2.0, None, 3.0])
    assert entry["count"] == 3 and entry["null_share"] == 0.25
    assert compare(entry, pd.Series([1.0, np.nan, 2.0, 3.0])).psi == 0.0
    with pytest.raises(ValueError, match="no values"):
        compare(entry, pd.Series([np.nan, np.nan]))


def test_ks_statistic_equals_scipy_on_columns_with_few_distinct_values():
    rng = np.random.default_rng(4)
    baseline = rng.integers(0, 24, 5_000).astype(float)  # like an hour of day
    window = rng.integers(3, 24, 700).astype(float)
    result = compare(profile_of(baseline), pd.Series(window))
    assert result.ks_statistic == pytest.approx(stats.ks_2samp(baseline, window).statistic)


def test_ks_statistic_of_a_continuous_column_is_within_one_thousandth():
    rng = np.random.default_rng(5)
    baseline = rng.normal(40, 10, 20_000)
    window = rng.normal(43, 10, 3_000)
    entry = profile_of(baseline)
    assert len(entry["ecdf"]["values"]) <= 1000
    scipy_value = stats.ks_2samp(baseline, window).statistic
    assert abs(compare(entry, pd.Series(window)).ks_statistic - scipy_value) <= 1e-3


def test_compressed_cdf_is_exact_at_its_points():
    values = np.arange(5_000, dtype=float)
    kept, cum = ecdf_points(values, points=100)
    assert len(kept) == 100
    # At value v the share of values <= v is (v + 1) / 5000.
    assert cum == pytest.approx([(v + 1) / 5_000 for v in kept])


def test_only_drift_of_the_champions_rows_requires_retraining():
    """A retired version's drift (its rows stay in the window) is reported, not acted on;
    without a champion nothing is retrained for."""

    def broken(version: str, kind: str) -> dict:
        return {**figure("temp", "psi", 3.0, 0.2, kind, violation=True), "model_version": version}

    retired_drift = [broken("1", DRIFT), broken("2", DATA_QUALITY)]
    assert not retraining_required(retired_drift, "2")
    assert retraining_required([*retired_drift, broken("2", DRIFT)], "2")
    assert retraining_required(retired_drift, "1")
    assert not retraining_required(retired_drift, None)
