"""The estimator of each problem type, and the parameters the settings may give it.

This module imports scikit-learn and numpy only, nothing of this package: a logged
classifier carries the package in its MLflow ``code`` folder (see
:func:`.modeling.log_model`), and a model server without the package installed
(Databricks Model Serving, or the MLflow model server) imports this module from there
to load :class:`PositiveClassProbability`.
"""

from __future__ import annotations

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
