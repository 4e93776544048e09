"""Metrics of predictions against labels, per problem type of the data contract.

Regression: RMSE, MAE (the label's unit) and R². Binary classification, on the
positive-class probability: ROC AUC, log loss, and at the contract's
``decision_threshold`` F1, precision, recall and accuracy; plus the MAE of the
probability (the mean distance to the 0/1 label), a figure to compare later
predictions with, like a regression's MAE.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)

from .contract import Contract

_SHORT_REGRESSION = {"rmse": "root_mean_squared_error", "mae": "mean_absolute_error"}
_SHORT_BINARY = {
    "roc_auc": "roc_auc",
    "log_loss": "log_loss",
    "f1": "f1_score",
    "mae": "mean_absolute_error",
}


def split_metrics(contract: Contract, actual, predicted) -> dict[str, float]:
    """Short-named metrics of one split, as train logs them (``<split>_<name>``).

    Regression: ``rmse``, ``mae``. Binary classification: ``roc_auc`` (NaN when the
    split holds one class), ``log_loss``, ``f1`` at the decision threshold, ``mae``.
    ``actual`` and ``predicted`` are equal-length number sequences.
    """
    full = holdout_metrics(contract, actual, predicted)
    short = _SHORT_BINARY if contract.is_classification else _SHORT_REGRESSION
    return {name: full[long_name] for name, long_name in short.items()}


def holdout_metrics(contract: Contract, actual, predicted) -> dict[str, float]:
    """Long-named metrics (scikit-learn names) of ``predicted`` on a holdout.

    Regression: ``root_mean_squared_error``, ``mean_absolute_error``, ``r2_score``.
    Binary classification: ``roc_auc``, ``log_loss``, ``f1_score``, ``precision_score``,
    ``recall_score``, ``accuracy_score`` (the last four at ``decision_threshold``) and
    ``mean_absolute_error`` of the probability. Predictions must be finite.
    """
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if not contract.is_classification:
        return {
            "root_mean_squared_error": float(root_mean_squared_error(actual, predicted)),
            "mean_absolute_error": float(mean_absolute_error(actual, predicted)),
            "r2_score": float(r2_score(actual, predicted)),
        }
    decided = (predicted >= contract.decision_threshold).astype(int)
    labels = actual.astype(int)
    both = np.unique(labels).size == 2
    return {
        "roc_auc": float(roc_auc_score(labels, predicted)) if both else math.nan,
        "log_loss": float(log_loss(labels, np.clip(predicted, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "f1_score": float(f1_score(labels, decided, zero_division=0)),
        "precision_score": float(precision_score(labels, decided, zero_division=0)),
        "recall_score": float(recall_score(labels, decided, zero_division=0)),
        "accuracy_score": float(accuracy_score(labels, decided)),
        "mean_absolute_error": float(mean_absolute_error(actual, predicted)),
    }


def reported_metrics(contract: Contract) -> tuple[str, ...]:
    """The holdout metrics validate reports and tags, in order."""
    if contract.is_classification:
        return ("roc_auc", "log_loss", "f1_score", "mean_absolute_error")
    return ("root_mean_squared_error", "mean_absolute_error", "r2_score")
