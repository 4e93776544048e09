"""Step 7, monitor: drift of the scored window against the training baseline, and its error.

For each model input and the prediction: PSI (bins from the baseline's deciles)
and the Kolmogorov-Smirnov test. A column drifts when its PSI exceeds
``monitoring.psi_threshold`` and the KS p-value is below
``monitoring.ks_pvalue_threshold``. Where labels exist, MAE and RMSE of the
scored rows; the MAE is a violation when it exceeds the champion's validation
MAE by more than ``monitoring.max_mae_increase``; MAE, RMSE and the labelled row
count also per scheduled-departure UTC day. Data quality: the null fraction of
each column in the window (a violation when it exceeds the baseline's by more
than ``monitoring.max_null_fraction_increase``) and the row counts (an empty
window is a violation).

Figures go to the monitoring metrics table, replacing earlier figures of the same
window (a rerun replaces, never adds). Table columns: window_start, window_end,
computed_at, model_version, column (a model input, ``prediction``, or ``*`` for
whole-window figures), metric, value, threshold, violation, and ``day`` (date,
UTC; set only on the per-day error rows, null otherwise). Every run is also an
MLflow run named ``monitor`` with the figures as metrics and an HTML report
(``drift_report.html``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import types as T

from ..checks import check_inputs
from ..config import instant_sql
from ..features.definitions import CATEGORICAL_FEATURES, LABEL, model_features
from ..features.training_set import window_predicate
from ..monitoring.drift import ks_test, psi_categorical, psi_numeric
from ..monitoring.report import render_report
from ..registry import model_uri, version_by_alias
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
        T.StructField("day", T.DateType()),
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


def _row(column, metric, value, threshold=None, violation=False, day=None) -> dict:
    return {
        "column": column,
        "metric": metric,
        "value": value,
        "threshold": threshold,
        "violation": bool(violation),
        "day": day,
    }


def quality_rows(
    baseline: pd.DataFrame, current: pd.DataFrame, columns: list[str], settings: dict
) -> list[dict]:
    """Data-quality figures of the scored window against the baseline.

    Per column: ``null_fraction`` (share of nulls in ``current``, 0..1; a violation
    when above the baseline's share plus ``max_null_fraction_increase``) and
    ``null_fraction_baseline``. For the window (column ``*``): ``row_count`` (a
    violation when 0) and ``baseline_row_count``.
    """
    allowed = float(settings["max_null_fraction_increase"])
    rows = [
        _row("*", "row_count", float(len(current)), violation=current.empty),
        _row("*", "baseline_row_count", float(len(baseline))),
    ]
    for column in columns:
        base = float(baseline[column].isna().mean()) if len(baseline) else 0.0
        cur = float(current[column].isna().mean()) if len(current) else 0.0
        limit = min(base + allowed, 1.0)
        rows += [
            _row(column, "null_fraction", cur, limit, cur > limit),
            _row(column, "null_fraction_baseline", base),
        ]
    return rows


def error_rows(labelled: pd.DataFrame, mae_limit: float | None) -> list[dict]:
    """MAE, RMSE (minutes) and ``labelled_rows`` of the window and per UTC day.

    In: rows with ``prediction``, the label and ``sched_dep_ts`` (UTC). The window's
    MAE is a violation when above ``mae_limit``; per-day rows carry ``day`` and
    no threshold. Empty input gives no rows.
    """
    if labelled.empty:
        return []
    error = labelled["prediction"] - labelled[LABEL]

    def figures(err: pd.Series, day=None, limit=None) -> list[dict]:
        mae = float(err.abs().mean())
        return [
            _row("prediction", "mae", mae, limit, limit is not None and mae > limit, day),
            _row("prediction", "rmse", float(np.sqrt((err**2).mean())), day=day),
            _row("prediction", "labelled_rows", float(len(err)), day=day),
        ]

    rows = figures(error, limit=mae_limit)
    days = pd.to_datetime(labelled["sched_dep_ts"], utc=True).dt.date
    for day, err in error.groupby(days.to_numpy()):
        rows += figures(err, day=day)
    return rows


def log_to_mlflow(rows: list[dict], window, model_version: str) -> str:
    """Log one MLflow run ``monitor``: window and model version as parameters, the
    window-level figures as metrics (``<metric>.<column>``, plus ``violations``) and
    the HTML report as ``drift_report.html``. Returns the run id.
    """
    metrics = {
        f"{r['metric']}.{r['column'].replace('*', 'window')}": r["value"]
        for r in rows
        if r["day"] is None and r["value"] is not None and np.isfinite(r["value"])
    }
    metrics["violations"] = float(sum(r["violation"] for r in rows))
    title = f"Monitoring {window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC"
    with mlflow.start_run(run_name="monitor") as active:
        mlflow.set_tag("step", "monitor")
        mlflow.log_params(
            {
                "window_start": f"{window.start:%Y-%m-%dT%H:%M}",
                "window_end": f"{window.end:%Y-%m-%dT%H:%M}",
                "model_version": model_version,
            }
        )
        mlflow.log_metrics(metrics)
        mlflow.log_text(
            render_report(rows, f"{title}, model version {model_version}"), "drift_report.html"
        )
    return active.info.run_id


def run(ctx: Context) -> dict:
    """Compute drift and error figures for ``windows.scoring`` and write them.

    Reads the training set (train split, sampled to 100,000 rows) as baseline, the
    predictions table for the window, and labels from the bronze flights. Returns
    the number of figures, the violations, ``retraining_required`` and the MLflow
    run id. Raises MissingTableError when the predictions or training set are
    missing, DataCheckError when they break their checks (see checks.py).
    """
    check_inputs(ctx, "monitor")
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
        .select(*columns, "prediction", "model_version", "sched_dep_ts", LABEL)
        .toPandas()
    )
    train = tables.read(settings.table("training_set"), "the train step").where("split = 'train'")
    total = train.count()
    if total > BASELINE_SAMPLE_ROWS:
        train = train.sample(fraction=BASELINE_SAMPLE_ROWS / total, seed=7)
    baseline = train.select(*columns).toPandas()
    name = settings.model_name
    alias = settings.champion_alias
    champion = version_by_alias(client(), name, alias)
    if champion is None:
        raise LookupError(f"model {name} has no '{alias}' alias: run validate and deploy first")
    model = mlflow.pyfunc.load_model(model_uri(name, champion.version))  # alias resolved once
    baseline["prediction"] = np.asarray(model.predict(baseline[columns]), dtype=float)

    monitored = [*columns, "prediction"]
    rows = [
        {**r, "day": None} for r in drift_rows(baseline, current, monitored, settings.monitoring)
    ]
    rows += quality_rows(baseline, current, monitored, settings.monitoring)
    reference = champion.tags.get("validation_mean_absolute_error") if champion else None
    mae_limit = (
        float(reference) * (1 + float(settings.monitoring["max_mae_increase"]))
        if reference
        else None
    )
    rows += error_rows(current.dropna(subset=[LABEL]), mae_limit)
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
            r["day"],
        )
        for r in rows
    ]
    frame = ctx.spark.createDataFrame(records, METRICS_SCHEMA)
    target = settings.table("monitoring_metrics")
    same_window = (
        f"window_start = {instant_sql(window.start)} AND window_end = {instant_sql(window.end)}"
    )
    tables.replace_where(frame, target, same_window)
    violations = [f"{r['column']}.{r['metric']}={r['value']:.4g}" for r in rows if r["violation"]]
    run_id = log_to_mlflow(rows, window, version)
    # The monitoring job's condition task starts retraining when this is "true".
    publish(settings, "retraining_required", "true" if violations else "false")
    return {
        "metrics_written": len(records),
        "violations": violations,
        "retraining_required": bool(violations),
        "mlflow_run_id": run_id,
        "rows": {target: tables.count(target)},
    }
