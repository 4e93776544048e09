"""Step 4, validate: gate the newest model version before it may become champion.

The candidate and, when one exists, the current champion are evaluated with
``mlflow.models.evaluate`` on the same holdout (the validation split of the
training set). Gates from ``validation`` in the config:

- ``max_root_mean_squared_error``: absolute bound in minutes, checked with
  ``mlflow.validate_evaluation_results``;
- ``max_relative_degradation``: the candidate's RMSE may exceed the champion's by
  at most this fraction.

``mode``: ``enabled`` (failures block promotion), ``dry_run`` (failures are
recorded but do not block) or ``disabled`` (no evaluation, always passes).
The candidate gets the ``challenger`` alias and tags with the verdict.
"""

from __future__ import annotations

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.models import MetricThreshold

from ..features.definitions import LABEL, model_features
from ..registry import (
    CHALLENGER,
    CHAMPION,
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


def _evaluate(uri: str, holdout):
    result = mlflow.models.evaluate(
        uri,
        data=holdout,
        targets=LABEL,
        model_type="regressor",
        evaluator_config={"log_model_explainability": False},
    )
    return result


def run(ctx: Context, version: int | None = None) -> dict:
    """Evaluate model ``version`` (default: the newest) and record the verdict.

    Returns the version, its metrics, the champion's RMSE (or None), the verdict
    (``PASSED``/``FAILED``) and the reasons for a failure.
    Raises LookupError when no version is registered, MissingTableError when the
    training set is missing.
    """
    settings = ctx.settings
    gates = settings.validation
    ctx.mlflow()
    registry = client()
    name = settings.model_name
    candidate = (
        registry.get_model_version(name, str(version))
        if version
        else latest_version(registry, name)
    )
    champion = version_by_alias(registry, name, CHAMPION)
    if champion is not None and champion.version == candidate.version:
        champion = None
    reasons: list[str] = []
    metrics: dict[str, float] = {}
    champion_rmse = None
    if gates["mode"] != "disabled":
        columns = model_features(list(settings.features["delay_windows_hours"]))
        holdout = (
            ctx.tables.read(settings.table("training_set"), "the train step")
            .where("split = 'validation'")
            .select(*columns, LABEL)
            .toPandas()
        )
        with mlflow.start_run(run_name=f"validate-v{candidate.version}"):
            result = _evaluate(model_uri(name, candidate.version), holdout)
            metrics = {k: float(v) for k, v in result.metrics.items()}
            threshold = float(gates["max_root_mean_squared_error"])
            try:
                mlflow.validate_evaluation_results(
                    {RMSE: MetricThreshold(threshold=threshold, greater_is_better=False)}, result
                )
            except MlflowException as failure:
                reasons.append(f"{RMSE} {metrics[RMSE]:.3f} > {threshold} ({failure.message[:80]})")
            if champion is not None:
                champion_rmse = float(
                    _evaluate(model_uri(name, champion.version), holdout).metrics[RMSE]
                )
                allowed = champion_rmse * (1 + float(gates["max_relative_degradation"]))
                if metrics[RMSE] > allowed:
                    reasons.append(
                        f"{RMSE} {metrics[RMSE]:.3f} worse than champion v{champion.version} "
                        f"{champion_rmse:.3f} by more than {gates['max_relative_degradation']:.0%}"
                    )
                mlflow.log_metric(f"champion_{RMSE}", champion_rmse)
            mlflow.log_params({"candidate_version": candidate.version, "mode": gates["mode"]})
    status = FAILED if reasons and gates["mode"] == "enabled" else PASSED
    tags = {
        STATUS_TAG: status,
        "validation_mode": gates["mode"],
        "validation_reasons": "; ".join(reasons) or "none",
        "validation_champion_version": champion.version if champion else "none",
        **{
            f"validation_{k}": f"{v:.6g}"
            for k, v in metrics.items()
            if k in (RMSE, "mean_absolute_error", "r2_score")
        },
    }
    for key, value in tags.items():
        registry.set_model_version_tag(name, candidate.version, key, value)
    registry.set_registered_model_alias(name, CHALLENGER, candidate.version)
    return {
        "model_version": int(candidate.version),
        "status": status,
        "reasons": reasons,
        "metrics": {
            k: metrics[k] for k in (RMSE, "mean_absolute_error", "r2_score") if k in metrics
        },
        "champion_version": int(champion.version) if champion else None,
        "champion_rmse": champion_rmse,
    }
