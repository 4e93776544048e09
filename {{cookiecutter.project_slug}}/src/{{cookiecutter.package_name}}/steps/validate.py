"""Step 4, validate: gate one model version before it may become champion.

The version: ``--model-version`` (``run-all`` passes the one train just
registered; the Databricks job passes the train task's task value
``model_version``); without it, the highest-numbered version of the model.

The candidate, the naive baseline (always the mean training label) and, when one
exists, the current champion are scored in one MLflow run (``validate-v<N>``) on
the same holdout: the validation split of the training set. The gates (see
``gates.py``) are ``max_rmse``, ``baseline`` and ``champion``.

``validation.mode`` decides what a failed gate does:

- ``enabled``: ``validation_status`` is ``FAILED`` and deploy keeps the champion;
- ``dry_run``: the gates run and their failures are recorded
  (``validation_gate_result`` ``FAILED``, ``validation_reasons``), but
  ``validation_status`` is ``PASSED``, so deploy promotes;
- ``disabled``: nothing is scored; ``validation_status`` is ``PASSED`` and
  ``validation_gate_result`` is ``SKIPPED``.

The run holds the thresholds and mode (params), the figures (metrics) and the
verdicts (tags, one ``validation_gate_<gate>`` per gate). The version gets the
challenger alias and the same as ``validation_*`` tags, among them
``validation_champion_version``: the champion it was compared against (or
``none``), which deploy checks before promoting.
"""

from __future__ import annotations

import mlflow
import numpy as np

from ..features.definitions import LABEL, model_features
from ..features.training_set import window_filter
from ..gates import RMSE, Thresholds, evaluate, mean_baseline_rmse, relative_degradation, rmse
from ..registry import (
    FAILED,
    NONE,
    PASSED,
    STATUS_TAG,
    VALIDATED_AGAINST_TAG,
    get_version,
    latest_version,
    model_uri,
    version_by_alias,
)
from ..runtime.context import Context
from ..runtime.tracking import client

SKIPPED = "SKIPPED"
GATE_TAG = "validation_gate_result"
REPORTED_METRICS = (RMSE, "mean_absolute_error", "r2_score")


def _predict(uri: str, frame) -> np.ndarray:
    return np.asarray(mlflow.pyfunc.load_model(uri).predict(frame), dtype=float).reshape(-1)


def _score(ctx: Context, candidate, champion, thresholds: Thresholds):
    """(candidate metrics, other figures, gates) on the holdout; logs them to the active run."""
    settings = ctx.settings
    columns = model_features(list(settings.features["delay_windows_hours"]))
    holdout_window = settings.windows["validation"]
    tagged = candidate.tags.get("window_validation")
    if tagged is not None and tagged != holdout_window.label():
        raise ValueError(
            f"model version {candidate.version}: trained with validation window "
            f"{tagged}, but the holdout here is {holdout_window.label()} "
            "(rerun train with the same --as-of, or pass that as-of to validate)"
        )
    table = ctx.tables.read(settings.table("training_set"), "the train step")
    holdout = (
        table.where("split = 'validation'")
        .where(window_filter("sched_dep_ts", holdout_window))
        .select(*columns, LABEL)
        .toPandas()
    )
    train_labels = table.where("split = 'train'").select(LABEL).toPandas()[LABEL]
    if holdout.empty:
        raise ValueError(
            f"windows.validation: the training set has no rows in "
            f"{holdout_window.label()}: run train with the same --as-of first"
        )
    predicted = _predict(model_uri(settings.model_name, candidate.version), holdout[columns])
    metrics = {RMSE: rmse(holdout[LABEL], predicted)}  # NaN when a prediction is not finite
    if np.isfinite(predicted).all():  # scikit-learn's metrics refuse NaN and infinity
        result = mlflow.models.evaluate(
            data=holdout.assign(prediction=predicted),
            predictions="prediction",
            targets=LABEL,
            model_type="regressor",
            evaluator_config={"log_model_explainability": False},
        )
        metrics = {k: float(v) for k, v in result.metrics.items()}
    else:
        mlflow.log_metric(RMSE, metrics[RMSE])
    mean_label, baseline = mean_baseline_rmse(train_labels, holdout[LABEL])
    figures = {
        "holdout_rows": float(len(holdout)),
        "baseline_prediction": mean_label,
        f"baseline_{RMSE}": baseline,
        "improvement_over_baseline": 1 - metrics[RMSE] / baseline if baseline > 0 else np.nan,
    }
    champion_rmse = None
    if champion is not None:
        uri = model_uri(settings.model_name, champion.version)
        champion_rmse = rmse(holdout[LABEL], _predict(uri, holdout[columns]))
        figures[f"champion_{RMSE}"] = champion_rmse
        figures["relative_degradation"] = relative_degradation(metrics[RMSE], champion_rmse)
    champion_version = champion.version if champion else None
    gates = evaluate(thresholds, metrics[RMSE], baseline, champion_rmse, champion_version)
    figures.update({f"allowed_{RMSE}_{g.name}": g.limit for g in gates})
    mlflow.log_metrics(figures)
    return metrics, figures, gates


