"""Step 4, validate: gate one model version before it may become champion.

The version: ``--model-version`` (``run-all`` passes the one train just
registered; the Databricks job passes the train task's task value
``model_version``); without it, the highest-numbered version of the model.

The candidate, the naive baseline (always the mean training label: the mean, or the
prior of the positive class) and, when one exists, the current champion are scored
in one MLflow run (``validate-v<N>``) on the same holdout: the validation split of
the training set. The gates (see ``gates.py``) are the absolute limit of the
problem type's metric (``max_rmse`` / ``min_roc_auc``), ``baseline`` and ``champion``.

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
``none``), which deploy checks before promoting. Validating a version again
replaces its ``validation_*`` tags as a whole, ``validation_status`` last
(:func:`..registry.write_verdict`): no gate or figure of the earlier verdict stays,
and a version whose verdict was cut off midway has no status until validate reruns.

The champion is compared only on a holdout it was not fit on. A champion whose training
window (its ``window_train`` tag, written by train) ends after the holdout starts, e.g.
one trained with a later ``--as-of`` than the candidate, is not scored: scored on rows
it was fit on it would look better than it is. Its ``champion`` gate fails and the
reason names its training window, the holdout's start and what to do (the earliest
``--as-of`` whose holdout starts after that window, or ``dry_run``), so the verdict is
``FAILED`` like any other rejection (``enabled``: the champion stays; ``dry_run``: recorded, and
the candidate promoted anyway). A candidate trained with an ``--as-of`` whose holdout
starts at or after the end of the champion's training window is compared as usual. A
champion without a readable ``window_train`` tag (registered by hand, or before train
wrote the tags) is compared: if it was fit on the holdout, its figure is better than it
deserves, which only raises the candidate's bar. The verdict records the champion's
training window as ``validation_champion_window_train`` (``unknown`` then).

A champion that cannot score the holdout (its signature refuses the model inputs,
e.g. an input the contract no longer has) fails the ``champion`` gate with a reason
saying so and what to do (``dry_run``), as one not comparable for its training window does;
a rejected candidate is then promoted only by a human moving the alias (or with ``dry_run``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException

from ..config import Settings, Window, as_utc
from ..features.training_set import window_filter
from ..gates import Thresholds, evaluate, metric, naive_baseline, relative_degradation
from ..metrics import holdout_metrics, reported_metrics
from ..registry import (
    FAILED,
    NONE,
    PASSED,
    STATUS_TAG,
    VALIDATED_AGAINST_TAG,
    get_version,
    latest_version,
    model_uri,
    same_version,
    version_by_alias,
    write_verdict,
)
from ..runtime.context import Context
from ..runtime.frames import to_pandas
from ..runtime.tracking import client

SKIPPED = "SKIPPED"
TRAIN_WINDOW_TAG = "window_train"  # a version's training window, written by train
TRAIN_STEP = "the train step"  # registers the versions validated, writes the training set
GATE_TAG = "validation_gate_result"
CHAMPION_WINDOW_TAG = "validation_champion_window_train"  # the champion's, or "unknown"


def _predict(uri: str, frame) -> np.ndarray:
    return np.asarray(mlflow.pyfunc.load_model(uri).predict(frame), dtype=float).reshape(-1)


def _training_window(version) -> Window | None:
    """The training window of ``version`` (a ModelVersion), read from its ``window_train``
    tag; None when the tag is missing or not ``YYYY-MM-DD..YYYY-MM-DD``."""
    try:
        return Window.from_label(version.tags[TRAIN_WINDOW_TAG])
    except (KeyError, ValueError):
        return None


# What to do when the champion cannot be compared: the end of both not-comparable reasons.
PROMOTE_ANYWAY = (
    "set validation.mode: dry_run to let deploy promote the candidate anyway (its failed "
    "gates are then only recorded)"
)


def _window_label(window: Window | None) -> str:
    """``window``'s label, or ``unknown`` for None."""
    return "unknown" if window is None else window.label()


def _comparable_as_of(trained: Window, settings: Settings) -> datetime:
    """The earliest ``--as-of`` whose holdout (``windows.validation`` of
    :meth:`Settings.at`, from ``settings.window_spec``) starts at or after the end of the
    ``trained`` window (a champion's training window): ``label_maturity_days`` and
    ``validation_days`` after that end (UTC midnight)."""
    spec = settings.window_spec
    return trained.end + timedelta(days=spec["label_maturity_days"] + spec["validation_days"])


