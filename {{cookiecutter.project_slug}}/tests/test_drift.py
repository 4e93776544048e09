"""PSI and the KS test on samples with known shifts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.monitoring.drift import (
    ks_test,
    psi_categorical,
    psi_numeric,
)


def test_same_distribution_is_stable():
    rng = np.random.default_rng(1)
    assert psi_numeric(rng.normal(0, 1, 20_000), rng.normal(0, 1, 20_000)) < 0.01
    statistic, pvalue = ks_test(rng.normal(0, 1, 5_000), rng.normal(0, 1, 5_000))
    assert statistic < 0.05 and pvalue > 0.001


def test_shifted_distribution_drifts():
    rng = np.random.default_rng(2)
    psi = psi_numeric(rng.normal(0, 1, 20_000), rng.normal(1, 1, 20_000))
    assert psi > 0.2
    statistic, pvalue = ks_test(rng.normal(0, 1, 5_000), rng.normal(1, 1, 5_000))
    assert statistic > 0.3 and pvalue < 1e-10


def test_psi_of_a_hand_computed_case():
    # Baseline deciles of 0..99 put 10 values per bin; the current sample puts all
    # 100 values in the lowest bin: PSI = (1 - 0.1) ln(10) + 9 (1e-4 - 0.1) ln(1e-3).
    baseline = np.arange(100, dtype=float)
    current = np.zeros(100)
    expected = 0.9 * np.log(10) + 9 * (1e-4 - 0.1) * np.log(1e-4 / 0.1)
    assert psi_numeric(baseline, current, bins=10) == pytest.approx(expected, rel=1e-6)


def test_nulls_are_ignored_and_empty_samples_do_not_fail():
    values = np.array([1.0, 2.0, np.nan, 3.0])
    assert psi_numeric(values, values) == pytest.approx(0.0)
    assert psi_numeric(np.array([np.nan]), values) == 0.0
    assert ks_test(np.array([]), values) == (0.0, 1.0)


def test_categorical_psi_sees_a_new_mix():
    base = pd.Series(["EWR"] * 50 + ["JFK"] * 50)
    assert psi_categorical(base, base.copy()) == pytest.approx(0.0)
    assert psi_categorical(base, pd.Series(["LGA"] * 100)) > 1.0
