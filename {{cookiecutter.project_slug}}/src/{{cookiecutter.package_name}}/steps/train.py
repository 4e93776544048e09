"""Step 3, train: build the training set by point-in-time lookup, fit, log, register.

The training set holds the train and validation windows (column ``split``) and
is replaced as a whole on each run. The model is fit on the train split only
and registered as a new version of the configured model; the windows and as-of
dates are the run's parameters and the version's tags (``window_train``,
``window_validation``, ``window_scoring``, ``as_of``, ``training_as_of``).

Two writes: the training set, then the model. When a failure comes between them,
the training set holds the new windows while the newest model version was trained
on the previous ones; a rerun of train replaces the training set again and
registers a version for it. Until then validate refuses the newest version: its
``window_validation`` tag does not name the holdout in the training set.
"""

from __future__ import annotations

import mlflow
import numpy as np
from pyspark.sql import functions as F
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from ..checks import check_inputs, table_keys
from ..config import Window
from ..data_profile import log_data_profile
from ..diagnostics import importance_figure, permutation_importances, prediction_figures
from ..features.definitions import LABEL, model_features, numeric_features
from ..features.training_set import build_model_input, window_filter
from ..gates import mean_baseline_rmse
from ..modeling import build_pipeline, log_model
from ..runtime.context import Context
from ..runtime.task_values import publish
from ..runtime.tracking import client


def _log_figures(model, valid, predicted: np.ndarray, columns: list[str]) -> None:
    """Log importance, predicted-versus-actual and residual plots of the validation split.

    ``predicted`` holds the model's predictions for the rows of ``valid``, in order.
    """
    importances = permutation_importances(model, valid, columns, LABEL)
    mlflow.log_dict(importances.to_dict(orient="records"), "plots/feature_importance.json")
    figures = {
        "feature_importance": importance_figure(importances),
        **prediction_figures(valid[LABEL], predicted),
    }
    for stem, figure in figures.items():
        mlflow.log_figure(figure, f"plots/{stem}.png")


def run(ctx: Context) -> dict:
    """Build the training set, train, log and register. Returns the new model version and metrics.

    On Databricks the new version number is also the task value ``model_version``,
    which the job's validate and deploy tasks read, so they act on this version.

    The run also holds plots/feature_importance.{png,json} (permutation importance
    on up to 5,000 validation rows), plots/predicted_vs_actual.png and
    plots/residuals.png (validation split).

    Raises ValueError when the train or validation split has no labelled rows, or when a
    model input is null in every train row.
    """
    check_inputs(ctx, "train")
    settings = ctx.settings
    train_w, valid_w = settings.windows["train"], settings.windows["validation"]
    full = build_model_input(ctx, Window(train_w.start, valid_w.end)).where(
        F.col(LABEL).isNotNull()
    )
    labelled = full.withColumn(
        "split", F.when(window_filter("sched_dep_ts", train_w), "train").otherwise("validation")
    )
    name = settings.table("training_set")
    ctx.tables.overwrite(labelled, name, table_keys("training_set"))
    stored = ctx.tables.read(name)
    windows = list(settings.features["delay_windows_hours"])
    columns = model_features(windows)
    train = stored.where("split = 'train'").select(*columns, LABEL).toPandas()
    valid = stored.where("split = 'validation'").select(*columns, LABEL).toPandas()
    splits = {"train": train, "validation": valid}
    for split, frame in splits.items():
        if frame.empty:
            raise ValueError(f"windows.{split}: no labelled flights in this window")
    empty = [c for c in columns if train[c].isna().all()]
    if empty:
        raise ValueError(f"training set: columns {empty} are null in every train row")
    params = dict(settings.training)
    model = build_pipeline(numeric_features(windows), params)

    ctx.mlflow()
    with mlflow.start_run(run_name="train") as active:
        mlflow.log_params({**params, "features": ",".join(columns)})
        window_tags = settings.window_tags()
        mlflow.log_params(window_tags)
        model.fit(train[columns], train[LABEL])
        metrics = {"train_rows": float(len(train)), "validation_rows": float(len(valid))}
        predicted = {split: model.predict(frame[columns]) for split, frame in splits.items()}
        for split, frame in splits.items():
            metrics[f"{split}_rmse"] = root_mean_squared_error(frame[LABEL], predicted[split])
            metrics[f"{split}_mae"] = mean_absolute_error(frame[LABEL], predicted[split])
        _, metrics["validation_rmse_mean_baseline"] = mean_baseline_rmse(train[LABEL], valid[LABEL])
        metrics = {k: float(v) for k, v in metrics.items()}
        mlflow.log_metrics(metrics)
        _log_figures(model, valid, predicted["validation"], columns)
        log_data_profile(train[columns], predicted["train"])
        info = log_model(model, train[columns], settings.model_name)
        for key, value in window_tags.items():
            client().set_model_version_tag(
                settings.model_name, info.registered_model_version, key, value
            )
    version = int(info.registered_model_version)
    publish(settings, "model_version", str(version))  # read by the job's validate and deploy
    return {
        "model_name": settings.model_name,
        "model_version": version,
        "run_id": active.info.run_id,
        "metrics": metrics,
        "rows": {name: len(train) + len(valid)},
    }
