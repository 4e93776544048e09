"""Problem types of the contract: the model, its metrics and its plots per type."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.diagnostics import training_figures
from {{ cookiecutter.package_name }}.metrics import holdout_metrics, split_metrics
from {{ cookiecutter.package_name }}.modeling import build_pipeline

from .conftest import CONTRACT

BINARY = CONTRACT.model_copy(
    update={"problem_type": "binary_classification", "decision_threshold": 0.5}
)


def _frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Model inputs of the example contract; the label depends on distance."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({c: rng.normal(0, 1, rows) for c in CONTRACT.numeric})
    for column in CONTRACT.categorical:
        frame[column] = rng.choice(["A", "B"], rows)
    frame["label"] = (frame["distance"] + rng.normal(0, 0.5, rows) > 0).astype(float)
    return frame


def test_the_classifier_predicts_the_positive_class_probability_as_one_column():
    frame = _frame()
    model = build_pipeline(BINARY, {"max_iter": 20, "random_state": 0})
    model.fit(frame[BINARY.feature_columns], frame["label"])
    predicted = model.predict(frame[BINARY.feature_columns])
    assert predicted.shape == (len(frame),) and predicted.dtype == np.float64
    expected = model.predict_proba(frame[BINARY.feature_columns])[:, 1]
    np.testing.assert_array_equal(predicted, expected)
    assert ((predicted > 0) & (predicted < 1)).all()
    assert split_metrics(BINARY, frame["label"], predicted)["roc_auc"] > 0.9


def test_the_regressor_is_the_default_of_the_example():
    frame = _frame()
    model = build_pipeline(CONTRACT, {"max_iter": 20, "random_state": 0})
    model.fit(frame[CONTRACT.feature_columns], frame["distance"] * 10)
    assert type(model[-1]).__name__ == "HistGradientBoostingRegressor"


def test_classification_metrics_take_the_decision_threshold_from_the_contract():
    labels, probability = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    metrics = holdout_metrics(BINARY, labels, probability)
    assert metrics["roc_auc"] == pytest.approx(0.75)
    # at 0.5 only the last row is positive: precision 1, recall 1/2
    assert metrics["precision_score"] == 1.0 and metrics["recall_score"] == 0.5
    assert metrics["f1_score"] == pytest.approx(2 / 3)
    assert metrics["accuracy_score"] == 0.75
    assert metrics["mean_absolute_error"] == pytest.approx((0.1 + 0.4 + 0.65 + 0.2) / 4)
    lower = holdout_metrics(
        BINARY.model_copy(update={"decision_threshold": 0.3}), labels, probability
    )
    assert lower["recall_score"] == 1.0 and lower["precision_score"] == pytest.approx(2 / 3)


def test_each_problem_type_has_its_training_plots():
    actual, predicted = [0, 1, 0, 1, 1, 0], [0.2, 0.7, 0.4, 0.9, 0.6, 0.1]
    assert set(training_figures(BINARY, actual, predicted)) == {"roc_curve", "calibration"}
    assert set(training_figures(CONTRACT, actual, predicted)) == {
        "predicted_vs_actual",
        "residuals",
    }
