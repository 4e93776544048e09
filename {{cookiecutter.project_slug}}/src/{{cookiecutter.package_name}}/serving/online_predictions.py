"""The rows answered online, read back from the inference table as a prediction source.

:func:`online_predictions` turns each logged request of the tabular model into rows
with the batch predictions table's columns: online serving is a prediction source
like batch and streaming inference.
"""

from __future__ import annotations

import json
import math
import re
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

# Text event times must start with a date: pandas reads "now" and "today" as the current time.
DATED = re.compile(r"\d{4}-\d{2}-\d{2}")
# Where a row came from, for latest_online_predictions' tie-break: the logged request and
# the row's position in it (the inference table keeps the request body, not its rows).
REQUEST_ID = "databricks_request_id"
POSITION = "_position"


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


def event_times(sent: pd.Series, answered: datetime) -> pd.Series:
    """The event timestamps of a request's rows, naive UTC, as the predictions table holds them.

    In: the event-timestamp values the request sent, one per row (ISO 8601 text with or
    without an offset, read as UTC when it has none; the caller passes a column of None
    when the request did not send the column, so ``sent`` is never None) and the instant
    the request was answered.
    Out: one timestamp per row of ``sent``, same index. A value that is missing, not text,
    text that does not start with a date (``YYYY-MM-DD``: ``"now"`` and ``"today"`` are
    not the time the event happened) or not a timestamp is the answer's instant (the
    model ignores this column, so the server answered it).
    """
    dated = sent.map(lambda value: isinstance(value, str) and DATED.match(value) is not None)
    at = pd.Timestamp(answered)
    at = at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")
    stamps = pd.to_datetime(sent.where(dated), utc=True, errors="coerce", format="mixed")
    return stamps.fillna(at).dt.tz_localize(None)


def _parse(contract: Contract, schema: T.StructType):
    columns, event = contract.feature_columns, contract.event_timestamp

    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            frames = []
            for row in batch.itertuples(index=False):
                try:
                    rows = request_frame(json.loads(row.request))
                except ValueError:  # a CSV (or other non-JSON) request: its rows are not read
                    continue
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
                rows[REQUEST_ID] = row.databricks_request_id
                rows[POSITION] = range(len(rows))  # the order of the request's rows
                frames.append(rows)
            if frames:
                out = pd.concat(frames, ignore_index=True)
                numeric = contract.numeric
                out[numeric + ["prediction"]] = out[numeric + ["prediction"]].astype(float)
                yield out[[field.name for field in schema.fields]]

    return parse


def _answered(ctx: Context, schema: T.StructType) -> DataFrame:
    """The rows of the answered requests with the columns of ``schema``: the prediction
    schema, with or without the REQUEST_ID and POSITION columns."""
    settings = ctx.settings
    log = ctx.tables.read(settings.table("inference_table"), "the serve command")
    answered = log.where(F.col("status_code") == 200).select(
        "request", "response", "request_time", "served_model_version", REQUEST_ID
    )
    return answered.mapInPandas(_parse(settings.contract, schema), schema)


def online_predictions(ctx: Context) -> DataFrame:
    """The answered requests of the inference table, one row per scored input row.

    Out: the batch predictions table's columns: the contract's entity keys (from the
    request, null when not sent), its event timestamp (from the request; the request
    time when not sent), the model inputs, prediction, model_version (the served version) and
    scored_at (the request time). Requests without status 200 are left out, and so are
    requests whose body is not JSON (MLflow's scoring server also answers ``text/csv``;
    their rows are not read back).
    Raises MissingTableError when nothing has been logged yet.
    """
    return _answered(ctx, prediction_schema(ctx.settings.contract))


def latest_online_predictions(ctx: Context) -> DataFrame:
    """The ``online`` prediction source (see ``serving/part.py``): one row per entity answered.

    Out: :func:`online_predictions`' columns, with the latest answer of each entity-key
    value: a client that asks twice for the same entity counts once, as the batch table
    holds one row per entity. Latest is by ``scored_at``; rows of one request share it, so
    of an entity sent twice in one request the later row of the request wins, and of
    requests answered at the same instant the one with the greater
    ``databricks_request_id`` (an arbitrary but fixed choice). Rows whose request did
    not send every entity key are left out: no label can be joined to them.
    Raises MissingTableError when nothing has been logged yet.
    """
    contract = ctx.settings.contract
    keys = contract.entity_keys
    schema = prediction_schema(contract)
    placed = T.StructType(
        [
            *schema.fields,
            T.StructField(REQUEST_ID, T.StringType()),
            T.StructField(POSITION, T.LongType()),
        ]
    )
    answered = _answered(ctx, placed).where(" AND ".join(f"`{key}` IS NOT NULL" for key in keys))
    latest = Window.partitionBy(*keys).orderBy(
        F.col("scored_at").desc(), F.col(REQUEST_ID).desc(), F.col(POSITION).desc()
    )
    return (
        answered.withColumn("_latest", F.row_number().over(latest))
        .where("_latest = 1")
        .select(*schema.fieldNames())
    )
