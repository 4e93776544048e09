"""Step 4, validate: gate the newest model version before it may become champion.

The candidate and, when one exists, the current champion are scored in one
MLflow run (``validate-v<N>``) on the same holdout: the validation split of the
training set. Gates from ``validation`` in the config:

- ``max_root_mean_squared_error``: absolute bound in minutes, checked with
  ``mlflow.validate_evaluation_results``;
- ``max_relative_degradation``: the candidate's RMSE may exceed the champion's by
  at most this fraction (0.05 = 5 %).

``mode`` decides what a failed gate does:

- ``enabled``: ``validation_status`` is ``FAILED`` and deploy keeps the champion;
- ``dry_run``: the gates run and their failures are recorded
  (``validation_gate_result`` ``FAILED``, ``validation_reasons``), but
  ``validation_status`` is ``PASSED``, so deploy promotes;
- ``disabled``: nothing is scored; ``validation_status`` is ``PASSED`` and
  ``validation_gate_result`` is ``SKIPPED``.

The run holds the thresholds and mode (params), the candidate's metrics, the
champion's RMSE and the relative degradation (metrics) and the verdict (tags).
The candidate version gets the challenger alias and the same verdict,
thresholds and comparison as tags.
"""

from __future__ import annotations

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.models import MetricThreshold
from sklearn.metrics import root_mean_squared_error

from ..features.definitions import LABEL, model_features
from ..features.training_set import window_filter
from ..registry import (
    FAILED,
    PASSED,
    STATUS_TAG,
    latest_version,
    model_uri,
    version_by_alias,
)
from ..runtime.context import Context
from ..runtime.tracking import client

RMSE = "root_mean_squared_error"
SKIPPED = "SKIPPED"
GATE_TAG = "validation_gate_result"
REPORTED_METRICS = (RMSE, "mean_absolute_error", "r2_score")


def _evaluate(uri: str, holdout):
    return mlflow.models.evaluate(
        uri,
        data=holdout,
        targets=LABEL,
        model_type="regressor",
        evaluator_config={"log_model_explainability": False},
    )


def _rmse(uri: str, holdout, columns: list[str]) -> float:
    """RMSE (minutes) of the model at ``uri`` on ``holdout``, without logging anything."""
    predicted = np.asarray(mlflow.pyfunc.load_model(uri).predict(holdout[columns]), dtype=float)
    return float(root_mean_squared_error(holdout[LABEL], predicted.reshape(-1)))


