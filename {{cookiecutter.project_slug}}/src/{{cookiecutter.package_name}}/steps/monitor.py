"""Step 7, monitor: drift of the scored window against the training baseline, and its error.

For each model input and the prediction: PSI (bins from the baseline's deciles)
and the Kolmogorov-Smirnov test. A column drifts when its PSI exceeds
``monitoring.psi_threshold`` and the KS p-value is below
``monitoring.ks_pvalue_threshold``. Where labels exist, MAE and RMSE of the
scored rows; the MAE is a violation when it exceeds the champion's validation
MAE by more than ``monitoring.max_mae_increase``. Figures go to the monitoring
metrics table, replacing earlier figures of the same window.
"""

from __future__ import annotations

from datetime import UTC, datetime

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import types as T

from ..features.definitions import CATEGORICAL_FEATURES, LABEL, model_features
from ..features.training_set import window_predicate
from ..monitoring.drift import ks_test, psi_categorical, psi_numeric
from ..registry import CHAMPION, version_by_alias
from ..runtime.context import Context
from ..runtime.task_values import publish
from ..runtime.tracking import client

BASELINE_SAMPLE_ROWS = 100_000
METRICS_SCHEMA = T.StructType(
    [
        T.StructField("window_start", T.TimestampType()),
        T.StructField("window_end", T.TimestampType()),
        T.StructField("computed_at", T.TimestampType()),
        T.StructField("model_version", T.StringType()),
        T.StructField("column", T.StringType()),
        T.StructField("metric", T.StringType()),
        T.StructField("value", T.DoubleType()),
        T.StructField("threshold", T.DoubleType()),
        T.StructField("violation", T.BooleanType()),
    ]
)


def drift_rows(
    baseline: pd.DataFrame, current: pd.DataFrame, columns: list[str], settings: dict
) -> list[dict]:
    """PSI and KS figures per column of two samples with the same columns.

    Returns dicts with column, metric (``psi``, ``ks_statistic``, ``ks_pvalue``), value,
    threshold and violation (set on the ``psi`` row when PSI and KS both flag drift).
    """
    rows = []
    psi_limit = float(settings["psi_threshold"])
    p_limit = float(settings["ks_pvalue_threshold"])
    for column in columns:
        if column in CATEGORICAL_FEATURES:
            psi = psi_categorical(baseline[column], current[column])
            statistic, pvalue = float("nan"), float("nan")
            drifted = psi > psi_limit
        else:
            psi = psi_numeric(baseline[column], current[column], int(settings["bins"]))
            statistic, pvalue = ks_test(baseline[column], current[column])
            drifted = psi > psi_limit and pvalue < p_limit
        rows += [
            {
                "column": column,
                "metric": "psi",
                "value": psi,
                "threshold": psi_limit,
                "violation": drifted,
            },
            {
                "column": column,
                "metric": "ks_statistic",
                "value": statistic,
                "threshold": None,
                "violation": False,
            },
            {
                "column": column,
                "metric": "ks_pvalue",
                "value": pvalue,
                "threshold": p_limit,
                "violation": False,
            },
        ]
    return rows


def run(ctx: Context) -> dict:
    """Compute drift and error figures for ``windows.scoring`` and write them.

    Reads the training set (train split, sampled to 100,000 rows) as baseline, the
    predictions table for the window, and labels from the bronze flights. Returns
    the number of figures, the violations, and ``retraining_required``.
    Raises MissingTableError when the predictions or training set are missing.
    """
    settings, tables = ctx.settings, ctx.tables
    ctx.mlflow()
    window = settings.windows["scoring"]
    columns = model_features(list(settings.features["delay_windows_hours"]))
    current_sdf = tables.read(settings.table("predictions"), "the batch-inference step").where(
        window_predicate("sched_dep_ts", window)
    )
    labels = tables.read(settings.table("flights_bronze")).select("flight_id", LABEL)
    current = (
        current_sdf.join(labels, "flight_id", "left")
        .select(*columns, "prediction", "model_version", LABEL)
        .toPandas()
    )
    train = tables.read(settings.table("training_set"), "the train step").where("split = 'train'")
    total = train.count()
    if total > BASELINE_SAMPLE_ROWS:
        train = train.sample(fraction=BASELINE_SAMPLE_ROWS / total, seed=7)
    baseline = train.select(*columns).toPandas()
    name = settings.model_name
    champion = version_by_alias(client(), name, CHAMPION)
    model = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION}")
    baseline["prediction"] = np.asarray(model.predict(baseline[columns]), dtype=float)

    rows = drift_rows(baseline, current, [*columns, "prediction"], settings.monitoring)
    labelled = current.dropna(subset=[LABEL])
    if not labelled.empty:
        error = labelled["prediction"] - labelled[LABEL]
        mae = float(error.abs().mean())
        reference = champion.tags.get("validation_mean_absolute_error") if champion else None
        limit = (
            float(reference) * (1 + float(settings.monitoring["max_mae_increase"]))
            if reference
            else None
        )
        rows += [
            {
                "column": "prediction",
                "metric": "mae",
                "value": mae,
                "threshold": limit,
                "violation": bool(limit is not None and mae > limit),
            },
            {
                "column": "prediction",
                "metric": "rmse",
                "value": float(np.sqrt((error**2).mean())),
                "threshold": None,
                "violation": False,
            },
            {
                "column": "prediction",
                "metric": "labelled_rows",
                "value": float(len(labelled)),
                "threshold": None,
                "violation": False,
            },
        ]
    now = datetime.now(UTC)
    version = str(champion.version) if champion else "none"
    records = [
        (
            window.start,
            window.end,
            now,
            version,
            r["column"],
            r["metric"],
            None if r["value"] is None or np.isnan(r["value"]) else float(r["value"]),
            r["threshold"],
            bool(r["violation"]),
        )
        for r in rows
    ]
    frame = ctx.spark.createDataFrame(records, METRICS_SCHEMA)
    target = settings.table("monitoring_metrics")
    fmt = "%Y-%m-%d %H:%M:%S"
    same_window = (
        f"window_start = TIMESTAMP '{window.start:{fmt}}' "
        f"AND window_end = TIMESTAMP '{window.end:{fmt}}'"
    )
    tables.replace_where(frame, target, same_window)
    violations = [f"{r['column']}.{r['metric']}={r['value']:.4g}" for r in rows if r["violation"]]
    # The monitoring job's condition task starts retraining when this is "true".
    publish(settings, "retraining_required", "true" if violations else "false")
    return {
        "metrics_written": len(records),
        "violations": violations,
        "retraining_required": bool(violations),
        "rows": {target: tables.count(target)},
    }