def run(ctx: Context, version: int | None = None) -> dict:
    """Evaluate model ``version`` (default: the highest-numbered) and record the verdict.

    Returns model_version, status (``PASSED``/``FAILED``: what deploy acts on),
    gate_result (``PASSED``/``FAILED``/``SKIPPED``: what the gates said), gates
    ({gate: PASSED/FAILED}), reasons (one line per failed gate), metrics (candidate
    RMSE, MAE in minutes, R²), baseline_rmse (minutes, None when disabled),
    champion_version and champion_rmse (None without a champion),
    relative_degradation (candidate RMSE / champion RMSE - 1, or None), thresholds
    and the validation run_id.
    Raises ConfigError for a bad threshold, LookupError when the version (or any
    version) does not exist, MissingTableError when the training set is missing.
    Registry errors other than "not found" propagate.
    """
    settings = ctx.settings
    mode = settings.validation["mode"]
    thresholds = Thresholds.from_settings(settings.validation)
    ctx.mlflow()
    registry = client()
    name = settings.model_name
    candidate = (
        latest_version(registry, name) if version is None else get_version(registry, name, version)
    )
    champion = version_by_alias(registry, name, settings.champion_alias)
    if champion is not None and str(champion.version) == str(candidate.version):
        champion = None
    metrics, figures, gates = {}, {}, []
    with mlflow.start_run(run_name=f"validate-v{candidate.version}") as active:
        mlflow.log_params(
            {
                "candidate_version": candidate.version,
                "champion_version": champion.version if champion else NONE,
                "mode": mode,
                **thresholds.as_dict(),
            }
        )
        if mode != "disabled":
            metrics, figures, gates = _score(ctx, candidate, champion, thresholds)
        reasons = [g.reason for g in gates if not g.passed]
        gate_result = SKIPPED if mode == "disabled" else (FAILED if reasons else PASSED)
        verdict = {
            STATUS_TAG: FAILED if reasons and mode == "enabled" else PASSED,
            GATE_TAG: gate_result,
            "validation_mode": mode,
            "validation_reasons": "; ".join(reasons) or "none",
            **{f"validation_gate_{g.name}": g.result for g in gates},
        }
        mlflow.set_tags(verdict)
    tags = {
        **verdict,
        "validation_run_id": active.info.run_id,
        VALIDATED_AGAINST_TAG: str(champion.version) if champion else NONE,
        **{f"validation_{k}": f"{v:.6g}" for k, v in thresholds.as_dict().items()},
        **{f"validation_{k}": f"{metrics[k]:.6g}" for k in REPORTED_METRICS if k in metrics},
        **{f"validation_{k}": f"{v:.6g}" for k, v in figures.items() if k != "holdout_rows"},
    }
    for key, value in tags.items():
        registry.set_model_version_tag(name, candidate.version, key, value)
    registry.set_registered_model_alias(name, settings.challenger_alias, candidate.version)
    return {
        "model_version": int(candidate.version),
        "status": verdict[STATUS_TAG],
        "gate_result": gate_result,
        "gates": {g.name: g.result for g in gates},
        "reasons": reasons,
        "metrics": {k: metrics[k] for k in REPORTED_METRICS if k in metrics},
        "baseline_rmse": figures.get(f"baseline_{RMSE}"),
        "champion_version": int(champion.version) if champion else None,
        "champion_rmse": figures.get(f"champion_{RMSE}"),
        "relative_degradation": figures.get("relative_degradation"),
        "thresholds": thresholds.as_dict(),
        "run_id": active.info.run_id,
    }
