"""Step 6, batch inference: score the scoring window with the champion model.

Predictions are written with Delta ``replaceWhere`` on the window, so a rerun
replaces that window's rows: nothing doubles, nothing else is touched.
"""

from __future__ import annotations

from datetime import UTC, datetime

import mlflow
from pyspark.sql import functions as F

from ..checks import check_inputs, table_keys
from ..features.definitions import model_features
from ..features.training_set import build_model_input, window_predicate
from ..registry import model_uri, version_by_alias
from ..runtime.context import Context
from ..runtime.tracking import client


def run(ctx: Context) -> dict:
    """Score flights scheduled in ``windows.scoring`` with the champion.

    The champion alias is resolved once to a version, and ``models:/<name>/<version>``
    is loaded, so ``model_version`` is the model that produced every row.

    Writes the predictions table: flight_id, sched_dep_ts, the model inputs,
    prediction (double, minutes of arrival delay), model_version (string) and
    scored_at (timestamp, UTC). Returns the rows scored and the model version.
    Raises LookupError when no champion exists.
    """
    check_inputs(ctx, "batch_inference")
    settings = ctx.settings
    ctx.mlflow()
    name = settings.model_name
    alias = settings.champion_alias
    champion = version_by_alias(client(), name, alias)
    if champion is None:
        raise LookupError(f"model {name} has no '{alias}' alias: run validate and deploy first")
    window = settings.windows["scoring"]
    columns = model_features(list(settings.features["delay_windows_hours"]))
    frame = build_model_input(ctx, window).drop("arr_delay", "prediction_ts")
    predict = mlflow.pyfunc.spark_udf(
        ctx.spark,
        model_uri(name, champion.version),  # the alias resolved once: model_version is exact
        result_type="double",
        env_manager="local",
    )
    scored = frame.withColumn(
        "prediction", predict(F.struct(*[F.col(c) for c in columns]))
    ).withColumns(
        {
            "model_version": F.lit(str(champion.version)),
            "scored_at": F.lit(datetime.now(UTC)).cast("timestamp"),
        }
    )
    target = settings.table("predictions")
    ctx.tables.replace_where(
        scored, target, window_predicate("sched_dep_ts", window), table_keys("predictions")
    )
    written = ctx.tables.read(target).where(window_predicate("sched_dep_ts", window)).count()
    return {
        "rows_scored": written,
        "model_version": int(champion.version),
        "rows": {target: ctx.tables.count(target)},
    }
