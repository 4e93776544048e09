"""The example's feature tables and model input.

Feature tables are keyed by ``origin`` (airport code) and ``feature_ts`` (UTC
timestamp from which the row's values are known):

- airport hourly features: departures and mean departure delay (minutes) at the
  origin over the past N hours, counting only flights that had actually departed
  before ``feature_ts``;
- weather hourly features: the observation at the origin for that hour.

A model input row is a flight looked up against both tables at its prediction
time, ``prediction_lead_minutes`` before scheduled departure.
"""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from .point_in_time import point_in_time_lookup

FEATURE_KEYS = ["origin", "feature_ts"]
ENTITY_KEY = "flight_id"  # one row per flight in bronze, model inputs and predictions
EVENT_TIME = "sched_dep_ts"  # the time a prediction is about (UTC), which windows select on
WEATHER_COLUMNS = [
    "temp",
    "dewp",
    "humid",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
]
CATEGORICAL_FEATURES = ["origin", "dest", "carrier"]
LABEL = "arr_delay"


def delay_feature_names(windows_hours: list[int]) -> list[str]:
    """Names of the airport feature columns for the given windows (hours)."""
    names = []
    for hours in windows_hours:
        names += [f"departures_{hours}h", f"dep_delay_mean_{hours}h"]
    return names


def numeric_features(windows_hours: list[int]) -> list[str]:
    """Numeric model inputs, all double: calendar, distance, airport and weather features."""
    return [
        "sched_hour_local",
        "day_of_week",
        "distance",
        *delay_feature_names(windows_hours),
        *WEATHER_COLUMNS,
    ]


def model_features(windows_hours: list[int]) -> list[str]:
    """Every model input column, categorical first."""
    return [*CATEGORICAL_FEATURES, *numeric_features(windows_hours)]


def airport_hourly_features(flights: DataFrame, windows_hours: list[int]) -> DataFrame:
    """Rolling departure aggregates per origin and hour.

    In: bronze flights (origin, sched_dep_ts timestamp, dep_delay double minutes).
    Out: one row per origin and UTC hour from the first to one past the last
    departure hour: origin, feature_ts, and per window N hours
    ``departures_{N}h`` (double, count of flights that actually departed in
    ``[feature_ts - N h, feature_ts)``) and ``dep_delay_mean_{N}h`` (double, their
    mean departure delay in minutes, null when none departed).
    """
    departed = flights.where(F.col("dep_delay").isNotNull()).withColumn(
        "hour_ts",
        F.date_trunc(
            "hour",
            F.timestamp_seconds(F.unix_timestamp("sched_dep_ts") + F.col("dep_delay") * 60),
        ),
    )
    per_hour = departed.groupBy("origin", "hour_ts").agg(
        F.count("*").alias("n"), F.sum("dep_delay").alias("delay_sum")
    )
    bounds = per_hour.groupBy("origin").agg(
        F.min("hour_ts").alias("first"), F.max("hour_ts").alias("last")
    )
    grid = bounds.select(
        "origin",
        F.explode(
            F.sequence(
                "first", F.col("last") + F.expr("INTERVAL 1 HOUR"), F.expr("INTERVAL 1 HOUR")
            )
        ).alias("feature_ts"),
    )
    hourly = grid.join(
        per_hour.withColumnRenamed("hour_ts", "feature_ts"), ["origin", "feature_ts"], "left"
    ).fillna(0, ["n", "delay_sum"])
    ordered = Window.partitionBy("origin").orderBy("feature_ts")
    columns = []
    for hours in windows_hours:
        past = ordered.rowsBetween(-hours, -1)
        count = F.sum("n").over(past)
        columns += [
            F.coalesce(count, F.lit(0)).cast("double").alias(f"departures_{hours}h"),
            F.when(count > 0, F.sum("delay_sum").over(past) / count)
            .cast("double")
            .alias(f"dep_delay_mean_{hours}h"),
        ]
    return hourly.select("origin", "feature_ts", *columns)


def weather_hourly_features(weather: DataFrame) -> DataFrame:
    """Weather per origin and hour: origin, feature_ts (UTC), and WEATHER_COLUMNS as double.

    In: bronze weather, one row per (origin, obs_ts) (its key, checked on every write).
    """
    return weather.select(
        "origin",
        F.col("obs_ts").alias("feature_ts"),
        *[F.col(c).cast("double").alias(c) for c in WEATHER_COLUMNS],
    )


def flight_spine(flights: DataFrame, lead_minutes: int) -> DataFrame:
    """Flights as lookup events: what is known of each flight before it departs.

    In: bronze flights. Out: flight_id, sched_dep_ts, prediction_ts (timestamp,
    ``lead_minutes`` before scheduled departure), origin, dest, carrier (strings),
    sched_hour_local, day_of_week (1 = Sunday), distance (double), and arr_delay
    (double minutes, the label; null for cancelled or diverted flights).
    """
    return flights.select(
        "flight_id",
        "sched_dep_ts",
        F.timestamp_seconds(F.unix_timestamp("sched_dep_ts") - lead_minutes * 60).alias(
            "prediction_ts"
        ),
        "origin",
        "dest",
        "carrier",
        F.col("hour").cast("double").alias("sched_hour_local"),
        F.dayofweek(F.make_date("year", "month", "day")).cast("double").alias("day_of_week"),
        F.col("distance").cast("double").alias("distance"),
        F.col(LABEL).cast("double").alias(LABEL),
    )


def model_input(
    spine: DataFrame,
    airport_features: DataFrame,
    weather_features: DataFrame,
    tolerance_hours: int,
) -> DataFrame:
    """Spine rows with airport and weather features looked up at ``prediction_ts``.

    Out: the spine's columns plus the feature tables' value columns (double,
    null where no feature row was known within ``tolerance_hours``).
    """
    tolerance = timedelta(hours=tolerance_hours)
    out = spine
    for table in (airport_features, weather_features):
        out = point_in_time_lookup(
            out,
            table,
            spine_id="flight_id",
            spine_ts="prediction_ts",
            entity_keys=["origin"],
            feature_ts="feature_ts",
            tolerance=tolerance,
        )
    return out
