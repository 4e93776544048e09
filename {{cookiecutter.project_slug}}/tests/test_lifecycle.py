"""Train, validate, deploy and batch inference on synthetic data with a learnable signal."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import mlflow
import pytest
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }}.features.training_set import window_predicate
from {{ cookiecutter.package_name }}.registry import CHALLENGER, CHAMPION
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import (
    batch_inference,
    deploy,
    validate,
)

from .conftest import (
    LABEL,
    SYNTHETIC_WINDOWS,
    history_metrics_off,
    private_copy,
    rows_in_window,
)
from .mlflow_stores import registry
from .test_promotion import register_model

pytestmark = pytest.mark.spark


def test_training_set_holds_labelled_rows_of_both_windows(trained, synthetic):
    ctx, results = trained
    flights, _ = synthetic
    labelled = flights.dropna(subset=[LABEL])  # cancelled flights have no label
    table = ctx.tables.read(ctx.settings.table("training_set"))
    counts = {r["split"]: r["count"] for r in table.groupBy("split").count().collect()}
    for split in ("train", "validation"):
        window = SYNTHETIC_WINDOWS[split]
        assert counts[split] == rows_in_window(labelled, window) < rows_in_window(flights, window)
    assert set(counts) == {"train", "validation"}
    assert table.where(f"{LABEL} IS NULL").count() == 0
    assert results["train"]["model_version"] == 1


def test_model_beats_the_mean_baseline(trained):
    metrics = trained[1]["train"]["metrics"]
    assert metrics["validation_rmse"] < 0.8 * metrics["validation_rmse_mean_baseline"]


def test_training_run_holds_the_plots_and_ranks_an_informative_feature_first(trained, tmp_path):
    ctx, results = trained
    client = registry(ctx)
    run_id = results["train"]["run_id"]
    plots = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert plots == {
        "plots/feature_importance.png",
        "plots/feature_importance.json",
        "plots/predicted_vs_actual.png",
        "plots/residuals.png",
    }
    sizes = {a.path: a.file_size for a in client.list_artifacts(run_id, "plots")}
    assert all(sizes[p] > 10_000 for p in plots if p.endswith(".png"))  # real figures, not blank
    path = client.download_artifacts(run_id, "plots/feature_importance.json", str(tmp_path))
    ranking = [row["feature"] for row in json.loads(Path(path).read_text())]
    importance = {row["feature"]: row["importance"] for row in json.loads(Path(path).read_text())}
    # Rain drives the synthetic delays; pressure is random noise.
    assert ranking[0] == "precip"
    assert ranking.index("precip") < ranking.index("pressure")
    assert importance["precip"] > 1.0  # minutes of RMSE lost when it is shuffled
    assert importance["precip"] > 10 * abs(importance["pressure"])


def test_training_run_params_name_the_estimator_inputs_label_and_windows(trained):
    """The train run's parameters: every training setting, the model inputs, the problem
    type, the label and each window and as-of date, as MLflow stores them (text)."""
    ctx, results = trained
    settings, contract = ctx.settings, ctx.settings.contract
    params = registry(ctx).get_run(results["train"]["run_id"]).data.params
    assert settings.windows == SYNTHETIC_WINDOWS
    assert params == {
        **{key: str(value) for key, value in settings.training.items()},
        "features": ",".join(contract.feature_columns),
        "problem_type": "regression",
        "label": LABEL,
        "window_train": "2013-01-01..2013-01-08",
        "window_validation": "2013-01-08..2013-01-10",
        "window_scoring": "2013-01-10..2013-01-12",
        "as_of": f"{settings.as_of:%Y-%m-%d}",
        "training_as_of": f"{settings.training_as_of:%Y-%m-%d}",
    }


def test_validation_passes_and_deploy_promotes(trained):
    ctx, results = trained
    assert results["validate"]["status"] == "PASSED"
    assert results["validate"]["gates"] == {"max_rmse": "PASSED", "baseline": "PASSED"}
    rmse = results["validate"]["metrics"]["root_mean_squared_error"]
    assert 0 < rmse < 0.95 * results["validate"]["baseline_rmse"]
    expected = {
        "promoted": True,
        "challenger_version": 1,
        "challenger_status": "PASSED",
        "validated_against": "none",
        "champion_version": 1,
        "reason": None,
    }
    assert {key: results["deploy"][key] for key in expected} == expected
    client = registry(ctx)
    name = ctx.settings.model_name
    assert int(client.get_model_version_by_alias(name, CHAMPION).version) == 1
    assert client.get_model_version_by_alias(name, CHALLENGER).tags["validation_status"] == "PASSED"
    assert client.get_run(results["validate"]["run_id"]).info.run_name == "validate-v1"


def test_the_registered_model_pins_what_serving_installs(trained):
    ctx, _ = trained
    ctx.mlflow()
    path = mlflow.pyfunc.get_model_dependencies(f"models:/{ctx.settings.model_name}/1")
    pinned = dict(line.split("==") for line in Path(path).read_text().split())
    names = {"mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy"}
    assert pinned == {name: metadata.version(name) for name in names}


def test_batch_inference_scores_the_window_once_per_rerun(trained_scored, synthetic, tmp_path):
    """README: a rerun replaces the window's predictions (none doubled, none of another
    window touched), with the champion of the rerun: after a champion change every row of
    the window names the new version and holds its prediction."""
    ctx = private_copy(trained_scored[0], tmp_path / "state")  # scored once by v1
    first = trained_scored[1]
    flights, _ = synthetic
    expected = rows_in_window(flights, SYNTHETIC_WINDOWS["scoring"])
    target = ctx.settings.table("predictions")
    # A prediction of an earlier window: the rerun neither replaces nor counts it.
    earlier = (
        ctx.tables.read(target)
        .orderBy("flight_id")
        .limit(1)
        .withColumns(
            {
                "flight_id": F.lit("earlier"),
                "sched_dep_ts": F.col("sched_dep_ts") - F.expr("INTERVAL 30 DAYS"),
            }
        )
    )
    earlier.write.format("delta").mode("append").save(str(ctx.tables.path(target)))
    # The champion moved since: a model fit on the mean label, one prediction for every row.
    newer = register_model(ctx, labels="mean")
    registry(ctx).set_registered_model_alias(ctx.settings.model_name, CHAMPION, str(newer))
    with history_metrics_off(ctx.spark):  # the rerun counts the rows it wrote
        second = batch_inference.run(ctx)
    assert ctx.tables.rows_written(target) is None
    assert first["rows_scored"] == second["rows_scored"] == expected
    assert (first["model_version"], second["model_version"]) == (1, newer) == (1, 2)
    assert second["rows"] == {target: expected + 1}
    # The table's rows in one Spark job (seven before: 1.3 to 1.6 s more, measured).
    rows = ctx.tables.read(target).select("flight_id", "model_version", "prediction").collect()
    (kept,) = [r for r in rows if r["flight_id"] == "earlier"]
    rows = [r for r in rows if r["flight_id"] != "earlier"]
    assert len(rows) == len({r["flight_id"] for r in rows}) == expected
    assert {r["model_version"] for r in rows} == {"2"}
    predictions = {r["prediction"] for r in rows}
    assert len(predictions) == 1 and None not in predictions  # the mean model's, replaced
    assert kept["model_version"] == "1"  # another window's row keeps its version
    table = ctx.tables.read(target).where("flight_id != 'earlier'")
    assert (
        table.where(window_predicate("sched_dep_ts", SYNTHETIC_WINDOWS["scoring"])).count()
        == expected
    )
    # Another store whose v2 is another logged model (v1's, registered again): locally
    # the two stores' v2 load through different URIs (a Spark Connect server outside
    # Databricks keeps a UDF's model by the URI's text, so models:/<name>/2, the same in
    # both, scored the other store's v2 with this one's mean model); on Databricks the
    # registry's URI.
    other = private_copy(trained_scored[0], tmp_path / "other")
    name = other.settings.model_name
    registry(other).create_model_version(name, registry(other).get_model_version(name, "1").source)
    assert batch_inference.scoring_uri(other, 2) != batch_inference.scoring_uri(ctx, 2)
    on_databricks = Context(replace(other.settings, runtime="databricks", local_root=None))
    assert batch_inference.scoring_uri(on_databricks, 2) == f"models:/{name}/2"


def test_a_failing_gate_keeps_the_champion(trained, tmp_path):
    ctx = private_copy(trained[0], tmp_path / "state")  # v1 trained, validated, deployed
    strict = Context(
        replace(
            ctx.settings,
            validation={**ctx.settings.validation, "max_root_mean_squared_error": 0.01},
        )
    )
    # v2: the production pipeline fit on the train split and registered with the windows'
    # tags, as train registers it (train's run, plots and training set are not read here).
    assert register_model(strict) == 2
    verdict = validate.run(strict)
    assert verdict["status"] == "FAILED"
    assert "root_mean_squared_error" in verdict["reasons"][0]
    outcome = deploy.run(strict)  # without a version: the challenger, v2
    assert outcome["promoted"] is False and outcome["champion_version"] == 1
    assert outcome["reason"] == "v2 has validation_status FAILED"
    client = registry(ctx)
    name = ctx.settings.model_name
    assert int(client.get_model_version_by_alias(name, CHAMPION).version) == 1
    assert int(client.get_model_version_by_alias(name, CHALLENGER).version) == 2
    assert client.get_model_version(name, "2").tags["validation_status"] == "FAILED"