def _fit_on_holdout(champion, settings: Settings) -> str | None:
    """Why ``champion`` (a ModelVersion) is not comparable on the holdout
    (``settings.windows["validation"]``), and what to do about it: its training window
    (see :func:`_training_window`) ends after the holdout starts, so it may have been fit
    on the holdout's rows. The line names the earliest ``--as-of`` that compares them
    (:func:`_comparable_as_of`) and ``validation.mode`` ``dry_run``, which lets deploy
    promote the candidate anyway. None when the training window ends at or before the
    start (the end is exclusive) or is unknown."""
    trained, holdout = _training_window(champion), settings.windows["validation"]
    if trained is None or trained.end <= holdout.start:
        return None
    return (
        f"trained on {trained.label()} ({TRAIN_WINDOW_TAG}), which ends after this holdout "
        f"starts ({as_utc(holdout.start):%Y-%m-%d}): its figure would come from rows it was "
        f"fit on; to compare them, train and validate with --as-of "
        f"{as_utc(_comparable_as_of(trained, settings)):%Y-%m-%d} or later, or "
        f"{PROMOTE_ANYWAY}"
    )


def _champion_figure(ctx: Context, champion, holdout, objective) -> tuple[float, str | None]:
    """(the champion's figure of the objective's metric on ``holdout``, None), or (NaN, why
    it is not comparable): its training window reaches into ``windows.validation`` (see
    :func:`_fit_on_holdout`; the model is not loaded then), or it refuses the holdout's
    inputs: MLflow's schema check of its signature, e.g. an input the data contract no
    longer has, or one of another type. Errors loading the model (registry, network)
    propagate."""
    contract = ctx.settings.contract
    why = _fit_on_holdout(champion, ctx.settings)
    if why is not None:
        return math.nan, why
    model = mlflow.pyfunc.load_model(model_uri(ctx.settings.model_name, champion.version))
    try:
        predicted = model.predict(holdout[contract.feature_columns])
    except MlflowException as err:  # the message quotes the whole frame before "Error: "
        cause = str(err).rsplit("Error: ", 1)[-1].strip().splitlines()[0]
        return math.nan, (
            f"its signature refuses the holdout's model inputs: {cause.rstrip('.')} (the model "
            "inputs changed since it was trained: it cannot be compared on them); to replace "
            f"it, {PROMOTE_ANYWAY}"
        )
    predicted = np.asarray(predicted, dtype=float).reshape(-1)
    return metric(objective, holdout[contract.label], predicted), None


def _holdout(ctx: Context, candidate):
    """(holdout, train_labels): the validation split of the training set in
    ``windows.validation`` (pandas: the model inputs and the label) and the train split's
    labels (a pandas Series), the data ``candidate`` (a ModelVersion) is judged on.

    Called before the validation run starts, so what it refuses leaves nothing logged.
    Raises ValueError when ``candidate`` was trained for another validation window (its
    tag ``window_validation``) or the holdout has no rows, MissingTableError when the
    training set is missing.
    """
    settings = ctx.settings
    contract = settings.contract
    label, columns = contract.label, contract.feature_columns
    holdout_window = settings.windows["validation"]
    tagged = candidate.tags.get("window_validation")
    if tagged is not None and tagged != holdout_window.label():
        raise ValueError(
            f"model version {candidate.version}: trained with validation window "
            f"{tagged}, but the holdout here is {holdout_window.label()} "
            "(rerun train with the same --as-of, or pass that as-of to validate)"
        )
    table = ctx.tables.read(settings.table("training_set"), TRAIN_STEP)
    holdout = to_pandas(
        table.where("split = 'validation'")
        .where(window_filter(contract.event_timestamp, holdout_window))
        .select(*columns, label)
    )
    train_labels = to_pandas(table.where("split = 'train'").select(label))[label]
    if holdout.empty:
        raise ValueError(
            f"windows.validation: the training set has no rows in "
            f"{holdout_window.label()}: run train with the same --as-of first"
        )
    return holdout, train_labels


