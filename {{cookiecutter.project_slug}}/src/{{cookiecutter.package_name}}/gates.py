"""Validation gates: each compares the candidate's holdout RMSE (minutes) with a limit.

Three gates, all thresholds under ``validation`` in the config:

- ``max_rmse``: the RMSE is at most ``max_root_mean_squared_error``;
- ``baseline``: the RMSE beats the naive baseline (always predict the mean training
  label) by ``min_improvement_over_baseline``: RMSE <= baseline RMSE x (1 - margin);
- ``champion`` (only when a champion exists): the RMSE is at most the champion's
  x (1 + ``max_relative_degradation``).

A gate passes only when both its figure and its limit are finite numbers and the
figure is at most the limit. A NaN or infinite figure fails, and the reason says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.metrics import root_mean_squared_error

from .config import ConfigError, Settings
from .registry import FAILED, PASSED

RMSE = "root_mean_squared_error"
_RULES = {
    "max_root_mean_squared_error": ("a finite number > 0", lambda v: v > 0),
    "min_improvement_over_baseline": ("a number in [0, 1)", lambda v: 0 <= v < 1),
    "max_relative_degradation": ("a finite number >= 0", lambda v: v >= 0),
}


@dataclass(frozen=True)
class Thresholds:
    """The gate settings of ``validation`` in the config."""

    max_root_mean_squared_error: float  # minutes
    min_improvement_over_baseline: float  # fraction of the baseline RMSE, in [0, 1)
    max_relative_degradation: float  # fraction of the champion RMSE, >= 0

    @classmethod
    def from_settings(cls, section: dict[str, Any]) -> Thresholds:
        """Read and check the thresholds from the ``validation`` mapping of the settings.

        Raises ConfigError naming the first key that is missing, not a finite
        number, or outside its range.
        """
        values = {}
        for key, (rule, holds) in _RULES.items():
            raw = section.get(key)
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise ConfigError(f"validation.{key}: must be a number, got {raw!r}")
            if not (math.isfinite(raw) and holds(raw)):
                raise ConfigError(f"validation.{key}: must be {rule}, got {raw!r}")
            values[key] = float(raw)
        return cls(**values)

    def as_dict(self) -> dict[str, float]:
        """The thresholds by config key."""
        return dict(self.__dict__)


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
    """The verdict of one gate: ``value`` (candidate RMSE) against ``limit`` (largest passing)."""

    name: str
    value: float
    limit: float
    passed: bool
    reason: str | None

    @property
    def result(self) -> str:
        """``PASSED`` or ``FAILED``."""
        return PASSED if self.passed else FAILED


def check(name: str, value: float, limit: float, limit_label: str, rule: str) -> Gate:
    """Gate ``name``: passes when ``value`` and ``limit`` are finite and ``value <= limit``.

    ``limit_label`` names where the limit comes from (used when it is not finite);
    ``rule`` is the reason given when the value exceeds the limit.
    """
    if not math.isfinite(value):
        reason = f"{RMSE} is {value}: not a finite number ({name} gate)"
    elif not math.isfinite(limit):
        reason = f"{limit_label} is {limit}: not a finite number ({name} gate)"
    elif value > limit:
        reason = rule
    else:
        reason = None
    return Gate(name, value, limit, reason is None, reason)


def rmse(actual, predicted) -> float:
    """RMSE in minutes of ``predicted`` against ``actual`` (same length).

    NaN when any prediction is NaN or infinite, so the gates fail on it instead of
    the step crashing (scikit-learn refuses such input).
    """
    predicted = np.asarray(predicted, dtype=float).reshape(-1)
    if not np.isfinite(predicted).all():
        return math.nan
    return float(root_mean_squared_error(actual, predicted))


def mean_baseline_rmse(train_labels, holdout_labels) -> tuple[float, float]:
    """(mean training label, RMSE on the holdout of always predicting it), both in minutes.

    The naive baseline is scikit-learn's ``DummyRegressor(strategy="mean")`` fit on
    ``train_labels``. Raises ValueError when ``train_labels`` is empty.
    """
    labels = np.asarray(train_labels, dtype=float)
    if labels.size == 0:
        raise ValueError("baseline: no training labels to take the mean of")
    dummy = DummyRegressor(strategy="mean").fit(np.zeros((labels.size, 1)), labels)
    guess = dummy.predict(np.zeros((len(holdout_labels), 1)))
    return float(dummy.constant_[0][0]), rmse(holdout_labels, guess)


def evaluate(
    thresholds: Thresholds,
    candidate_rmse: float,
    baseline_rmse: float,
    champion_rmse: float | None = None,
    champion_version: str | None = None,
) -> list[Gate]:
    """The gates for a candidate: ``max_rmse``, ``baseline`` and, with a champion, ``champion``.

    All figures are holdout RMSEs in minutes; ``champion_rmse`` None means no champion.
    """
    t = thresholds
    gates = [
        check(
            "max_rmse",
            candidate_rmse,
            t.max_root_mean_squared_error,
            "max_root_mean_squared_error",
            f"{RMSE} {candidate_rmse:.3f} > max_root_mean_squared_error "
            f"{t.max_root_mean_squared_error:g}",
        )
    ]
    allowed = baseline_rmse * (1 - t.min_improvement_over_baseline)
    gates.append(
        check(
            "baseline",
            candidate_rmse,
            allowed,
            f"mean baseline {RMSE}",
            f"{RMSE} {candidate_rmse:.3f} > {allowed:.3f}: does not beat the mean baseline "
            f"{baseline_rmse:.3f} by min_improvement_over_baseline "
            f"{t.min_improvement_over_baseline:.1%}",
        )
    )
    if champion_rmse is not None:
        allowed = champion_rmse * (1 + t.max_relative_degradation)
        degradation = relative_degradation(candidate_rmse, champion_rmse)
        gates.append(
            check(
                "champion",
                candidate_rmse,
                allowed,
                f"champion v{champion_version} {RMSE}",
                f"relative degradation {degradation:.1%} of {RMSE} ({candidate_rmse:.3f} vs "
                f"champion v{champion_version} {champion_rmse:.3f}) > max_relative_degradation "
                f"{t.max_relative_degradation:.1%}",
            )
        )
    return gates


def relative_degradation(candidate_rmse: float, champion_rmse: float) -> float:
    """candidate / champion - 1 (0.1 = 10 % worse); NaN when the champion's RMSE is 0."""
    return candidate_rmse / champion_rmse - 1 if champion_rmse > 0 else math.nan
