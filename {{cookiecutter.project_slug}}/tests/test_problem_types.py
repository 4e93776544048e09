"""Problem types of the contract: the model, its metrics and its plots per type."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import timedelta

import mlflow
import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from sklearn.inspection import permutation_importance

from {{ cookiecutter.package_name }} import diagnostics
from {{ cookiecutter.package_name }}.diagnostics import permutation_importances, training_figures
from {{ cookiecutter.package_name }}.metrics import holdout_metrics, split_metrics
from {{ cookiecutter.package_name }}.modeling import build_pipeline, log_model
from {{ cookiecutter.package_name }}.runtime.tracking import configure_mlflow
from {{ cookiecutter.package_name }}.steps.train import training_frames

from .conftest import CONTRACT, local_settings, utc

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


def test_permutation_importance_uses_at_most_5000_validation_rows(monkeypatch):
    """A validation split of 5,001 rows is sampled to 5,000 distinct rows of it; one of
    300 rows is used whole."""
    frame = _frame(rows=5001)
    columns = CONTRACT.feature_columns
    model = build_pipeline(CONTRACT, {"max_iter": 5, "random_state": 0})
    model.fit(frame[columns], frame["label"])
    received = []

    def spy(estimator, X, y, **kwargs):
        """sklearn's permutation_importance, recording the rows it is given."""
        received.append(X)
        return permutation_importance(estimator, X, y, **kwargs)

    monkeypatch.setattr(diagnostics, "permutation_importance", spy)
    table = permutation_importances(model, frame, columns, "label")
    assert sorted(table["feature"]) == sorted(columns)
    permutation_importances(model, frame.iloc[:300], columns, "label")
    larger, smaller = received
    assert len(larger) == 5000 and larger.index.is_unique
    assert sorted(smaller.index) == list(range(300))


def test_each_problem_type_has_its_training_plots():
    actual, predicted = [0, 1, 0, 1, 1, 0], [0.2, 0.7, 0.4, 0.9, 0.6, 0.1]
    assert set(training_figures(BINARY, actual, predicted)) == {"roc_curve", "calibration"}
    assert set(training_figures(CONTRACT, actual, predicted)) == {
        "predicted_vs_actual",
        "residuals",
    }


# Run with a model folder, a parquet file of model inputs and an output .npy path: makes
# this package importable only from inside the model folder (a model server without the
# package installed), loads the model with MLflow and saves its predictions.
LOAD_WITHOUT_THE_PACKAGE = """
import importlib.machinery, os, sys

package, model_dir, rows, out = sys.argv[1:5]
inside = os.path.realpath(model_dir) + os.sep


class OnlyTheModelsCopy:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] != package:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or not os.path.realpath(spec.origin or "").startswith(inside):
            raise ModuleNotFoundError(f"{name}: not importable here", name=name)
        return spec


sys.meta_path.insert(0, OnlyTheModelsCopy())
try:
    __import__(package)
    sys.exit("the package is importable outside the model")
except ModuleNotFoundError:
    pass
import mlflow, numpy, pandas

model = mlflow.pyfunc.load_model(model_dir)
numpy.save(out, numpy.asarray(model.predict(pandas.read_parquet(rows)), dtype=float))
print(sys.modules[package + ".estimators"].__file__)
"""