def _score(ctx: Context, holdout, train_labels, candidate, champion, thresholds: Thresholds):
    """(candidate metrics, other figures, gates) of ``candidate`` and ``champion``
    (ModelVersions; champion None without one) on ``holdout`` (pandas: the model inputs
    and the label), against the naive baseline of ``train_labels`` (a pandas Series), both
    from :func:`_holdout`; logs them to the active run."""
    contract = ctx.settings.contract
    label, objective = contract.label, thresholds.objective
    name = objective.metric
    columns = contract.feature_columns
    predicted = _predict(model_uri(ctx.settings.model_name, candidate.version), holdout[columns])
    metrics = {name: metric(objective, holdout[label], predicted)}  # NaN when not finite
    if np.isfinite(predicted).all():  # scikit-learn's metrics refuse NaN and infinity
        if contract.is_classification:
            metrics = holdout_metrics(contract, holdout[label], predicted)
            mlflow.log_metrics(metrics)
        else:
            result = mlflow.models.evaluate(
                data=holdout.assign(prediction=predicted),
                predictions="prediction",
                targets=label,
                model_type="regressor",
                evaluator_config={"log_model_explainability": False},
            )
            metrics = {k: float(v) for k, v in result.metrics.items()}
    else:
        mlflow.log_metric(name, metrics[name])
    constant, baseline = naive_baseline(objective, train_labels, holdout[label])
    better = 1 if objective.greater_is_better else -1
    figures = {
        "holdout_rows": float(len(holdout)),
        "baseline_prediction": constant,
        f"baseline_{name}": baseline,
        "improvement_over_baseline": (
            better * (metrics[name] / baseline - 1) if baseline > 0 else np.nan
        ),
    }
    champion_figure = not_comparable = None
    if champion is not None:
        champion_figure, not_comparable = _champion_figure(ctx, champion, holdout, objective)
        figures[f"champion_{name}"] = champion_figure
        figures["relative_degradation"] = relative_degradation(
            metrics[name], champion_figure, objective.greater_is_better
        )
    champion_version = champion.version if champion else None
    gates = evaluate(
        thresholds, metrics[name], baseline, champion_figure, champion_version, not_comparable
    )
    figures.update({f"allowed_{name}_{g.name}": g.limit for g in gates})
    mlflow.log_metrics(figures)
    return metrics, figures, gates


def run(ctx: Context, version: int | None = None) -> dict:
    """Evaluate model ``version`` (default: the highest-numbered) and record the verdict.

    Returns model_version, status (``PASSED``/``FAILED``: what deploy acts on),
    gate_result (``PASSED``/``FAILED``/``SKIPPED``: what the gates said), gates
    ({gate: PASSED/FAILED}), reasons (one line per failed gate), metrics (the
    problem type's holdout metrics: RMSE, MAE, R² / ROC AUC, log loss, F1 at the
    decision threshold, MAE of the probability), baseline (the naive baseline's
    figure of the gated metric; None when disabled), champion_version and
    champion_figure (None without a champion; NaN when it is not comparable, which the
    entry points print as null), relative_degradation (how much worse than the
    champion, a fraction; None without a champion, NaN when its figure is NaN, 0 or below),
    thresholds and the validation run_id.
    Regression results also carry baseline_rmse and champion_rmse (the same figures).
    Raises, before the validation run starts (nothing is logged or tagged then):
    ConfigError for a bad threshold, LookupError when the version (or any version) does
    not exist, MissingTableError when the training set is missing, ValueError when the
    version was trained for another validation window or the holdout has no rows.
    Registry errors other than "not found" propagate.
    """
    settings = ctx.settings
    mode = settings.validation["mode"]
    contract = settings.contract
    thresholds = Thresholds.from_settings(settings.validation, contract.problem_type)
    gated = thresholds.objective.metric  # the metric the gates compare (e.g. RMSE)
    ctx.mlflow()
    registry = client()
    name = settings.model_name
    candidate = (
        latest_version(registry, name, registered_by=TRAIN_STEP)
        if version is None
        else get_version(registry, name, version)
    )
    champion = version_by_alias(registry, name, settings.champion_alias)
    if champion is not None and same_version(champion.version, candidate.version):
        champion = None
    metrics, figures, gates = {}, {}, []
    # The holdout is read (and a version of other windows refused) before the run starts:
    # a refused version leaves no run behind.
    holdout, train_labels = (None, None) if mode == "disabled" else _holdout(ctx, candidate)
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
            metrics, figures, gates = _score(
                ctx, holdout, train_labels, candidate, champion, thresholds
            )
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
        **({CHAMPION_WINDOW_TAG: _window_label(_training_window(champion))} if champion else {}),
        **{f"validation_{k}": f"{v:.6g}" for k, v in thresholds.as_dict().items()},
        **{
            f"validation_{k}": f"{metrics[k]:.6g}"
            for k in reported_metrics(contract)
            if k in metrics
        },
        **{f"validation_{k}": f"{v:.6g}" for k, v in figures.items() if k != "holdout_rows"},
    }
    write_verdict(registry, name, candidate.version, tags)
    registry.set_registered_model_alias(name, settings.challenger_alias, candidate.version)
    return {
        "model_version": int(candidate.version),
        "status": verdict[STATUS_TAG],
        "gate_result": gate_result,
        "gates": {g.name: g.result for g in gates},
        "reasons": reasons,
        "metrics": {k: metrics[k] for k in reported_metrics(contract) if k in metrics},
        "baseline": figures.get(f"baseline_{gated}"),
        "baseline_rmse": figures.get("baseline_root_mean_squared_error"),
        "champion_version": int(champion.version) if champion else None,
        "champion_figure": figures.get(f"champion_{gated}"),
        "champion_rmse": figures.get("champion_root_mean_squared_error"),
        "relative_degradation": figures.get("relative_degradation"),
        "thresholds": thresholds.as_dict(),
        "run_id": active.info.run_id,
    }
