"""The estimator of each problem type, and the parameters the settings may give it.

This module imports scikit-learn and numpy only, nothing of this package: a logged
classifier carries the package in its MLflow ``code`` folder (see
:func:`.modeling.log_model`), and a model server without the package installed
(Databricks Model Serving, or the MLflow model server) imports this module from there
to load :class:`PositiveClassProbability`.
"""

from __future__ import annotations

import re

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

# Parameters the pipeline sets from the contract (the categorical columns), never the settings.
PIPELINE_PARAMETERS = ("categorical_features",)


class PositiveClassProbability(HistGradientBoostingClassifier):
    """A gradient-boosted binary classifier whose ``predict`` is the positive-class probability.

    ``predict(X)`` returns ``predict_proba(X)[:, 1]`` (float64, one per row): the
    probability of the larger label value (1). Everything else is
    HistGradientBoostingClassifier's.
    """

    def predict(self, X) -> np.ndarray:
        """Positive-class probability per row of ``X`` (float64 in [0, 1])."""
        return self.predict_proba(X)[:, 1]


def estimator_class(classification: bool) -> type:
    """:class:`PositiveClassProbability` for binary classification, else the regressor."""
    return PositiveClassProbability if classification else HistGradientBoostingRegressor


def settable_parameters(classification: bool) -> list[str]:
    """Names the settings' ``training`` section may set, sorted.

    The ``get_params()`` names of :func:`estimator_class` for the problem type, minus
    :data:`PIPELINE_PARAMETERS`.
    """
    names = estimator_class(classification)().get_params()
    return sorted(name for name in names if name not in PIPELINE_PARAMETERS)


def parameter_problem(classification: bool, parameters: dict) -> tuple[str, str] | None:
    """The first of ``parameters`` (settable names, :func:`settable_parameters`) whose value
    scikit-learn's own rules for :func:`estimator_class` refuse, as (name, scikit-learn's
    message, e.g. ``The 'max_iter' parameter of HistGradientBoostingRegressor must be an
    int in the range [1, inf). Got 'lots' instead.``); None when every value is allowed.

    The same check ``fit`` starts with, made without data (scikit-learn's
    ``_validate_params``; skipped where the installed version lacks it).
    """
    estimator = estimator_class(classification)(**parameters)
    validate = getattr(estimator, "_validate_params", None)
    if validate is None:
        return None
    try:
        validate()
    except (ValueError, TypeError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        named = re.match(r"The '(\w+)' parameter", message)
        return (named.group(1) if named else ", ".join(parameters), message)
    return None
