"""A second dataset through the whole pipeline, by changing only the data contract.

The default project is rendered and installed; then only the contract changes: the
``sources``, ``contract`` and ``tables`` sections of conf/config.yml and the example
module features/definitions.py (the steps of "Replace the example" in the rendered
README, in the same order). One training setting changes too, for a short run:
``training.max_iter`` is 50. The data is generated here: pump readings (entity key
``reading_id``, event timestamp ``read_at``, label ``failed``: did the pump fail within
the day) and the load of each plant every two hours, a feature table looked up
point-in-time. Failure depends on vibration, coolant temperature, the plant and its
load, so there is a signal to learn; in the scoring window (November and December)
vibration is planted two units higher. No column shares a name with the flights.

The tables named after the flights (predictions, stream predictions, the serving
payload) get names of the pumps, so no code can rely on the example's table names.

Asserted: a champion, a prediction for every reading in the scoring window that is
the champion's positive-class probability (``predict_proba[:, 1]`` of the model loaded
from the registry, on the same model inputs; not a 0/1 label), a drift alarm on that
window, and none on a sample from the training period.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from test_spark_tier import _install, _run

pytestmark = pytest.mark.spark

READINGS_PER_DAY = 12
PLANTS = ["P1", "P2", "P3"]
SHIFT_FROM = pd.Timestamp("2013-11-01", tz="UTC")  # the local scoring window: Nov 1 - Jan 1

# Step 4 of the walk-through: the example module, replaced.
EXAMPLE_MODULE = '''"""The example module of the pump-failure use case (see contract.py)."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..contract import Contract

BRONZE_RANGES = {
    "readings_bronze": {"vibration_mm_s": (0.0, None)},
    "plant_load_bronze": {"load_pct": (0.0, 100.0)},
}


def to_bronze(table_key: str, raw: DataFrame) -> DataFrame:
    """Bronze rows are the source rows as they come (keys and timestamps are in the source)."""
    return raw


def feature_frames(bronze: Mapping[str, DataFrame], contract: Contract) -> dict[str, DataFrame]:
    """plant_load_features: each plant's last logged load (%), known from its log time."""
    load = bronze["plant_load_bronze"]
    return {
        "plant_load_features": load.select(
            "plant",
            F.col("logged_at").alias("known_from"),
            F.col("load_pct").cast("double").alias("load_pct_last"),
        )
    }


def spine(entity_rows: DataFrame, contract: Contract) -> DataFrame:
    """One row per reading, predicted at its reading time."""
    return entity_rows.select(
        "reading_id",
        "read_at",
        F.col("read_at").alias("predict_at"),
        "plant",
        F.col("vibration_mm_s").cast("double").alias("vibration_mm_s"),
        F.col("coolant_c").cast("double").alias("coolant_c"),
        F.col("failed").cast("double").alias("failed"),
    )
