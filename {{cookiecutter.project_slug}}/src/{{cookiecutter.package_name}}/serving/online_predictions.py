"""The flights answered online, read back from the inference table as a prediction source.

:func:`online_predictions` turns each logged request of the delay model into rows
with the batch predictions table's columns: online serving is a prediction source
like batch and streaming inference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..features.definitions import CATEGORICAL_FEATURES, ENTITY_KEY, EVENT_TIME, model_features
from ..runtime.context import Context


def request_frame(body: dict) -> pd.DataFrame:
    """The rows of a scoring request in MLflow's ``dataframe_records`` or ``dataframe_split`` form.

    Raises ValueError naming the expected fields for any other body.
    """
    if "dataframe_records" in body:
        return pd.DataFrame(body["dataframe_records"])
    if "dataframe_split" in body:
        split = body["dataframe_split"]
        return pd.DataFrame(split["data"], columns=split["columns"])
    raise ValueError("request: expected a dataframe_records or dataframe_split field")


def prediction_schema(columns: list[str]) -> T.StructType:
    """Columns of a predictions table: key, event time, model inputs, prediction, version, time."""
    inputs = [
        T.StructField(c, T.StringType() if c in CATEGORICAL_FEATURES else T.DoubleType())
        for c in columns
    ]
    return T.StructType(
        [
            T.StructField(ENTITY_KEY, T.StringType()),
            T.StructField(EVENT_TIME, T.TimestampType()),
            *inputs,
            T.StructField("prediction", T.DoubleType()),
            T.StructField("model_version", T.StringType()),
            T.StructField("scored_at", T.TimestampType()),
        ]
    )


def _parse(columns: list[str]):
    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            frames = []
            for row in batch.itertuples(index=False):
                rows = request_frame(json.loads(row.request))
                rows["prediction"] = json.loads(row.response)["predictions"]
                event = rows.get(EVENT_TIME, pd.Series(row.request_time, index=rows.index))
                rows[EVENT_TIME] = pd.to_datetime(event, utc=True).dt.tz_localize(None)
                for column in (ENTITY_KEY, *columns):
                    if column not in rows:
                        rows[column] = None
                rows["model_version"] = row.served_model_version
                rows["scored_at"] = row.request_time
                frames.append(rows)
            if frames:
                out = pd.concat(frames, ignore_index=True)
                numeric = [c for c in columns if c not in CATEGORICAL_FEATURES]
                out[numeric + ["prediction"]] = out[numeric + ["prediction"]].astype(float)
                yield out[[field.name for field in prediction_schema(columns).fields]]

    return parse


def online_predictions(ctx: Context) -> DataFrame:
    """The answered requests of the inference table, one row per scored input row.

    Out: the batch predictions table's columns: flight_id (from the request, null
    when not sent), sched_dep_ts (from the request; the request time when not
    sent), the model inputs, prediction, model_version (the served version) and
    scored_at (the request time). Requests without status 200 are left out.
    Raises MissingTableError when nothing has been logged yet.
    """
    settings = ctx.settings
    columns = model_features(list(settings.features["delay_windows_hours"]))
    log = ctx.tables.read(settings.table("inference_table"), "the serve command")
    answered = log.where(F.col("status_code") == 200).select(
        "request", "response", "request_time", "served_model_version"
    )
    return answered.mapInPandas(_parse(columns), prediction_schema(columns))
