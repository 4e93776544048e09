"""Step 3, train: build the training set by point-in-time lookup, fit, log, register.

The training set holds the train and validation windows (column ``split``) and
is replaced as a whole on each run. The model is fit on the train split only
and registered as a new version of the configured model; the windows and as-of
dates are the run's parameters and the version's tags (``window_train``,
``window_validation``, ``window_scoring``, ``as_of``, ``training_as_of``), written
by the call that creates the version: no version exists without them.

Two writes: the training set, then the model. A window without labelled rows, or a model
input null in every train row, is refused before the first. The training set is written
while the model is fit, and the run is logged only once that write has committed: a failed
write logs no run and registers nothing. When a failure comes between the two writes,
the training set holds the new windows while the newest model version was trained
on the previous ones; a rerun of train replaces the training set again and
registers a version for it. Until then validate refuses the newest version: its
``window_validation`` tag does not name the holdout in the training set.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import mlflow
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..checks import check_inputs, table_keys
from ..config import Window
from ..contract import Contract
from ..data_profile import log_data_profile
from ..diagnostics import importance_figure, permutation_importances, training_figures
from ..features.model_inputs import build_model_input, check_training_events
from ..features.training_set import window_filter
from ..gates import OBJECTIVES, naive_baseline
from ..metrics import split_metrics
from ..modeling import build_pipeline, log_model
from ..runtime.context import Context
from ..runtime.frames import to_pandas
from ..runtime.side_by_side import inheriting_local_properties
from ..runtime.tables import computed_once
from ..runtime.task_values import publish


def _log_figures(model, valid, predicted, columns: list[str], contract) -> None:
    """Log importance and the problem type's plots of the validation split.

    ``predicted`` holds the model's predictions for the rows of ``valid``, in order.
    """
    importances = permutation_importances(
        model, valid, columns, contract.label, contract.is_classification
    )
    mlflow.log_dict(importances.to_dict(orient="records"), "plots/feature_importance.json")
    figures = {
        "feature_importance": importance_figure(importances, contract.is_classification),
        **training_figures(contract, valid[contract.label], predicted),
    }
    for stem, figure in figures.items():
        mlflow.log_figure(figure, f"plots/{stem}.png")


SPLITS = ("train", "validation")


def empty_inputs_message(empty: list[str], contract: Contract, features: dict) -> str:
    """The one-line error for model inputs ``empty`` that are null in every train row.

    When some of them are looked up in the feature tables (``contract.feature_tables``),
    it names the likely cause: no feature row within ``features.lookup_tolerance_hours``
    (``features``: the settings' section) before the lookup timestamp.
    """
    message = f"training set: columns {empty} are null in every train row"
    looked_up = [c for c in empty if any(c in t.features for t in contract.feature_tables.values())]
    if looked_up:
        hours = features["lookup_tolerance_hours"]
        message += (
            f" ({looked_up} come from the feature tables: is a feature row within "
            f"features.lookup_tolerance_hours ({hours}) before the lookup timestamp?)"
        )
    return message


def training_frames(rows: DataFrame, contract: Contract) -> dict[str, pd.DataFrame]:
    """The ``train`` and ``validation`` splits of the training set as pandas, for the estimator.

    In: the training set's rows (``split``, the contract's entity keys, event timestamp,
    model inputs and label), as train writes them to the table. Out: per split, the model
    inputs (``contract.feature_columns``) and the label, in the order of the entity keys
    then the event timestamp, whatever the partitioning of ``rows``: the estimator's
    early-stopping holdout (a seeded draw over row positions) and so the fitted model
    are the same on every run over the same rows. One Spark query reads both splits; a
    column's pandas type is that of both splits together (an integer column with a null
    in either split is float64 in both).
    """
    columns = [*contract.feature_columns, contract.label]
    order = contract.entity_keys_and_time
    read = to_pandas(
        rows.where(F.col("split").isin(*SPLITS)).orderBy(*order).select("split", *columns)
    )
    return {
        split: read.loc[read["split"] == split, columns].reset_index(drop=True) for split in SPLITS
    }


def run(ctx: Context) -> dict:
    """Build the training set, train, log and register. Returns the new model version and metrics.

    On Databricks the new version number is also the task value ``model_version``,
    which the job's validate and deploy tasks read, so they act on this version.

    The run also holds plots/feature_importance.{png,json} (permutation importance
    on up to 5,000 validation rows) and the problem type's plots of the validation
    split: plots/predicted_vs_actual.png and plots/residuals.png (regression), or
    plots/roc_curve.png and plots/calibration.png (binary classification).
    Metrics per split: see :func:`..metrics.split_metrics`; plus the naive baseline's
    figure on the validation split (``validation_rmse_mean_baseline`` or
    ``validation_roc_auc_prior_baseline``).

    Raises, before anything is written: ValueError when the train or validation split has
    no labelled rows (naming the window's dates), or when a model input is null in every
    train row (:func:`empty_inputs_message`); DataCheckError when
    two events of the windows (:func:`..features.model_inputs.check_training_events`), or
    two rows of the training set, share the training set's keys; ConfigError when the
    model input lacks a column the contract needs (:mod:`..features.spine`).
    """
    check_inputs(ctx, "train")
    settings = ctx.settings
    contract = settings.contract
    label = contract.label
    train_w, valid_w = settings.windows["train"], settings.windows["validation"]
    name = settings.table("training_set")
    window = Window(train_w.start, valid_w.end)
    # Two events of one flight, which the lookup would make one row (checked on the spine
    # with the feature store; the prepared model input was checked when it was written).
    check_training_events(ctx, window, name)
    full = build_model_input(ctx, window).where(F.col(label).isNotNull())
    labelled = full.withColumn(
        "split",
        F.when(window_filter(contract.event_timestamp, train_w), "train").otherwise("validation"),
    )
    keys = table_keys(contract, "training_set")
    columns = contract.feature_columns
    # The splits are read and checked before the training set is replaced: a refused window
    # leaves the set the newest version was validated on. On classic Spark the rows are
    # computed once, for the splits, the key check and the write
    # (:func:`..runtime.tables.computed_once`); over Spark Connect, which may refuse
    # PERSIST, once for each.
    with computed_once(labelled, keys) as batch:
        splits = training_frames(batch, contract)
        train, valid = splits["train"], splits["validation"]
        for split, frame in splits.items():
            if frame.empty:
                raise ValueError(
                    f"windows.{split}: no labelled rows in this window "
                    f"({settings.windows[split].label()}, UTC)"
                )
        empty = [c for c in columns if train[c].isna().all()]
        if empty:
            raise ValueError(empty_inputs_message(empty, contract, settings.features))
        params = dict(settings.training)
        model = build_pipeline(contract, params)
        # The training set is written while the model is fit (Spark's JVM and the
        # estimator work side by side), and the write ends before the run is logged: a
        # failed write registers nothing (its error first, the fit's chained to it).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="training-set") as writer:
            write = inheriting_local_properties(ctx.spark, ctx.tables.overwrite)
            written = writer.submit(write, batch, name, keys)
            try:
                model.fit(train[columns], train[label])
            finally:
                written.result()

    ctx.mlflow()
    window_tags = settings.window_tags()
    with mlflow.start_run(run_name="train") as active:
        # One call (one store transaction): the estimator's parameters, the model inputs,
        # the problem type, the label and the windows.
        mlflow.log_params(
            {
                **params,
                "features": ",".join(columns),
                "problem_type": contract.problem_type,
                "label": label,
                **window_tags,
            }
        )
        metrics = {"train_rows": float(len(train)), "validation_rows": float(len(valid))}
        predicted = {split: model.predict(frame[columns]) for split, frame in splits.items()}
        for split, frame in splits.items():
            for key, value in split_metrics(contract, frame[label], predicted[split]).items():
                metrics[f"{split}_{key}"] = value
        objective = OBJECTIVES[contract.problem_type]
        _, baseline = naive_baseline(objective, train[label], valid[label])
        short = "roc_auc" if contract.is_classification else "rmse"
        metrics[f"validation_{short}_{objective.baseline}_baseline"] = baseline
        metrics = {k: float(v) for k, v in metrics.items()}
        mlflow.log_metrics(metrics)
        _log_figures(model, valid, predicted["validation"], columns, contract)
        log_data_profile(train[columns], predicted["train"], contract.categorical)
        info = log_model(model, train[columns], settings.model_name, window_tags)
    version = int(info.registered_model_version)
    publish(settings, "model_version", str(version))  # read by the job's validate and deploy
    return {
        "model_name": settings.model_name,
        "model_version": version,
        "run_id": active.info.run_id,
        "metrics": metrics,
        "rows": {name: len(train) + len(valid)},
    }