'''

# Tables the example names after the flights, renamed for the pumps.
PUMP_TABLES = {
    "predictions": "pump_failure_predictions",
    "stream_predictions": "pump_failure_stream_predictions",
    "inference_table": "pump_failure_endpoint_payload",
}

# Run by the project's python in the project folder, after run-all, in one process (one
# interpreter and one Spark start instead of three): the champion, loaded from the registry
# as a scikit-learn model, scores the model inputs of a parquet file (the positive-class
# probabilities go to a .npy file); then the batch-inference and monitor console scripts'
# functions run as of an earlier date (monitor's JSON result goes to a file).
AFTER_RUN_ALL = """
import contextlib, importlib, sys
from importlib.metadata import entry_points

import mlflow, numpy, pandas

package, rows, out, as_of, monitored = sys.argv[1:6]
settings = importlib.import_module(package + ".config").load_settings()
importlib.import_module(package + ".runtime.tracking").configure_mlflow(settings)
model = mlflow.sklearn.load_model(f"models:/{settings.model_name}@{settings.champion_alias}")
inputs = pandas.read_parquet(rows)[settings.contract.feature_columns]
numpy.save(out, model.predict_proba(inputs)[:, 1])

scripts = {e.name: e for e in entry_points(group="console_scripts")}
if scripts["batch-inference"].load()(["--as-of", as_of]):
    sys.exit("batch-inference failed")
with open(monitored, "w") as result, contextlib.redirect_stdout(result):
    sys.exit(scripts["monitor"].load()(["--as-of", as_of]))
"""

# Step 2 and 3 of the walk-through: the sources and the contract in conf/config.yml.
CONTRACT = {
    "problem_type": "binary_classification",
    "entity_keys": ["reading_id"],
    "event_timestamp": "read_at",
    "lookup_timestamp": "predict_at",
    "label": "failed",
    "label_meaning": "1 when the pump failed within a day of the reading, else 0",
    "decision_threshold": 0.3,
    "entity_table": "readings_bronze",
    "features": {
        "plant": "categorical",
        "vibration_mm_s": "numeric",
        "coolant_c": "numeric",
        "load_pct_last": "numeric",
    },
    "bronze_tables": {
        "readings_bronze": {
            "keys": ["reading_id"],
            "timestamp": "read_at",
            "columns": {
                "reading_id": "string",
                "read_at": "timestamp",
                "plant": "string",
                "vibration_mm_s": "numeric",
                "coolant_c": "numeric",
                "failed": "numeric",
            },
        },
        "plant_load_bronze": {
            "keys": ["plant", "logged_at"],
            "timestamp": "logged_at",
            "columns": {"plant": "string", "logged_at": "timestamp", "load_pct": "numeric"},
        },
    },
    "feature_tables": {
        "plant_load_features": {
            "primary_keys": ["plant"],
            "timestamp_key": "known_from",
            "features": ["load_pct_last"],
            "description": "Last logged load of the plant (%)",
        }
    },
    "parameters": {},
}


def generate(folder, seed: int = 7) -> dict[str, int]:
    """Write readings (parquet) and plant loads (CSV) for 2013; return the row counts.

    Vibration (mm/s) is planted two units higher from SHIFT_FROM on.
    """
    rng = np.random.default_rng(seed)
    logs = pd.date_range("2013-01-01", "2014-01-01", freq="2h", tz="UTC", inclusive="left")
    load = pd.DataFrame([(p, t) for p in PLANTS for t in logs], columns=["plant_code", "logged_at"])
    base = load.plant_code.map({"P1": 45.0, "P2": 55.0, "P3": 65.0})
    load["load_pct"] = np.clip(base + rng.normal(0, 10, len(load)), 0, 100)
    n = 365 * READINGS_PER_DAY
    offsets = np.sort(rng.uniform(0, 365 * 86400, n))
    read_at = pd.Timestamp("2013-01-01", tz="UTC") + pd.to_timedelta(offsets.round(), unit="s")
    readings = pd.DataFrame(
        {
            "reading_id": [f"R{i:06d}" for i in range(n)],
            "read_at": read_at,
            "plant": rng.choice(PLANTS, n),
            "vibration_mm_s": rng.normal(4.0, 1.0, n),
            "coolant_c": rng.normal(60.0, 5.0, n),
        }
    )
    readings.loc[readings.read_at >= SHIFT_FROM, "vibration_mm_s"] += 2.0
    readings["vibration_mm_s"] = readings.vibration_mm_s.clip(lower=0.0)
    # The load known at the reading: the plant's last log at or before it.
    known = pd.merge_asof(
        readings.sort_values("read_at"),
        load.rename(columns={"plant_code": "plant", "logged_at": "read_at"}).sort_values("read_at"),
        on="read_at",
        by="plant",
    )
    score = (
        -2.5
        + 1.3 * (known.vibration_mm_s - 4.0)
        + 0.12 * (known.coolant_c - 60.0)
        + 0.05 * (known.load_pct - 55.0)
        + 0.8 * (known.plant == "P3")
    )
    known["failed"] = (rng.random(n) < 1 / (1 + np.exp(-score))).astype(int)
    known.drop(columns="load_pct").to_parquet(
        folder / "readings.parquet", index=False, coerce_timestamps="us"
    )
    load.assign(logged_at=load.logged_at.dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(
        folder / "plant_load.csv", index=False
    )
    scored = int((known.read_at >= SHIFT_FROM).sum())
    return {"readings": n, "plant_load": len(load), "scored": scored}


def replace_contract(project, data) -> None:
    """Steps 2-4 of the walk-through: sources, contract and tables in the config; the module."""
    config_path = next(project.glob("src/*/conf/config.yml"))
    document = yaml.safe_load(config_path.read_text())
    common = document["common"]
    common["sources"] = {
        "readings_bronze": {
            "kind": "files",
            "path": str(data / "readings.parquet"),
            "format": "parquet",
            "schema": "reading_id STRING, read_at TIMESTAMP, plant STRING, "
            "vibration_mm_s DOUBLE, coolant_c DOUBLE, failed BIGINT",
        },
        "plant_load_bronze": {
            "kind": "files",
            "path": str(data / "plant_load.csv"),
            "format": "csv",
            "schema": "plant_code STRING, logged_at TIMESTAMP, load_pct DOUBLE",
            "options": {"header": "true"},
            "columns": {"plant": "plant_code"},
        },
    }
    common["contract"] = CONTRACT
    tables = common["tables"]
    for key in ("flights_bronze", "weather_bronze", "airport_features", "weather_features"):
        del tables[key]
    tables.update(
        readings_bronze="readings_bronze",
        plant_load_bronze="plant_load_bronze",
        plant_load_features="plant_load_features",
    )
    tables.update({key: name for key, name in PUMP_TABLES.items() if key in tables})
    # A few thousand readings: 50 boosting iterations find the signal (ROC AUC > 0.7).
    common["training"] = {**common["training"], "max_iter": 50}
    config_path.write_text(yaml.safe_dump(document, sort_keys=False))
    next(project.glob("src/*/features/definitions.py")).write_text(EXAMPLE_MODULE)


def _json(stdout: str) -> dict:
    """The step's JSON result, printed after whatever the JVM printed."""
    return json.loads(stdout[re.search(r"^\{", stdout, re.M).start() :])


def test_a_binary_classification_dataset_runs_by_changing_only_the_contract(tmp_path):
    project, bin_dir = _install(tmp_path)
    flights_contract = yaml.safe_load(next(project.glob("src/*/conf/config.yml")).read_text())
    flights_contract = flights_contract["common"]["contract"]
    data = tmp_path / "data"
    data.mkdir()
    counts = generate(data)
    replace_contract(project, data)

    flight_columns = {c for t in flights_contract["bronze_tables"].values() for c in t["columns"]}
    flight_columns |= {*flights_contract["features"], *flights_contract["entity_keys"]}
    flight_columns |= {flights_contract["event_timestamp"], flights_contract["label"]}
    own = set(pd.read_parquet(data / "readings.parquet").columns)
    own |= set(pd.read_csv(data / "plant_load.csv", nrows=1).columns)
    own |= {*CONTRACT["features"], CONTRACT["lookup_timestamp"], "known_from"}
    assert not own & flight_columns

    env = {**os.environ, "MLOPS_LOCAL_ROOT": str(tmp_path / "state")}
    summary_path = tmp_path / "summary.json"
    _run([bin_dir / "run-all", "--summary", summary_path], cwd=project, env=env)
    summary = json.loads(summary_path.read_text())
    print("second dataset run-all seconds:", summary["seconds"])  # noqa: T201 (shown with -s)

    assert summary["champion_version"] == 1
    validation = summary["validation"]
    assert validation["status"] == "PASSED", validation["reasons"]
    assert validation["metrics"]["roc_auc"] > 0.7
    assert set(validation["metrics"]) == {"roc_auc", "log_loss", "f1_score", "mean_absolute_error"}
    # The naive baseline (the mean training label for every row) ranks nothing: ROC AUC 0.5.
    validated = summary["steps"]["validate"]
    assert (validated["baseline"], validated["baseline_rmse"]) == (0.5, None)
    print("second dataset validation:", validation["metrics"])  # noqa: T201

    scored = summary["steps"]["batch_inference"]
    assert scored["rows_scored"] == counts["scored"] > 500
    table = next(n for n in summary["rows"] if n.endswith(f".{PUMP_TABLES['predictions']}"))
    assert summary["rows"][table] == counts["scored"]
    predictions = pd.read_parquet(
        next((tmp_path / "state" / "warehouse").glob(f"local/*/{PUMP_TABLES['predictions']}"))
    )
    assert predictions.reading_id.nunique() == len(predictions) == counts["scored"]
    # Probabilities, not labels: many values, each the champion's predict_proba[:, 1].
    assert predictions.prediction.nunique() > 2
    predictions.to_parquet(tmp_path / "scored_inputs.parquet")
    package = next(project.glob("src/*/conf")).parent.name
    # Then a sample from the training period (May and June), against the same champion.
    outputs = [tmp_path / "champion.npy", "2013-07-01", tmp_path / "quiet.json"]
    script = [bin_dir / "python", "-c", AFTER_RUN_ALL, package, tmp_path / "scored_inputs.parquet"]
    _run([*script, *outputs], cwd=project, env=env)
    champion = np.load(tmp_path / "champion.npy")
    np.testing.assert_allclose(predictions.prediction, champion, rtol=0, atol=1e-6)

    monitored = summary["steps"]["monitor"]
    print("second dataset monitor (shifted):", monitored["violations_by_kind"])  # noqa: T201
    assert monitored["retraining_required"] is True
    drifted = [v for v in monitored["violations"] if v.endswith("(drift)")]
    print("second dataset drift violations:", drifted)  # noqa: T201
    assert any(" vibration_mm_s.psi=" in v for v in drifted), monitored["violations"]

    # The training-period sample: no alarm.
    quiet = _json((tmp_path / "quiet.json").read_text())
    print("second dataset monitor (training period):", quiet["violations_by_kind"])  # noqa: T201
    assert quiet["groups"]["batch/v1"] > 500  # streaming scored November on: no rows here
    assert quiet["violations_by_kind"]["drift"] == 0 and quiet["retraining_required"] is False