def test_the_logged_classifier_loads_and_scores_where_the_package_is_not_importable(tmp_path):
    frame = _frame()
    columns = BINARY.feature_columns
    model = build_pipeline(BINARY, {"max_iter": 20, "random_state": 0})
    model.fit(frame[columns], frame["label"])
    settings = local_settings(tmp_path / "state")
    configure_mlflow(settings)
    with mlflow.start_run():
        info = log_model(model, frame[columns], settings.model_name)
    model_dir = mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path / "m"))
    rows = frame[columns].head(40)
    rows.to_parquet(tmp_path / "rows.parquet")
    package = build_pipeline.__module__.partition(".")[0]

    def load(folder, out):
        argv = [sys.executable, "-c", LOAD_WITHOUT_THE_PACKAGE, package, folder, "rows.parquet"]
        return subprocess.Popen(
            [*argv, out], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    # The same model without its code folder: the class cannot be imported, loading fails.
    bare = tmp_path / "bare"
    shutil.copytree(model_dir, bare)
    shutil.rmtree(bare / "code")
    with_code, without_code = load(model_dir, "p.npy"), load(str(bare), "q.npy")
    out, err = with_code.communicate(timeout=300)
    assert with_code.returncode == 0, err
    assert out.strip().startswith(f"{(tmp_path / 'm').resolve()}/")  # the class: from the model
    probability = np.load(tmp_path / "p.npy")
    np.testing.assert_allclose(probability, model.predict_proba(rows)[:, 1], rtol=0, atol=1e-12)
    assert len(np.unique(probability)) > 2
    _, err = without_code.communicate(timeout=300)
    assert without_code.returncode != 0 and "not importable here" in err


@pytest.mark.spark
def test_the_training_frames_do_not_depend_on_the_partitioning(spark):
    rows = 60
    rng = np.random.default_rng(1)
    stored = pd.DataFrame({c: rng.normal(0, 1, rows) for c in CONTRACT.numeric})
    for column in CONTRACT.categorical:
        stored[column] = rng.choice(["A", "B", "C"], rows)
    # Entity keys in reverse order of their events; ``distance`` is the rank of the key.
    stored[CONTRACT.entity_keys[0]] = [f"E{rows - i:03d}" for i in range(rows)]
    stored[CONTRACT.event_timestamp] = [utc(2013, 1, 1) + timedelta(hours=i) for i in range(rows)]
    stored["distance"] = [float(rows - 1 - i) for i in range(rows)]
    stored[CONTRACT.label] = rng.normal(0, 1, rows)
    stored["split"] = ["train", "validation"] * (rows // 2)
    frame = spark.createDataFrame(stored)
    one = frame.repartition(1)
    five = frame.repartition(5, CONTRACT.label)
    assert [r[0] for r in one.select("distance").collect()] != [
        r[0] for r in five.select("distance").collect()
    ]  # the partitionings do hand over the rows in different orders

    first, second = training_frames(one, CONTRACT), training_frames(five, CONTRACT)
    for split in ("train", "validation"):
        pd.testing.assert_frame_equal(first[split], second[split])
        assert list(first[split].columns) == [*CONTRACT.feature_columns, CONTRACT.label]
    assert first["train"]["distance"].tolist() == [float(i) for i in range(rows) if i % 2]
    assert first["validation"]["distance"].tolist() == [float(i) for i in range(rows) if not i % 2]


def test_an_integer_input_with_a_null_in_the_validation_split_is_float_in_both_splits(spark):
    """The two splits come from one query: a column has one pandas type in both."""
    rows = 6
    stored = pd.DataFrame({c: np.arange(rows, dtype=float) for c in CONTRACT.numeric})
    for column in CONTRACT.categorical:
        stored[column] = "A"
    key = CONTRACT.entity_keys[0]
    stored[key] = [f"E{i}" for i in range(rows)]
    stored[CONTRACT.event_timestamp] = [utc(2013, 1, 1) + timedelta(hours=i) for i in range(rows)]
    stored[CONTRACT.label] = 1.0
    stored["split"] = ["train"] * 3 + ["validation"] * 3
    frame = spark.createDataFrame(stored)
    whole = frame.withColumn("distance", frame["distance"].cast("long"))
    one_null = whole.withColumn(
        "distance", F.when(F.col(key) != "E4", F.col("distance")).cast("long")
    )

    clean, gapped = training_frames(whole, CONTRACT), training_frames(one_null, CONTRACT)
    assert [str(clean[s]["distance"].dtype) for s in ("train", "validation")] == ["int64"] * 2
    assert [str(gapped[s]["distance"].dtype) for s in ("train", "validation")] == ["float64"] * 2
    assert gapped["train"]["distance"].tolist() == [0.0, 1.0, 2.0]
    assert gapped["validation"]["distance"].isna().tolist() == [False, True, False]
