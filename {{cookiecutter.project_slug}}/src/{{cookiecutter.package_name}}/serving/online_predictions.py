"""The rows answered online, read back from the inference table as a prediction source.

:func:`online_predictions` turns each logged request of the tabular model into rows
with the batch predictions table's columns: online serving is a prediction source
like batch and streaming inference.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window

from ..contract import Contract
from ..runtime.context import Context
from .request_forms import request_frame


def prediction_schema(contract: Contract) -> T.StructType:
    """Columns of a predictions table: the contract's entity keys (strings) and event time,
    the model inputs (categorical strings, numeric doubles), prediction, version, time."""
    inputs = [
        T.StructField(c, T.StringType() if c in contract.categorical else T.DoubleType())
        for c in contract.feature_columns
    ]
    return T.StructType(
        [
            *[T.StructField(k, T.StringType()) for k in contract.entity_keys],
            T.StructField(contract.event_timestamp, T.TimestampType()),
            *inputs,
            T.StructField("prediction", T.DoubleType()),
            T.StructField("model_version", T.StringType()),
            T.StructField("scored_at", T.TimestampType()),
        ]
    )


def key_text(value) -> str | None:
    """An entity key as the predictions table holds it: text, or None when not sent.

    JSON numbers become their text (``42`` and ``42.0`` both ``"42"``: pandas turns a
    column of integers with a missing value into floats), so a request that sent the key
    as a number joins its label like the batch table's string key.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def event_times(sent: pd.Series | None, answered: datetime) -> pd.Series:
    """The event timestamps of a request's rows, naive UTC, as the predictions table holds them.

    In: the event-timestamp values the request sent (ISO 8601 text with or without an
    offset, read as UTC when it has none; None when the column was not sent) and the
    instant the request was answered. A value that is missing, not text or not a
    timestamp (the model ignores this column, so the server answered it) is the answer's
    instant.
    """
    if sent is not None:
        sent = sent.where(sent.map(lambda value: isinstance(value, str)))
    at = pd.Timestamp(answered)
    at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
    stamps = pd.to_datetime(sent, utc=True, errors="coerce", format="mixed")
    return stamps.fillna(at).dt.tz_localize(None)


def _parse(contract: Contract):
    columns, event = contract.feature_columns, contract.event_timestamp

    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            frames = []
            for row in batch.itertuples(index=False):
                rows = request_frame(json.loads(row.request))
                rows["prediction"] = json.loads(row.response)["predictions"]
                sent = rows.get(event, pd.Series(None, index=rows.index, dtype=object))
                rows[event] = event_times(sent, row.request_time)
                for column in (*contract.entity_keys, *columns):
                    if column not in rows:
                        rows[column] = None
                for key in contract.entity_keys:
                    rows[key] = rows[key].map(key_text).astype(object)
                rows["model_version"] = row.served_model_version
                rows["scored_at"] = row.request_time
                frames.append(rows)
            if frames:
                out = pd.concat(frames, ignore_index=True)
                numeric = contract.numeric
                out[numeric + ["prediction"]] = out[numeric + ["prediction"]].astype(float)
                yield out[[field.name for field in prediction_schema(contract).fields]]

    return parse


def online_predictions(ctx: Context) -> DataFrame:
    """The answered requests of the inference table, one row per scored input row.

    Out: the batch predictions table's columns: the contract's entity keys (from the
    request, null when not sent), its event timestamp (from the request; the request
    time when not sent), the model inputs, prediction, model_version (the served version) and
    scored_at (the request time). Requests without status 200 are left out.
    Raises MissingTableError when nothing has been logged yet.
    """
    settings = ctx.settings
    contract = settings.contract
    log = ctx.tables.read(settings.table("inference_table"), "the serve command")
    answered = log.where(F.col("status_code") == 200).select(
        "request", "response", "request_time", "served_model_version"
    )
    return answered.mapInPandas(_parse(contract), prediction_schema(contract))


def latest_online_predictions(ctx: Context) -> DataFrame:
    """The ``online`` prediction source (see ``serving/part.py``): one row per entity answered.

    Out: :func:`online_predictions`' columns, with the latest answer (by ``scored_at``)
    of each entity-key value: a client that asks twice for the same entity counts once,
    as the batch table holds one row per entity. Rows whose request did not send
    every entity key are left out: no label can be joined to them.
    Raises MissingTableError when nothing has been logged yet.
    """
    keys = ctx.settings.contract.entity_keys
    answered = online_predictions(ctx).where(" AND ".join(f"`{key}` IS NOT NULL" for key in keys))
    latest = Window.partitionBy(*keys).orderBy(F.col("scored_at").desc())
    return (
        answered.withColumn("_latest", F.row_number().over(latest))
        .where("_latest = 1")
        .drop("_latest")
    )
