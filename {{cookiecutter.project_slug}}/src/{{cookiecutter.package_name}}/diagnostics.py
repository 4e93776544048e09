"""Figures of a trained model for people: feature importance, and per problem type
predicted versus actual and residuals (regression) or ROC and calibration curves
(binary classification).

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``, Agg
canvas): no pyplot state, no display needed, safe on a job cluster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_curve

from .contract import Contract


def permutation_importances(
    model,
    frame: pd.DataFrame,
    columns: list[str],
    label: str,
    classification: bool = False,
    sample_rows: int = 5000,
    n_repeats: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """Permutation importance of each model input on (a sample of) ``frame``.

    ``frame`` holds ``columns`` (the model inputs) and ``label`` (double); at most
    ``sample_rows`` rows are used. Importance is the mean increase of the RMSE (or,
    with ``classification``, the mean decrease of the ROC AUC) when one column is
    shuffled, over ``n_repeats`` shuffles.
    Returns columns feature (str), importance (float), importance_std (float),
    sorted by importance, largest first. Raises ValueError when ``frame`` is empty.
    """
    if frame.empty:
        raise ValueError("permutation importance: the frame has no rows")
    sample = frame.sample(n=min(sample_rows, len(frame)), random_state=seed)
    result = permutation_importance(
        model,
        sample[columns],
        sample[label],
        scoring="roc_auc" if classification else "neg_root_mean_squared_error",
        n_repeats=n_repeats,
        random_state=seed,
    )
    table = pd.DataFrame(
        {
            "feature": columns,
            "importance": result.importances_mean,
            "importance_std": result.importances_std,
        }
    )
    return table.sort_values("importance", ascending=False, ignore_index=True)


def importance_figure(importances: pd.DataFrame, classification: bool = False) -> Figure:
    """Horizontal bars of :func:`permutation_importances` output, largest on top."""
    figure = Figure(figsize=(7, 0.3 * len(importances) + 1.5), layout="constrained")
    axes = figure.subplots()
    ordered = importances.iloc[::-1]
    axes.barh(ordered["feature"], ordered["importance"], xerr=ordered["importance_std"])
    axes.set_xlabel(
        "decrease of ROC AUC when shuffled" if classification else "increase of RMSE when shuffled"
    )
    axes.set_title("Permutation importance (validation sample)")
    return figure


def prediction_figures(actual, predicted) -> dict[str, Figure]:
    """Predicted-versus-actual and residual figures of one split.

    ``actual`` and ``predicted`` are equal-length sequences in the label's unit.
    Returns {"predicted_vs_actual": Figure, "residuals": Figure}; residual is
    actual minus predicted.
    """
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    residual = actual - predicted
    scatter = Figure(figsize=(6, 6), layout="constrained")
    axes = scatter.subplots()
    axes.scatter(actual, predicted, s=4, alpha=0.3)
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
    axes.plot([low, high], [low, high], color="black", linewidth=1, label="perfect prediction")
    axes.set_xlabel("actual label")
    axes.set_ylabel("predicted label")
    axes.set_title("Predicted versus actual (validation)")
    axes.legend(loc="upper left")
    residuals = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = residuals.subplots(1, 2)
    left.scatter(predicted, residual, s=4, alpha=0.3)
    left.axhline(0, color="black", linewidth=1)
    left.set_xlabel("predicted label")
    left.set_ylabel("actual - predicted")
    left.set_title("Residuals versus prediction")
    right.hist(residual, bins=60)
    right.set_xlabel("actual - predicted")
    right.set_ylabel("rows")
    right.set_title("Residual distribution")
    return {"predicted_vs_actual": scatter, "residuals": residuals}


def classification_figures(actual, probability) -> dict[str, Figure]:
    """ROC curve and calibration curve of positive-class ``probability`` against 0/1 ``actual``.

    Returns {"roc_curve": Figure, "calibration": Figure}; the calibration curve has
    10 uniform probability bins (empty bins left out).
    """
    actual = np.asarray(actual, dtype=float).astype(int)
    probability = np.asarray(probability, dtype=float)
    roc = Figure(figsize=(6, 6), layout="constrained")
    axes = roc.subplots()
    false_pos, true_pos, _ = roc_curve(actual, probability)
    axes.plot(false_pos, true_pos, label="model")
    axes.plot([0, 1], [0, 1], color="black", linewidth=1, label="chance")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title("ROC curve (validation)")
    axes.legend(loc="lower right")
    calibration = Figure(figsize=(6, 6), layout="constrained")
    axes = calibration.subplots()
    observed, predicted = calibration_curve(actual, probability, n_bins=10)
    axes.plot(predicted, observed, marker="o", label="model")
    axes.plot([0, 1], [0, 1], color="black", linewidth=1, label="perfectly calibrated")
    axes.set_xlabel("mean predicted probability")
    axes.set_ylabel("observed share of positives")
    axes.set_title("Calibration (validation)")
    axes.legend(loc="upper left")
    return {"roc_curve": roc, "calibration": calibration}


def training_figures(contract: Contract, actual, predicted) -> dict[str, Figure]:
    """The problem type's figures of one split: :func:`classification_figures` for
    binary classification, :func:`prediction_figures` for regression."""
    if contract.is_classification:
        return classification_figures(actual, predicted)
    return prediction_figures(actual, predicted)
