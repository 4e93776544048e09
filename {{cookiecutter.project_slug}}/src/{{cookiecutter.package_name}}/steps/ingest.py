"""Step 1, ingest: raw flights and weather into bronze Delta tables.

Each run replaces the bronze tables with the current source snapshot in one
commit, so a rerun never duplicates rows and a failed run leaves the old tables.
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


def run(ctx: Context) -> dict:
    """Load the source and replace the bronze tables. Returns row counts per table."""
    spark, settings = ctx.spark, ctx.settings
    flights = bronze_flights(spark.createDataFrame(sources.load_flights(settings)))
    weather = bronze_weather(spark.createDataFrame(sources.load_weather(settings)))
    out = {}
    for key, frame in (("flights_bronze", flights), ("weather_bronze", weather)):
        name = settings.table(key)
        ctx.tables.overwrite(frame, name)
        out[name] = ctx.tables.count(name)
    return {"rows": out}
