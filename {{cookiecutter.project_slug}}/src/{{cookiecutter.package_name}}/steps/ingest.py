"""Step 1, ingest: raw flights and weather into bronze Delta tables.

Bronze is append-only: each run inserts, in one commit per table, the source rows
whose key is not in bronze yet (flights by flight_id, weather by origin and hour)
and changes no row already there. A rerun duplicates nothing, a failed run leaves
the old tables, and a streaming query can follow the flights table.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .. import sources
from ..runtime.context import Context


def bronze_flights(raw: DataFrame) -> DataFrame:
    """Add the UTC timestamp and key columns to raw flights.

    In: the columns of :func:`sources.load_flights`. Out: the same plus
    ``sched_dep_ts`` (timestamp, UTC scheduled departure: ``time_hour`` plus ``minute``)
    and ``flight_id`` (string: carrier, flight number, origin, scheduled departure),
    unique per flight.
    """
    hour = F.to_timestamp("time_hour")
    sched = F.timestamp_seconds(F.unix_timestamp(hour) + F.col("minute").cast("long") * 60)
    return (
        raw.withColumn("sched_dep_ts", sched)
        .withColumn(
            "flight_id",
            F.concat_ws(
                "-",
                "carrier",
                F.col("flight").cast("string"),
                "origin",
                F.date_format("sched_dep_ts", "yyyyMMdd'T'HHmm"),
            ),
        )
        .drop("time_hour")
    )


def bronze_weather(raw: DataFrame) -> DataFrame:
    """Add ``obs_ts`` (timestamp, UTC hour of observation) to raw weather.

    One row per origin and hour.
    """
    return (
        raw.withColumn("obs_ts", F.to_timestamp("time_hour"))
        .drop("time_hour")
        .dropDuplicates(["origin", "obs_ts"])
    )


BRONZE_KEYS = {"flights_bronze": ["flight_id"], "weather_bronze": ["origin", "obs_ts"]}


def run(ctx: Context) -> dict:
    """Load the source and append its new rows to the bronze tables.

    Returns ``rows`` (row count per table) and ``appended`` (rows inserted per table).
    """
    spark, settings = ctx.spark, ctx.settings
    flights = bronze_flights(spark.createDataFrame(sources.load_flights(settings)))
    weather = bronze_weather(spark.createDataFrame(sources.load_weather(settings)))
    out, appended = {}, {}
    for key, frame in (("flights_bronze", flights), ("weather_bronze", weather)):
        name = settings.table(key)
        appended[name] = ctx.tables.insert_new(frame, name, BRONZE_KEYS[key])
        out[name] = ctx.tables.count(name)
    return {"rows": out, "appended": appended}
