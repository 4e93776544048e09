"""The validation gates as pure functions: thresholds, the mean baseline, NaN and infinity."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import pytest

from {{ cookiecutter.package_name }}.config import ConfigError, load_settings
from {{ cookiecutter.package_name }}.gates import (
    OBJECTIVES,
    Thresholds,
    evaluate,
    fails_on_rejection,
    mean_baseline_rmse,
    naive_baseline,
    rmse,
)

LIMITS = Thresholds(
    limit=60.0,
    min_improvement_over_baseline=0.05,
    max_relative_degradation=0.05,
)
AUC_LIMITS = Thresholds(
    limit=0.6,
    min_improvement_over_baseline=0.05,
    max_relative_degradation=0.05,
    objective=OBJECTIVES["binary_classification"],
)


def by_name(gates) -> dict:
    return {g.name: g for g in gates}


def test_the_packaged_thresholds_load_for_every_environment():
    for env in ("local", "dev", "test", "staging", "prod"):
        assert Thresholds.from_settings(load_settings(env).validation) == LIMITS


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("min_improvement_over_baseline", 1.0, "in [0, 1)"),
        ("min_improvement_over_baseline", -0.1, "in [0, 1)"),
        ("max_root_mean_squared_error", float("nan"), "> 0"),
        ("max_relative_degradation", "5%", "must be a number"),
        ("max_relative_degradation", True, "must be a number"),
        ("min_improvement_over_baseline", None, "must be a number"),
    ],
)
def test_a_bad_threshold_is_refused_naming_the_key(key, value, rule):
    section = {**load_settings("local").validation, key: value}
    with pytest.raises(ConfigError, match=rf"^validation\.{key}: .*{re.escape(rule)}"):
        Thresholds.from_settings(section)


def test_the_mean_baseline_predicts_the_training_mean():
    mean, baseline = mean_baseline_rmse([10.0, 20.0, 30.0], [20.0, 24.0])
    assert mean == 20.0
    assert baseline == pytest.approx(math.sqrt(8.0))  # errors 0 and 4 minutes
    with pytest.raises(ValueError, match="no training labels"):
        mean_baseline_rmse([], [1.0])


def test_rmse_is_nan_when_a_prediction_is_not_finite():
    assert rmse([0.0, 0.0], [3.0, 4.0]) == pytest.approx(math.sqrt(12.5))
    assert math.isnan(rmse([0.0, 0.0], [3.0, float("nan")]))
    assert math.isnan(rmse([0.0, 0.0], [3.0, float("inf")]))


def test_the_baseline_gate_asks_for_the_configured_margin():
    # baseline 40 minutes, margin 5 %: at most 38 minutes passes
    passing = by_name(evaluate(LIMITS, 37.9, 40.0))
    assert passing["baseline"].passed and passing["baseline"].limit == pytest.approx(38.0)
    failing = by_name(evaluate(LIMITS, 38.1, 40.0))
    assert not failing["baseline"].passed
    assert failing["max_rmse"].passed
    assert failing["baseline"].reason == (
        "root_mean_squared_error 38.100 > 38.000: does not beat the mean baseline "
        "40.000 by min_improvement_over_baseline 5.0%"
    )
    assert "champion" not in failing  # no champion, no champion gate


def test_the_champion_gate_allows_the_configured_degradation():
    gates = by_name(evaluate(LIMITS, 31.4, 40.0, champion=30.0, champion_version="3"))
    assert gates["champion"].passed and gates["champion"].limit == pytest.approx(31.5)
    gates = by_name(evaluate(LIMITS, 31.6, 40.0, champion=30.0, champion_version="3"))
    assert not gates["champion"].passed
    assert "champion v3 30.000" in gates["champion"].reason
    assert "max_relative_degradation 5.0%" in gates["champion"].reason


def test_a_champion_that_could_not_score_fails_its_gate_with_the_reason():
    why = "Model is missing inputs ['gate_delay']."
    gates = by_name(evaluate(LIMITS, 30.0, 40.0, math.nan, "3", champion_not_comparable=why))
    assert gates["max_rmse"].passed and gates["baseline"].passed
    assert not gates["champion"].passed and math.isnan(gates["champion"].limit)
    assert gates["champion"].reason == f"champion v3 not comparable: {why}"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_candidate_figure_that_is_not_finite_fails_every_gate_saying_so(bad):
    gates = evaluate(LIMITS, bad, 40.0, champion=30.0, champion_version="3")
    assert [g.name for g in gates] == ["max_rmse", "baseline", "champion"]
    for gate in gates:
        assert not gate.passed and gate.result == "FAILED"
        assert gate.reason == (
            f"root_mean_squared_error is {bad}: not a finite number ({gate.name} gate)"
        )


def test_a_limit_that_is_not_finite_fails_its_gate_saying_so():
    gates = by_name(evaluate(LIMITS, 30.0, float("nan"), float("inf"), "3"))
    assert gates["max_rmse"].passed
    assert gates["baseline"].reason == (
        "mean baseline root_mean_squared_error is nan: not a finite number (baseline gate)"
    )
    assert gates["champion"].reason == (
        "champion v3 root_mean_squared_error is inf: not a finite number (champion gate)"
    )


def test_fail_on_rejection_is_a_boolean_setting():
    local = load_settings("local")
    assert fails_on_rejection(local) is False
    assert fails_on_rejection(load_settings("test")) is True
    with pytest.raises(ConfigError, match="validation.fail_on_rejection: must be true or false"):
        fails_on_rejection(
            replace(local, validation={**local.validation, "fail_on_rejection": "yes"})
        )


def test_the_classification_thresholds_read_min_roc_auc():
    section = load_settings("local").validation
    assert Thresholds.from_settings(section, "binary_classification") == AUC_LIMITS
    with pytest.raises(ConfigError, match=r"^validation\.min_roc_auc: must be a number in \["):
        Thresholds.from_settings({**section, "min_roc_auc": 1.5}, "binary_classification")


def test_roc_auc_gates_pass_upwards_against_the_prior_baseline_and_the_champion():
    # prior baseline AUC 0.5, margin 5 %: at least 0.525; champion 0.8, 5 %: at least 0.76
    constant, baseline = naive_baseline(AUC_LIMITS.objective, [0, 0, 0, 1], [0, 1, 1, 0])
    assert (constant, baseline) == (0.25, 0.5)
    gates = by_name(evaluate(AUC_LIMITS, 0.77, baseline, champion=0.8, champion_version="2"))
    assert [g.passed for g in gates.values()] == [True, True, True]
    assert gates["baseline"].limit == pytest.approx(0.525)
    assert gates["champion"].limit == pytest.approx(0.76)
    gates = by_name(evaluate(AUC_LIMITS, 0.59, baseline, champion=0.8, champion_version="2"))
    assert gates["min_roc_auc"].reason == "roc_auc 0.590 < min_roc_auc 0.6"
    assert gates["baseline"].passed
    assert gates["champion"].reason == (
        "relative degradation 26.3% of roc_auc (0.590 vs champion v2 0.800) > "
        "max_relative_degradation 5.0%"
    )
    below = by_name(evaluate(AUC_LIMITS, 0.52, baseline))
    assert not below["baseline"].passed and "does not beat the prior baseline 0.500" in (
        below["baseline"].reason
    )
