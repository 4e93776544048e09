"""Validation gates: each compares the candidate's holdout metric with a limit.

The metric follows the contract's problem type (:data:`OBJECTIVES`): RMSE (minutes
in the example; lower is better) for ``regression``, ROC AUC of the positive-class
probability (greater is better) for ``binary_classification``. Three gates, all
thresholds under ``validation`` in the config:

- ``max_rmse`` / ``min_roc_auc``: the metric is within ``max_root_mean_squared_error``
  / ``min_roc_auc``;
- ``baseline``: the metric beats the naive baseline (always predict the mean training
  label / the training prior of the positive class) by ``min_improvement_over_baseline``:
  RMSE <= baseline x (1 - margin), or ROC AUC >= baseline x (1 + margin);
- ``champion`` (only when a champion exists): the metric is at most
  ``max_relative_degradation`` worse than the champion's. A champion that is not
  comparable (its signature refuses the model inputs, e.g. after a contract change, or
  it was trained on part of the holdout) fails this gate, and the reason says so.

A gate passes only when both its figure and its limit are finite numbers and the
figure is on the passing side of the limit. A NaN or infinite figure fails, and the
reason says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.metrics import roc_auc_score, root_mean_squared_error

from .config import ConfigError, Settings
from .contract import BINARY, REGRESSION
from .registry import FAILED, PASSED

RMSE = "root_mean_squared_error"
ROC_AUC = "roc_auc"


@dataclass(frozen=True)
class Objective:
    """What the gates measure for one problem type.

    metric: the metric's name; greater_is_better: its direction; limit_key: the
    ``validation`` key of its absolute limit; gate: that gate's name; baseline: the
    naive baseline's name (``mean`` or ``prior``).
    """

    metric: str
    greater_is_better: bool
    limit_key: str
    gate: str
    baseline: str


OBJECTIVES = {
    REGRESSION: Objective(RMSE, False, "max_root_mean_squared_error", "max_rmse", "mean"),
    BINARY: Objective(ROC_AUC, True, "min_roc_auc", "min_roc_auc", "prior"),
}
_RULES = {
    "max_root_mean_squared_error": ("a finite number > 0", lambda v: v > 0),
    "min_roc_auc": ("a number in [0, 1]", lambda v: 0 <= v <= 1),
    "min_improvement_over_baseline": ("a number in [0, 1)", lambda v: 0 <= v < 1),
    "max_relative_degradation": ("a finite number >= 0", lambda v: v >= 0),
}


def _threshold(section: dict[str, Any], key: str) -> float:
    rule, holds = _RULES[key]
    raw = section.get(key)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ConfigError(f"validation.{key}: must be a number, got {raw!r}")
    if not (math.isfinite(raw) and holds(raw)):
        raise ConfigError(f"validation.{key}: must be {rule}, got {raw!r}")
    return float(raw)


@dataclass(frozen=True)
class Thresholds:
    """The gate settings of ``validation`` for one problem type.

    limit: the absolute limit of the objective's metric (largest RMSE / smallest ROC
    AUC that passes); the two margins are fractions of the baseline / champion figure.
    """

    limit: float
    min_improvement_over_baseline: float  # fraction of the baseline figure, in [0, 1)
    max_relative_degradation: float  # fraction of the champion figure, >= 0
    objective: Objective = OBJECTIVES[REGRESSION]

    @classmethod
    def from_settings(cls, section: dict[str, Any], problem_type: str = REGRESSION) -> Thresholds:
        """Read and check the thresholds of ``problem_type`` from the ``validation`` mapping.

        Raises ConfigError naming the first key that is missing, not a finite
        number, or outside its range.
        """
        objective = OBJECTIVES[problem_type]
        return cls(
            limit=_threshold(section, objective.limit_key),
            min_improvement_over_baseline=_threshold(section, "min_improvement_over_baseline"),
            max_relative_degradation=_threshold(section, "max_relative_degradation"),
            objective=objective,
        )

    def as_dict(self) -> dict[str, float]:
        """The thresholds by config key."""
        return {
            self.objective.limit_key: self.limit,
            "min_improvement_over_baseline": self.min_improvement_over_baseline,
            "max_relative_degradation": self.max_relative_degradation,
        }


def fails_on_rejection(settings: Settings) -> bool:
    """``validation.fail_on_rejection`` (default false): whether a rejected candidate fails the run.

    Raises ConfigError when the setting is not true or false.
    """
    value = settings.validation.get("fail_on_rejection", False)
    if not isinstance(value, bool):
        raise ConfigError(f"validation.fail_on_rejection: must be true or false, got {value!r}")
    return value


@dataclass(frozen=True)
class Gate:
    """The verdict of one gate: ``value`` (the candidate's metric) against ``limit``."""

    name: str
    value: float
    limit: float
    passed: bool
    reason: str | None

    @property
    def result(self) -> str:
        """``PASSED`` or ``FAILED``."""
        return PASSED if self.passed else FAILED


def check(
    name: str,
    value: float,
    limit: float,
    limit_label: str,
    rule: str,
    metric: str = RMSE,
    greater_is_better: bool = False,
) -> Gate:
    """Gate ``name``: passes when ``value`` and ``limit`` are finite and ``value`` is on the
    passing side of ``limit`` (at most it, or at least it when ``greater_is_better``).

    ``limit_label`` names where the limit comes from (used when it is not finite);
    ``rule`` is the reason given when the value is on the failing side.
    """
    if not math.isfinite(value):
        reason = f"{metric} is {value}: not a finite number ({name} gate)"
    elif not math.isfinite(limit):
        reason = f"{limit_label} is {limit}: not a finite number ({name} gate)"
    elif (value < limit) if greater_is_better else (value > limit):
        reason = rule
    else:
        reason = None
    return Gate(name, value, limit, reason is None, reason)


def rmse(actual, predicted) -> float:
    """RMSE of ``predicted`` against ``actual`` (same length), in the label's unit.

    NaN when any prediction is NaN or infinite, so the gates fail on it instead of
    the step crashing (scikit-learn refuses such input).
    """
    predicted = np.asarray(predicted, dtype=float).reshape(-1)
    if not np.isfinite(predicted).all():
        return math.nan
    return float(root_mean_squared_error(actual, predicted))


def roc_auc(actual, probability) -> float:
    """ROC AUC of the positive-class ``probability`` against 0/1 ``actual`` labels.

    NaN when a probability is not finite or the labels hold one class only.
    """
    probability = np.asarray(probability, dtype=float).reshape(-1)
    labels = np.asarray(actual, dtype=float).reshape(-1)
    if not np.isfinite(probability).all() or np.unique(labels).size < 2:
        return math.nan
    return float(roc_auc_score(labels, probability))


def metric(objective: Objective, actual, predicted) -> float:
    """The objective's metric (:func:`rmse` or :func:`roc_auc`) of ``predicted``."""
    return roc_auc(actual, predicted) if objective.metric == ROC_AUC else rmse(actual, predicted)


def mean_baseline_rmse(train_labels, holdout_labels) -> tuple[float, float]:
    """(mean training label, RMSE on the holdout of always predicting it).

    The naive baseline is scikit-learn's ``DummyRegressor(strategy="mean")`` fit on
    ``train_labels``. Raises ValueError when ``train_labels`` is empty.
    """
    labels = np.asarray(train_labels, dtype=float)
    if labels.size == 0:
        raise ValueError("baseline: no training labels to take the mean of")
    dummy = DummyRegressor(strategy="mean").fit(np.zeros((labels.size, 1)), labels)
    guess = dummy.predict(np.zeros((len(holdout_labels), 1)))
    return float(dummy.constant_[0][0]), rmse(holdout_labels, guess)


def naive_baseline(objective: Objective, train_labels, holdout_labels) -> tuple[float, float]:
    """(constant prediction, the objective's metric of it on the holdout).

    The constant is the mean training label: for regression the mean, for binary
    classification the prior of the positive class (its ROC AUC is 0.5 whenever the
    holdout holds both classes). Raises ValueError when ``train_labels`` is empty.
    """
    constant, figure = mean_baseline_rmse(train_labels, holdout_labels)
    if objective.metric == ROC_AUC:
        figure = roc_auc(holdout_labels, np.full(len(holdout_labels), constant))
    return constant, figure


def evaluate(
    thresholds: Thresholds,
    candidate: float,
    baseline: float,
    champion: float | None = None,
    champion_version: str | None = None,
    champion_not_comparable: str | None = None,
) -> list[Gate]:
    """The gates for a candidate: the absolute limit, ``baseline`` and, with a champion,
    ``champion``.

    All figures are the objective's holdout metric; ``champion`` None means no champion.
    ``champion_not_comparable``: why the champion's figure cannot be compared (None: it
    can), e.g. it could not score the holdout, or was fit on it; its gate then fails
    with that reason, so a candidate never passes for want of a comparison.
    """
    t, o = thresholds, thresholds.objective
    worse = "<" if o.greater_is_better else ">"
    up = 1 if o.greater_is_better else -1  # the direction that is better

    def gate(name, allowed, label, rule):
        return check(name, candidate, allowed, label, rule, o.metric, o.greater_is_better)

    gates = [
        gate(
            o.gate,
            t.limit,
            o.limit_key,
            f"{o.metric} {candidate:.3f} {worse} {o.limit_key} {t.limit:g}",
        )
    ]
    allowed = baseline * (1 + up * t.min_improvement_over_baseline)
    gates.append(
        gate(
            "baseline",
            allowed,
            f"{o.baseline} baseline {o.metric}",
            f"{o.metric} {candidate:.3f} {worse} {allowed:.3f}: does not beat the {o.baseline} "
            f"baseline {baseline:.3f} by min_improvement_over_baseline "
            f"{t.min_improvement_over_baseline:.1%}",
        )
    )
    if champion_not_comparable is not None:
        reason = f"champion v{champion_version} not comparable: {champion_not_comparable}"
        gates.append(Gate("champion", candidate, math.nan, False, reason))
    elif champion is not None:
        allowed = champion * (1 - up * t.max_relative_degradation)
        degradation = relative_degradation(candidate, champion, o.greater_is_better)
        gates.append(
            gate(
                "champion",
                allowed,
                f"champion v{champion_version} {o.metric}",
                f"relative degradation {degradation:.1%} of {o.metric} ({candidate:.3f} vs "
                f"champion v{champion_version} {champion:.3f}) > max_relative_degradation "
                f"{t.max_relative_degradation:.1%}",
            )
        )
    return gates


def relative_degradation(candidate: float, champion: float, greater_is_better: bool = False):
    """How much worse the candidate is, as a fraction of the champion (0.1 = 10 % worse).

    candidate / champion - 1 when lower is better, 1 - candidate / champion when
    greater is better; NaN when the champion's figure is 0.
    """
    if champion <= 0:
        return math.nan
    ratio = candidate / champion
    return 1 - ratio if greater_is_better else ratio - 1