def run(ctx: Context, version: int | None = None) -> dict:
    """Evaluate model ``version`` (default: the newest) and record the verdict.

    Returns model_version, status (``PASSED``/``FAILED``: what deploy acts on),
    gate_result (``PASSED``/``FAILED``/``SKIPPED``: what the gates said), reasons
    (one line per failed gate), metrics (candidate RMSE, MAE in minutes, R²),
    champion_version and champion_rmse (None without a champion),
    relative_degradation (candidate RMSE / champion RMSE - 1, or None),
    thresholds and the validation run_id.
    Raises LookupError when no version is registered, MissingTableError when the
    training set is missing.
    """
    settings = ctx.settings
    gates = settings.validation
    mode = gates["mode"]
    thresholds = {
        "max_root_mean_squared_error": float(gates["max_root_mean_squared_error"]),
        "max_relative_degradation": float(gates["max_relative_degradation"]),
    }
    ctx.mlflow()
    registry = client()
    name = settings.model_name
    candidate = (
        registry.get_model_version(name, str(version))
        if version
        else latest_version(registry, name)
    )
    champion = version_by_alias(registry, name, settings.champion_alias)
    if champion is not None and champion.version == candidate.version:
        champion = None
    reasons: list[str] = []
    metrics: dict[str, float] = {}
    champion_rmse = degradation = None
    with mlflow.start_run(run_name=f"validate-v{candidate.version}") as active:
        mlflow.log_params(
            {
                "candidate_version": candidate.version,
                "champion_version": champion.version if champion else "none",
                "mode": mode,
                **thresholds,
            }
        )
        if mode != "disabled":
            columns = model_features(list(settings.features["delay_windows_hours"]))
            holdout_window = settings.windows["validation"]
            tagged = candidate.tags.get("window_validation")
            if tagged is not None and tagged != holdout_window.label():
                raise ValueError(
                    f"model version {candidate.version}: trained with validation window "
                    f"{tagged}, but the holdout here is {holdout_window.label()} "
                    "(rerun train with the same --as-of, or pass that as-of to validate)"
                )
            holdout = (
                ctx.tables.read(settings.table("training_set"), "the train step")
                .where("split = 'validation'")
                .where(window_filter("sched_dep_ts", holdout_window))
                .select(*columns, LABEL)
                .toPandas()
            )
            if holdout.empty:
                raise ValueError(
                    f"windows.validation: the training set has no rows in "
                    f"{holdout_window.label()}: run train with the same --as-of first"
                )
            mlflow.log_metric("holdout_rows", float(len(holdout)))
            result = _evaluate(model_uri(name, candidate.version), holdout)
            metrics = {k: float(v) for k, v in result.metrics.items()}
            limit = thresholds["max_root_mean_squared_error"]
            try:
                mlflow.validate_evaluation_results(
                    {RMSE: MetricThreshold(threshold=limit, greater_is_better=False)}, result
                )
            except MlflowException:
                reasons.append(f"{RMSE} {metrics[RMSE]:.3f} > max_root_mean_squared_error {limit}")
            if champion is not None:
                champion_rmse = _rmse(model_uri(name, champion.version), holdout, columns)
                allowed = champion_rmse * (1 + thresholds["max_relative_degradation"])
                degradation = (
                    metrics[RMSE] / champion_rmse - 1 if champion_rmse > 0 else float("inf")
                )
                mlflow.log_metrics(
                    {
                        f"champion_{RMSE}": champion_rmse,
                        f"allowed_{RMSE}": allowed,
                        "relative_degradation": degradation,
                    }
                )
                if metrics[RMSE] > allowed:
                    reasons.append(
                        f"relative degradation {degradation:.1%} of {RMSE} "
                        f"({metrics[RMSE]:.3f} vs champion v{champion.version} "
                        f"{champion_rmse:.3f}) > max_relative_degradation "
                        f"{thresholds['max_relative_degradation']:.1%}"
                    )
        gate_result = SKIPPED if mode == "disabled" else (FAILED if reasons else PASSED)
        status = FAILED if reasons and mode == "enabled" else PASSED
        verdict = {
            STATUS_TAG: status,
            GATE_TAG: gate_result,
            "validation_mode": mode,
            "validation_reasons": "; ".join(reasons) or "none",
        }
        mlflow.set_tags(verdict)
    tags = {
        **verdict,
        "validation_run_id": active.info.run_id,
        "validation_champion_version": champion.version if champion else "none",
        **{f"validation_{k}": f"{v:.6g}" for k, v in thresholds.items()},
        **{f"validation_{k}": f"{metrics[k]:.6g}" for k in REPORTED_METRICS if k in metrics},
    }
    if champion_rmse is not None:
        tags[f"validation_champion_{RMSE}"] = f"{champion_rmse:.6g}"
        tags["validation_relative_degradation"] = f"{degradation:.6g}"
    for key, value in tags.items():
        registry.set_model_version_tag(name, candidate.version, key, value)
    registry.set_registered_model_alias(name, settings.challenger_alias, candidate.version)
    return {
        "model_version": int(candidate.version),
        "status": status,
        "gate_result": gate_result,
        "reasons": reasons,
        "metrics": {k: metrics[k] for k in REPORTED_METRICS if k in metrics},
        "champion_version": int(champion.version) if champion else None,
        "champion_rmse": champion_rmse,
        "relative_degradation": degradation,
        "thresholds": thresholds,
        "run_id": active.info.run_id,
    }
