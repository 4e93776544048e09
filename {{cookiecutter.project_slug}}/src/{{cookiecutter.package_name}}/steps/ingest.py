"""Step 1, ingest: raw flights and weather into bronze Delta tables.

Bronze is append-only: each run inserts, in one commit per table, the source rows
before the as-of instant (``settings.as_of``: flights by scheduled departure, weather
by observation hour) whose key is not in bronze yet (flights by flight_id, weather by
origin and hour) and changes no row already there, so a rerun duplicates nothing and
a streaming query can follow the flights table. Both batches are checked (keys
unique) before the first write. The two tables are two commits: if the weather write
fails, flights bronze already holds its new rows and weather bronze its previous
version; a rerun appends the missing weather rows, which repairs it.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from .. import sources
from ..checks import check_unique, table_keys
from ..features.training_set import before
from ..runtime.context import Context
from ..runtime.tables import latest_per_key


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

    One row per origin and hour: of repeated rows the same one is always kept
    (:func:`..runtime.tables.latest_per_key`, ranked by their values).
    """
    stamped = raw.withColumn("obs_ts", F.to_timestamp("time_hour")).drop("time_hour")
    return latest_per_key(stamped, ["origin", "obs_ts"], order_by=())


def run(ctx: Context) -> dict:
    """Load the source before ``settings.as_of`` and append its new rows to bronze.

    Returns ``rows`` (row count per table) and ``appended`` (rows inserted per table).
    Raises DataCheckError naming the key and the count when two flights share a
    ``flight_id``; nothing is written then.
    """
    spark, settings = ctx.spark, ctx.settings
    flights = bronze_flights(spark.createDataFrame(sources.load_flights(settings)))
    weather = bronze_weather(spark.createDataFrame(sources.load_weather(settings)))
    frames = {
        "flights_bronze": flights.where(before("sched_dep_ts", settings.as_of)),
        "weather_bronze": weather.where(before("obs_ts", settings.as_of)),
    }
    for key, frame in frames.items():  # both checked before either is written
        check_unique(frame, settings.table(key), table_keys(key))
    out, appended = {}, {}
    for key, frame in frames.items():
        name = settings.table(key)
        appended[name] = ctx.tables.insert_new(frame, name, list(table_keys(key)))
        out[name] = ctx.tables.count(name)
    return {"rows": out, "appended": appended}
