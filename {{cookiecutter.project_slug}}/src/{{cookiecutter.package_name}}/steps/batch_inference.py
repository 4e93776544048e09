"""Step 6, batch inference: score the scoring window with the champion model.

Predictions are written with Delta ``replaceWhere`` on the window, so a rerun
replaces that window's rows: nothing doubles, nothing else is touched.
"""

from __future__ import annotations

from datetime import UTC, datetime

import mlflow
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..checks import check_inputs
from ..config import ConfigError
from ..features.model_inputs import build_model_input, check_window_keys
from ..features.training_set import window_predicate
from ..registry import champion_version, get_version, model_uri
from ..runtime.context import Context
from ..runtime.tracking import client


def scoring_uri(ctx: Context, version: int | str) -> str:
    """The URI :func:`model_udf` loads version ``version`` of ``ctx.settings.model_name``
    from.

    On Databricks the registry's ``models:/<name>/<version>``: Unity Catalog vends the
    version's storage credentials and records its use. Locally the version's own logged
    model (its source, ``models:/m-<model id>`` in MLflow 3, one per logged model): over
    a Spark Connect server that is not Databricks', MLflow caches a UDF's model in the
    temporary folder by the URI's text and the worker's process id, so another model
    of the same name and number loaded before (another local store's, or a store made
    again) would score, and the rows would name this version. Raises LookupError when
    the version does not exist (locally).
    """
    if ctx.settings.runtime != "local":
        return model_uri(ctx.settings.model_name, version)
    ctx.mlflow()
    return get_version(client(), ctx.settings.model_name, version).source


def refuse_other_inputs(ctx: Context, uri: str, version: int | str) -> None:
    """Raise ConfigError when the model at ``uri`` (version ``version`` of
    ``ctx.settings.model_name``) takes a model input that the contract's
    ``contract.features`` does not list: the scoring steps give it only those columns,
    and MLflow's signature check would fail on every row with a long message. Reads the
    model's signature (its MLmodel file, not the model); a model without one, or whose
    signature names no columns, passes."""
    signature = mlflow.models.get_model_info(uri).signature
    if signature is None or not signature.inputs.has_input_names():
        return
    listed = set(ctx.settings.contract.feature_columns)
    lacking = [name for name in signature.inputs.input_names() if name not in listed]
    if lacking:
        raise ConfigError(
            f"contract.features: version {version} of {ctx.settings.model_name} takes model "
            f"input {', '.join(lacking)}, which the contract does not list: list it again, or "
            "train a version on this contract and validate it with validation.mode: dry_run "
            "so that deploy promotes it (this champion cannot be compared on the new inputs)"
        )


def model_udf(ctx: Context, version: int | str):
    """Spark UDF of version ``version`` of the model ``ctx.settings.model_name``
    (:func:`scoring_uri`): a struct of the model inputs to a double. Raises ConfigError
    when the version takes a model input the contract does not list
    (:func:`refuse_other_inputs`)."""
    uri = scoring_uri(ctx, version)
    refuse_other_inputs(ctx, uri, version)
    return mlflow.pyfunc.spark_udf(ctx.spark, uri, result_type="double", env_manager="local")


def score(frame: DataFrame, predict, version: int | str, columns: list[str]) -> DataFrame:
    """``frame`` (model inputs in ``columns``) with prediction, model_version and scored_at.

    ``predict`` is a UDF from :func:`model_udf` for ``version``. Added columns:
    prediction (double: the label's estimate for regression, the positive-class
    probability for binary classification), model_version (string) and
    scored_at (timestamp, UTC, the time this function was called).
    """
    return frame.withColumn(
        "prediction", predict(F.struct(*[F.col(c) for c in columns]))
    ).withColumns(
        {
            "model_version": F.lit(str(version)),
            "scored_at": F.lit(datetime.now(UTC)).cast("timestamp"),
        }
    )


def run(ctx: Context) -> dict:
    """Score the events whose event timestamp lies in ``windows.scoring`` with the champion.

    The champion alias is resolved once to a version, which scores (:func:`model_udf`,
    loaded from :func:`scoring_uri`). Writes the predictions table: the contract's entity
    keys and event timestamp, the model inputs, prediction (double, see :func:`score`),
    model_version (string) and scored_at (timestamp, UTC). Returns the rows scored
    and the model version. Raises LookupError when no champion exists, DataCheckError
    when two events to score share the entity keys (the input tables' checks, then
    :func:`..features.model_inputs.check_window_keys`: before the model is loaded;
    nothing is written), ConfigError when the model input lacks a column the contract
    needs, or when the champion takes a model input the contract does not list
    (:func:`refuse_other_inputs`, before the model is loaded; nothing is written).
    """
    check_inputs(ctx, "batch_inference")
    settings = ctx.settings
    version = champion_version(ctx)
    window = settings.windows["scoring"]
    contract = settings.contract
    columns = contract.feature_columns
    target = settings.table("predictions")
    # The keys are checked on the events, before the lookup and without the model:
    # the lookup and scoring add columns to the same rows. A keyed write of the scored
    # rows would persist the scored batch for its key check, which was slower (figures
    # in the CHANGELOG).
    check_window_keys(ctx, window, target)
    frame = build_model_input(ctx, window).select(*contract.entity_keys_and_time, *columns)
    scored = score(frame, model_udf(ctx, version), version, columns)
    where = window_predicate(contract.event_timestamp, window)
    ctx.tables.replace_where(scored, target, where)
    written = ctx.tables.rows_written(target)  # recorded by Delta in the commit
    if written is None:
        written = ctx.tables.read(target).where(where).count()
    return {
        "rows_scored": written,
        "model_version": version,
        "rows": {target: ctx.tables.count(target)},
    }
